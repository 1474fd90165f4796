//! The stand-in's data: GLPI's items as stored (sanitized), its sessions and tokens, and the
//! faults waiting to be served; items added and changed with GLPI's checks and defaults.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value, json};

/// A refusal to give instead of the next answer.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    pub(super) status: u16,
    pub(super) code: String,
    pub(super) message: String,
}

#[derive(Default)]
pub(super) struct Faults {
    pub(super) server_errors: u32,
    pub(super) delay: Duration,
    pub(super) lose_writes: u32,
    pub(super) refusals: Vec<Refusal>,
}

#[derive(Default)]
pub(super) struct Glpi {
    pub(super) app_token: Option<String>,
    pub(super) user_tokens: HashMap<String, i64>,
    pub(super) sessions: HashMap<String, i64>,
    pub(super) items: BTreeMap<String, BTreeMap<i64, Map<String, Value>>>,
    pub(super) next_id: HashMap<String, i64>,
    pub(super) files: HashMap<i64, Vec<u8>>,
    pub(super) faults: Faults,
    pub(super) sessions_opened: u32,
    pub(super) requests: Vec<(String, String)>,
}

pub(super) type Shared = Arc<Mutex<Glpi>>;

pub(super) fn lock(s: &Shared) -> MutexGuard<'_, Glpi> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn now_text() -> String {
    Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// GLPI 10 stores text "sanitized": HTML special characters encoded.
pub(super) fn sanitize(v: &mut Value) {
    match v {
        Value::String(s) => {
            let mut out = String::with_capacity(s.len());
            for c in s.chars() {
                match c {
                    '&' => out.push_str("&#38;"),
                    '<' => out.push_str("&#60;"),
                    '>' => out.push_str("&#62;"),
                    '"' => out.push_str("&#34;"),
                    '\'' => out.push_str("&#39;"),
                    c => out.push(c),
                }
            }
            *s = out;
        }
        Value::Array(a) => a.iter_mut().for_each(sanitize),
        Value::Object(o) => o.values_mut().for_each(sanitize),
        _ => {}
    }
}

pub(super) fn unsanitize(v: &mut Value) {
    match v {
        Value::String(s) => *s = html_escape::decode_html_entities(s).into_owned(),
        Value::Array(a) => a.iter_mut().for_each(unsanitize),
        Value::Object(o) => o.values_mut().for_each(unsanitize),
        _ => {}
    }
}

impl Glpi {
    pub(super) fn insert(&mut self, itemtype: &str, mut fields: Map<String, Value>) -> i64 {
        let next = self.next_id.entry(itemtype.to_owned()).or_insert(1);
        let id = *next;
        *next += 1;
        fields.insert("id".into(), json!(id));
        self.items
            .entry(itemtype.to_owned())
            .or_default()
            .insert(id, fields);
        id
    }

    pub(super) fn get(&self, itemtype: &str, id: i64) -> Option<&Map<String, Value>> {
        self.items.get(itemtype).and_then(|m| m.get(&id))
    }

    pub(super) fn get_mut(&mut self, itemtype: &str, id: i64) -> Option<&mut Map<String, Value>> {
        self.items.get_mut(itemtype).and_then(|m| m.get_mut(&id))
    }

    pub(super) fn set_ticket_status(&mut self, id: i64, status: i64) {
        if let Some(t) = self.get_mut("Ticket", id) {
            t.insert("status".into(), json!(status));
            t.insert("date_mod".into(), json!(now_text()));
            if status == 6 {
                t.insert("closedate".into(), json!(now_text()));
            }
        }
    }

