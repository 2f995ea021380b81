#!/usr/bin/env python3
"""Gas snapshot check for scripts/test.

The forge tests record gas with `vm.snapshotGasLastCall(group, name)`; forge writes one JSON file per group,
{"name": "gas", ...}. The committed baseline is contracts/snapshots/<group>.json. scripts/test runs forge test
with FOUNDRY_SNAPSHOTS pointing at a fresh, empty directory, then this script compares:

  gas_snapshots.py check  FRESH_DIR COMMITTED_DIR   fail on any changed, added or removed entry or group
  gas_snapshots.py update FRESH_DIR COMMITTED_DIR   make COMMITTED_DIR's *.json exactly FRESH_DIR's

Stdlib only.
"""
import json
import shutil
import sys
from pathlib import Path


def load_dir(d: Path) -> dict:
    groups = {}
    if d.is_dir():
        for f in sorted(d.glob("*.json")):
            with f.open(encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, dict):
                sys.exit(f"gas-snapshot: {f} is not a JSON object")
            groups[f.stem] = {str(k): int(v) for k, v in data.items()}
    return groups


def diff(fresh: dict, committed: dict) -> list:
    rows = []
    for group in sorted(set(fresh) | set(committed)):
        new, old = fresh.get(group, {}), committed.get(group, {})
        for name in sorted(set(new) | set(old)):
            a, b = old.get(name), new.get(name)
            if a != b:
                rows.append((group, name, a, b))
    return rows


def fmt(v):
    return "-" if v is None else str(v)


def print_rows(rows):
    print(f"  {'group':<16} {'name':<28} {'committed':>10} {'now':>10} {'delta':>8}")
    for group, name, a, b in rows:
        delta = f"{b - a:+d}" if a is not None and b is not None else ("added" if a is None else "removed")
        print(f"  {group:<16} {name:<28} {fmt(a):>10} {fmt(b):>10} {delta:>8}")


def main(argv):
    if len(argv) != 4 or argv[1] not in ("check", "update"):
        sys.exit(__doc__)
    mode, fresh_dir, committed_dir = argv[1], Path(argv[2]), Path(argv[3])
    fresh = load_dir(fresh_dir)
    if not fresh:
        print(f"gas-snapshot: forge test wrote no snapshots to {fresh_dir}: "
              "the tests must record gas with vm.snapshotGasLastCall(group, name)")
        return 1
    committed = load_dir(committed_dir)
    rows = diff(fresh, committed)
    entries = sum(len(v) for v in fresh.values())

    if mode == "update":
        committed_dir.mkdir(parents=True, exist_ok=True)
        for f in committed_dir.glob("*.json"):
            if f.stem not in fresh:
                f.unlink()
        for f in sorted(fresh_dir.glob("*.json")):
            shutil.copyfile(f, committed_dir / f.name)
        if rows:
            print(f"gas-snapshot: UPDATED {committed_dir} ({len(rows)} change(s)); review and commit:")
            print_rows(rows)
        else:
            print(f"gas-snapshot: {committed_dir} already up to date ({entries} entries)")
        return 0

    if not rows:
        print(f"gas-snapshot: {entries} entries in {len(fresh)} group(s) match {committed_dir}")
        return 0
    print(f"gas-snapshot: MISMATCH with the committed {committed_dir} ({len(rows)} difference(s)):")
    print_rows(rows)
    print("If the change is intended, rerun with UPDATE_SNAPSHOTS=1 and commit the updated snapshot files.")
    print(f"(the new values are in {fresh_dir})")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
