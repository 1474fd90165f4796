//! The append-only audit log: every row carries the hash of the row before it, and the hash of
//! the newest row is kept apart as the head. Changing, removing or inserting a row breaks the
//! chain at that row, and [`verify`] names it.
//!
//! The hash alone is not keyed: someone who rewrites the whole database can rebuild the chain.
//! So once the central has provisioned a key ([`Store::provision_audit_key`]), every row also
//! carries `mac` = HMAC-SHA256(key, hash), and the key is then replaced by SHA-256 of itself
//! ("forward-secure" MACs, after Schneier and Kelsey): the disk only ever holds the key of the
//! *next* row. Whoever takes the disk can append rows but cannot recompute the MAC of any row
//! already written; the central, which keeps the first key, can ([`check_macs`]). The head is
//! also sent with each package, and the central compares those anchors too.
//!
//! [`Store::provision_audit_key`]: super::Store::provision_audit_key

use hmac::{Hmac, Mac};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StoreError;
use super::audit_action::AuditAction;
use crate::clock::CentralStamp;
use crate::domain::InspectionId;

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
pub(super) const HEAD_KEY: &str = "audit_head";
/// `meta` key of the MAC key state: `NEXT_SEQ:HEX_KEY`, the key for row `NEXT_SEQ`.
pub(super) const MAC_KEY: &str = "audit_mac_key";
/// `meta` key of the first keyed row's position (public: the central knows it too).
pub(super) const MAC_START: &str = "audit_mac_start";
/// Domain separation of the key ratchet.
const RATCHET_LABEL: &[u8] = b"vistoria-audit-ratchet-v1";
/// How far back a renumbered row is looked for when telling removal from insertion.
const RENUMBER_SEARCH: u64 = 1000;

/// Something that happened, to be written to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Central time, or `None` when the kiosk has never synced (the row says so).
    pub at: Option<CentralStamp>,
    /// Who: a user id, or `system`.
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// The inspection concerned, if any.
    pub inspection_id: Option<InspectionId>,
    /// Details as JSON.
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// An event with no details yet.
    pub fn new(at: Option<CentralStamp>, actor: &str, action: AuditAction) -> AuditEvent {
        AuditEvent {
            at,
            actor: actor.to_owned(),
            action,
            inspection_id: None,
            detail: serde_json::Value::Null,
        }
    }

    /// Ties the event to an inspection.
    pub fn inspection(mut self, id: InspectionId) -> AuditEvent {
        self.inspection_id = Some(id);
        self
    }

    /// Adds details.
    pub fn detail(mut self, detail: serde_json::Value) -> AuditEvent {
        self.detail = detail;
        self
    }
}

