//! The limit flags of `vistoria-central serve`, one per field of [`Limits`], with its defaults.

use std::time::Duration;

use crate::api::Limits;

const D: Limits = Limits::DEFAULT;

/// Limits of `serve` (see `central/README.md`, "Limits").
#[derive(Debug, Clone, clap::Args)]
pub struct LimitFlags {
    /// Largest media file a manifest may declare, in bytes (413).
    #[arg(long, default_value_t = D.max_file_bytes)]
    pub max_file_bytes: u64,
    /// Seconds a non-upload request may take (408).
    #[arg(long, default_value_t = D.request_timeout.as_secs())]
    pub request_timeout_secs: u64,
    /// Seconds an upload may go without sending a byte (408, partial kept).
    #[arg(long, default_value_t = D.idle_timeout.as_secs())]
    pub idle_timeout_secs: u64,
    /// Requests per second each station may sustain (429).
    #[arg(long, default_value_t = D.rate_per_second)]
    pub rate_per_second: f64,
    /// Requests each station may make in a burst (429).
    #[arg(long, default_value_t = D.rate_burst)]
    pub rate_burst: f64,
    /// Requests per second each client address may sustain, before authentication (429).
    #[arg(long, default_value_t = D.address_rate_per_second)]
    pub address_rate_per_second: f64,
    /// Requests each client address may make in a burst, before authentication (429).
    #[arg(long, default_value_t = D.address_rate_burst)]
    pub address_rate_burst: f64,
    /// Uploads one station may run at once (429 with Retry-After).
    #[arg(long, default_value_t = D.max_uploads_per_station)]
    pub max_uploads_per_station: usize,
    /// Uploads all stations together may run at once (429 with Retry-After).
    #[arg(long, default_value_t = D.max_uploads_total)]
    pub max_uploads_total: usize,
    /// Slowest upload rate, bytes per second over --min-rate-window-secs (408, partial kept).
    #[arg(long = "min-upload-bytes-per-sec", default_value_t = D.min_upload_bytes_per_second)]
    pub min_upload_bytes_per_second: u64,
    /// Window over which the minimum upload rate is measured, in seconds.
    #[arg(long, default_value_t = D.min_rate_window.as_secs())]
    pub min_rate_window_secs: u64,
    /// Longest one upload request may take, in seconds (408, partial kept).
    #[arg(long, default_value_t = D.upload_deadline.as_secs())]
    pub upload_deadline_secs: u64,
    /// Open connections over all clients (more are closed at accept).
    #[arg(long, default_value_t = D.max_connections)]
    pub max_connections: usize,
    /// Open connections from one client address (more are closed at accept).
    #[arg(long, default_value_t = D.max_connections_per_address)]
    pub max_connections_per_address: usize,
    /// Seconds a TLS handshake may take (the connection is closed).
    #[arg(long, default_value_t = D.handshake_timeout.as_secs())]
    pub handshake_timeout_secs: u64,
    /// Seconds a connection may stay open with no request running, from accept to the first
    /// request and between requests (the connection is closed).
    #[arg(long, default_value_t = D.connection_idle_timeout.as_secs())]
    pub connection_idle_secs: u64,
    /// Files one package may declare (413).
    #[arg(long, default_value_t = D.max_files_per_package)]
    pub max_files_per_package: usize,
    /// Bytes one package may declare (413).
    #[arg(long, default_value_t = D.max_package_bytes)]
    pub max_package_bytes: u64,
    /// Bytes a station may have declared in packages not yet verified (413).
    #[arg(long, default_value_t = D.max_outstanding_bytes_per_station)]
    pub max_outstanding_bytes: u64,
    /// Largest laudo a manifest may declare, in bytes (413).
    #[arg(long, default_value_t = D.max_laudo_bytes)]
    pub max_laudo_bytes: u64,
    /// Largest `.p7s` a manifest may declare, in bytes (413).
    #[arg(long, default_value_t = D.max_signature_bytes)]
    pub max_signature_bytes: u64,
    /// Free bytes the media disk must keep (507 for uploads and new packages).
    #[arg(long, default_value_t = D.disk_reserve_bytes)]
    pub disk_reserve_bytes: u64,
    /// Seconds a package may stay unverified before it and its partial bytes are removed.
    #[arg(long, default_value_t = D.uncommitted_expiry.as_secs())]
    pub expire_uncommitted_secs: u64,
    /// Seconds a graceful stop (SIGTERM) waits for running requests.
    #[arg(long, default_value_t = D.shutdown_grace.as_secs())]
    pub shutdown_grace_secs: u64,
    /// Seconds a token stays cached before it is looked up again (revocation is immediate).
    #[arg(long, default_value_t = D.token_cache_ttl.as_secs())]
    pub token_cache_secs: u64,
}

impl LimitFlags {
    /// The [`Limits`] these flags set.
    pub fn limits(&self) -> Limits {
        let secs = Duration::from_secs;
        Limits {
            max_file_bytes: self.max_file_bytes,
            request_timeout: secs(self.request_timeout_secs),
            idle_timeout: secs(self.idle_timeout_secs),
            rate_per_second: self.rate_per_second,
            rate_burst: self.rate_burst,
            address_rate_per_second: self.address_rate_per_second,
            address_rate_burst: self.address_rate_burst,
            max_uploads_per_station: self.max_uploads_per_station,
            max_uploads_total: self.max_uploads_total,
            min_upload_bytes_per_second: self.min_upload_bytes_per_second,
            min_rate_window: secs(self.min_rate_window_secs),
            upload_deadline: secs(self.upload_deadline_secs),
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            handshake_timeout: secs(self.handshake_timeout_secs),
            connection_idle_timeout: secs(self.connection_idle_secs),
            max_files_per_package: self.max_files_per_package,
            max_package_bytes: self.max_package_bytes,
            max_outstanding_bytes_per_station: self.max_outstanding_bytes,
            max_laudo_bytes: self.max_laudo_bytes,
            max_signature_bytes: self.max_signature_bytes,
            disk_reserve_bytes: self.disk_reserve_bytes,
            uncommitted_expiry: secs(self.expire_uncommitted_secs),
            shutdown_grace: secs(self.shutdown_grace_secs),
            token_cache_ttl: secs(self.token_cache_secs),
        }
    }
}
