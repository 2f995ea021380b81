//! The access details a provider hands a buyer when its machine is up, encrypted with `age` to the
//! buyer's own SSH public key: the buyer decrypts them with the private key it already has, and the
//! chain, the indexer and everyone else see only ciphertext.

use serde::{Deserialize, Serialize};
use std::io::BufReader;

/// Largest ciphertext the escrow accepts (`LeaseEscrow.MAX_ACCESS_LENGTH`).
pub const MAX_ACCESS_LENGTH: usize = 4096;

/// How to reach a leased machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDetails {
    /// The chain the lease lives on.
    pub chain_id: u64,
    /// The lease.
    pub lease_id: u64,
    /// Address to connect to (public IP or host name).
    pub host: String,
    /// SSH port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// The machine's SSH host key fingerprint, `SHA256:...`, to check on first connection.
    pub host_key_fingerprint: String,
}

/// Why access details could not be encrypted or decrypted.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The buyer's key is not an SSH key age can encrypt to (ssh-ed25519 or ssh-rsa).
    #[error(
        "the lease's SSH public key is not an ssh-ed25519 or ssh-rsa key age can encrypt to: {0}"
    )]
    UnsupportedKey(String),
    /// Encryption failed.
    #[error("encrypting the access details: {0}")]
    Encrypt(String),
    /// The ciphertext does not fit the escrow's limit.
    #[error(
        "the encrypted access details are {0} bytes, the escrow accepts at most {MAX_ACCESS_LENGTH}"
    )]
    TooLarge(usize),
    /// The identity file is not a usable SSH private key.
    #[error("the SSH private key cannot be used: {0}")]
    Identity(String),
    /// Decryption failed: another key, or corrupt data.
    #[error("decrypting the access details: {0}")]
    Decrypt(String),
    /// The plaintext is not access details.
    #[error("the decrypted access details are malformed: {0}")]
    Malformed(String),
}

/// Encrypts `details` to the OpenSSH public key `ssh_public_key` (as the buyer gave it when opening).
pub fn encrypt(ssh_public_key: &str, details: &AccessDetails) -> Result<Vec<u8>, AccessError> {
    let recipient: age::ssh::Recipient = ssh_public_key
        .trim()
        .parse()
        .map_err(|e| AccessError::UnsupportedKey(format!("{e:?}")))?;
    let plaintext = serde_json::to_vec(details).expect("access details serialize");
    let ciphertext =
        age::encrypt(&recipient, &plaintext).map_err(|e| AccessError::Encrypt(e.to_string()))?;
    if ciphertext.len() > MAX_ACCESS_LENGTH {
        return Err(AccessError::TooLarge(ciphertext.len()));
    }
    Ok(ciphertext)
}

/// Decrypts access details with an unencrypted OpenSSH private key (the file's contents).
pub fn decrypt(ssh_private_key: &str, ciphertext: &[u8]) -> Result<AccessDetails, AccessError> {
    let identity =
        age::ssh::Identity::from_buffer(BufReader::new(ssh_private_key.as_bytes()), None)
            .map_err(|e| AccessError::Identity(e.to_string()))?;
    if let age::ssh::Identity::Unsupported(kind) = &identity {
        return Err(AccessError::Identity(format!("{kind:?}")));
    }
    let plaintext =
        age::decrypt(&identity, ciphertext).map_err(|e| AccessError::Decrypt(e.to_string()))?;
    serde_json::from_slice(&plaintext).map_err(|e| AccessError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::{Algorithm, LineEnding, PrivateKey, rand_core::OsRng};

    fn key_pair() -> (String, String) {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).expect("key");
        (
            key.public_key().to_openssh().expect("public"),
            key.to_openssh(LineEnding::LF).expect("private").to_string(),
        )
    }

    fn details() -> AccessDetails {
        AccessDetails {
            chain_id: 31337,
            lease_id: 7,
            host: "203.0.113.7".into(),
            port: 22,
            user: "ubuntu".into(),
            host_key_fingerprint: "SHA256:abc".into(),
        }
    }

    #[test]
    fn the_buyer_decrypts_with_its_own_key() {
        let (public, private) = key_pair();
        let ciphertext = encrypt(&public, &details()).expect("encrypts");
        assert!(ciphertext.len() <= MAX_ACCESS_LENGTH);
        assert_eq!(decrypt(&private, &ciphertext).expect("decrypts"), details());
    }

    #[test]
    fn another_key_cannot_decrypt() {
        let (public, _) = key_pair();
        let (_, other) = key_pair();
        let ciphertext = encrypt(&public, &details()).expect("encrypts");
        assert!(matches!(
            decrypt(&other, &ciphertext),
            Err(AccessError::Decrypt(_))
        ));
    }

    #[test]
    fn the_ciphertext_does_not_show_the_details() {
        let (public, _) = key_pair();
        let ciphertext = encrypt(&public, &details()).expect("encrypts");
        let text = String::from_utf8_lossy(&ciphertext);
        assert!(!text.contains("203.0.113.7") && !text.contains("ubuntu"));
    }

    #[test]
    fn a_key_age_cannot_use_is_refused_clearly() {
        let error = encrypt("ecdsa-sha2-nistp256 AAAA nope", &details()).unwrap_err();
        assert!(matches!(error, AccessError::UnsupportedKey(_)), "{error}");
    }
}