/// A row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// Central time as RFC 3339, if known.
    pub at: Option<String>,
    /// Age of the sync behind `at`.
    pub sync_age_ms: Option<u64>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Which inspection.
    pub inspection_id: Option<String>,
    /// Details, the JSON text exactly as stored (the hash covers these bytes).
    pub detail: String,
    /// Hash of the previous row ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// Hash of this row.
    pub hash: String,
    /// HMAC-SHA256 of `hash` under this row's key, hex; `None` before a key was provisioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl AuditRow {
    /// The hash this row should carry, were its sequence number `seq`.
    fn hash_as(&self, seq: u64) -> String {
        let mut h = Sha256::new();
        h.update(b"vistoria-audit-v1");
        let seq = seq.to_string();
        let age = self.sync_age_ms.map(|a| a.to_string()).unwrap_or_default();
        let fields: [&str; 8] = [
            &seq,
            self.at.as_deref().unwrap_or_default(),
            &age,
            &self.actor,
            &self.action,
            self.inspection_id.as_deref().unwrap_or_default(),
            &self.detail,
            &self.prev_hash,
        ];
        // Length-prefixed so no two different rows can hash the same bytes.
        for field in fields {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// The hash this row's content gives: equal to `hash` unless the row was altered. The
    /// central checks the rows a package carries with it.
    pub fn computed_hash(&self) -> String {
        self.hash_as(self.seq)
    }
}

/// Checks a run of rows as a package carries them: each row's hash is its content's, the
/// positions follow one another and each row links to the one before. `Err` names the first
/// row that breaks it, in Portuguese.
pub fn check_segment(rows: &[AuditRow]) -> Result<(), String> {
    for (i, row) in rows.iter().enumerate() {
        if row.computed_hash() != row.hash {
            return Err(format!("o registro {} não confere com o seu hash", row.seq));
        }
        if let Some(prev) = i.checked_sub(1).map(|j| &rows[j]) {
            if row.seq != prev.seq + 1 {
                return Err(format!(
                    "falta o registro {} (depois do {}, vem o {})",
                    prev.seq + 1,
                    prev.seq,
                    row.seq
                ));
            }
            if row.prev_hash != prev.hash {
                return Err(format!(
                    "o registro {} não se liga ao registro {}",
                    row.seq, prev.seq
                ));
            }
        } else if row.seq == 1 && row.prev_hash != GENESIS {
            return Err("o registro 1 não começa a cadeia".to_owned());
        }
    }
    Ok(())
}

/// `meta` key of the last position a queued package's audit trail reached.
pub(super) const PACKAGED_KEY: &str = "audit_packaged_seq";

/// Most rows one package carries: a station that queued nothing for a long time sends its
/// latest rows, and the central sees the gap before them.
pub const MAX_TRAIL_ROWS: u64 = 2000;

/// Most bytes of rows (as JSON) one package carries, well inside the central's manifest limit
/// (`wire::MAX_MANIFEST_BYTES`) beside the rest of the manifest; the newest rows are kept.
pub const MAX_TRAIL_BYTES: usize = 512 * 1024;

/// The rows `from..=to`, in order.
pub(super) fn rows_between(
    conn: &rusqlite::Connection,
    from: u64,
    to: u64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT_ROWS} WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq"
    ))?;
    let rows = stmt.query_map(params![from as i64, to as i64], row_from_sql)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Appends one row inside the caller's transaction and moves the head.
pub(super) fn append(tx: &Transaction<'_>, event: &AuditEvent) -> Result<AuditRow, StoreError> {
    let head = read_head(tx)?;
    let (seq, prev_hash) = match head {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let mut row = AuditRow {
        seq,
        at: event
            .at
            .map(|s| s.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        sync_age_ms: event.at.map(|s| s.sync_age_ms),
        actor: event.actor.clone(),
        action: event.action.as_str().to_owned(),
        inspection_id: event.inspection_id.map(|id| id.to_string()),
        detail: event.detail.to_string(),
        prev_hash,
        hash: String::new(),
        mac: None,
    };
    row.hash = row.computed_hash();
    if let Some((next_seq, key)) = read_mac_key(tx)? {
        if next_seq != seq {
            return Err(StoreError::Decode(format!(
                "a chave do registro de auditoria é da posição {next_seq}, não da {seq}"
            )));
        }
        row.mac = Some(row_mac(&key, &row.hash));
        write_mac_key(tx, seq + 1, &ratchet(&key))?;
    }
    tx.execute(
        "INSERT INTO audit_log (seq, at, sync_age_ms, actor, action, inspection_id, detail, prev_hash, hash, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            row.seq as i64,
            row.at,
            row.sync_age_ms.map(|a| a as i64),
            row.actor,
            row.action,
            row.inspection_id,
            row.detail,
            row.prev_hash,
            row.hash,
            row.mac
        ],
    )?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![HEAD_KEY, format!("{}:{}", row.seq, row.hash)],
    )?;
    Ok(row)
}

pub(super) fn read_head(conn: &rusqlite::Connection) -> Result<Option<(u64, String)>, StoreError> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [HEAD_KEY], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(value) = value else {
        return Ok(None);
    };
    let parsed = value
        .split_once(':')
        .and_then(|(seq, hash)| Some((seq.parse::<u64>().ok()?, hash.to_owned())));
    parsed.map(Some).ok_or_else(|| {
        StoreError::Decode(format!("cabeça do registro de auditoria ilegível: {value}"))
    })
}

/// What is wrong with the log, at the first place it goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditProblem {
    /// The row's content no longer matches its hash, or a rewritten row breaks the next link.
    Altered {
        /// The altered row.
        seq: u64,
    },
    /// Rows `first..=last` are gone.
    Removed {
        /// First missing position.
        first: u64,
        /// Last missing position.
        last: u64,
    },
    /// Rows were added that the application did not write.
    Inserted {
        /// The first foreign row.
        seq: u64,
    },
}

