//! One help desk wired as the central will wire it: a real SQLite file, the GLPI and Meta
//! stand-ins on loopback, the webhook served over HTTP and the workers run by hand.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use vistoria_helpdesk::config::{GlpiSettings, HelpdeskConfig, SyncSettings, WhatsAppSettings};
use vistoria_helpdesk::model::{Channel, Contact, ContactInput, NewAttachment, Ticket, TicketId};
use vistoria_helpdesk::service::{Helpdesk, OpenRequest, Role, Staff};
use vistoria_helpdesk::standin::glpi::GlpiStandin;
use vistoria_helpdesk::standin::meta::MetaStandin;
use vistoria_helpdesk::standin::server::LoopbackServer;
use vistoria_helpdesk::store::sqlite::SqliteHelpdesk;
use vistoria_helpdesk::whatsapp::channel::WebhookSink;
use vistoria_helpdesk::whatsapp::webhook::{self, WebhookSecrets};
use vistoria_helpdesk::worker::Workers;

pub const APP_TOKEN: &str = "f7g3csp8mgatg5ebc5elnazakw20i9fyev1qopya7";
pub const USER_TOKEN: &str = "q56hqkniwot8wntb3z1qarka5atf365taaa2uyjrn";
pub const ACCESS_TOKEN: &str = "EAAGstandin";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const APP_SECRET: &str = "app-secret-of-the-meta-app";
pub const VERIFY_TOKEN: &str = "vistoria-verify";
pub const STATION: &str = "ECV-MT-0001";
pub const LOCATION_ID: i64 = 12;

pub struct Harness {
    pub glpi: GlpiStandin,
    pub meta: MetaStandin,
    pub helpdesk: Arc<Helpdesk>,
    pub workers: Workers,
    pub clock: Arc<Mutex<DateTime<Utc>>>,
    pub webhook_url: String,
    pub db_path: std::path::PathBuf,
    _webhook: LoopbackServer,
    _dir: tempfile::TempDir,
}

/// Monday 2 March 2026 at `h`:`m` in Cuiabá (UTC−4): within business hours for 7–11, 13–17.
pub fn cuiaba(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, h + 4, m, 0)
        .single()
        .unwrap()
}

pub async fn harness() -> Harness {
    let glpi = GlpiStandin::start(Some(APP_TOKEN), USER_TOKEN)
        .await
        .unwrap();
    let meta = MetaStandin::start(ACCESS_TOKEN, PHONE_NUMBER_ID, APP_SECRET)
        .await
        .unwrap();
    let config = HelpdeskConfig {
        glpi: Some(GlpiSettings {
            url: glpi.url(),
            app_token: Some(APP_TOKEN.into()),
            user_token: USER_TOKEN.into(),
            default_requester_id: Some(2),
            locations: BTreeMap::from([(STATION.to_owned(), LOCATION_ID)]),
            timeout_seconds: 2,
        }),
        whatsapp: Some(WhatsAppSettings {
            app_secret: APP_SECRET.into(),
            verify_token: VERIFY_TOKEN.into(),
            access_token: ACCESS_TOKEN.into(),
            phone_number_id: PHONE_NUMBER_ID.into(),
            graph_url: meta.graph_url(),
            api_version: "v21.0".into(),
            timeout_seconds: 2,
        }),
        sync: SyncSettings {
            poll_seconds: 0,
            retry_base_seconds: 0,
            retry_max_seconds: 0,
        },
        ..HelpdeskConfig::default()
    };
    assert!(config.problems().is_empty(), "{:?}", config.problems());
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("helpdesk.sqlite");
    let store = SqliteHelpdesk::open(&db_path).unwrap();
    let clock = Arc::new(Mutex::new(cuiaba(2, 9, 0)));
    let c = clock.clone();
    let helpdesk = Arc::new(
        Helpdesk::new(Arc::new(store), config).with_clock(Arc::new(move || *c.lock().unwrap())),
    );
    let workers = Workers::from_config(&helpdesk).unwrap();
    let secrets = WebhookSecrets {
        app_secret: APP_SECRET.into(),
        verify_token: VERIFY_TOKEN.into(),
    };
    let router = Router::new().nest(
        "/whatsapp/webhook",
        webhook::router(secrets, Arc::new(WebhookSink::new(helpdesk.clone()))),
    );
    let server = LoopbackServer::start(router).await.unwrap();
    let webhook_url = format!("http://{}/whatsapp/webhook", server.addr());
    meta.set_webhook(&webhook_url);
    Harness {
        glpi,
        meta,
        helpdesk,
        workers,
        clock,
        webhook_url,
        db_path,
        _webhook: server,
        _dir: dir,
    }
}

