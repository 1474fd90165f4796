//! ICP-Brasil trust at the central (§14): which roots an e-CPF must chain to, the path check
//! (the kiosk's own, `vistoria_core::signing::path`), and revocation by the CAs' LCRs.
//!
//! The roots are the certificates (PEM or DER) in the folder given to `serve --icp-roots`,
//! read again at every check, so a root added or withdrawn applies without a restart.

pub mod lcr;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use vistoria_core::signing::certificate::certificates_from_pem_or_der;
use vistoria_core::signing::{CertificateError, CertificationPath, EcpfCertificate};

use lcr::LcrCache;

/// How the central decides whom to trust.
#[derive(Debug, Clone)]
pub struct TrustOptions {
    /// Folder of root certificates (`--icp-roots`).
    pub roots: PathBuf,
    /// Accept certificates that name no LCR (`--lcr-optional`): only for test PKIs, which have
    /// no publication server. A certificate that names one is checked all the same.
    pub lcr_optional: bool,
    /// Longest an LCR download may take.
    pub lcr_timeout: Duration,
}

impl TrustOptions {
    /// Trusting the roots in `roots`, LCRs required.
    pub fn new(roots: &Path) -> TrustOptions {
        TrustOptions {
            roots: roots.to_path_buf(),
            lcr_optional: false,
            lcr_timeout: Duration::from_secs(15),
        }
    }
}

/// Why a signer's certificate was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustError {
    /// For good: the same certificate will always be refused (path, usage, revocation).
    Refused(String),
    /// Cannot be judged now (an LCR unreachable, no roots readable): try again later.
    Unavailable(String),
}

/// The roots and the LCR cache.
pub struct Trust {
    options: TrustOptions,
    lcrs: LcrCache,
}

impl Trust {
    /// Trust per `options`, caching LCRs in `cache_dir`.
    pub fn new(options: TrustOptions, cache_dir: &Path) -> Trust {
        let lcrs = LcrCache::new(cache_dir, options.lcr_timeout);
        Trust { options, lcrs }
    }

    /// The configured roots now. Unreadable files are skipped (and logged).
    pub fn roots(&self) -> Vec<EcpfCertificate> {
        load_roots(&self.options.roots)
    }

    /// Each certificate of the path below the root against its issuer's current LCR.
    pub fn check_revocation(
        &self,
        path: &CertificationPath,
        now: DateTime<Utc>,
    ) -> Result<(), TrustError> {
        for (certificate, issuer) in path.issued() {
            let urls = certificate.crl_urls();
            if urls.is_empty() {
                if self.options.lcr_optional {
                    tracing::debug!(holder = %certificate.holder_name(), "certificado sem LCR aceito (--lcr-optional)");
                    continue;
                }
                return Err(TrustError::Refused(format!(
                    "o certificado «{}» não indica a LCR de sua AC (ponto de distribuição de LCR); \
                     sem ela a revogação não pode ser verificada",
                    certificate.holder_name()
                )));
            }
            let list = self
                .lcrs
                .current(&urls, issuer, now)
                .map_err(|e| TrustError::Unavailable(e.0))?;
            if let Some(at) = list.revocation_of(certificate) {
                return Err(TrustError::Refused(
                    CertificateError::Revoked {
                        holder: certificate.holder_name(),
                        serial: certificate.serial_hex(),
                        at: at.format("%d/%m/%Y %H:%M UTC").to_string(),
                    }
                    .to_string(),
                ));
            }
        }
        Ok(())
    }
}

/// Every certificate (PEM or DER, a PEM file may hold several) in `dir`.
pub fn load_roots(dir: &Path) -> Vec<EcpfCertificate> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::error!(dir = %dir.display(), "pasta de raízes ICP-Brasil ilegível");
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut roots = Vec::new();
    for path in paths {
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| certificates_from_pem_or_der(&b).map_err(|e| e.to_string()))
        {
            Ok(certs) => roots.extend(certs),
            Err(e) => tracing::warn!(path = %path.display(), %e, "não é um certificado raiz"),
        }
    }
    roots
}
