//! The server's limits ([`Limits`], each a flag of `vistoria-central serve`; `central/README.md`
//! lists them with the answer each gives) and the token bucket used both per authenticated
//! station and, before authentication, per client address.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Tunable limits of the server. Every one exists because one station, or a stranger, could
/// otherwise stall the central for all the others (issue 17).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest media file a manifest may declare (bytes).
    pub max_file_bytes: u64,
    /// Longest a non-upload request may take.
    pub request_timeout: Duration,
    /// Longest an upload may go without receiving a byte.
    pub idle_timeout: Duration,
    /// Requests per second each station may sustain.
    pub rate_per_second: f64,
    /// Requests a station may make in a burst.
    pub rate_burst: f64,
    /// Requests per second each client address may sustain, counted before authentication.
    pub address_rate_per_second: f64,
    /// Requests a client address may make in a burst, counted before authentication.
    pub address_rate_burst: f64,
    /// Uploads one station may have running at once (more: 429).
    pub max_uploads_per_station: usize,
    /// Uploads running at once over all stations (more: 429).
    pub max_uploads_total: usize,
    /// Slowest an upload may send, in bytes per second, averaged over [`Limits::min_rate_window`].
    pub min_upload_bytes_per_second: u64,
    /// Window over which the minimum upload rate is measured.
    pub min_rate_window: Duration,
    /// Longest one upload request may take, however fast it sends.
    pub upload_deadline: Duration,
    /// Open connections over all clients (more are closed at accept).
    pub max_connections: usize,
    /// Open connections from one client address (more are closed at accept).
    pub max_connections_per_address: usize,
    /// Longest a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// Longest a connection may stay open with no request running: from accept to the first
    /// request, and between requests.
    pub connection_idle_timeout: Duration,
    /// Most files one package may declare.
    pub max_files_per_package: usize,
    /// Most bytes one package may declare.
    pub max_package_bytes: u64,
    /// Most bytes a station may have declared in packages not yet verified.
    pub max_outstanding_bytes_per_station: u64,
    /// Largest laudo a manifest may declare (the commit reads it whole).
    pub max_laudo_bytes: u64,
    /// Largest `.p7s` a manifest may declare (the commit reads it whole).
    pub max_signature_bytes: u64,
    /// Free space the media disk must keep after an upload or a new package (else 507).
    pub disk_reserve_bytes: u64,
    /// How long a package may stay unverified before it and its partial bytes are removed.
    pub uncommitted_expiry: Duration,
    /// Longest a graceful stop waits for running requests.
    pub shutdown_grace: Duration,
    /// Longest a token stays in the in-memory cache without being looked up again.
    pub token_cache_ttl: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

impl Limits {
    /// The defaults of `vistoria-central serve` (also its flags' defaults).
    pub const DEFAULT: Limits = Limits {
        max_file_bytes: 2 * GIB,
        request_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(60),
        rate_per_second: 20.0,
        rate_burst: 200.0,
        address_rate_per_second: 50.0,
        address_rate_burst: 500.0,
        max_uploads_per_station: 8,
        max_uploads_total: 128,
        min_upload_bytes_per_second: KIB,
        min_rate_window: Duration::from_secs(30),
        upload_deadline: Duration::from_secs(3600),
        max_connections: 512,
        max_connections_per_address: 64,
        handshake_timeout: Duration::from_secs(10),
        connection_idle_timeout: Duration::from_secs(30),
        max_files_per_package: 256,
        max_package_bytes: 4 * GIB,
        max_outstanding_bytes_per_station: 16 * GIB,
        max_laudo_bytes: MIB,
        max_signature_bytes: 64 * KIB,
        disk_reserve_bytes: GIB,
        uncommitted_expiry: Duration::from_secs(7 * 24 * 3600),
        shutdown_grace: Duration::from_secs(20),
        token_cache_ttl: Duration::from_secs(300),
    };
}

/// Token buckets by key (a station code, or a client address).
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` tokens refill each second, up to `burst`.
    pub fn new(per_second: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            per_second,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `station` (or any key), or says how many seconds until one is
    /// available. Buckets idle long enough to be full again are forgotten, so a stranger
    /// cycling through addresses cannot grow the map without bound.
    pub fn take(&self, station: &str) -> Result<(), u64> {
        self.take_at(station, Instant::now())
    }

    fn take_at(&self, station: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > 10_000 && self.per_second > 0.0 {
            let refill = Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, (_, last)| now.saturating_duration_since(*last) < refill);
        }
        let (tokens, last) = buckets
            .entry(station.to_owned())
            .or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else if self.per_second > 0.0 {
            Err(((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64)
        } else {
            Err(3600)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_empties_and_refills() {
        let limiter = RateLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take_at("A", t0), Ok(()));
        }
        assert_eq!(limiter.take_at("A", t0), Err(1));
        // Another station has its own bucket.
        assert_eq!(limiter.take_at("B", t0), Ok(()));
        assert_eq!(
            limiter.take_at("A", t0 + Duration::from_millis(500)),
            Ok(())
        );
        assert!(
            limiter
                .take_at("A", t0 + Duration::from_millis(500))
                .is_err()
        );
    }
}
