//! A software e-CPF: certificate and PKCS#8 key in files (RSA or ECDSA P-256), the card's
//! stand-in for `vistoria simulate` and the tests. A station never signs with it: an A3 key lives
//! on the card and signs through PKCS#11 (`vistoria-drivers::smartcard`).

use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};

use super::test_pki::TestPki;
use super::{PublicKeyKind, Signer, SignerError};

enum Key {
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>),
    Ec(p256::ecdsa::SigningKey),
}

/// A certificate and its private key held in memory.
pub struct SoftwareSigner {
    cert: Vec<u8>,
    chain: Vec<Vec<u8>>,
    key: Key,
}

impl SoftwareSigner {
    /// The certificate (DER) and its PKCS#8 PEM key, RSA or P-256.
    pub fn from_pem(cert_der: Vec<u8>, key_pem: &str) -> Result<SoftwareSigner, SignerError> {
        let key = match rsa::RsaPrivateKey::from_pkcs8_pem(key_pem) {
            Ok(rsa) => Key::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(rsa))),
            Err(_) => Key::Ec(
                p256::ecdsa::SigningKey::from_pkcs8_pem(key_pem)
                    .map_err(|_| SignerError::UnsupportedKey)?,
            ),
        };
        Ok(SoftwareSigner {
            cert: cert_der,
            chain: Vec::new(),
            key,
        })
    }

    /// The e-CPF of a test PKI (`ecpf.der`, `ecpf.key`), offering the PKI's CA certificates
    /// (every `*.der` other than the leaf) as its chain.
    pub fn from_test_pki(pki: &TestPki) -> Result<SoftwareSigner, SignerError> {
        let read = |name: &str| {
            std::fs::read(pki.file(name)).map_err(|e| SignerError::Device(format!("{name}: {e}")))
        };
        let key_pem = String::from_utf8(read("ecpf.key")?)
            .map_err(|_| SignerError::Device("ecpf.key não é PEM".into()))?;
        let mut signer = SoftwareSigner::from_pem(read("ecpf.der")?, &key_pem)?;
        let mut chain: Vec<_> = std::fs::read_dir(&pki.dir)
            .map_err(|e| SignerError::Device(e.to_string()))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "der")
                    && p.file_name().is_some_and(|n| n != "ecpf.der")
            })
            .collect();
        chain.sort();
        for path in chain {
            signer
                .chain
                .push(std::fs::read(&path).map_err(|e| SignerError::Device(e.to_string()))?);
        }
        Ok(signer)
    }
}

impl Signer for SoftwareSigner {
    fn certificate_der(&self) -> &[u8] {
        &self.cert
    }

    fn chain_der(&self) -> Vec<Vec<u8>> {
        self.chain.clone()
    }

    fn sign(&mut self, message: &[u8], _kind: PublicKeyKind) -> Result<Vec<u8>, SignerError> {
        Ok(match &self.key {
            Key::Rsa(key) => key.sign(message).to_vec(),
            Key::Ec(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
        })
    }
}
