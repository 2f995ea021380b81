# shellcheck shell=bash
# Puts utter's pinned toolchain on PATH. Source it from the repository (bash or zsh):
#
#   . scripts/env.sh
#
# Run scripts/bootstrap first; it installs what this points at. Afterwards:
#   forge, anvil, cast  the pinned Foundry 1.7.1 binaries from toolchain/node_modules/@foundry-rs/*-<os>-<arch>/bin
#                       (first on PATH, so slither/crytic-compile run this forge and never another one)
#   slither             from the pinned Python venv toolchain/.venv (toolchain/requirements.txt)
#   solc                toolchain/.venv/bin/solc -> toolchain/solc.cjs (solc-js 0.8.30; standard JSON and --version
#                       only). forge itself uses toolchain/solc.cjs through foundry.toml.
# Sourcing twice does not grow PATH.

UTTER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
UTTER_TOOLCHAIN="$UTTER_ROOT/toolchain"

case "$(uname -s)" in
  Linux) _utter_os=linux ;;
  Darwin) _utter_os=darwin ;;
  *) _utter_os=unsupported ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) _utter_arch=amd64 ;;
  aarch64 | arm64) _utter_arch=arm64 ;;
  *) _utter_arch=unsupported ;;
esac
UTTER_PLATFORM="$_utter_os-$_utter_arch"
unset _utter_os _utter_arch

_utter_path="$UTTER_TOOLCHAIN/node_modules/@foundry-rs/forge-$UTTER_PLATFORM/bin"
_utter_path="$_utter_path:$UTTER_TOOLCHAIN/node_modules/@foundry-rs/anvil-$UTTER_PLATFORM/bin"
_utter_path="$_utter_path:$UTTER_TOOLCHAIN/node_modules/@foundry-rs/cast-$UTTER_PLATFORM/bin"
_utter_path="$_utter_path:$UTTER_TOOLCHAIN/.venv/bin"

# Drop entries a previous `. scripts/env.sh` added, then prepend ours.
if [ -n "${UTTER_ENV_PATH:-}" ]; then
  PATH=":$PATH:"
  PATH="${PATH//":$UTTER_ENV_PATH:"/:}"
  PATH="${PATH#:}"
  PATH="${PATH%:}"
fi
UTTER_ENV_PATH="$_utter_path"
PATH="$_utter_path:$PATH"
unset _utter_path
export PATH UTTER_ROOT UTTER_TOOLCHAIN UTTER_PLATFORM UTTER_ENV_PATH

if [ ! -x "$UTTER_TOOLCHAIN/node_modules/@foundry-rs/forge-$UTTER_PLATFORM/bin/forge" ] ||
  [ ! -x "$UTTER_TOOLCHAIN/.venv/bin/slither" ]; then
  echo "scripts/env.sh: the pinned toolchain is not installed yet; run scripts/bootstrap" >&2
fi
