//! What the web portal (issue 22) keeps in the metadata store: the people who log in with a
//! password, their sessions, their failed attempts and the access log of evidence (LGPD).
//!
//! Nothing of it lives in a server's memory: several central instances run behind one load
//! balancer, and a session opened through one, a lock-out earned through another or a logout
//! must hold on all of them at the next request. Both backends implement [`PortalStore`]
//! (`sqlite/portal.rs`, `postgres/portal.rs`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StorageResult;

/// What a portal account may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalRole {
    /// A Detran auditor: every station, read-only.
    Detran,
    /// An ECV's manager: their own station only.
    Gestor {
        /// The station's code.
        station: String,
    },
    /// The system company's administrator: every station; also the help desk's administrator
    /// (takes over others' tickets, manages users, contacts and messages; issue 23).
    Admin,
    /// A help-desk technician (issue 23): sees and answers tickets in the console, sees no
    /// inspection evidence.
    Tecnico,
}

impl PortalRole {
    /// The stored code (`detran`, `gestor`, `admin`).
    pub fn code(&self) -> &'static str {
        match self {
            PortalRole::Detran => "detran",
            PortalRole::Gestor { .. } => "gestor",
            PortalRole::Admin => "admin",
            PortalRole::Tecnico => "tecnico",
        }
    }

    /// The station it is bound to (a manager's), if any.
    pub fn station(&self) -> Option<&str> {
        match self {
            PortalRole::Gestor { station } => Some(station),
            _ => None,
        }
    }

    /// The role of a stored `(code, station)`.
    pub fn from_stored(code: &str, station: Option<String>) -> StorageResult<PortalRole> {
        match (code, station) {
            ("detran", None) => Ok(PortalRole::Detran),
            ("admin", None) => Ok(PortalRole::Admin),
            ("tecnico", None) => Ok(PortalRole::Tecnico),
            ("gestor", Some(station)) => Ok(PortalRole::Gestor { station }),
            (code, station) => Err(super::StorageError::Corrupt(format!(
                "papel de portal «{code}» com estação {station:?}"
            ))),
        }
    }

    /// Whether it may see `station`'s inspections. Checked on the server for every request.
    /// A technician sees none: the help desk needs no citizen's evidence (LGPD).
    pub fn may_see(&self, station: &str) -> bool {
        match self {
            PortalRole::Detran | PortalRole::Admin => true,
            PortalRole::Gestor { station: own } => own == station,
            PortalRole::Tecnico => false,
        }
    }

    /// Whether it may open the Detran portal's inspection pages (overview, search,
    /// inspections, reports): everyone but a help-desk technician.
    pub fn sees_inspections(&self) -> bool {
        !matches!(self, PortalRole::Tecnico)
    }

    /// Whether it works in the help desk's console (issue 23): technicians and administrators.
    pub fn in_helpdesk(&self) -> bool {
        matches!(self, PortalRole::Tecnico | PortalRole::Admin)
    }

    /// Its name as the pages show it.
    pub fn label_pt(&self) -> String {
        match self {
            PortalRole::Detran => "Auditor do Detran".into(),
            PortalRole::Gestor { station } => format!("Gestor da {station}"),
            PortalRole::Admin => "Administrador".into(),
            PortalRole::Tecnico => "Técnico do suporte".into(),
        }
    }
}

/// A person who logs in to the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalAccount {
    /// Unique name (the login).
    pub name: String,
    /// What they may see.
    pub role: PortalRole,
    /// The password's Argon2id hash (PHC string).
    pub password_hash: String,
    /// Failed attempts since the last success or lock-out.
    pub failures: u32,
    /// Refused until this instant after too many failures.
    pub locked_until: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was disabled (`None`: in force).
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A session as stored: the cookie's value only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// SHA-256 (hex) of the cookie's random value.
    pub id_sha256: String,
    /// The account.
    pub account: String,
    /// The synchronizer token every form of this session carries.
    pub csrf_token: String,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// The last request it made (idle expiry counts from here).
    pub last_seen_at: DateTime<Utc>,
    /// When it ends whatever its use (absolute expiry).
    pub expires_at: DateTime<Utc>,
}

/// One access to an inspection's evidence (LGPD: who, what, when, from where).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (portal account).
    pub account: String,
    /// The inspection's station.
    pub station: String,
    /// The inspection.
    pub inspection_id: Uuid,
    /// What was opened: `inspection` (its page) or a file's name.
    pub what: String,
    /// The client's address.
    pub address: String,
}

/// A station and its latest package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationActivity {
    /// Station code.
    pub code: String,
    /// Whether its token was revoked (`station revoke`).
    pub revoked: bool,
    /// When the central first saw its newest package.
    pub last_package_at: Option<DateTime<Utc>>,
    /// Its packages not verified yet.
    pub pending_packages: u64,
}

/// What a failed password attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Counted; the account is still open.
    Counted(u32),
    /// The account is locked until then.
    Locked(DateTime<Utc>),
}

/// The portal's accounts, sessions and access log.
pub trait PortalStore {
    /// Creates the account or, when it exists, replaces its password (and role), clears its
    /// failures and lock-out and re-enables it. Its open sessions end: a new password is the
    /// answer to a leaked one.
    fn put_portal_account(
        &self,
        name: &str,
        role: &PortalRole,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// The account named `name`, disabled or not.
    fn portal_account(&self, name: &str) -> StorageResult<Option<PortalAccount>>;

    /// Every account, by name.
    fn portal_accounts(&self) -> StorageResult<Vec<PortalAccount>>;

    /// Disables the account at `at` and ends its sessions; `false` if there is none.
    fn disable_portal_account(&self, name: &str, at: DateTime<Utc>) -> StorageResult<bool>;

    /// Re-enables a disabled account with its password unchanged and lifts a lock-out (the
    /// administrators' page); `false` if there is none.
    fn enable_portal_account(&self, name: &str) -> StorageResult<bool>;

    /// Counts a failed attempt at `now`, atomically (two instances counting at once count two):
    /// the `max`-th failure locks the account until `now + lock_for` and resets the count.
    fn record_login_failure(
        &self,
        name: &str,
        now: DateTime<Utc>,
        max: u32,
        lock_for: chrono::Duration,
    ) -> StorageResult<FailureOutcome>;

    /// A successful login: the failure count goes back to zero.
    fn record_login_success(&self, name: &str) -> StorageResult<()>;

    /// Stores a new session.
    fn create_session(&self, session: &PortalSession) -> StorageResult<()>;

    /// The session whose cookie hashes to `id_sha256` and its account, if the session is live at
    /// `now` (not ended, before its absolute expiry, used within `idle`) and the account in
    /// force; its `last_seen_at` becomes `now`. A dead session is removed.
    fn live_session(
        &self,
        id_sha256: &str,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> StorageResult<Option<(PortalSession, PortalAccount)>>;

    /// Ends a session (logout).
    fn end_session(&self, id_sha256: &str) -> StorageResult<()>;

    /// Writes an access to the log.
    fn log_access(&self, entry: &AccessEntry) -> StorageResult<()>;

    /// The accesses to one inspection, oldest first.
    fn access_log(&self, station: &str, inspection_id: Uuid) -> StorageResult<Vec<AccessEntry>>;

    /// Every registered station with its newest package and how many wait for verification.
    fn station_activity(&self) -> StorageResult<Vec<StationActivity>>;
}
