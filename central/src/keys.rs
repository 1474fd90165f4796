//! The server's Ed25519 key, which signs receipts. Kept in `DIR/keys/`, created on first start.

use std::fs;
use std::io;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey};
use vistoria_core::wire::Receipt;

use crate::fsutil::write_private;

/// File of the 32-byte secret key.
const KEY_FILE: &str = "server_ed25519.key";

/// The receipt-signing key.
pub struct ServerKey {
    signing: SigningKey,
}

impl ServerKey {
    /// Loads `dir/server_ed25519.key`, creating it (mode 0600) if absent.
    pub fn load_or_create(dir: &Path) -> io::Result<ServerKey> {
        let path = dir.join(KEY_FILE);
        match fs::read(&path) {
            Ok(bytes) => Self::from_file_bytes(&path, &bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let secret: [u8; 32] = rand::random();
                write_private(dir, KEY_FILE, &secret)?;
                Ok(ServerKey {
                    signing: SigningKey::from_bytes(&secret),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Loads the key file every instance of a central shares (`serve --key-file`): it must
    /// exist, so that no instance signs with a key of its own.
    pub fn load_file(path: &Path) -> io::Result<ServerKey> {
        let bytes = fs::read(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{}: {e}; crie a chave uma vez com `vistoria-central key new --out {}` e \
                     distribua o mesmo arquivo a todas as instâncias",
                    path.display(),
                    path.display()
                ),
            )
        })?;
        Self::from_file_bytes(path, &bytes)
    }

    /// The key a file at `path` holds: exactly 32 bytes.
    fn from_file_bytes(path: &Path, bytes: &[u8]) -> io::Result<ServerKey> {
        let secret: [u8; 32] = bytes.try_into().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} não tem 32 bytes", path.display()),
            )
        })?;
        Ok(ServerKey {
            signing: SigningKey::from_bytes(&secret),
        })
    }

    /// Writes a new key file (mode 0600) for `--key-file`; refuses to replace one.
    pub fn create_file(path: &Path) -> io::Result<ServerKey> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "nome de arquivo inválido")
        })?;
        if path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} já existe; uma chave em uso não é substituída (recibos antigos deixariam de conferir)",
                    path.display()
                ),
            ));
        }
        let secret: [u8; 32] = rand::random();
        write_private(dir, name, &secret)?;
        Ok(ServerKey {
            signing: SigningKey::from_bytes(&secret),
        })
    }

    /// The public key, standard base64 of its 32 bytes (what `GET /time` publishes).
    pub fn public_base64(&self) -> String {
        STANDARD.encode(self.signing.verifying_key().as_bytes())
    }

    /// The signature of `bytes`, standard base64 (signed policies, §15).
    pub fn sign_bytes(&self, bytes: &[u8]) -> String {
        STANDARD.encode(self.signing.sign(bytes).to_bytes())
    }

    /// Fills in `receipt.signature` over [`Receipt::signing_bytes`].
    pub fn sign(&self, mut receipt: Receipt) -> Receipt {
        let signature = self.signing.sign(&receipt.signing_bytes());
        receipt.signature = STANDARD.encode(signature.to_bytes());
        receipt
    }
}

/// Checks a receipt's signature against a base64 public key, as a kiosk would.
pub fn verify_receipt(receipt: &Receipt, public_base64: &str) -> bool {
    receipt.verify(public_base64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::Utc;
    use vistoria_core::domain::InspectionId;

    #[test]
    fn key_persists_and_signs() {
        let dir = tempfile::tempdir().unwrap();
        let key = ServerKey::load_or_create(dir.path()).unwrap();
        let again = ServerKey::load_or_create(dir.path()).unwrap();
        assert_eq!(key.public_base64(), again.public_base64());
        let receipt = key.sign(Receipt {
            inspection_id: InspectionId::new(),
            laudo_number: "MT-2026-000001".into(),
            received_at: Utc::now(),
            manifest_sha256: "00".repeat(32),
            signature: String::new(),
        });
        assert!(verify_receipt(&receipt, &key.public_base64()));
        let mut forged = receipt.clone();
        forged.laudo_number = "MT-2026-000002".into();
        assert!(!verify_receipt(&forged, &key.public_base64()));
    }
}
