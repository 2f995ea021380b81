//! Where the signing key comes from: an encrypted keystore (the password from
//! `UTTER_KEYSTORE_PASSWORD` or a prompt), or a raw private key for scripts; and `utter keys`.

use crate::output::Output;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, bail};
use clap::Subcommand;
use std::path::{Path, PathBuf};

/// The environment variable holding the keystore password, for scripts.
pub const PASSWORD_ENV: &str = "UTTER_KEYSTORE_PASSWORD";

/// `utter keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key in an encrypted keystore file and print its address.
    New {
        /// The keystore file to write (it must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the address of the key given by --keystore or --private-key.
    Address,
}

/// Where the key is, as the global flags say.
#[derive(Clone, Debug, Default)]
pub struct KeySource {
    /// `--keystore`.
    pub keystore: Option<PathBuf>,
    /// `--private-key`.
    pub private_key: Option<String>,
}

impl KeySource {
    /// Whether any key was given.
    pub fn is_given(&self) -> bool {
        self.keystore.is_some() || self.private_key.is_some()
    }

    /// The signer, or an error saying how to give one.
    pub fn signer(&self) -> anyhow::Result<PrivateKeySigner> {
        match (&self.private_key, &self.keystore) {
            (Some(_), Some(_)) => bail!(
                "both --private-key (UTTER_PRIVATE_KEY) and --keystore (UTTER_KEYSTORE) are set: keep one"
            ),
            (Some(key), None) => parse_private_key(key),
            (None, Some(path)) => open_keystore(path),
            (None, None) => bail!(
                "this command signs transactions and no key was given: pass --keystore FILE \
                 (create one with `utter keys new --out FILE`) or --private-key HEX \
                 (or set UTTER_KEYSTORE / UTTER_PRIVATE_KEY)"
            ),
        }
    }
}

fn parse_private_key(text: &str) -> anyhow::Result<PrivateKeySigner> {
    let digits = text.trim().trim_start_matches("0x");
    if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "the private key is not 64 hex digits (optionally after 0x): check --private-key / UTTER_PRIVATE_KEY"
        );
    }
    digits.parse().context(
        "the private key is not a valid secp256k1 key: check --private-key / UTTER_PRIVATE_KEY",
    )
}

fn open_keystore(path: &Path) -> anyhow::Result<PrivateKeySigner> {
    if !path.is_file() {
        bail!(
            "the keystore {} does not exist: create one with `utter keys new --out {}`",
            path.display(),
            path.display()
        );
    }
    let password = password(&format!("password of {}", path.display()), false)?;
    PrivateKeySigner::decrypt_keystore(path, password).map_err(|error| {
        anyhow::anyhow!(
            "cannot open the keystore {}: {error}. Check the password ({PASSWORD_ENV} or the prompt) \
             and that the file is a keystore made by `utter keys new`",
            path.display()
        )
    })
}

/// The keystore password from the environment, or asked on the terminal (twice when `confirm`).
fn password(prompt: &str, confirm: bool) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    let term = console::Term::stderr();
    if !term.is_term() {
        bail!("no terminal to ask for the keystore password: set {PASSWORD_ENV}");
    }
    term.write_str(&format!("{prompt}: "))?;
    let first = term.read_secure_line()?;
    if confirm {
        term.write_str("again: ")?;
        if term.read_secure_line()? != first {
            bail!("the two passwords differ: run the command again");
        }
    }
    Ok(first)
}

/// Runs `utter keys ...`.
pub fn run(command: KeysCommand, keys: &KeySource, out: &Output) -> anyhow::Result<()> {
    match command {
        KeysCommand::New { out: file } => {
            if file.exists() {
                bail!(
                    "{} already exists: choose another --out (an existing key is never overwritten)",
                    file.display()
                );
            }
            let dir = match file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the directory {}", dir.display()))?;
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .context("--out must name a file")?;
            let password = password("password for the new keystore", true)?;
            if password.is_empty() {
                bail!("the password is empty: choose one (an empty password protects nothing)");
            }
            let (signer, _) =
                PrivateKeySigner::new_keystore(&dir, &mut rand::thread_rng(), password, Some(name))
                    .map_err(|e| anyhow::anyhow!("writing the keystore {}: {e}", file.display()))?;
            out.result(
                &serde_json::json!({"address": signer.address(), "keystore": file}),
                || {
                    format!(
                        "created {}\naddress {}\nKeep the password: without it the key is lost.",
                        file.display(),
                        signer.address()
                    )
                },
            );
            Ok(())
        }
        KeysCommand::Address => {
            let signer = keys.signer()?;
            out.result(&serde_json::json!({"address": signer.address()}), || {
                signer.address().to_string()
            });
            Ok(())
        }
    }
}
