//! The certification path of an e-CPF, from the signer's certificate to a configured
//! ICP-Brasil root (RFC 5280 §6.1, reduced to what ICP-Brasil uses): the kiosk checks it
//! before the card signs (§14) and the central again on receipt, with the same code.
//!
//! A link is accepted only when the issuer's subject is the certificate's issuer name *and*
//! the issuer's key verifies the certificate's signature; every certificate above the signer
//! must be a CA (basicConstraints cA), allowed to sign certificates (keyUsage keyCertSign), with
//! no more CAs below it than its pathLenConstraint; every certificate of the path must be valid
//! at `at` (the signing time). A matching name alone proves nothing: anyone can write a name.
//! Revocation (the CAs' LCRs) is the caller's, with [`super::crl`], over the path returned.

use chrono::{DateTime, Utc};

use super::certificate::{CertificateError, EcpfCertificate};

/// Most certificates a path may have (ICP-Brasil has three or four levels).
const MAX_DEPTH: usize = 8;

/// A validated path: the signer's certificate first, the configured root last.
#[derive(Debug, Clone)]
pub struct CertificationPath {
    /// Leaf … root.
    pub certificates: Vec<EcpfCertificate>,
}

impl CertificationPath {
    /// Each certificate below the root with its issuer (the next one): what revocation checks.
    pub fn issued(&self) -> impl Iterator<Item = (&EcpfCertificate, &EcpfCertificate)> {
        self.certificates
            .windows(2)
            .map(|pair| (&pair[0], &pair[1]))
    }
}

/// Builds and validates the path of `leaf` at time `at` to one of `roots`, through any of
/// `intermediates` (the other certificates of the `.p7s` or of the card). The leaf's own key
/// usage and CPF are checked by the callers, who know what it is for.
pub fn build(
    leaf: &EcpfCertificate,
    at: DateTime<Utc>,
    roots: &[EcpfCertificate],
    intermediates: &[EcpfCertificate],
) -> Result<CertificationPath, CertificateError> {
    if roots.is_empty() {
        return Err(CertificateError::UntrustedChain(
            "nenhuma raiz configurada".into(),
        ));
    }
    leaf.check_validity(at)?;
    // A configured root may itself be the signer's certificate only in a test setup; it is
    // still a complete path.
    if roots.iter().any(|r| r.same_as(leaf)) {
        return Ok(CertificationPath {
            certificates: vec![leaf.clone()],
        });
    }
    let mut path = vec![leaf];
    let mut first_error = None;
    if extend(&mut path, at, roots, intermediates, &mut first_error) {
        return Ok(CertificationPath {
            certificates: path.into_iter().cloned().collect(),
        });
    }
    Err(first_error.unwrap_or_else(|| {
        if leaf.is_self_issued() {
            CertificateError::SelfSigned(leaf.holder_name())
        } else {
            CertificateError::UntrustedChain(format!(
                "emissor desconhecido: «{}»",
                leaf.issuer_name()
            ))
        }
    }))
}

/// Depth-first search: tries every candidate issuer of the path's last certificate (roots
/// first), keeping the first specific refusal to report when no candidate completes a path.
fn extend<'a>(
    path: &mut Vec<&'a EcpfCertificate>,
    at: DateTime<Utc>,
    roots: &'a [EcpfCertificate],
    intermediates: &'a [EcpfCertificate],
    first_error: &mut Option<CertificateError>,
) -> bool {
    let Some(current) = path.last().copied() else {
        return false;
    };
    if path.len() > MAX_DEPTH {
        first_error.get_or_insert(CertificateError::UntrustedChain(
            "cadeia longa demais".into(),
        ));
        return false;
    }
    let issuer_name = &current.x509().tbs_certificate.issuer;
    let candidates: Vec<(&'a EcpfCertificate, bool)> = roots
        .iter()
        .map(|c| (c, true))
        .chain(intermediates.iter().map(|c| (c, false)))
        .filter(|(c, _)| &c.x509().tbs_certificate.subject == issuer_name)
        .filter(|(c, _)| !path.iter().any(|p| p.same_as(c)))
        .collect();
    for (candidate, is_root) in candidates {
        if !current.signed_by(candidate) {
            first_error.get_or_insert(CertificateError::UntrustedChain(format!(
                "a assinatura de «{}» não confere com a chave de «{}»",
                current.holder_name(),
                candidate.holder_name()
            )));
            continue;
        }
        // Intermediate CAs between this candidate and the leaf (RFC 5280 §4.2.1.9: self-issued
        // ones do not count; ICP-Brasil has none).
        let below = path[1..].iter().filter(|c| !c.is_self_issued()).count();
        if let Err(e) = check_ca(candidate, below, at) {
            first_error.get_or_insert(e);
            continue;
        }
        if is_root {
            path.push(candidate);
            return true;
        }
        path.push(candidate);
        if extend(path, at, roots, intermediates, first_error) {
            return true;
        }
        path.pop();
    }
    false
}

/// What a certificate must be to have issued another: a CA, allowed to sign certificates,
/// with room for `below` CAs under it, valid at `at`.
fn check_ca(ca: &EcpfCertificate, below: usize, at: DateTime<Utc>) -> Result<(), CertificateError> {
    let name = ca.holder_name();
    let Some((true, path_len)) = ca.basic_constraints() else {
        return Err(CertificateError::NotACa(name));
    };
    match ca.key_usage() {
        Some(Ok(usage)) if usage.key_cert_sign() => {}
        _ => return Err(CertificateError::NoKeyCertSign(name)),
    }
    if let Some(allowed) = path_len
        && below > usize::from(allowed)
    {
        return Err(CertificateError::PathLenExceeded {
            ca: name,
            allowed,
            found: below,
        });
    }
    ca.check_validity(at).map_err(|e| {
        CertificateError::UntrustedChain(format!("autoridade certificadora «{name}»: {e}"))
    })
}
