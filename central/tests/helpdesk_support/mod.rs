//! The real central (`serve --helpdesk FILE.toml`) with the GLPI and Meta stand-ins of
//! `vistoria_helpdesk::standin` on loopback, two stations, and the technicians' hand: the help
//! desk's own service API on the same database file, as the console calls it.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use vistoria_helpdesk::config::HelpdeskConfig;
use vistoria_helpdesk::service::{Helpdesk, Role, Staff};
use vistoria_helpdesk::standin::glpi::GlpiStandin;
use vistoria_helpdesk::standin::meta::MetaStandin;
use vistoria_helpdesk::store::sqlite::SqliteHelpdesk;

use crate::common::{Server, add_station};

pub const APP_TOKEN: &str = "f7g3csp8mgatg5ebc5elnazakw20i9fyev1qopya7";
pub const USER_TOKEN: &str = "q56hqkniwot8wntb3z1qarka5atf365taaa2uyjrn";
pub const ACCESS_TOKEN: &str = "EAAGstandin";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const APP_SECRET: &str = "app-secret-of-the-meta-app";
pub const VERIFY_TOKEN: &str = "vistoria-verify";
pub const STATION: &str = "ECV-MT-0001";
pub const OTHER_STATION: &str = "ECV-MT-0002";
pub const LOCATION_ID: i64 = 12;

/// The central with its help desk and the stand-ins it talks to.
pub struct Desk {
    pub server: Server,
    pub glpi: GlpiStandin,
    pub meta: MetaStandin,
    /// The token of [`OTHER_STATION`] (`server.token` is [`STATION`]'s).
    pub other_token: String,
    pub config_file: PathBuf,
    /// Runs the stand-ins; the test thread talks to the central with blocking calls.
    pub rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// The help desk's configuration as an operator writes it: every day open (the tests do not
/// depend on the hour they run at), quick retries and polls.
pub fn config_toml(glpi_url: &str, graph_url: &str) -> String {
    format!(
        r#"
[glpi]
url = "{glpi_url}"
user_token = "{USER_TOKEN}"
app_token = "{APP_TOKEN}"
default_requester_id = 2
locations = {{ "{STATION}" = {LOCATION_ID} }}
timeout_seconds = 2

[whatsapp]
app_secret = "{APP_SECRET}"
verify_token = "{VERIFY_TOKEN}"
access_token = "{ACCESS_TOKEN}"
phone_number_id = "{PHONE_NUMBER_ID}"
graph_url = "{graph_url}"
timeout_seconds = 2

[hours]
utc_offset_hours = -4
days = [1, 2, 3, 4, 5, 6, 7]
periods = [{{ start = "00:00", end = "23:59" }}]

[sync]
poll_seconds = 1
retry_base_seconds = 1
retry_max_seconds = 1
"#
    )
}

impl Desk {
    /// Stand-ins up, then the central; `prepare` runs on the stand-ins before the central
    /// starts (GLPI down from the first moment). `insecure_http`: plain HTTP on loopback, for
    /// the Meta stand-in's driver, which posts to the webhook without our certificate pin.
    pub fn start(insecure_http: bool, prepare: impl FnOnce(&Desk0)) -> Desk {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let glpi = rt
            .block_on(GlpiStandin::start(Some(APP_TOKEN), USER_TOKEN))
            .unwrap();
        let meta = rt
            .block_on(MetaStandin::start(
                ACCESS_TOKEN,
                PHONE_NUMBER_ID,
                APP_SECRET,
            ))
            .unwrap();
        let zero = Desk0 { rt, glpi, meta };
        prepare(&zero);
        let Desk0 { rt, glpi, meta } = zero;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let token = add_station(&data, STATION);
        let other_token = add_station(&data, OTHER_STATION);
        let config_file = dir.path().join("helpdesk.toml");
        std::fs::write(&config_file, config_toml(&glpi.url(), &meta.graph_url())).unwrap();
        let mut extra = vec!["--helpdesk", config_file.to_str().unwrap()];
        if insecure_http {
            extra.push("--insecure-http");
        }
        let server = Server::spawn(&data, &extra, token);
        meta.set_webhook(&format!("{}/whatsapp/webhook", server.url));
        Desk {
            server,
            glpi,
            meta,
            other_token,
            config_file,
            rt,
            _dir: dir,
        }
    }

    /// The help desk's service on the central's database file: what the console does.
    pub fn helpdesk(&self) -> Arc<Helpdesk> {
        let text = std::fs::read_to_string(&self.config_file).unwrap();
        let config = HelpdeskConfig::from_toml(&text).unwrap();
        let store = SqliteHelpdesk::open(&self.server.data.join("helpdesk.sqlite")).unwrap();
        Arc::new(Helpdesk::new(Arc::new(store), config))
    }

    /// `POST` as the station of `token`: status and JSON body.
    pub fn post(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .server
            .client
            .post(self.server.api(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// `GET` as the station of `token`.
    pub fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .server
            .client
            .get(self.server.api(path))
            .bearer_auth(token)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// The station's listing.
    pub fn tickets(&self, token: &str) -> Value {
        let (status, body) = self.get(token, "/stations/self/tickets");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// GLPI tickets whose title carries our reference.
    pub fn glpi_tickets_for(&self, reference: &str) -> Vec<Value> {
        let tag = format!("[{reference}]");
        self.glpi
            .items("Ticket")
            .into_iter()
            .filter(|t| t["name"].as_str().unwrap_or("").starts_with(&tag))
            .collect()
    }

    /// GLPI items of `itemtype` hanging from GLPI ticket `glpi_id`.
    pub fn glpi_children(&self, itemtype: &str, glpi_id: i64) -> Vec<Value> {
        self.glpi
            .items(itemtype)
            .into_iter()
            .filter(|f| {
                (itemtype != "Document_Item" || f["itemtype"] == "Ticket")
                    && (f["items_id"] == json!(glpi_id) || f["tickets_id"] == json!(glpi_id))
            })
            .collect()
    }
}

/// The stand-ins before the central starts.
pub struct Desk0 {
    pub rt: tokio::runtime::Runtime,
    pub glpi: GlpiStandin,
    pub meta: MetaStandin,
}

/// Waits (at most `within`) until `check` holds; panics naming `what` otherwise.
pub fn wait_until(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn technician(login: &str) -> Staff {
    Staff {
        login: login.into(),
        name: format!("Técnico {login}"),
        role: Role::Technician,
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn person(login: &str, name: &str) -> Value {
    json!({"login": login, "name": name})
}
