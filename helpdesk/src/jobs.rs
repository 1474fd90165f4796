//! Running the durable queue: due jobs are claimed oldest first, each attempt is written down
//! before anything is sent (so a crash leaves a trace the next attempt sees), and a failure is
//! retried later with a growing wait. Nothing is ever dropped: only a channel's final refusal of
//! a message ends its job unsent, and that refusal is kept for the console.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use crate::config::SyncSettings;
use crate::model::{Job, JobKind, TicketId};
use crate::service::{Helpdesk, ServiceError};
use crate::store::{JobOutcome, StoreError};

/// Jobs claimed per run.
const BATCH: usize = 100;

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Done.
    Done,
    /// Failed; try again later.
    Retry(String),
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Jobs done.
    pub done: usize,
    /// Jobs that failed this time (retried later).
    pub failed: usize,
}

/// Runs `f` with the help desk on a blocking thread (the store is synchronous).
pub async fn blocking<T, F>(helpdesk: &Arc<Helpdesk>, f: F) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: FnOnce(&Helpdesk) -> Result<T, ServiceError> + Send + 'static,
{
    let h = helpdesk.clone();
    tokio::task::spawn_blocking(move || f(&h))
        .await
        .map_err(|e| {
            ServiceError::Store(StoreError::Database(format!("tarefa interrompida: {e}")))
        })?
}

/// In which order a run's jobs must arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Per ticket: after a failure, the same ticket's later jobs wait for the next run.
    PerTicket,
    /// All of them: the run stops at the first failure (a person's messages, some of which
    /// belong to no ticket yet, must arrive in the order they were written).
    Strict,
}

/// Runs the due jobs of `kinds` once with `attempt`, keeping `order`.
pub async fn run_due<F, Fut>(
    helpdesk: &Arc<Helpdesk>,
    kinds: &'static [JobKind],
    pace: &SyncSettings,
    order: Order,
    attempt: F,
) -> Result<RunReport, ServiceError>
where
    F: Fn(Job) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let now = helpdesk.now();
    let jobs = blocking(helpdesk, move |h| {
        Ok(h.store().due_jobs(kinds, now, BATCH)?)
    })
    .await?;
    let mut report = RunReport::default();
    let mut held: HashSet<TicketId> = HashSet::new();
    for job in jobs {
        if job.ticket_id.is_some_and(|t| held.contains(&t)) {
            continue;
        }
        let id = job.id;
        let begun = helpdesk.now();
        blocking(helpdesk, move |h| Ok(h.store().begin_job(id, begun)?)).await?;
        let attempts = job.attempts + 1;
        let ticket = job.ticket_id;
        let kind = job.kind;
        let outcome = match attempt(job).await {
            Attempt::Done => {
                report.done += 1;
                JobOutcome::Done
            }
            Attempt::Retry(error) => {
                report.failed += 1;
                if let Some(t) = ticket {
                    held.insert(t);
                }
                let wait = chrono::Duration::from_std(pace.backoff(attempts))
                    .unwrap_or(chrono::Duration::MAX);
                tracing::warn!(job = id.0, kind = kind.code(), attempts, %error, "tarefa adiada");
                JobOutcome::Retry {
                    at: helpdesk.now() + wait,
                    error,
                }
            }
        };
        let failed = matches!(outcome, JobOutcome::Retry { .. });
        blocking(helpdesk, move |h| Ok(h.store().finish_job(id, &outcome)?)).await?;
        if failed && order == Order::Strict {
            break;
        }
    }
    Ok(report)
}