pub fn technician(login: &str) -> Staff {
    Staff {
        login: login.into(),
        name: format!("Técnico {login}"),
        role: Role::Technician,
    }
}

pub fn administrator() -> Staff {
    Staff {
        login: "admin".into(),
        name: "Administradora".into(),
        role: Role::Administrator,
    }
}

impl Harness {
    /// Another process on the same database file, as after a restart.
    pub fn restarted(&self) -> (Arc<Helpdesk>, Workers) {
        let store = SqliteHelpdesk::open(&self.db_path).unwrap();
        let c = self.clock.clone();
        let helpdesk = Arc::new(
            Helpdesk::new(Arc::new(store), self.helpdesk.config().clone())
                .with_clock(Arc::new(move || *c.lock().unwrap())),
        );
        let workers = Workers::from_config(&helpdesk).unwrap();
        (helpdesk, workers)
    }

    /// Runs the queued work until a round has nothing left to do (at most 30 rounds).
    pub async fn settle(&self) {
        for _ in 0..30 {
            let round = self.workers.run_once().await.unwrap();
            if round.fetched.done + round.glpi.done + round.delivered.done == 0
                && round.fetched.failed + round.glpi.failed + round.delivered.failed == 0
            {
                return;
            }
        }
    }

    /// Rounds and a look at GLPI.
    pub async fn settle_and_poll(&self) {
        self.settle().await;
        self.workers.poll_glpi().await.unwrap();
        self.settle().await;
    }

    pub fn set_now(&self, t: DateTime<Utc>) {
        *self.clock.lock().unwrap() = t;
    }

    pub fn staff_contact(&self, name: &str) -> Contact {
        self.helpdesk
            .add_contact(&ContactInput {
                name: name.into(),
                email: Some(format!(
                    "{}@ecv.com.br",
                    name.split(' ').next().unwrap().to_lowercase()
                )),
                phone: None,
                station: Some(STATION.into()),
                glpi_user_id: None,
            })
            .unwrap()
    }

    pub fn open_from_kiosk(
        &self,
        contact: &Contact,
        description: &str,
        files: Vec<NewAttachment>,
    ) -> Ticket {
        self.helpdesk
            .open_ticket(OpenRequest {
                channel: Channel::Kiosk,
                contact_id: contact.id,
                station: None,
                category: "equipamento".into(),
                title: None,
                description: description.into(),
                attachments: files,
            })
            .unwrap()
    }

    pub fn ticket(&self, id: TicketId) -> Ticket {
        self.helpdesk.store().ticket(id).unwrap().unwrap()
    }

    /// GLPI tickets whose title carries our reference.
    pub fn glpi_tickets_for(&self, id: TicketId) -> Vec<serde_json::Value> {
        let tag = format!("[{}]", id.reference());
        self.glpi
            .items("Ticket")
            .into_iter()
            .filter(|t| t["name"].as_str().unwrap_or("").starts_with(&tag))
            .collect()
    }

    /// GLPI items of `itemtype` hanging from GLPI ticket `glpi_id`.
    pub fn glpi_children(&self, itemtype: &str, glpi_id: i64) -> Vec<serde_json::Value> {
        self.glpi
            .items(itemtype)
            .into_iter()
            .filter(|f| {
                let parent = if itemtype == "Document_Item" {
                    f["itemtype"] == "Ticket"
                } else {
                    true
                };
                parent
                    && (f["items_id"] == serde_json::json!(glpi_id)
                        || f["tickets_id"] == serde_json::json!(glpi_id))
            })
            .map(|f| self.glpi.item(itemtype, f["id"].as_i64().unwrap()).unwrap())
            .collect()
    }
}
