//! The help desk's configuration (documented in `README.md`): GLPI, WhatsApp, business hours,
//! the chatbot's menu of ticket types and the sync's pace. Validated once; an unknown key is an
//! error that names it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::chatbot::hours::BusinessHours;
use crate::model::TicketKind;

/// Everything the help desk needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpdeskConfig {
    /// GLPI; without it tickets stay in our store only.
    #[serde(default)]
    pub glpi: Option<GlpiSettings>,
    /// WhatsApp Business Cloud API; without it the WhatsApp channel is off.
    #[serde(default)]
    pub whatsapp: Option<WhatsAppSettings>,
    /// When the team works.
    #[serde(default)]
    pub hours: BusinessHours,
    /// The menu of ticket types, in order.
    #[serde(default = "default_categories")]
    pub categories: Vec<Category>,
    /// Pace of the GLPI sync and of retries.
    #[serde(default)]
    pub sync: SyncSettings,
}

impl Default for HelpdeskConfig {
    fn default() -> Self {
        HelpdeskConfig {
            glpi: None,
            whatsapp: None,
            hours: BusinessHours::default(),
            categories: default_categories(),
            sync: SyncSettings::default(),
        }
    }
}

/// GLPI 10.0.6's REST API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlpiSettings {
    /// `https://…/apirest.php`.
    pub url: String,
    /// `App-Token` of the API client, when GLPI requires one.
    #[serde(default)]
    pub app_token: Option<String>,
    /// The API user's "Chave de acesso remoto" (user token).
    pub user_token: String,
    /// GLPI user id given as requester when the contact has none.
    #[serde(default)]
    pub default_requester_id: Option<i64>,
    /// GLPI location id of each station code.
    #[serde(default)]
    pub locations: BTreeMap<String, i64>,
    /// Seconds a request may take.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

/// WhatsApp Business Cloud API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppSettings {
    /// The Meta app's secret: webhooks are signed with it (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// The token typed in Meta's webhook settings, checked in the verification handshake.
    pub verify_token: String,
    /// The (system user) access token for the Graph API.
    pub access_token: String,
    /// The business phone number's id.
    pub phone_number_id: String,
    /// Graph API base URL.
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// Graph API version.
    #[serde(default = "default_graph_version")]
    pub api_version: String,
    /// Seconds a request may take.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

/// One entry of the chatbot's menu and the console's list of types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable key.
    pub key: String,
    /// What people see (at most 24 characters: a WhatsApp list row's title).
    pub title: String,
    /// Incident or request.
    pub kind: TicketKind,
    /// GLPI urgency, 1–5.
    pub urgency: u8,
    /// GLPI's ITIL category id.
    #[serde(default)]
    pub glpi_category_id: Option<i64>,
}

/// Pace of the background work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Seconds between looks at GLPI for changes made there.
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// First retry delay in seconds; doubles up to `retry_max_seconds`.
    #[serde(default = "default_retry_base")]
    pub retry_base_seconds: u64,
    /// Longest retry delay in seconds.
    #[serde(default = "default_retry_max")]
    pub retry_max_seconds: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            poll_seconds: default_poll(),
            retry_base_seconds: default_retry_base(),
            retry_max_seconds: default_retry_max(),
        }
    }
}

impl SyncSettings {
    /// The wait before attempt `attempts + 1` after `attempts` failures (never gives up: a
    /// ticket is never dropped, it waits at most `retry_max_seconds`).
    pub fn backoff(&self, attempts: u32) -> Duration {
        let base = self.retry_base_seconds;
        let factor = 1u64
            .checked_shl(attempts.saturating_sub(1).min(20))
            .unwrap_or(u64::MAX);
        Duration::from_secs(base.saturating_mul(factor).min(self.retry_max_seconds))
    }
}

fn default_timeout() -> u64 {
    30
}
fn default_graph_url() -> String {
    "https://graph.facebook.com".to_owned()
}
fn default_graph_version() -> String {
    "v21.0".to_owned()
}
fn default_poll() -> u64 {
    60
}
fn default_retry_base() -> u64 {
    30
}
fn default_retry_max() -> u64 {
    900
}

fn category(key: &str, title: &str, kind: TicketKind, urgency: u8) -> Category {
    Category {
        key: key.to_owned(),
        title: title.to_owned(),
        kind,
        urgency,
        glpi_category_id: None,
    }
}

