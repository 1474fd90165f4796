//! The inspector's ICP-Brasil e-CPF certificate (§14): who it names, when it is valid, what
//! it may do, and whether it chains to a root the station trusts.

use chrono::{DateTime, Utc};
use der::{Decode, Encode, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{BasicConstraints, CrlDistributionPoints, KeyUsage, SubjectAltName};

use super::keys::{self, PublicKeyKind};

/// ICP-Brasil otherName carrying the e-CPF holder's data (DOC-ICP-04, item 7.1.2.3): birth
/// date (8), CPF (11), NIS (11), RG (15), issuer and state of the RG (6).
pub const OID_ICP_BRASIL_PF_DATA: &str = "2.16.76.1.3.1";
const OID_SUBJECT_ALT_NAME: &str = "2.5.29.17";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_COMMON_NAME: &str = "2.5.4.3";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_CRL_DISTRIBUTION_POINTS: &str = "2.5.29.31";

/// Why a certificate cannot sign a laudo. The text is what the inspector reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The bytes are not an X.509 certificate.
    #[error("certificado ilegível: {0}")]
    Malformed(String),
    /// No ICP-Brasil otherName 2.16.76.1.3.1 with a valid CPF.
    #[error("o certificado não traz um CPF de pessoa física ICP-Brasil (e-CPF)")]
    NoCpf,
    /// The CPF is not the logged-in inspector's.
    #[error("o CPF do certificado ({certificate}) não é o do vistoriador conectado ({expected})")]
    CpfMismatch {
        /// Masked CPF from the certificate.
        certificate: String,
        /// Masked CPF of the logged-in inspector.
        expected: String,
    },
    /// Past `notAfter` by central time.
    #[error("certificado vencido em {0}: renove o e-CPF antes de assinar")]
    Expired(String),
    /// Before `notBefore` by central time.
    #[error("certificado ainda não é válido (válido a partir de {0})")]
    NotYetValid(String),
    /// Key usage with neither digitalSignature nor nonRepudiation.
    #[error(
        "o certificado não permite assinatura digital (uso de chave sem digitalSignature nem nonRepudiation)"
    )]
    NoDigitalSignature,
    /// No chain to a configured ICP-Brasil root.
    #[error("a cadeia do certificado não chega a uma raiz ICP-Brasil configurada: {0}")]
    UntrustedChain(String),
    /// The certificate issued itself and is not a configured root.
    #[error(
        "certificado autoassinado («{0}»): não foi emitido por uma autoridade certificadora ICP-Brasil"
    )]
    SelfSigned(String),
    /// A certificate above the signer's in the path is not a CA (basicConstraints cA).
    #[error(
        "«{0}» emitiu o certificado mas não é uma autoridade certificadora (basicConstraints sem cA)"
    )]
    NotACa(String),
    /// A CA in the path may not sign certificates (keyUsage without keyCertSign).
    #[error(
        "a autoridade certificadora «{0}» não pode emitir certificados (keyUsage sem keyCertSign)"
    )]
    NoKeyCertSign(String),
    /// A CA has more CAs below it than its pathLenConstraint allows.
    #[error(
        "a autoridade certificadora «{ca}» admite no máximo {allowed} AC(s) abaixo dela, a cadeia tem {found} (pathLenConstraint)"
    )]
    PathLenExceeded {
        /// The CA's common name.
        ca: String,
        /// Its pathLenConstraint.
        allowed: u8,
        /// Intermediate CAs below it in the path.
        found: usize,
    },
    /// The signing time is after the package reached the central.
    #[error("a hora da assinatura ({signed}) é posterior à chegada do laudo à central ({arrived})")]
    SignedAfterArrival {
        /// signingTime.
        signed: String,
        /// Arrival.
        arrived: String,
    },
    /// A certificate of the path is on its CA's revocation list (LCR).
    #[error("certificado «{holder}» (série {serial}) revogado pela AC em {at} (LCR)")]
    Revoked {
        /// The revoked certificate's common name.
        holder: String,
        /// Its serial, hex.
        serial: String,
        /// The revocation date.
        at: String,
    },
}

/// A parsed e-CPF certificate.
#[derive(Debug, Clone)]
pub struct EcpfCertificate {
    der: Vec<u8>,
    cert: Certificate,
    cpf: Option<String>,
}

