//! The server's TLS identity: a self-signed certificate for `127.0.0.1` and `localhost`,
//! generated into `DIR/tls/` on first start and reused after, so a kiosk can pin its SHA-256;
//! or a real certificate and key given as PEM files (`serve --cert FILE --key FILE`).

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use vistoria_core::hashing::sha256_hex;

use crate::fsutil::write_private;

const CERT_FILE: &str = "cert.der";
const KEY_FILE: &str = "key.der";

/// Certificate and key, DER.
pub struct TlsIdentity {
    /// The certificate (DER).
    pub cert_der: Vec<u8>,
    /// Intermediate certificates sent after it (DER), for a certificate from a real CA.
    chain: Vec<Vec<u8>>,
    key: PrivateKeyDer<'static>,
}

impl TlsIdentity {
    /// Loads `dir/cert.der` + `dir/key.der`, generating both if either is missing.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<TlsIdentity> {
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        match (fs::read(&cert_path), fs::read(&key_path)) {
            (Ok(cert_der), Ok(key_der)) => {
                return Ok(TlsIdentity {
                    cert_der,
                    chain: Vec::new(),
                    key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
                });
            }
            (Err(e), _) | (_, Err(e)) if e.kind() != io::ErrorKind::NotFound => {
                return Err(e.into());
            }
            _ => {}
        }
        let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let generated = rcgen::generate_simple_self_signed(names)?;
        let key_der = generated.key_pair.serialize_der();
        let identity = TlsIdentity {
            cert_der: generated.cert.der().to_vec(),
            chain: Vec::new(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.clone())),
        };
        // Key first: a crash between the two writes leaves no certificate, so both are redone.
        write_private(dir, KEY_FILE, &key_der)?;
        write_private(dir, CERT_FILE, &identity.cert_der)?;
        Ok(identity)
    }

    /// A certificate chain (PEM, the server's certificate first) and its private key (PEM:
    /// PKCS#8, PKCS#1 or SEC1), e.g. issued by a real CA. The pin is the first certificate's.
    pub fn from_pem_files(cert: &Path, key: &Path) -> anyhow::Result<TlsIdentity> {
        let mut certs = CertificateDer::pem_file_iter(cert)
            .map_err(|e| anyhow::anyhow!("certificado ilegível: {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("certificado ilegível: {e}"))?
            .into_iter()
            .map(|c| c.to_vec());
        let cert_der = certs
            .next()
            .ok_or_else(|| anyhow::anyhow!("nenhum certificado (BEGIN CERTIFICATE) no arquivo"))?;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| anyhow::anyhow!("chave privada ilegível: {e}"))?;
        let identity = TlsIdentity {
            cert_der,
            chain: certs.collect(),
            key,
        };
        // Refuses a key that does not belong to the certificate now, not at the first client.
        identity.server_config()?;
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
                std::iter::once(&self.cert_der)
                    .chain(&self.chain)
                    .map(|c| CertificateDer::from(c.clone()))
                    .collect(),
                self.key.clone_key(),
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
