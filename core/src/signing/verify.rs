//! Verifying a laudo's detached `.p7s` the way the central does on receipt (§14): the
//! signature, the CAdES-BES attributes, the AD-RB policy and the e-CPF's CPF.

use chrono::{DateTime, Utc};
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};

use super::cades::{
    OID_CONTENT_TYPE, OID_DATA, OID_MESSAGE_DIGEST, OID_SIG_POLICY_ID, OID_SIGNED_DATA,
    OID_SIGNING_CERTIFICATE_V2, OID_SIGNING_TIME,
};
use super::certificate::{CertificateError, EcpfCertificate, mask_cpf};
use super::keys;
use super::path::{self, CertificationPath};

/// What a valid `.p7s` says about its signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The signer's CPF (11 digits).
    pub cpf: String,
    /// The certificate's common name.
    pub signer_name: String,
    /// The certificate's serial number, hex.
    pub certificate_serial: String,
    /// The signingTime attribute.
    pub signing_time: DateTime<Utc>,
    /// The signature policy OID.
    pub policy_oid: String,
    /// SHA-256 of the signed content, hex.
    pub content_sha256: String,
    /// The signer's certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The other certificates the `.p7s` carries (the CA chain, when the signer added it).
    pub other_certificates_der: Vec<Vec<u8>>,
}

impl VerifiedSignature {
    /// The checks a receiver makes of the signer's certificate (§14): the signing time not
    /// after `arrival`, the certificate allowed to sign (digitalSignature or nonRepudiation),
    /// and a certification path to `roots` valid at the signing time (through
    /// `intermediates` and the certificates the `.p7s` carries). Revocation is checked over
    /// the path returned.
    pub fn check_path(
        &self,
        roots: &[EcpfCertificate],
        intermediates: &[EcpfCertificate],
        arrival: DateTime<Utc>,
    ) -> Result<CertificationPath, CertificateError> {
        let fmt = |t: DateTime<Utc>| t.format("%d/%m/%Y %H:%M:%S UTC").to_string();
        if self.signing_time > arrival {
            return Err(CertificateError::SignedAfterArrival {
                signed: fmt(self.signing_time),
                arrived: fmt(arrival),
            });
        }
        let cert = EcpfCertificate::from_der(&self.certificate_der)?;
        let mut pool: Vec<EcpfCertificate> = intermediates.to_vec();
        pool.extend(
            self.other_certificates_der
                .iter()
                .filter_map(|der| EcpfCertificate::from_der(der).ok()),
        );
        let path = path::build(&cert, self.signing_time, roots, &pool)?;
        if !cert.allows_digital_signature() {
            return Err(CertificateError::NoDigitalSignature);
        }
        Ok(path)
    }
}

/// Why a `.p7s` was rejected; the central returns this text to the station.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a DER CMS SignedData.
    #[error("assinatura ilegível (não é um CMS SignedData DER): {0}")]
    Malformed(String),
    /// Not exactly one signer.
    #[error("a assinatura deve ter exatamente um signatário, tem {0}")]
    SignerCount(usize),
    /// The signer's certificate is not in the `.p7s`.
    #[error("o certificado do signatário não está na assinatura")]
    CertificateMissing,
    /// A required signed attribute is missing or wrong.
    #[error("atributo assinado ausente ou inválido: {0}")]
    Attribute(&'static str),
    /// The content is not what was signed.
    #[error("o laudo não confere com a assinatura (resumo SHA-256 diferente)")]
    DigestMismatch,
    /// The cryptographic signature is invalid.
    #[error("assinatura inválida: {0}")]
    BadSignature(String),
    /// Not the ICP-Brasil AD-RB policy.
    #[error("política de assinatura {0} não é a AD-RB da ICP-Brasil")]
    WrongPolicy(String),
    /// The certificate's CPF is not the inspector's.
    #[error("o CPF do certificado ({certificate}) não é o do vistoriador do laudo ({expected})")]
    CpfMismatch {
        /// Masked CPF in the certificate.
        certificate: String,
        /// Masked expected CPF.
        expected: String,
    },
    /// The certificate itself is unusable.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
}

