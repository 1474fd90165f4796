//! The retention purge on a schedule (§9): at start and then every `--purge-every-hours`, each
//! instance removes what is older than five years (`crate::retention`). Packages are removed
//! under the whole-package lease, so instances running at once share the work and skip what an
//! upload or commit holds.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::AppState;
use crate::retention::{PurgeRequest, purge};
use crate::storage::retention::{RetentionRun, serve_origin};

/// One run now.
pub fn sweep(state: &Arc<AppState>) -> anyhow::Result<RetentionRun> {
    let request = PurgeRequest {
        meta: state.meta.as_ref(),
        blobs: state.blobs.as_ref(),
        now: Utc::now(),
        dry_run: false,
        origin: serve_origin(state.instance),
    };
    purge(&request, |key| state.claim(key, None).ok(), |_| Ok(()))
}

/// Purges at start and then every `every`, for as long as the server runs.
pub async fn run(state: Arc<AppState>, every: Duration) {
    loop {
        let worker = Arc::clone(&state);
        match tokio::task::spawn_blocking(move || sweep(&worker)).await {
            Ok(Ok(run))
                if run.inspections + run.queries + run.audit_rows > 0 || run.skipped > 0 =>
            {
                tracing::info!(
                    inspections = run.inspections,
                    queries = run.queries,
                    audit_rows = run.audit_rows,
                    skipped = run.skipped,
                    cutoff = %run.cutoff,
                    "retenção: removido o que passou de cinco anos"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "falha na remoção por retenção; tenta de novo no próximo ciclo")
            }
            Err(e) => {
                tracing::error!(%e, "falha na remoção por retenção; tenta de novo no próximo ciclo")
            }
        }
        tokio::time::sleep(every).await;
    }
}
