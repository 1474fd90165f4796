//! The help desk as the central runs it (issue 23; items 2k and 2n of Anexo II): `serve
//! --helpdesk FILE.toml` opens `DATA/helpdesk.sqlite`, attaches the [`Helpdesk`] to the state
//! (the stations' ticket API and the console call it), mounts the WhatsApp webhook at
//! [`WEBHOOK_PATH`] and runs the background work (GLPI, WhatsApp media and deliveries) until
//! the graceful stop.
//!
//! The help desk's store is one SQLite file in the data folder, so exactly one instance of a
//! central of several instances runs the help desk: the others start without `--helpdesk` and
//! their station API answers 503 `helpdesk_unavailable` (route `/api/v1/stations/self/tickets`
//! and `/whatsapp/webhook` to the instance that runs it).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use vistoria_helpdesk::config::HelpdeskConfig;
use vistoria_helpdesk::service::Helpdesk;
use vistoria_helpdesk::store::sqlite::SqliteHelpdesk;
use vistoria_helpdesk::whatsapp::channel::WebhookSink;
use vistoria_helpdesk::whatsapp::webhook::{self, WebhookSecrets};
use vistoria_helpdesk::worker::{WorkerHandle, Workers};

use crate::api::AppState;

/// Where Meta posts the WhatsApp notifications (the callback URL given in Meta's app settings
/// is `https://HOST` followed by this).
pub const WEBHOOK_PATH: &str = "/whatsapp/webhook";

/// The help desk's database in the data folder.
pub const STORE_FILE: &str = "helpdesk.sqlite";

/// Time between rounds of queued work: a reply reaches WhatsApp, and a kiosk ticket GLPI,
/// within about this.
const TICK: Duration = Duration::from_secs(2);

/// Longest the graceful stop waits for the running round of background work.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Reads and checks the configuration, naming every problem at once.
pub fn load_config(file: &Path) -> anyhow::Result<HelpdeskConfig> {
    let text = std::fs::read_to_string(file).with_context(|| {
        format!(
            "não foi possível ler a configuração do help desk {}",
            file.display()
        )
    })?;
    HelpdeskConfig::from_toml(&text).map_err(|problems| {
        anyhow::anyhow!(
            "configuração do help desk {} inválida:\n- {}",
            file.display(),
            problems.join("\n- ")
        )
    })
}

/// The help desk of a running central.
pub struct RunningHelpdesk {
    helpdesk: Arc<Helpdesk>,
    workers: WorkerHandle,
}

impl RunningHelpdesk {
    /// Opens the store in `data`, attaches the help desk to `state` and starts its background
    /// work. Call it from the runtime that serves (the workers are its tasks).
    pub async fn start(
        state: &Arc<AppState>,
        data: &Path,
        config_file: &Path,
    ) -> anyhow::Result<RunningHelpdesk> {
        let config = load_config(config_file)?;
        let path = data.join(STORE_FILE);
        let store = tokio::task::spawn_blocking(move || SqliteHelpdesk::open(&path))
            .await?
            .with_context(|| {
                format!(
                    "não foi possível abrir o banco do help desk {}",
                    data.join(STORE_FILE).display()
                )
            })?;
        let helpdesk = Arc::new(Helpdesk::new(Arc::new(store), config));
        if state.attach_helpdesk(Arc::clone(&helpdesk)).is_err() {
            anyhow::bail!("o help desk já estava ligado a este servidor");
        }
        let poll = Duration::from_secs(helpdesk.config().sync.poll_seconds.max(1));
        let workers = Workers::from_config(&helpdesk)
            .context("não foi possível preparar a conexão com o GLPI ou o WhatsApp")?
            .spawn(TICK, poll);
        tracing::info!(
            glpi = helpdesk.config().glpi.is_some(),
            whatsapp = helpdesk.config().whatsapp.is_some(),
            "help desk ligado"
        );
        Ok(RunningHelpdesk { helpdesk, workers })
    }

    /// `app` with the WhatsApp webhook mounted, when WhatsApp is configured. The webhook is
    /// public (Meta calls it); the crate refuses a notification whose `X-Hub-Signature-256`
    /// is not the app secret's (401) before anything is read into the store.
    pub fn mount(&self, app: Router) -> Router {
        let Some(w) = &self.helpdesk.config().whatsapp else {
            return app;
        };
        let secrets = WebhookSecrets {
            app_secret: w.app_secret.clone(),
            verify_token: w.verify_token.clone(),
        };
        let sink = Arc::new(WebhookSink::new(Arc::clone(&self.helpdesk)));
        app.nest(WEBHOOK_PATH, webhook::router(secrets, sink))
    }

    /// Stops the background work after its current round and ends the GLPI session, waiting at
    /// most [`STOP_GRACE`]: a GLPI that hangs must not hold the central's stop. A job cut off
    /// mid-attempt is safe to cut: its attempt was written down first, and the next one looks
    /// in GLPI for what it may have done before doing it again.
    pub async fn stop(self) {
        match tokio::time::timeout(STOP_GRACE, self.workers.stop()).await {
            Ok(()) => tracing::info!("help desk encerrado"),
            Err(_) => tracing::warn!(
                "help desk encerrado sem esperar a rodada em andamento (GLPI ou WhatsApp lentos)"
            ),
        }
    }
}
