//! Uncommitted packages expire: a station that registers manifests and never finishes them
//! would otherwise hold disk and its outstanding-bytes budget forever. After
//! [`Limits::uncommitted_expiry`](super::Limits) a package that is not verified is removed,
//! partial bytes first (a crash between the two leaves an empty package, removed next sweep).
//! The kiosk keeps its copy and registers the package again when it next delivers (§12).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::AppState;

/// Removes every unverified package first seen before `now - expiry`, unless an upload or commit
/// of it is running. Returns how many were removed.
pub fn sweep(state: &Arc<AppState>) -> anyhow::Result<usize> {
    let expiry = chrono::Duration::from_std(state.limits.uncommitted_expiry)?;
    let cutoff = Utc::now() - expiry;
    let mut removed = 0;
    for key in state.meta.uncommitted_before(cutoff)? {
        // Holding the commit claim keeps uploads and commits of this package out meanwhile.
        let Ok(_claim) = state.claim(&key, None) else {
            continue;
        };
        state.blobs.delete_inspection(&key)?;
        state.meta.delete_package(&key)?;
        tracing::warn!(station = %key.station, inspection_id = %key.inspection_id, "pacote não confirmado expirou; removido com seus bytes parciais");
        removed += 1;
    }
    Ok(removed)
}

/// Sweeps now and then, for as long as the server runs.
pub async fn run(state: Arc<AppState>) {
    let every = (state.limits.uncommitted_expiry / 4)
        .clamp(Duration::from_secs(1), Duration::from_secs(600));
    loop {
        let worker = Arc::clone(&state);
        match tokio::task::spawn_blocking(move || sweep(&worker)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(%e, "falha ao remover pacotes expirados"),
            Err(e) => tracing::error!(%e, "falha ao remover pacotes expirados"),
        }
        tokio::time::sleep(every).await;
    }
}
