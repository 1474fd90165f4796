//! The server's TLS identity: a self-signed certificate for `127.0.0.1` and `localhost`,
//! generated into `DIR/tls/` on first start and reused after, so a kiosk can pin its SHA-256.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use vistoria_core::hashing::sha256_hex;

use crate::fsutil::write_private;

const CERT_FILE: &str = "cert.der";
const KEY_FILE: &str = "key.der";

/// Certificate and key, DER.
pub struct TlsIdentity {
    /// The certificate (DER).
    pub cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl TlsIdentity {
    /// Loads `dir/cert.der` + `dir/key.der`, generating both if either is missing.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<TlsIdentity> {
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        match (fs::read(&cert_path), fs::read(&key_path)) {
            (Ok(cert_der), Ok(key_der)) => return Ok(TlsIdentity { cert_der, key_der }),
            (Err(e), _) | (_, Err(e)) if e.kind() != io::ErrorKind::NotFound => {
                return Err(e.into());
            }
            _ => {}
        }
        let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let generated = rcgen::generate_simple_self_signed(names)?;
        let identity = TlsIdentity {
            cert_der: generated.cert.der().to_vec(),
            key_der: generated.key_pair.serialize_der(),
        };
        // Key first: a crash between the two writes leaves no certificate, so both are redone.
        write_private(dir, KEY_FILE, &identity.key_der)?;
        write_private(dir, CERT_FILE, &identity.cert_der)?;
        Ok(identity)
    }

    /// SHA-256 of the certificate DER, lowercase hex: the pin.
    pub fn fingerprint(&self) -> String {
        sha256_hex(&self.cert_der)
    }

    /// A rustls server configuration (ring provider, TLS 1.2 and 1.3, HTTP/1.1).
    pub fn server_config(&self) -> anyhow::Result<Arc<ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn certificate_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = TlsIdentity::load_or_create(dir.path()).unwrap();
        let second = TlsIdentity::load_or_create(dir.path()).unwrap();
        assert_eq!(first.fingerprint(), second.fingerprint());
        assert_eq!(first.fingerprint().len(), 64);
        first.server_config().unwrap();
    }
}