impl std::fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditProblem::Altered { seq } => {
                write!(f, "registro de auditoria {seq} foi alterado")
            }
            AuditProblem::Removed { first, last } if first == last => {
                write!(f, "registro de auditoria {first} foi removido")
            }
            AuditProblem::Removed { first, last } => {
                write!(f, "registros de auditoria {first} a {last} foram removidos")
            }
            AuditProblem::Inserted { seq } => {
                write!(
                    f,
                    "registro de auditoria {seq} foi inserido fora do sistema"
                )
            }
        }
    }
}

/// The outcome of walking the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Rows read.
    pub rows: u64,
    /// The first problem, or `None` when the chain is whole.
    pub problem: Option<AuditProblem>,
}

/// Selects whole rows, in the column order [`row_from_sql`] reads.
pub(super) const SELECT_ROWS: &str = "SELECT seq, at, sync_age_ms, actor, action, inspection_id, detail, prev_hash, hash, mac FROM audit_log";

/// One row of [`SELECT_ROWS`] (the central's SQLite copy of the rows reads them the same way).
pub fn row_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get::<_, i64>(0)? as u64,
        at: r.get(1)?,
        sync_age_ms: r.get::<_, Option<i64>>(2)?.map(|a| a as u64),
        actor: r.get(3)?,
        action: r.get(4)?,
        inspection_id: r.get(5)?,
        detail: r.get(6)?,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
        mac: r.get(9)?,
    })
}

/// Walks the whole log and reports the first row that was altered, removed or inserted.
pub(super) fn verify(conn: &rusqlite::Connection) -> Result<AuditReport, StoreError> {
    let mut stmt = conn.prepare(&format!("{SELECT_ROWS} ORDER BY seq"))?;
    let rows = stmt.query_map([], row_from_sql)?;

    let keyed_from = mac_start(conn)?;
    let mut count = 0u64;
    let mut prev: Option<AuditRow> = None;
    let report = |rows, problem| {
        Ok(AuditReport {
            rows,
            problem: Some(problem),
        })
    };
    for row in rows {
        let row = row?;
        count += 1;
        let expected_seq = prev.as_ref().map_or(1, |p| p.seq + 1);
        if row.seq > expected_seq {
            return report(
                count,
                AuditProblem::Removed {
                    first: expected_seq,
                    last: row.seq - 1,
                },
            );
        }
        if row.computed_hash() != row.hash {
            // A row whose hash fits another position was renumbered: rows before it were
            // removed (it moved down) or inserted (it moved up).
            for d in 1..=RENUMBER_SEARCH {
                if row.hash_as(row.seq + d) == row.hash {
                    return report(
                        count,
                        AuditProblem::Removed {
                            first: row.seq,
                            last: row.seq + d - 1,
                        },
                    );
                }
                if row.seq > d && row.hash_as(row.seq - d) == row.hash {
                    return report(count, AuditProblem::Inserted { seq: row.seq - d });
                }
            }
            return report(count, AuditProblem::Altered { seq: row.seq });
        }
        // A keyed row without its MAC was rewritten by someone without the key.
        if keyed_from.is_some_and(|start| row.seq >= start) && row.mac.is_none() {
            return report(count, AuditProblem::Altered { seq: row.seq });
        }
        let prev_hash = prev.as_ref().map_or(GENESIS, |p| p.hash.as_str());
        if row.prev_hash != prev_hash {
            return match &prev {
                // It links past the previous row: that one was slipped in between.
                Some(p) if row.prev_hash == p.prev_hash => {
                    report(count, AuditProblem::Inserted { seq: p.seq })
                }
                // The previous row was rewritten with a fresh hash of its own.
                Some(p) => report(count, AuditProblem::Altered { seq: p.seq }),
                None => report(count, AuditProblem::Altered { seq: row.seq }),
            };
        }
        prev = Some(row);
    }

    let head = read_head(conn)?;
    let problem = match (head, prev) {
        (None, None) => None,
        (Some((seq, _)), None) => Some(AuditProblem::Removed {
            first: 1,
            last: seq,
        }),
        (None, Some(_)) => Some(AuditProblem::Inserted { seq: 1 }),
        (Some((head_seq, head_hash)), Some(last)) => {
            if head_seq > last.seq {
                Some(AuditProblem::Removed {
                    first: last.seq + 1,
                    last: head_seq,
                })
            } else if head_seq < last.seq {
                Some(AuditProblem::Inserted { seq: head_seq + 1 })
            } else if head_hash != last.hash {
                Some(AuditProblem::Altered { seq: last.seq })
            } else {
                None
            }
        }
    };
    Ok(AuditReport {
        rows: count,
        problem,
    })
}

