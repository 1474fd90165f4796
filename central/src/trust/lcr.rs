//! The CAs' revocation lists (LCRs) as the central gets them: from the CRL distribution
//! points the certificates name (HTTP), checked against the issuing CA, and cached on disk in
//! the data folder until their `nextUpdate`, so a CA's publication server being down for a
//! while stops nothing as long as the cached list is current.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use vistoria_core::hashing::sha256_hex;
use vistoria_core::signing::{EcpfCertificate, Lcr};

/// Largest LCR accepted (the biggest ICP-Brasil CAs publish lists of tens of MB).
const MAX_LCR_BYTES: u64 = 64 * 1024 * 1024;

/// Fetches and caches LCRs.
pub struct LcrCache {
    dir: PathBuf,
    agent: ureq::Agent,
}

/// Why no current LCR could be had: the text names the CA, the URLs and the failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl LcrCache {
    /// A cache in `dir` (created on first write), fetching with `timeout` per request.
    pub fn new(dir: &Path, timeout: Duration) -> LcrCache {
        LcrCache {
            dir: dir.to_path_buf(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(timeout)
                .timeout(timeout)
                .redirects(3)
                .build(),
        }
    }

    /// A current LCR of `issuer` from one of `urls`: the cached copy while it is current,
    /// else a fresh one (verified against `issuer` before it is cached).
    pub fn current(
        &self,
        urls: &[String],
        issuer: &EcpfCertificate,
        now: DateTime<Utc>,
    ) -> Result<Lcr, Unavailable> {
        for url in urls {
            if let Some(lcr) = self.cached(url, issuer, now) {
                return Ok(lcr);
            }
        }
        let mut failures = Vec::new();
        for url in urls {
            match self.fetch(url, issuer, now) {
                Ok(lcr) => return Ok(lcr),
                Err(why) => {
                    tracing::warn!(%url, %why, "LCR não obtida");
                    failures.push(format!("{url}: {why}"));
                }
            }
        }
        Err(Unavailable(format!(
            "não foi possível obter a LCR da AC «{}» ({}) e não há cópia válida em cache",
            issuer.holder_name(),
            failures.join("; ")
        )))
    }

    fn path_of(&self, url: &str) -> PathBuf {
        self.dir.join(format!("{}.crl", sha256_hex(url.as_bytes())))
    }

    fn cached(&self, url: &str, issuer: &EcpfCertificate, now: DateTime<Utc>) -> Option<Lcr> {
        let bytes = std::fs::read(self.path_of(url)).ok()?;
        let lcr = Lcr::parse(&bytes).ok()?;
        // Checked again on every use: the cache is a file anyone with the disk could swap.
        (lcr.issued_by(issuer).is_ok() && lcr.is_current(now)).then_some(lcr)
    }

    fn fetch(
        &self,
        url: &str,
        issuer: &EcpfCertificate,
        now: DateTime<Utc>,
    ) -> Result<Lcr, String> {
        let response = self.agent.get(url).call().map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        response
            .into_reader()
            .take(MAX_LCR_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > MAX_LCR_BYTES {
            return Err(format!("LCR maior que {MAX_LCR_BYTES} bytes"));
        }
        let lcr = Lcr::parse(&bytes)?;
        lcr.issued_by(issuer)?;
        if !lcr.is_current(now) {
            return Err(match lcr.next_update() {
                Some(next) => format!("a LCR publicada venceu em {next} (nextUpdate)"),
                None => "a LCR publicada não tem nextUpdate".to_owned(),
            });
        }
        if let Err(e) = self.store(url, &bytes) {
            // Not fatal: the list is good for this check; the next one fetches again.
            tracing::warn!(%url, %e, "LCR não guardada em cache");
        }
        tracing::info!(%url, revoked = lcr.len(), next_update = ?lcr.next_update(), "LCR obtida");
        Ok(lcr)
    }

    /// Atomically replaces the cached copy (a unique temp name: commits run in parallel).
    fn store(&self, url: &str, bytes: &[u8]) -> std::io::Result<()> {
        crate::fsutil::create_dir_durable(&self.dir)?;
        let temp = self
            .dir
            .join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&temp, self.path_of(url))?;
        crate::fsutil::sync_dir(&self.dir)
    }
}
