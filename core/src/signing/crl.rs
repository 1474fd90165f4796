//! A CA's certificate revocation list (LCR, *lista de certificados revogados*; RFC 5280 §5):
//! parsed, its signature checked against the issuing CA, its validity window, and whether it
//! lists a certificate. Fetching and caching are the central's (`central/src/trust`).

use chrono::{DateTime, Utc};
use der::{Decode, Encode};
use x509_cert::crl::CertificateList;

use super::certificate::EcpfCertificate;
use super::keys;

/// A parsed LCR.
#[derive(Debug, Clone)]
pub struct Lcr {
    list: CertificateList,
}

impl Lcr {
    /// Parses DER (or PEM `X509 CRL`) bytes.
    pub fn parse(bytes: &[u8]) -> Result<Lcr, String> {
        let der_bytes = pem_body(bytes).unwrap_or_else(|| bytes.to_vec());
        CertificateList::from_der(&der_bytes)
            .map(|list| Lcr { list })
            .map_err(|e| format!("LCR ilegível: {e}"))
    }

    /// Whether `issuer` issued this list: same name and its key verifies the signature.
    pub fn issued_by(&self, issuer: &EcpfCertificate) -> Result<(), String> {
        if self.list.tbs_cert_list.issuer != issuer.x509().tbs_certificate.subject {
            return Err(format!(
                "a LCR é de outro emissor ({}), não de «{}»",
                self.list.tbs_cert_list.issuer,
                issuer.holder_name()
            ));
        }
        let tbs = self
            .list
            .tbs_cert_list
            .to_der()
            .map_err(|e| e.to_string())?;
        let signature = self
            .list
            .signature
            .as_bytes()
            .ok_or("assinatura da LCR com bits soltos")?;
        keys::verify(
            &issuer.x509().tbs_certificate.subject_public_key_info,
            &self.list.signature_algorithm.oid.to_string(),
            &tbs,
            signature,
        )
        .map_err(|e| format!("assinatura da LCR de «{}»: {e}", issuer.holder_name()))
    }

    /// `thisUpdate`.
    pub fn this_update(&self) -> DateTime<Utc> {
        to_chrono(self.list.tbs_cert_list.this_update.to_unix_duration())
    }

    /// `nextUpdate`: until when the list may be relied on. `None` (allowed by the syntax, not
    /// by ICP-Brasil) means it must be fetched again every time.
    pub fn next_update(&self) -> Option<DateTime<Utc>> {
        self.list
            .tbs_cert_list
            .next_update
            .map(|t| to_chrono(t.to_unix_duration()))
    }

    /// Whether the list may be relied on at `now`: issued by then and not past its next update.
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.this_update() <= now + chrono::Duration::minutes(5)
            && self.next_update().is_some_and(|next| now < next)
    }

    /// When `certificate` was revoked, if this list names it (by serial; the list is its
    /// issuer's, which [`Lcr::issued_by`] checks).
    pub fn revocation_of(&self, certificate: &EcpfCertificate) -> Option<DateTime<Utc>> {
        let serial = &certificate.x509().tbs_certificate.serial_number;
        self.list
            .tbs_cert_list
            .revoked_certificates
            .as_ref()?
            .iter()
            .find(|r| &r.serial_number == serial)
            .map(|r| to_chrono(r.revocation_date.to_unix_duration()))
    }

    /// How many certificates the list revokes.
    pub fn len(&self) -> usize {
        self.list
            .tbs_cert_list
            .revoked_certificates
            .as_ref()
            .map_or(0, Vec::len)
    }

    /// Whether the list revokes nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn pem_body(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let body = text
        .split("-----BEGIN X509 CRL-----")
        .nth(1)?
        .split("-----END X509 CRL-----")
        .next()?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    super::certificate::base64_decode(&b64)
}

fn to_chrono(since_epoch: std::time::Duration) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(since_epoch.as_secs() as i64, 0).unwrap_or_default()
}
