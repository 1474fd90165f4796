//! Who gets in, and how much of the server one caller may hold: upload slots per station and
//! overall, the cache of token hashes (so authentication needs no blocking thread), and the
//! free-space probe of the media disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::http::StatusCode;
use vistoria_core::wire::ErrorCode;

use super::error::ApiError;
use super::limits::Limits;

/// Seconds a station refused an upload slot is told to wait.
const UPLOAD_RETRY_AFTER_SECS: u64 = 5;

/// Running uploads, by station and overall. Each upload holds a connection and a file open for
/// as long as the client sends, so a station opening hundreds would starve everyone else.
#[derive(Default)]
pub struct UploadSlots {
    running: Mutex<(usize, HashMap<String, usize>)>,
}

/// An upload slot; released when dropped.
pub struct UploadSlot {
    slots: Arc<UploadSlots>,
    station: String,
}

impl UploadSlots {
    /// Takes a slot for `station`, or answers 429 with `Retry-After` naming the limit.
    pub fn acquire(
        self: &Arc<Self>,
        station: &str,
        limits: &Limits,
    ) -> Result<UploadSlot, ApiError> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let of_station = running.1.get(station).copied().unwrap_or(0);
        let refusal = if of_station >= limits.max_uploads_per_station {
            Some(format!(
                "esta estação já tem {of_station} envios em andamento (limite --max-uploads-per-station); \
                 conclua um deles e tente novamente em {UPLOAD_RETRY_AFTER_SECS} s"
            ))
        } else if running.0 >= limits.max_uploads_total {
            Some(format!(
                "o servidor central já recebe {} envios (limite --max-uploads-total); tente novamente em {UPLOAD_RETRY_AFTER_SECS} s",
                running.0
            ))
        } else {
            None
        };
        if let Some(message) = refusal {
            tracing::warn!(%station, "envio recusado: limite de envios simultâneos");
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                message,
            );
            e.retry_after = Some(UPLOAD_RETRY_AFTER_SECS);
            return Err(e);
        }
        running.0 += 1;
        *running.1.entry(station.to_owned()).or_insert(0) += 1;
        Ok(UploadSlot {
            slots: Arc::clone(self),
            station: station.to_owned(),
        })
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut running = self
            .slots
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        running.0 = running.0.saturating_sub(1);
        if let Some(n) = running.1.get_mut(&self.station) {
            *n -= 1;
            if *n == 0 {
                running.1.remove(&self.station);
            }
        }
    }
}

/// File in the data folder that `station rotate`/`station revoke` replace after changing the
/// database: a new inode tells the running server to forget every cached token at once.
pub const TOKEN_EPOCH_FILE: &str = "stations.epoch";

/// Identity of the epoch file as last seen: (inode, modification time in ns, length).
type FileStamp = Option<(u64, i128, u64)>;

/// What a lookup saw before asking the store: the epoch file and the cache's generation.
pub type Stamp = (FileStamp, u64);

fn file_stamp(path: &Path) -> FileStamp {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).ok()?;
    let mtime = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    Some((meta.ino(), mtime, meta.len()))
}

/// Token hash → station, so a request is authenticated without a database round trip on the
/// blocking pool (which slow uploads or a flood could otherwise fill). Entries expire after
/// [`Limits::token_cache_ttl`]; all are dropped when the epoch file changes (a `station`
/// command on this machine) or when the stations in the store change (any instance, seen by
/// [`watch_stations`] within [`STATIONS_POLL`]).
pub struct TokenCache {
    epoch: Option<PathBuf>,
    inner: Mutex<CacheState>,
}

struct CacheState {
    file: FileStamp,
    /// Bumped at every invalidation, so a lookup that started before one is not cached.
    generation: u64,
    /// Fingerprint of the stations table when last seen.
    store: Option<String>,
    tokens: CachedTokens,
}

impl CacheState {
    fn clear(&mut self) {
        self.tokens.clear();
        self.generation += 1;
    }
}

/// Token hash → (station, when it was looked up).
type CachedTokens = HashMap<String, (String, Instant)>;

/// Most cached tokens (one per station; the bound only matters against a bug).
const MAX_CACHED_TOKENS: usize = 10_000;

/// How often each instance looks at the stations table for rotated or revoked tokens.
pub const STATIONS_POLL: std::time::Duration = std::time::Duration::from_secs(2);