/// The menu of a vehicle-inspection station's help desk.
pub fn default_categories() -> Vec<Category> {
    vec![
        category(
            "equipamento",
            "Equipamento da estação",
            TicketKind::Incident,
            4,
        ),
        category("sistema", "Erro no sistema", TicketKind::Incident, 4),
        category("envio", "Envio de vistorias", TicketKind::Incident, 4),
        category("acesso", "Acesso e senhas", TicketKind::Request, 3),
        category("duvida", "Dúvida de uso", TicketKind::Request, 2),
        category("outro", "Outro assunto", TicketKind::Request, 3),
    ]
}

/// Every problem of a menu of ticket types, naming the field: the configuration's checks, also
/// applied to the menu an administrator edits in the console.
pub fn category_problems(categories: &[Category]) -> Vec<String> {
    let mut out = Vec::new();
    if categories.is_empty() {
        out.push("categories: informe ao menos um tipo de chamado".to_owned());
    }
    let mut keys = std::collections::BTreeSet::new();
    for (i, c) in categories.iter().enumerate() {
        if c.key.trim().is_empty() {
            out.push(format!("categories[{i}].key: obrigatória"));
        } else if !keys.insert(c.key.as_str()) {
            out.push(format!("categories[{i}].key: '{}' repetida", c.key));
        }
        if c.title.trim().is_empty() || c.title.chars().count() > 24 {
            out.push(format!(
                "categories[{i}].title: de 1 a 24 caracteres (limite do WhatsApp)"
            ));
        }
        if !(1..=5).contains(&c.urgency) {
            out.push(format!("categories[{i}].urgency: de 1 a 5"));
        }
    }
    out
}

impl HelpdeskConfig {
    /// Parses TOML and validates; every problem at once, in Portuguese.
    pub fn from_toml(text: &str) -> Result<HelpdeskConfig, Vec<String>> {
        let config: HelpdeskConfig = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// Every problem, naming the field.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.hours.problems();
        out.extend(category_problems(&self.categories));
        if let Some(g) = &self.glpi {
            if !(g.url.starts_with("https://")
                || g.url.starts_with("http://127.0.0.1")
                || g.url.starts_with("http://localhost"))
            {
                out.push(
                    "glpi.url: use https:// (http:// só em 127.0.0.1 ou localhost)".to_owned(),
                );
            }
            if g.user_token.trim().is_empty() {
                out.push("glpi.user_token: obrigatório".to_owned());
            }
        }
        if let Some(w) = &self.whatsapp {
            for (field, value) in [
                ("app_secret", &w.app_secret),
                ("verify_token", &w.verify_token),
                ("access_token", &w.access_token),
                ("phone_number_id", &w.phone_number_id),
            ] {
                if value.trim().is_empty() {
                    out.push(format!("whatsapp.{field}: obrigatório"));
                }
            }
        }
        if self.sync.retry_base_seconds > self.sync.retry_max_seconds {
            out.push("sync.retry_base_seconds: não pode passar de retry_max_seconds".to_owned());
        }
        out
    }

    /// A category by key.
    pub fn category(&self, key: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.key == key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_and_its_mistakes() {
        let ok = HelpdeskConfig::from_toml(
            r#"
            [glpi]
            url = "https://suporte.example.com.br/apirest.php"
            user_token = "q56hqkniwot8wntb3z1qarka5atf365taaa2uyjrn"
            app_token = "f7g3csp8mgatg5ebc5elnazakw20i9fyev1qopya7"
            default_requester_id = 7
            locations = { "ECV-MT-0001" = 12 }

            [whatsapp]
            app_secret = "s"
            verify_token = "v"
            access_token = "a"
            phone_number_id = "106540352242922"

            [hours]
            periods = [{ start = "08:00", end = "12:00" }]
            closed_dates = ["2026-12-25"]
            "#,
        )
        .unwrap();
        assert_eq!(ok.glpi.unwrap().locations["ECV-MT-0001"], 12);
        assert_eq!(ok.hours.periods.len(), 1);
        assert_eq!(ok.categories.len(), 6);
        let typo = HelpdeskConfig::from_toml(
            "[glpi]\nurl = \"https://x/apirest.php\"\nuser_tokn = \"x\"\n",
        )
        .unwrap_err();
        assert!(typo[0].contains("user_tokn"), "{typo:?}");
        let bad = HelpdeskConfig::from_toml(
            "[glpi]\nurl = \"http://glpi.example.com\"\nuser_token = \" \"\n[sync]\nretry_base_seconds = 9999\n",
        )
        .unwrap_err();
        assert_eq!(bad.len(), 3, "{bad:?}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = SyncSettings::default();
        let secs: Vec<u64> = (1..=7).map(|a| s.backoff(a).as_secs()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 480, 900, 900]);
    }
}