impl EcpfCertificate {
    /// Parses a DER certificate. A missing CPF is not an error here; [`Self::check`] reports it.
    pub fn from_der(der_bytes: &[u8]) -> Result<EcpfCertificate, CertificateError> {
        let cert = Certificate::from_der(der_bytes)
            .map_err(|e| CertificateError::Malformed(e.to_string()))?;
        let cpf = cpf_from_certificate(&cert);
        Ok(EcpfCertificate {
            der: der_bytes.to_vec(),
            cert,
            cpf,
        })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The parsed certificate.
    pub fn x509(&self) -> &Certificate {
        &self.cert
    }

    /// The holder's CPF (11 digits, check digits valid), when the certificate carries one.
    pub fn cpf(&self) -> Option<&str> {
        self.cpf.as_deref()
    }

    /// The subject's common name (ICP-Brasil: "NAME:CPF").
    pub fn holder_name(&self) -> String {
        common_name(&self.cert.tbs_certificate.subject)
            .unwrap_or_else(|| self.cert.tbs_certificate.subject.to_string())
    }

    /// The issuer's common name.
    pub fn issuer_name(&self) -> String {
        common_name(&self.cert.tbs_certificate.issuer)
            .unwrap_or_else(|| self.cert.tbs_certificate.issuer.to_string())
    }

    /// Serial number in upper-case hex.
    pub fn serial_hex(&self) -> String {
        hex::encode_upper(self.cert.tbs_certificate.serial_number.as_bytes())
    }

    /// `notBefore`.
    pub fn not_before(&self) -> DateTime<Utc> {
        to_chrono(
            self.cert
                .tbs_certificate
                .validity
                .not_before
                .to_unix_duration(),
        )
    }

    /// `notAfter`.
    pub fn not_after(&self) -> DateTime<Utc> {
        to_chrono(
            self.cert
                .tbs_certificate
                .validity
                .not_after
                .to_unix_duration(),
        )
    }

    /// Whether key usage allows signing a document: digitalSignature or nonRepudiation
    /// (contentCommitment), as DOC-ICP-04 sets them on an e-CPF. An absent extension allows any
    /// use (RFC 5280 §4.2.1.3); an unreadable one allows nothing.
    pub fn allows_digital_signature(&self) -> bool {
        match self.key_usage() {
            None => true,
            Some(Ok(usage)) => usage.digital_signature() || usage.non_repudiation(),
            Some(Err(())) => false,
        }
    }

    /// The keyUsage extension: `None` when absent, `Some(Err)` when unreadable.
    pub fn key_usage(&self) -> Option<Result<KeyUsage, ()>> {
        extension(&self.cert, OID_KEY_USAGE).map(|bytes| KeyUsage::from_der(bytes).map_err(|_| ()))
    }

    /// The basicConstraints extension: `(cA, pathLenConstraint)`; `None` when absent or
    /// unreadable (then the certificate is no CA, RFC 5280 §4.2.1.9).
    pub fn basic_constraints(&self) -> Option<(bool, Option<u8>)> {
        let bytes = extension(&self.cert, OID_BASIC_CONSTRAINTS)?;
        let bc = BasicConstraints::from_der(bytes).ok()?;
        Some((bc.ca, bc.path_len_constraint))
    }

    /// The http(s) URLs of the CRL distribution points (where the issuer publishes its LCR).
    pub fn crl_urls(&self) -> Vec<String> {
        let Some(bytes) = extension(&self.cert, OID_CRL_DISTRIBUTION_POINTS) else {
            return Vec::new();
        };
        let Ok(points) = CrlDistributionPoints::from_der(bytes) else {
            return Vec::new();
        };
        points
            .0
            .iter()
            .filter_map(|p| match &p.distribution_point {
                Some(DistributionPointName::FullName(names)) => Some(names),
                _ => None,
            })
            .flatten()
            .filter_map(|name| match name {
                GeneralName::UniformResourceIdentifier(uri) => Some(uri.as_str().to_owned()),
                _ => None,
            })
            .filter(|uri| uri.starts_with("http://") || uri.starts_with("https://"))
            .collect()
    }

    /// Whether the subject and issuer names are the same (a root, or a self-made certificate).
    pub fn is_self_issued(&self) -> bool {
        self.cert.tbs_certificate.subject == self.cert.tbs_certificate.issuer
    }

    /// Whether `other` is the same certificate (same DER).
    pub fn same_as(&self, other: &EcpfCertificate) -> bool {
        self.der == other.der
    }

    /// The kind of the subject key.
    pub fn key_kind(&self) -> Option<PublicKeyKind> {
        keys::kind_of(&self.cert.tbs_certificate.subject_public_key_info)
    }

    /// Every check before signing a laudo (§14): CPF = the logged-in inspector's, valid at
    /// central time `now`, digitalSignature (or nonRepudiation) allowed, and a certification
    /// path to `roots` (through `intermediates`, e.g. the other certificates on the card) that
    /// [`super::path::build`] accepts.
    pub fn check(
        &self,
        expected_cpf: &str,
        now: DateTime<Utc>,
        roots: &[EcpfCertificate],
        intermediates: &[EcpfCertificate],
    ) -> Result<(), CertificateError> {
        let cpf = self.cpf().ok_or(CertificateError::NoCpf)?;
        let expected: String = expected_cpf.chars().filter(char::is_ascii_digit).collect();
        if cpf != expected {
            return Err(CertificateError::CpfMismatch {
                certificate: mask_cpf(cpf),
                expected: mask_cpf(&expected),
            });
        }
        self.check_validity(now)?;
        if !self.allows_digital_signature() {
            return Err(CertificateError::NoDigitalSignature);
        }
        super::path::build(self, now, roots, intermediates).map(drop)
    }

    /// Validity against central time.
    pub fn check_validity(&self, now: DateTime<Utc>) -> Result<(), CertificateError> {
        let fmt = |t: DateTime<Utc>| t.format("%d/%m/%Y %H:%M UTC").to_string();
        if now > self.not_after() {
            return Err(CertificateError::Expired(fmt(self.not_after())));
        }
        if now < self.not_before() {
            return Err(CertificateError::NotYetValid(fmt(self.not_before())));
        }
        Ok(())
    }

    /// Whether `issuer`'s key verifies this certificate's signature.
    pub fn signed_by(&self, issuer: &EcpfCertificate) -> bool {
        let Ok(tbs) = self.cert.tbs_certificate.to_der() else {
            return false;
        };
        keys::verify(
            &issuer.cert.tbs_certificate.subject_public_key_info,
            &self.cert.signature_algorithm.oid.to_string(),
            &tbs,
            self.cert.signature.raw_bytes(),
        )
        .is_ok()
    }
}

/// Parses PEM or DER certificates (a PEM file may hold several).
pub fn certificates_from_pem_or_der(
    bytes: &[u8],
) -> Result<Vec<EcpfCertificate>, CertificateError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(vec![EcpfCertificate::from_der(bytes)?]);
    };
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Ok(vec![EcpfCertificate::from_der(bytes)?]);
    }
    let mut out = Vec::new();
    for block in text.split("-----BEGIN CERTIFICATE-----").skip(1) {
        let body = block
            .split("-----END CERTIFICATE-----")
            .next()
            .unwrap_or_default();
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der_bytes = base64_decode(&b64)
            .ok_or_else(|| CertificateError::Malformed("PEM com base64 inválido".into()))?;
        out.push(EcpfCertificate::from_der(&der_bytes)?);
    }
    Ok(out)
}

pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let trimmed = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= value(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Masks a CPF as the laudo prints it: `***.456.789-**`.
pub fn mask_cpf(cpf: &str) -> String {
    let digits: Vec<char> = cpf.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 11 {
        return "***".into();
    }
    let mid: String = digits[3..9].iter().collect();
    format!("***.{}.{}-**", &mid[..3], &mid[3..])
}

/// Whether `cpf` is exactly 11 digits making a valid [`Cpf`](crate::domain::Cpf) (as a
/// certificate carries it: no separators).
pub fn cpf_is_valid(cpf: &str) -> bool {
    cpf.len() == 11 && crate::domain::Cpf::parse(cpf).is_ok()
}

/// The CPF in characters 9–19 of the otherName 2.16.76.1.3.1 value, which issuers encode as
/// OCTET STRING, PrintableString or UTF8String: all three are read as ASCII.
pub fn cpf_from_other_name_value(value: &[u8]) -> Option<String> {
    let text = value.get(8..19)?;
    let cpf = std::str::from_utf8(text).ok()?;
    cpf_is_valid(cpf).then(|| cpf.to_owned())
}

fn cpf_from_certificate(cert: &Certificate) -> Option<String> {
    let san = SubjectAltName::from_der(extension(cert, OID_SUBJECT_ALT_NAME)?).ok()?;
    san.0.iter().find_map(|name| match name {
        GeneralName::OtherName(other) if other.type_id.to_string() == OID_ICP_BRASIL_PF_DATA => {
            // OCTET STRING (0x04), PrintableString (0x13) and UTF8String (0x0C) all carry the
            // ASCII text as their content.
            let tag = u8::from(other.value.tag());
            [0x04u8, 0x13, 0x0C]
                .contains(&tag)
                .then(|| cpf_from_other_name_value(other.value.value()))
                .flatten()
        }
        _ => None,
    })
}

fn extension<'a>(cert: &'a Certificate, oid: &str) -> Option<&'a [u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id.to_string() == oid)
        .map(|e| e.extn_value.as_bytes())
}

fn common_name(name: &x509_cert::name::Name) -> Option<String> {
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find_map(|atv| {
        (atv.oid.to_string() == OID_COMMON_NAME)
            .then(|| String::from_utf8_lossy(atv.value.value()).into_owned())
    })
}

fn to_chrono(since_epoch: std::time::Duration) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(since_epoch.as_secs() as i64, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpf_check_digits() {
        assert!(cpf_is_valid("52998224725"));
        assert!(!cpf_is_valid("52998224724"));
        assert!(!cpf_is_valid("11111111111"));
        assert!(!cpf_is_valid("5299822472"));
    }

    #[test]
    fn cpf_is_read_from_characters_9_to_19() {
        let value = b"0101198052998224725000000000000000000000000000SSPMT";
        assert_eq!(
            cpf_from_other_name_value(value).as_deref(),
            Some("52998224725")
        );
        assert_eq!(cpf_from_other_name_value(b"01011980"), None);
    }

    #[test]
    fn cpf_masks_keep_the_middle() {
        assert_eq!(mask_cpf("52998224725"), "***.982.247-**");
        assert_eq!(mask_cpf("12"), "***");
    }

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(base64_decode("TWFu").as_deref(), Some(&b"Man"[..]));
        assert_eq!(base64_decode("TWE=").as_deref(), Some(&b"Ma"[..]));
        assert_eq!(base64_decode("TQ==").as_deref(), Some(&b"M"[..]));
        assert!(base64_decode("T!==").is_none());
    }
}
