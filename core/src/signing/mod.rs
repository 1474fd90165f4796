//! The inspector's digital signature of the laudo (§14): ICP-Brasil e-CPF A3 certificate
//! checks, CAdES-BES detached `.p7s` under the AD-RB policy, and its verification.
//!
//! The key never leaves the card: a [`Signer`] (the PKCS#11 one lives in
//! `vistoria-drivers::smartcard`) signs the DER of the signed attributes; everything around it
//! is built here, in pure code over bytes.

pub mod cades;
pub mod certificate;
pub mod crl;
pub mod der;
pub mod keys;
pub mod path;
pub mod test_pki;
pub mod verify;

use chrono::{DateTime, Utc};

pub use cades::{SignaturePolicy, sign_detached};
pub use certificate::{CertificateError, EcpfCertificate, cpf_is_valid, mask_cpf};
pub use crl::Lcr;
pub use keys::PublicKeyKind;
pub use path::CertificationPath;
pub use verify::{VerifiedSignature, VerifyError, verify_p7s};

/// The content the fuzzing seeds and the property tests sign: a hostile `.p7s` is checked
/// against fixed content, so a mutated signature still reaches the attribute and certificate
/// parsers behind the digest check.
#[doc(hidden)]
pub const FUZZ_CONTENT: &[u8] = b"{\"laudo\":\"fuzz\",\"version\":1}";

/// Why the card could not sign. Each text is what the inspector reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// Wrong PIN, more tries left.
    #[error("PIN incorreto; confira e digite de novo")]
    WrongPin,
    /// Wrong PIN and the next wrong one locks the card.
    #[error("PIN incorreto. Atenção: resta só uma tentativa antes de o cartão ser bloqueado")]
    WrongPinLastTry,
    /// The PIN is locked.
    #[error(
        "PIN bloqueado: o cartão não assina mais até ser desbloqueado com o PUK junto à autoridade certificadora"
    )]
    PinLocked,
    /// The card was removed (before or during the signature).
    #[error("o cartão foi retirado durante a assinatura; recoloque o e-CPF e assine de novo")]
    CardRemoved,
    /// No card in any reader.
    #[error("nenhum cartão e-CPF encontrado na leitora")]
    NoCard,
    /// The card holds no certificate with a private key.
    #[error("o cartão não tem um certificado com chave de assinatura")]
    NoKey,
    /// The card's key is neither RSA nor ECDSA P-256.
    #[error("o cartão usa um tipo de chave que a estação não sabe assinar")]
    UnsupportedKey,
    /// The PKCS#11 middleware could not be loaded.
    #[error("middleware do cartão (PKCS#11) indisponível: {0}")]
    Module(String),
    /// Any other card failure.
    #[error("falha no cartão: {0}")]
    Device(String),
}

/// Why a laudo could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The card failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The certificate cannot sign this laudo.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The biometric re-check (§14) did not pass.
    #[error("a conferência biométrica do vistoriador não confirmou a identidade; assine de novo")]
    BiometricFailed,
    /// The signature policy could not be loaded.
    #[error("política de assinatura: {0}")]
    Policy(String),
    /// A DER encoding failure (a bug or a corrupt certificate).
    #[error("erro ao montar a assinatura: {0}")]
    Encoding(String),
}

/// Something that holds a private key and its certificate: an e-CPF card through PKCS#11,
/// or a software key in tests.
pub trait Signer {
    /// The signer's certificate, DER.
    fn certificate_der(&self) -> &[u8];
    /// Other certificates the signer offers (the CA chain on the card), DER.
    fn chain_der(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
    /// Signs `message` with SHA-256: for RSA a PKCS#1 v1.5 signature, for ECDSA the DER
    /// `Ecdsa-Sig-Value`. `kind` is the certificate's key kind.
    fn sign(&mut self, message: &[u8], kind: PublicKeyKind) -> Result<Vec<u8>, SignerError>;
}

/// What the station knows when the inspector signs.
#[derive(Debug, Clone)]
pub struct SigningContext<'a> {
    /// The logged-in inspector's CPF.
    pub inspector_cpf: &'a str,
    /// Central time (2d), for certificate validity and signingTime.
    pub now: DateTime<Utc>,
    /// The ICP-Brasil roots configured on the station.
    pub roots: &'a [EcpfCertificate],
    /// The policy to name.
    pub policy: &'a SignaturePolicy,
    /// Whether the biometric re-check right before signing matched (§14). The laudo content
    /// carries the same result and time.
    pub biometric_matched: bool,
}

/// A signed laudo: the `.p7s` and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedSignature {
    /// DER CMS ContentInfo.
    pub p7s: Vec<u8>,
    /// SHA-256 of `p7s`, hex (printed on the laudo, sent with it).
    pub p7s_sha256: String,
    /// Holder name on the certificate.
    pub signer_name: String,
    /// Certificate serial, hex.
    pub certificate_serial: String,
    /// Signing time (central).
    pub signed_at: DateTime<Utc>,
}

/// Checks the certificate (§14: CPF = inspector, valid at central time, digitalSignature or
/// nonRepudiation, a certification path to the configured roots) and the biometric re-check, then signs `content`.
pub fn sign_checked(
    signer: &mut dyn Signer,
    content: &[u8],
    context: &SigningContext<'_>,
) -> Result<DetachedSignature, SigningError> {
    if !context.biometric_matched {
        return Err(SigningError::BiometricFailed);
    }
    let certificate = EcpfCertificate::from_der(signer.certificate_der())?;
    let chain: Vec<EcpfCertificate> = signer
        .chain_der()
        .iter()
        .filter_map(|der| EcpfCertificate::from_der(der).ok())
        .collect();
    certificate.check(context.inspector_cpf, context.now, context.roots, &chain)?;
    let p7s = sign_detached(signer, content, context.now, context.policy, &[])?;
    use sha2::Digest;
    Ok(DetachedSignature {
        p7s_sha256: hex::encode(sha2::Sha256::digest(&p7s)),
        p7s,
        signer_name: certificate.holder_name(),
        certificate_serial: certificate.serial_hex(),
        signed_at: context.now,
    })
}

#[cfg(test)]
mod path_tests;
#[cfg(test)]
mod tests;
