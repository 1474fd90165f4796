//! The help desk's background work in one place, as the central runs it: media fetched from
//! WhatsApp, GLPI kept in step (jobs, then a look for changes made there), replies delivered.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::http::TransportError;
use crate::jobs::RunReport;
use crate::outbound::Deliverer;
use crate::service::{Helpdesk, ServiceError};
use crate::sync::GlpiSync;
use crate::whatsapp::channel::{MediaFetcher, WhatsAppChannel, graph_client};

/// The runners, each optional but deliveries (the kiosk and console channels need no network).
pub struct Workers {
    /// GLPI, when configured.
    pub sync: Option<GlpiSync>,
    /// WhatsApp media, when configured.
    pub fetcher: Option<MediaFetcher>,
    /// Deliveries.
    pub deliverer: Deliverer,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Media fetches.
    pub fetched: RunReport,
    /// GLPI jobs.
    pub glpi: RunReport,
    /// Deliveries.
    pub delivered: RunReport,
}

impl Workers {
    /// The runners the configuration asks for, reaching GLPI and Meta over HTTPS.
    pub fn from_config(helpdesk: &Arc<Helpdesk>) -> Result<Workers, TransportError> {
        let config = helpdesk.config().clone();
        let sync = match config.glpi {
            Some(g) => Some(GlpiSync::connect(helpdesk.clone(), g)?),
            None => None,
        };
        let mut deliverer = Deliverer::new(helpdesk.clone());
        let mut fetcher = None;
        if let Some(w) = &config.whatsapp {
            let graph = Arc::new(graph_client(w)?);
            deliverer = deliverer.with_channel(Arc::new(WhatsAppChannel::new(graph.clone())));
            fetcher = Some(MediaFetcher::new(helpdesk.clone(), graph));
        }
        Ok(Workers {
            sync,
            fetcher,
            deliverer,
        })
    }

    /// One round of queued work: media first (GLPI documents wait for them), then GLPI, then
    /// deliveries (a reply's file may be the media just fetched).
    pub async fn run_once(&self) -> Result<Round, ServiceError> {
        let mut round = Round::default();
        if let Some(f) = &self.fetcher {
            round.fetched = f.run_once().await?;
        }
        if let Some(s) = &self.sync {
            round.glpi = s.run_jobs().await?;
        }
        round.delivered = self.deliverer.run_once().await?;
        Ok(round)
    }

    /// Looks at GLPI for changes made there.
    pub async fn poll_glpi(&self) -> Result<usize, ServiceError> {
        match &self.sync {
            Some(s) => s.poll().await,
            None => Ok(0),
        }
    }

    /// Runs rounds every `tick` and looks at GLPI every `poll` until stopped.
    pub fn spawn(self, tick: Duration, poll: Duration) -> WorkerHandle {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut last_poll = tokio::time::Instant::now();
            loop {
                if let Err(e) = self.run_once().await {
                    tracing::error!(%e, "rodada do help desk falhou");
                }
                if last_poll.elapsed() >= poll {
                    if let Err(e) = self.poll_glpi().await {
                        tracing::warn!(%e, "consulta ao GLPI falhou");
                    }
                    last_poll = tokio::time::Instant::now();
                }
                tokio::select! {
                    _ = tokio::time::sleep(tick) => {}
                    _ = stopped.changed() => break,
                }
            }
            if let Some(s) = &self.sync
                && let Err(e) = s.client().kill_session().await
            {
                tracing::info!(%e, "sessão do GLPI não encerrada");
            }
        });
        WorkerHandle { stop, task }
    }
}

/// A running [`Workers`].
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops after the current round and ends the GLPI session (`killSession`).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
