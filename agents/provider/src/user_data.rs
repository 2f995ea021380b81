//! The buyer's cloud-init user data: encrypted with age to the provider's X25519 key (published
//! on-chain with `ProviderRegistry.setEncryptionKey`), decrypted here and handed to the machine next
//! to the agent's own cloud-config.

use alloy::primitives::B256;
use bech32::{FromBase32, ToBase32, Variant};

/// Why user data could not be used.
#[derive(Debug, thiserror::Error)]
pub enum UserDataError {
    /// The on-chain key is not a valid X25519 key.
    #[error("the encryption key {0} is not an age X25519 key")]
    BadKey(B256),
    /// The identity file is not an age X25519 identity.
    #[error("the age identity is not valid: {0}")]
    BadIdentity(String),
    /// The data was not encrypted to this provider, or is corrupt.
    #[error("the user data does not decrypt: {0}")]
    Decrypt(String),
}

/// The age recipient for a provider's on-chain encryption key.
pub fn recipient(key: B256) -> Result<age::x25519::Recipient, UserDataError> {
    let text = bech32::encode("age", key.as_slice().to_base32(), Variant::Bech32)
        .map_err(|_| UserDataError::BadKey(key))?;
    text.parse().map_err(|_| UserDataError::BadKey(key))
}

/// The on-chain key (the 32 raw bytes of the X25519 public key) of an age identity.
pub fn public_key(identity: &age::x25519::Identity) -> B256 {
    let text = identity.to_public().to_string();
    let (_, data, _) = bech32::decode(&text).expect("age writes valid bech32");
    B256::from_slice(&Vec::<u8>::from_base32(&data).expect("age keys are 32 bytes"))
}

/// Parses an age identity file's contents (`AGE-SECRET-KEY-1...`, comment lines allowed).
pub fn identity(text: &str) -> Result<age::x25519::Identity, UserDataError> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .ok_or_else(|| UserDataError::BadIdentity("no AGE-SECRET-KEY line".into()))?;
    line.parse()
        .map_err(|e: &str| UserDataError::BadIdentity(e.to_owned()))
}

/// Decrypts the buyer's user data.
pub fn decrypt(
    identity: &age::x25519::Identity,
    ciphertext: &[u8],
) -> Result<Vec<u8>, UserDataError> {
    age::decrypt(identity, ciphertext).map_err(|e| UserDataError::Decrypt(e.to_string()))
}

/// The login the access details name: a user cloud-init creates on every image, with the buyer's
/// key and passwordless sudo (an image's default user differs from one distribution to the next).
pub const LOGIN: &str = "utter";

/// Where the machine finds its own lease (chain id, escrow, lease id, indexer URL).
pub const LEASE_FILE: &str = "/etc/utter/lease.json";

/// The agent's cloud-config for a lease's machine: the [`LOGIN`] user with the buyer's SSH key, and
/// the lease file. Written as YAML by a serializer, so no value can break out of its field.
pub fn cloud_config(ssh_key: &str, lease: &serde_json::Value) -> String {
    let config = serde_json::json!({
        "users": [
            "default",
            {
                "name": LOGIN,
                "gecos": "utter lease",
                "shell": "/bin/bash",
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "lock_passwd": true,
                "ssh_authorized_keys": [ssh_key.trim()],
            },
        ],
        "write_files": [{
            "path": LEASE_FILE,
            "permissions": "0644",
            "content": lease.to_string(),
        }],
    });
    let yaml = serde_yaml_ng::to_string(&config).expect("JSON values serialize as YAML");
    format!("#cloud-config\n{yaml}")
}

/// The user data given to the machine: the agent's cloud-config alone, or with the buyer's part as a
/// MIME multipart message, which cloud-init merges (a `#!` script runs, a `#cloud-config` merges).
pub fn combine(ours: &str, buyers: Option<&[u8]>) -> String {
    let Some(buyers) = buyers else {
        return ours.to_owned();
    };
    let text = String::from_utf8_lossy(buyers);
    let kind = if text.starts_with("#cloud-config") {
        "text/cloud-config"
    } else if text.starts_with("#!") {
        "text/x-shellscript"
    } else {
        "text/plain"
    };
    let boundary = "==utter-user-data==";
    format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\nMIME-Version: 1.0\n\n\
         --{boundary}\nContent-Type: text/cloud-config; charset=\"utf-8\"\n\n{ours}\n\
         --{boundary}\nContent-Type: {kind}; charset=\"utf-8\"\n\n{text}\n\
         --{boundary}--\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cloud_config_creates_the_login_with_the_buyers_key_and_the_lease_file() {
        let lease =
            serde_json::json!({"chain_id": 1, "lease_id": 7, "indexer_url": "http://x/'y: z"});
        let text = cloud_config("ssh-ed25519 AAAAC3Nz buyer@laptop\n", &lease);
        assert!(text.starts_with("#cloud-config\n"), "{text}");
        let parsed: serde_json::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
        let user = &parsed["users"][1];
        assert_eq!(parsed["users"][0], "default");
        assert_eq!(user["name"], LOGIN);
        assert_eq!(user["sudo"], "ALL=(ALL) NOPASSWD:ALL");
        assert_eq!(user["lock_passwd"], true);
        assert_eq!(
            user["ssh_authorized_keys"],
            serde_json::json!(["ssh-ed25519 AAAAC3Nz buyer@laptop"])
        );
        let file = &parsed["write_files"][0];
        assert_eq!(file["path"], LEASE_FILE);
        let written: serde_json::Value =
            serde_json::from_str(file["content"].as_str().expect("text")).expect("JSON");
        assert_eq!(
            written, lease,
            "the quote in the URL did not break the YAML"
        );
    }

    #[test]
    fn data_encrypted_to_the_on_chain_key_decrypts_with_the_identity() {
        let identity = age::x25519::Identity::generate();
        let key = public_key(&identity);
        let to = recipient(key).expect("recipient");
        let ciphertext = age::encrypt(&to, b"#!/bin/sh\necho hi\n").expect("encrypt");
        assert_eq!(
            decrypt(&identity, &ciphertext).expect("decrypt"),
            b"#!/bin/sh\necho hi\n"
        );
        let other = age::x25519::Identity::generate();
        assert!(decrypt(&other, &ciphertext).is_err());
    }

    #[test]
    fn an_identity_file_is_read_past_its_comments() {
        let identity = age::x25519::Identity::generate();
        use age::secrecy::ExposeSecret;
        let file = format!(
            "# created: now\n# public key: {}\n{}\n",
            identity.to_public(),
            identity.to_string().expose_secret()
        );
        assert_eq!(
            public_key(&super::identity(&file).expect("parses")),
            public_key(&identity)
        );
        assert!(super::identity("nothing here").is_err());
    }

    #[test]
    fn the_buyers_script_joins_our_cloud_config() {
        assert_eq!(combine("#cloud-config\n", None), "#cloud-config\n");
        let both = combine("#cloud-config\na: 1\n", Some(b"#!/bin/sh\necho hi\n"));
        assert!(both.starts_with("Content-Type: multipart/mixed"));
        assert!(
            both.contains("text/x-shellscript")
                && both.contains("echo hi")
                && both.contains("a: 1")
        );
    }
}