/// The hash a row should carry, for tests that forge rows as an attacker would.
#[cfg(test)]
pub(super) fn hash_for_tests(row: &AuditRow) -> String {
    row.computed_hash()
}

/// The key that follows `key`: SHA-256 of a label and `key`. One-way, so a later key says
/// nothing about an earlier one.
pub fn ratchet(key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(RATCHET_LABEL);
    h.update(key);
    h.finalize().into()
}

/// HMAC-SHA256 of a row's hash (hex) under `key`, hex.
pub fn row_mac(key: &[u8; 32], hash: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(hash.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// What the central needs of a row to check its MAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacRow {
    /// Position.
    pub seq: u64,
    /// The row's hash.
    pub hash: String,
    /// Its MAC, if it has one.
    pub mac: Option<String>,
}

/// Checks rows sorted by `seq` against the first key `key0` (the key of row `start`): every
/// row from `start` on must be present, in order, with the MAC its key gives. `Ok(n)` is the
/// number of keyed rows checked; `Err(seq)` the first row that fails (missing, unkeyed, or with
/// a MAC its key does not give, which is what a rewritten row looks like).
pub fn check_macs(start: u64, key0: &[u8; 32], rows: &[MacRow]) -> Result<u64, u64> {
    check_macs_on(
        start,
        key0,
        rows.iter()
            .map(|r| (r.seq, r.hash.as_str(), r.mac.as_deref())),
    )
    .map(|(checked, _)| checked)
}

/// [`check_macs`] over `(seq, hash, mac)` of any row type, also returning the key of the
/// position after the last row checked: the central keeps it as a checkpoint, so the next
/// package's rows are checked without ratcheting again from the first key.
pub fn check_macs_on<'a>(
    start: u64,
    key0: &[u8; 32],
    rows: impl IntoIterator<Item = (u64, &'a str, Option<&'a str>)>,
) -> Result<(u64, [u8; 32]), u64> {
    let mut key = *key0;
    let mut checked = 0;
    let keyed = rows.into_iter().filter(|(seq, _, _)| *seq >= start);
    for (expected, (seq, hash, mac)) in (start..).zip(keyed) {
        if seq != expected {
            return Err(expected);
        }
        let good = mac.is_some_and(|mac| {
            // Compared in constant time: the central answers strangers' chains too.
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("any key length");
            m.update(hash.as_bytes());
            hex::decode(mac).is_ok_and(|bytes| m.verify_slice(&bytes).is_ok())
        });
        if !good {
            return Err(seq);
        }
        key = ratchet(&key);
        checked += 1;
    }
    Ok((checked, key))
}

/// Position, hash and MAC of every row from `from` on, in order.
pub(super) fn mac_rows(conn: &rusqlite::Connection, from: u64) -> Result<Vec<MacRow>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT seq, hash, mac FROM audit_log WHERE seq >= ?1 ORDER BY seq")?;
    let rows = stmt.query_map([from as i64], |r| {
        Ok(MacRow {
            seq: r.get::<_, i64>(0)? as u64,
            hash: r.get(1)?,
            mac: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn mac_start(conn: &rusqlite::Connection) -> Result<Option<u64>, StoreError> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [MAC_START], |r| {
            r.get(0)
        })
        .optional()?;
    value
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| StoreError::Decode(format!("início da chave de auditoria: {v}")))
        })
        .transpose()
}

pub(super) fn read_mac_key(
    conn: &rusqlite::Connection,
) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [MAC_KEY], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(value) = value else {
        return Ok(None);
    };
    value
        .split_once(':')
        .and_then(|(seq, key)| {
            let key: [u8; 32] = hex::decode(key).ok()?.try_into().ok()?;
            Some((seq.parse::<u64>().ok()?, key))
        })
        .map(Some)
        .ok_or_else(|| StoreError::Decode("chave do registro de auditoria ilegível".into()))
}

pub(super) fn write_mac_key(
    tx: &Transaction<'_>,
    next_seq: u64,
    key: &[u8; 32],
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![MAC_KEY, format!("{next_seq}:{}", hex::encode(key))],
    )?;
    Ok(())
}