impl TokenCache {
    /// A cache watching `epoch` (none: entries only expire by age or by the store).
    pub fn new(epoch: Option<PathBuf>) -> TokenCache {
        let file = epoch.as_deref().and_then(file_stamp);
        TokenCache {
            epoch,
            inner: Mutex::new(CacheState {
                file,
                generation: 0,
                store: None,
                tokens: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // One stat() per request: cheap, and it makes a revocation effective at once.
        let now = self.epoch.as_deref().and_then(file_stamp);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.file != now {
            inner.file = now;
            inner.clear();
        }
        inner
    }

    /// The station of a token hash, if cached and still valid.
    pub fn get(&self, hash: &str, limits: &Limits) -> Option<String> {
        let inner = self.lock();
        let (station, at) = inner.tokens.get(hash)?;
        (at.elapsed() < limits.token_cache_ttl).then(|| station.clone())
    }

    /// Remembers a token hash found in the store. `seen` is [`TokenCache::stamp`] taken before
    /// the lookup: if the cache was invalidated since, the answer may be stale and is not kept.
    pub fn put(&self, hash: String, station: String, seen: Stamp) {
        let mut inner = self.lock();
        if (inner.file, inner.generation) != seen {
            return;
        }
        if inner.tokens.len() >= MAX_CACHED_TOKENS {
            inner.tokens.clear();
        }
        inner.tokens.insert(hash, (station, Instant::now()));
    }

    /// The stamp to pass to [`TokenCache::put`].
    pub fn stamp(&self) -> Stamp {
        let inner = self.lock();
        (inner.file, inner.generation)
    }

    /// Forgets every token when the stations table's fingerprint is not the one last seen.
    pub fn observe_stations(&self, fingerprint: String) {
        let mut inner = self.lock();
        if inner.store.as_deref() != Some(fingerprint.as_str()) {
            if inner.store.is_some() {
                inner.clear();
            }
            inner.store = Some(fingerprint);
        }
    }
}

/// Watches the stations table for as long as the server runs, so that a token rotated or
/// revoked through any instance (or `station` on any machine) stops working here too.
pub async fn watch_stations(state: std::sync::Arc<super::AppState>) {
    loop {
        let meta = std::sync::Arc::clone(&state.meta);
        match tokio::task::spawn_blocking(move || meta.stations_fingerprint()).await {
            Ok(Ok(fingerprint)) => state.tokens.observe_stations(fingerprint),
            Ok(Err(e)) => tracing::warn!(%e, "não foi possível ler as estações"),
            Err(e) => tracing::warn!(%e, "não foi possível ler as estações"),
        }
        tokio::time::sleep(STATIONS_POLL).await;
    }
}

/// Marks the stations table as changed for a running server (see [`TOKEN_EPOCH_FILE`]).
pub fn bump_token_epoch(data: &Path) -> std::io::Result<()> {
    let nonce: [u8; 16] = rand::random();
    crate::fsutil::write_private(data, TOKEN_EPOCH_FILE, hex::encode(nonce).as_bytes())
}

/// Resolves once a graceful stop has begun (or the state that could begin one is gone).
pub async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Bytes free for the server on the file system holding `path`.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(path).map_err(std::io::Error::from)?;
    #[allow(clippy::unnecessary_cast)]
    Ok((stat.blocks_available() as u64).saturating_mul(stat.fragment_size() as u64))
}

/// 507 unless the media disk keeps [`Limits::disk_reserve_bytes`] free after `incoming` more
/// bytes. Without a data folder (an embedded store) there is nothing to probe.
pub fn check_free_space(
    data: Option<&Path>,
    incoming: u64,
    limits: &Limits,
) -> Result<(), ApiError> {
    let Some(data) = data else { return Ok(()) };
    let free = free_bytes(data).map_err(ApiError::internal)?;
    if free.saturating_sub(incoming) < limits.disk_reserve_bytes {
        tracing::error!(
            free,
            incoming,
            reserve = limits.disk_reserve_bytes,
            "disco quase cheio; envios recusados"
        );
        let mut e = ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            ErrorCode::InsufficientStorage,
            format!(
                "o disco do servidor central está quase cheio ({free} bytes livres, reserva de {} bytes em \
                 --disk-reserve-bytes); consultas continuam funcionando, envie o pacote mais tarde",
                limits.disk_reserve_bytes
            ),
        );
        e.retry_after = Some(600);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_station_and_overall_and_released() {
        let limits = Limits {
            max_uploads_per_station: 2,
            max_uploads_total: 3,
            ..Limits::default()
        };
        let slots = Arc::new(UploadSlots::default());
        let a1 = slots.acquire("A", &limits).unwrap();
        let _a2 = slots.acquire("A", &limits).unwrap();
        let e = slots.acquire("A", &limits).err().unwrap();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.retry_after, Some(UPLOAD_RETRY_AFTER_SECS));
        let _b1 = slots.acquire("B", &limits).unwrap();
        assert!(slots.acquire("C", &limits).is_err(), "overall cap");
        drop(a1);
        slots.acquire("A", &limits).unwrap();
    }

    #[test]
    fn token_cache_forgets_everything_when_the_epoch_changes() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits::default();
        let cache = TokenCache::new(Some(dir.path().join(TOKEN_EPOCH_FILE)));
        let seen = cache.stamp();
        cache.put("h".into(), "ECV-01".into(), seen);
        assert_eq!(cache.get("h", &limits).as_deref(), Some("ECV-01"));
        bump_token_epoch(dir.path()).unwrap();
        assert_eq!(cache.get("h", &limits), None);
        // A lookup that started before the bump is not cached.
        cache.put("h".into(), "ECV-01".into(), seen);
        assert_eq!(cache.get("h", &limits), None);
    }

    #[test]
    fn free_space_reserve_answers_507() {
        let dir = tempfile::tempdir().unwrap();
        let mut limits = Limits {
            disk_reserve_bytes: 0,
            ..Limits::default()
        };
        check_free_space(Some(dir.path()), 0, &limits).unwrap();
        limits.disk_reserve_bytes = u64::MAX;
        let e = check_free_space(Some(dir.path()), 0, &limits)
            .err()
            .unwrap();
        assert_eq!(e.status, StatusCode::INSUFFICIENT_STORAGE);
    }
}
