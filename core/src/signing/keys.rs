//! Public-key signature verification for certificates and CMS: RSA PKCS#1 v1.5 (SHA-256/384/512)
//! and ECDSA P-256 with SHA-256.

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::signature::Verifier;
use sha2::{Sha256, Sha384, Sha512};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

/// RSA PKCS#1 v1.5 verification with digest `$digest` over a PKCS#1 `RSAPublicKey`.
macro_rules! rsa_verify {
    ($digest:ty, $key:expr, $message:expr, $signature:expr) => {{
        let key = rsa::RsaPublicKey::from_pkcs1_der($key)
            .map_err(|e| format!("chave RSA inválida: {e}"))?;
        let verifier = rsa::pkcs1v15::VerifyingKey::<$digest>::new(key);
        let sig = rsa::pkcs1v15::Signature::try_from($signature)
            .map_err(|e| format!("assinatura RSA malformada: {e}"))?;
        verifier
            .verify($message, &sig)
            .map_err(|_| "assinatura não confere".to_owned())
    }};
}

/// rsaEncryption.
pub const OID_RSA: &str = "1.2.840.113549.1.1.1";
/// sha256WithRSAEncryption.
pub const OID_SHA256_RSA: &str = "1.2.840.113549.1.1.11";
/// sha384WithRSAEncryption.
pub const OID_SHA384_RSA: &str = "1.2.840.113549.1.1.12";
/// sha512WithRSAEncryption.
pub const OID_SHA512_RSA: &str = "1.2.840.113549.1.1.13";
/// id-ecPublicKey.
pub const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// prime256v1 / secp256r1.
pub const OID_P256: &str = "1.2.840.10045.3.1.7";
/// ecdsa-with-SHA256.
pub const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

/// The key types a signer can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyKind {
    /// RSA (any size the card has; ICP-Brasil uses 2048 or 4096).
    Rsa,
    /// ECDSA on P-256.
    EcdsaP256,
}

/// The kind of a subject public key, `None` for keys we cannot verify.
pub fn kind_of(spki: &SubjectPublicKeyInfoOwned) -> Option<PublicKeyKind> {
    match spki.algorithm.oid.to_string().as_str() {
        OID_RSA => Some(PublicKeyKind::Rsa),
        OID_EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())?;
            (curve.to_string() == OID_P256).then_some(PublicKeyKind::EcdsaP256)
        }
        _ => None,
    }
}

/// Verifies `signature` over `message` with the key in `spki`, for the signature algorithm
/// `algorithm_oid` (dotted). `rsaEncryption` means SHA-256 here, as CMS uses it.
pub fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm_oid: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or("chave pública com bits soltos")?;
    match (kind_of(spki), algorithm_oid) {
        (Some(PublicKeyKind::Rsa), OID_SHA256_RSA | OID_RSA) => {
            rsa_verify!(Sha256, key_bytes, message, signature)
        }
        (Some(PublicKeyKind::Rsa), OID_SHA384_RSA) => {
            rsa_verify!(Sha384, key_bytes, message, signature)
        }
        (Some(PublicKeyKind::Rsa), OID_SHA512_RSA) => {
            rsa_verify!(Sha512, key_bytes, message, signature)
        }
        (Some(PublicKeyKind::EcdsaP256), OID_ECDSA_SHA256) => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map_err(|e| format!("chave EC inválida: {e}"))?;
            let sig = p256::ecdsa::Signature::from_der(signature)
                .map_err(|e| format!("assinatura ECDSA malformada: {e}"))?;
            key.verify(message, &sig)
                .map_err(|_| "assinatura não confere".to_owned())
        }
        (kind, alg) => Err(format!(
            "algoritmo não suportado: chave {kind:?}, assinatura {alg}"
        )),
    }
}