/// Verifies a detached CAdES-BES `.p7s` over `content` and that its e-CPF belongs to
/// `expected_cpf`. Checks: one signer, its certificate present, contentType = id-data,
/// messageDigest = SHA-256(content), signingTime present, signingCertificateV2 naming the
/// signer's certificate, signaturePolicyIdentifier = AD-RB (any 2.16.76.1.7.1.1.* CAdES
/// AD-RB version), and the signature over the signed attributes.
pub fn verify_p7s(
    content: &[u8],
    p7s: &[u8],
    expected_cpf: &str,
) -> Result<VerifiedSignature, VerifyError> {
    let malformed = |e: der::Error| VerifyError::Malformed(e.to_string());
    let info = ContentInfo::from_der(p7s).map_err(malformed)?;
    if info.content_type.to_string() != OID_SIGNED_DATA {
        return Err(VerifyError::Malformed(format!(
            "tipo de conteúdo {}",
            info.content_type
        )));
    }
    let signed =
        SignedData::from_der(&info.content.to_der().map_err(malformed)?).map_err(malformed)?;
    let signers: Vec<_> = signed.signer_infos.0.iter().collect();
    let [signer] = signers.as_slice() else {
        return Err(VerifyError::SignerCount(signers.len()));
    };
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer.sid else {
        return Err(VerifyError::CertificateMissing);
    };
    let certificate = signed
        .certificates
        .as_ref()
        .and_then(|set| {
            set.0.iter().find_map(|choice| match choice {
                cms::cert::CertificateChoices::Certificate(c)
                    if c.tbs_certificate.issuer == sid.issuer
                        && c.tbs_certificate.serial_number == sid.serial_number =>
                {
                    Some(c.clone())
                }
                _ => None,
            })
        })
        .ok_or(VerifyError::CertificateMissing)?;
    let certificate_der = certificate.to_der().map_err(malformed)?;
    let other_certificates_der: Vec<Vec<u8>> = signed
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|choice| match choice {
                    cms::cert::CertificateChoices::Certificate(c) => c.to_der().ok(),
                    _ => None,
                })
                .filter(|der| *der != certificate_der)
                .collect()
        })
        .unwrap_or_default();

    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or(VerifyError::Attribute("atributos assinados"))?;
    let value_of = |oid: &str| {
        attrs
            .iter()
            .find(|a| a.oid.to_string() == oid)
            .and_then(|a| a.values.iter().next())
    };

    let content_type = value_of(OID_CONTENT_TYPE)
        .and_then(|v| v.decode_as::<der::asn1::ObjectIdentifier>().ok())
        .ok_or(VerifyError::Attribute("contentType"))?;
    if content_type.to_string() != OID_DATA {
        return Err(VerifyError::Attribute("contentType"));
    }
    let digest = value_of(OID_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<der::asn1::OctetString>().ok())
        .ok_or(VerifyError::Attribute("messageDigest"))?;
    let content_hash = Sha256::digest(content);
    if digest.as_bytes() != content_hash.as_slice() {
        return Err(VerifyError::DigestMismatch);
    }
    let signing_time = value_of(OID_SIGNING_TIME)
        .and_then(|v| v.to_der().ok())
        .and_then(|d| x509_cert::time::Time::from_der(&d).ok())
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.to_unix_duration().as_secs() as i64, 0))
        .ok_or(VerifyError::Attribute("signingTime"))?;
    check_signing_certificate_v2(
        value_of(OID_SIGNING_CERTIFICATE_V2),
        &Sha256::digest(&certificate_der),
    )?;
    let policy_oid = value_of(OID_SIG_POLICY_ID)
        .and_then(|v| first_oid_in_sequence(v.value()))
        .ok_or(VerifyError::Attribute("signaturePolicyIdentifier"))?;
    if !policy_oid.starts_with("2.16.76.1.7.1.1.") {
        return Err(VerifyError::WrongPolicy(policy_oid));
    }

    let signed_bytes = attrs.to_der().map_err(malformed)?;
    keys::verify(
        &certificate.tbs_certificate.subject_public_key_info,
        &signer.signature_algorithm.oid.to_string(),
        &signed_bytes,
        signer.signature.as_bytes(),
    )
    .map_err(VerifyError::BadSignature)?;

    let ecpf = EcpfCertificate::from_der(&certificate_der)?;
    let cpf = ecpf.cpf().ok_or(CertificateError::NoCpf)?.to_owned();
    let expected: String = expected_cpf.chars().filter(char::is_ascii_digit).collect();
    if cpf != expected {
        return Err(VerifyError::CpfMismatch {
            certificate: mask_cpf(&cpf),
            expected: mask_cpf(&expected),
        });
    }
    Ok(VerifiedSignature {
        cpf,
        signer_name: ecpf.holder_name(),
        certificate_serial: ecpf.serial_hex(),
        signing_time,
        policy_oid,
        content_sha256: hex::encode(content_hash),
        certificate_der,
        other_certificates_der,
    })
}

/// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, … }: the first
/// ESSCertIDv2 must hash (SHA-256, the default) to the signer's certificate.
fn check_signing_certificate_v2(
    value: Option<&der::asn1::Any>,
    cert_hash: &[u8],
) -> Result<(), VerifyError> {
    let bad = VerifyError::Attribute("signingCertificateV2");
    let value = value.ok_or(bad.clone())?;
    let certs: der::asn1::Any = der::Decode::from_der(value.value()).map_err(|_| bad.clone())?;
    let first: der::asn1::Any =
        der::Decode::from_der(super::der::first_tlv(certs.value()).ok_or(bad.clone())?)
            .map_err(|_| bad.clone())?;
    // ESSCertIDv2: optional AlgorithmIdentifier (SEQUENCE), then certHash OCTET STRING.
    let mut rest = first.value();
    let mut element = super::der::first_tlv(rest).ok_or(bad.clone())?;
    if element.first() == Some(&0x30) {
        let content = super::der::tlv_content(element).ok_or(bad.clone())?;
        let algorithm = super::der::first_tlv(content).ok_or(bad.clone())?;
        if algorithm != super::der::oid(super::cades::OID_SHA256).as_slice() {
            return Err(bad);
        }
        rest = &rest[element.len()..];
        element = super::der::first_tlv(rest).ok_or(bad.clone())?;
    }
    let hash: der::asn1::OctetString = der::Decode::from_der(element).map_err(|_| bad.clone())?;
    if hash.as_bytes() == cert_hash {
        Ok(())
    } else {
        Err(bad)
    }
}

fn first_oid_in_sequence(sequence_value: &[u8]) -> Option<String> {
    let element = super::der::first_tlv(sequence_value)?;
    der::asn1::ObjectIdentifier::from_der(element)
        .ok()
        .map(|o| o.to_string())
}