    /// Adds one item as GLPI would: checks and defaults per itemtype; the error message if not.
    pub(super) fn add(
        &mut self,
        itemtype: &str,
        mut input: Map<String, Value>,
        user: i64,
    ) -> Result<i64, String> {
        let int = |m: &Map<String, Value>, k: &str| m.get(k).and_then(crate::glpi::protocol::id_of);
        let text = |m: &Map<String, Value>, k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .is_some()
        };
        match itemtype {
            "Ticket" => {
                if !text(&input, "content") {
                    return Err("Description is mandatory".into());
                }
                let requester = int(&input, "_users_id_requester");
                input.retain(|k, _| !k.starts_with('_'));
                input.entry("status").or_insert(json!(1));
                input.entry("urgency").or_insert(json!(3));
                input.entry("type").or_insert(json!(1));
                input.entry("entities_id").or_insert(json!(0));
                input.insert("date".into(), json!(now_text()));
                input.insert("date_mod".into(), json!(now_text()));
                input.insert("is_deleted".into(), json!(0));
                input.insert("users_id_recipient".into(), json!(user));
                let id = self.insert("Ticket", input);
                if let Some(u) = requester {
                    let link = json!({"tickets_id": id, "users_id": u, "type": 1});
                    if let Value::Object(m) = link {
                        self.insert("Ticket_User", m);
                    }
                }
                Ok(id)
            }
            "ITILFollowup" | "ITILSolution" => {
                let parent_type = input
                    .get("itemtype")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let parent = int(&input, "items_id").unwrap_or(0);
                if self.get(&parent_type, parent).is_none() {
                    return Err("Item not found".into());
                }
                if !text(&input, "content") {
                    return Err("Content is mandatory".into());
                }
                input.retain(|k, _| !k.starts_with('_') && k != "add_reopen" && k != "add_close");
                input.insert("date".into(), json!(now_text()));
                input.insert("users_id".into(), json!(user));
                if itemtype == "ITILFollowup" {
                    input.entry("is_private").or_insert(json!(0));
                } else {
                    input.insert("status".into(), json!(2));
                    self.set_ticket_status(parent, 5);
                }
                Ok(self.insert(itemtype, input))
            }
            "Document_Item" => {
                let doc = int(&input, "documents_id").unwrap_or(0);
                let parent_type = input
                    .get("itemtype")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let parent = int(&input, "items_id").unwrap_or(0);
                if self.get("Document", doc).is_none() || self.get(&parent_type, parent).is_none() {
                    return Err("Item not found".into());
                }
                Ok(self.insert(itemtype, input))
            }
            "TicketSatisfaction" => {
                let ticket = int(&input, "tickets_id").unwrap_or(0);
                if self.get("Ticket", ticket).is_none() {
                    return Err("Item not found".into());
                }
                input.insert("date_answered".into(), json!(now_text()));
                Ok(self.insert(itemtype, input))
            }
            "Document" => Err("A file is mandatory: upload it as multipart/form-data".into()),
            _ => {
                input.retain(|k, _| !k.starts_with('_'));
                Ok(self.insert(itemtype, input))
            }
        }
    }

    pub(super) fn update(
        &mut self,
        itemtype: &str,
        id: i64,
        input: Map<String, Value>,
    ) -> Result<(), String> {
        let status = input.get("status").and_then(crate::glpi::protocol::id_of);
        let Some(item) = self.get_mut(itemtype, id) else {
            return Err("Item not found".into());
        };
        for (k, v) in input {
            if k != "id" && !k.starts_with('_') {
                item.insert(k, v);
            }
        }
        item.insert("date_mod".into(), json!(now_text()));
        if itemtype == "Ticket"
            && let Some(s) = status
        {
            self.set_ticket_status(id, s);
        }
        Ok(())
    }

    /// Sub items of `parent_type`/`parent`.
    pub(super) fn children(&self, parent_type: &str, parent: i64, sub: &str) -> Vec<Value> {
        let Some(items) = self.items.get(sub) else {
            return Vec::new();
        };
        let id_of =
            |m: &Map<String, Value>, k: &str| m.get(k).and_then(crate::glpi::protocol::id_of);
        items
            .values()
            .filter(|m| match (sub, parent_type) {
                ("TicketSatisfaction" | "Ticket_User", "Ticket") => {
                    id_of(m, "tickets_id") == Some(parent)
                }
                ("Document_Item", "Document") => id_of(m, "documents_id") == Some(parent),
                _ => {
                    m.get("itemtype").and_then(Value::as_str) == Some(parent_type)
                        && id_of(m, "items_id") == Some(parent)
                }
            })
            .map(|m| Value::Object(m.clone()))
            .collect()
    }
}
