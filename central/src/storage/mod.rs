//! Where the central server keeps things, behind two narrow traits so a deployment can swap the
//! backend without touching the API: [`MetadataStore`] (stations, vehicle queries, manifests,
//! receipts) and [`BlobStore`] (media bytes).
//!
//! The embedded backends are [`sqlite::SqliteMetadata`] (WAL, `synchronous=FULL`) and
//! [`files::FileBlobs`] (plain files, atomic rename): one machine, `vistoria demo`, a small
//! install. The scale-out ones, for several instances behind a load balancer, are
//! [`postgres::PgMetadata`] and an S3-compatible object store; see `central/README.md`.
//!
//! Everything is kept five years (§9) and removed only by the retention purge ([`retention`]).

pub mod cross_flags;
pub mod devices;
pub mod directory;
pub mod files;
pub mod integrity;
pub mod laudos;
pub mod live;
pub mod portal;
pub mod postgres;
pub mod retention;
pub mod s3;
pub mod sqlite;
pub mod trails;

use std::io::Read;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vistoria_core::wire::{MediaKind, PackageManifest, PackageStatus, Receipt};

/// A storage failure. Its text is for logs; clients get a generic 500.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The metadata database failed.
    #[error("banco de dados: {0}")]
    Database(String),
    /// A file operation failed.
    #[error("arquivo: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data could not be decoded (corruption or a newer schema).
    #[error("dado armazenado inválido: {0}")]
    Corrupt(String),
    /// An insert would replace something that exists (station code, token).
    #[error("já existe: {0}")]
    AlreadyExists(String),
    /// The thing to update does not exist.
    #[error("não encontrado: {0}")]
    NotFound(String),
}

/// Result of every storage call.
pub type StorageResult<T> = Result<T, StorageError>;

/// A package's identity at the central: the station that sent it and the inspection id the
/// station drew. Inspection ids are the stations' own, so the central scopes them: one station's
/// ids never collide with another's, and asking about an id tells a station nothing about
/// other stations' inspections (issue 17).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageKey {
    /// Station code.
    pub station: String,
    /// The station's inspection id.
    pub inspection_id: Uuid,
}

impl PackageKey {
    /// The key of `station`'s inspection `inspection_id`.
    pub fn new(station: &str, inspection_id: Uuid) -> PackageKey {
        PackageKey {
            station: station.to_owned(),
            inspection_id,
        }
    }
}

impl std::fmt::Display for PackageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.station, self.inspection_id)
    }
}

/// A vehicle query as recorded (§5, §9): the package must refer to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRecord {
    /// Id returned to the kiosk.
    pub query_id: Uuid,
    /// Station that asked.
    pub station: String,
    /// Canonical plate of the vehicle found.
    pub plate: String,
    /// Central time of the query.
    pub queried_at: DateTime<Utc>,
    /// `queried_at` + 4 h (§9).
    pub deadline: DateTime<Utc>,
}

/// One media file of a package as recorded: the manifest's promise and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// File name (already validated as safe).
    pub name: String,
    /// What it is.
    pub kind: MediaKind,
    /// Declared size.
    pub size: u64,
    /// Declared MD5 (hex).
    pub md5: String,
    /// Declared SHA-256 (hex).
    pub sha256: String,
    /// Once fully received: whether the bytes matched the declared digests.
    pub digests_match: Option<bool>,
}

/// A package (one inspection) as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageRecord {
    /// The kiosk's inspection id.
    pub inspection_id: Uuid,
    /// Station that sent it.
    pub station: String,
    /// The vehicle query it refers to.
    pub query_id: Uuid,
    /// Canonical plate.
    pub plate: String,
    /// The manifest, parsed.
    pub manifest: PackageManifest,
    /// The canonical JSON of the manifest exactly as sent (what `manifest_sha256` hashes).
    pub manifest_json: String,
    /// SHA-256 of `manifest_json`.
    pub manifest_sha256: String,
    /// When the manifest first arrived.
    pub first_seen_at: DateTime<Utc>,
    /// The query's deadline (§9).
    pub deadline: DateTime<Utc>,
    /// Whether the inspection was concluded after the deadline.
    pub late: bool,
    /// Where the package stands.
    pub status: PackageStatus,
    /// Why the last commit was refused.
    pub rejection: Option<String>,
    /// The receipt, once verified.
    pub receipt: Option<Receipt>,
    /// Its files, in manifest order.
    pub files: Vec<FileRecord>,
}

/// The first key of a station's keyed audit chain (`core::store::audit`), kept by the central
/// only: with it the central can check every MAC the station wrote since `start_seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditKeyRecord {
    /// Station code.
    pub station: String,
    /// The key of row `start_seq`.
    pub key: [u8; 32],
    /// The first keyed row.
    pub start_seq: u64,
    /// When it was first handed out.
    pub issued_at: DateTime<Utc>,
    /// A package anchored at or after `start_seq` arrived: the station has the key, and it is
    /// never handed out again.
    pub confirmed: bool,
}

/// One package's `(audit_sequence, audit_head)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The package.
    pub inspection_id: Uuid,
    /// Position of the head in the station's chain.
    pub seq: u64,
    /// The head.
    pub head: String,
}

/// An inspector a station registered (§11): who may sign its laudos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectorRecord {
    /// CPF, 11 digits.
    pub cpf: String,
    /// Name as the station sent it.
    pub name: String,
    /// When the station first (or again) listed this inspector.
    pub registered_at: DateTime<Utc>,
    /// When the station's list stopped naming this inspector (`None`: still on it). Kept, so a
    /// laudo signed before the removal and delivered later is still accepted.
    pub removed_at: Option<DateTime<Utc>>,
}

impl PackageRecord {
    /// Its key.
    pub fn key(&self) -> PackageKey {
        PackageKey::new(&self.station, self.inspection_id)
    }
}

/// What [`MetadataStore::insert_package`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertOutcome {
    /// The package is new and was stored.
    Inserted,
    /// The station already has a package with this inspection id (returned as is, nothing
    /// changed).
    Existing(Box<PackageRecord>),
    /// Another inspection (this id) was already delivered for the same vehicle query: one
    /// query, one inspection (§5, §9). Nothing was stored.
    QueryUsed(Uuid),
}

/// Metadata of the central server. Implementations must make every call durable before it
/// returns and must be safe to call from several threads.
pub trait MetadataStore:
    Send
    + Sync
    + directory::Directory
    + laudos::LaudoNumbers
    + retention::Retention
    + integrity::Integrity
    + trails::AuditTrails
    + devices::Devices
    + portal::PortalStore
    + cross_flags::CrossFlags
    + live::Live
{
    /// Registers a station with the SHA-256 (hex) of its bearer token.
    fn add_station(&self, code: &str, token_sha256: &str, at: DateTime<Utc>) -> StorageResult<()>;

    /// The station whose token hashes to `token_sha256`.
    fn station_for_token(&self, token_sha256: &str) -> StorageResult<Option<String>>;

    /// Records a vehicle query.
    fn insert_query(&self, query: &QueryRecord) -> StorageResult<()>;

    /// A recorded query.
    fn query(&self, query_id: Uuid) -> StorageResult<Option<QueryRecord>>;

    /// Stores a new package, or returns the station's existing one with the same inspection id.
    fn insert_package(&self, package: &PackageRecord) -> StorageResult<InsertOutcome>;

    /// A package by key.
    fn package(&self, key: &PackageKey) -> StorageResult<Option<PackageRecord>>;

    /// Records whether a fully received file matched its digests (`None`: not complete).
    fn set_file_check(
        &self,
        key: &PackageKey,
        name: &str,
        digests_match: Option<bool>,
    ) -> StorageResult<()>;

    /// Marks the package rejected with the reason shown to the kiosk. A verified package stays
    /// verified.
    fn set_rejected(&self, key: &PackageKey, reason: &str) -> StorageResult<()>;

    /// Marks the package verified with the laudo number allocated to its inspection at the
    /// vehicle query, recording `facts` with the number and storing the receipt `sign` builds
    /// from it, all in one transaction. An inspection whose query allocated none (a station
    /// older than central-allocated numbers) is given the next number of `received_at`'s year
    /// there, as before. An already verified package keeps and returns its receipt.
    fn commit_package(
        &self,
        key: &PackageKey,
        received_at: DateTime<Utc>,
        facts: &laudos::LaudoFacts,
        sign: &dyn Fn(String) -> Receipt,
    ) -> StorageResult<Receipt>;

    /// Every package, oldest first.
    fn packages(&self) -> StorageResult<Vec<PackageRecord>>;

    /// Removes a package's metadata, keeping its laudo number (an unverified package that
    /// expired is registered again with it). Retention removes the number too:
    /// [`retention::Retention::purge_package`].
    fn delete_package(&self, key: &PackageKey) -> StorageResult<()>;

    /// Removes a query and the laudo number it allocated (retention, §9).
    fn delete_query(&self, query_id: Uuid) -> StorageResult<()>;

    /// The station's audit key, if one was issued.
    fn audit_key(&self, station: &str) -> StorageResult<Option<AuditKeyRecord>>;

    /// Stores `record` when the station has no key; when it has one not yet confirmed, keeps that
    /// key and moves its `start_seq` to `record`'s (the station asks again after a lost answer,
    /// with more rows written meanwhile); a confirmed key is left alone. Returns the station's
    /// key as stored.
    fn issue_audit_key(&self, record: &AuditKeyRecord) -> StorageResult<AuditKeyRecord>;

    /// Marks the station's audit key as received by the station.
    fn confirm_audit_key(&self, station: &str) -> StorageResult<()>;

    /// The station's package anchors with `from <= seq <= to`, by sequence.
    fn anchors(&self, station: &str, from: u64, to: u64) -> StorageResult<Vec<Anchor>>;

    // Resource limits and token administration (issue 17).

    /// Bytes declared by the station's packages that are not verified yet.
    fn outstanding_bytes(&self, station: &str) -> StorageResult<u64>;

    /// Unverified packages first seen before `cutoff` (they expire).
    fn uncommitted_before(&self, cutoff: DateTime<Utc>) -> StorageResult<Vec<PackageKey>>;

    /// Replaces a station's token hash; `false` if there is no such station.
    fn set_station_token(&self, code: &str, token_sha256: &str) -> StorageResult<bool>;

    /// Makes a station's token match nothing; `false` if there is no such station.
    fn revoke_station(&self, code: &str) -> StorageResult<bool>;

    /// A digest of every station's code and token hash: it changes when a station is added,
    /// rotated or revoked, which is how every instance knows to drop its cached tokens.
    fn stations_fingerprint(&self) -> StorageResult<String>;

    /// Replaces `station`'s inspector list (§11) at `at`: each `(cpf, name)` given is
    /// registered (again, if removed), every other one of the station marked removed at `at`.
    /// Atomic.
    fn set_inspectors(
        &self,
        station: &str,
        inspectors: &[(String, String)],
        at: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// `station`'s inspector with this CPF, listed now or removed.
    fn inspector(&self, station: &str, cpf: &str) -> StorageResult<Option<InspectorRecord>>;

    // Leases on running uploads and commits (issue 21): kept here, not in an instance's memory,
    // so that every instance of the central sees them.

    /// Says that server instance `instance` is alive until `until` (renewed every few seconds
    /// while it runs). Its leases die with it: once `until` passes without a renewal (a crash, a
    /// kill), they are ignored and cleared.
    fn heartbeat(&self, instance: Uuid, until: DateTime<Utc>) -> StorageResult<()>;

    /// Declares every instance but `me` dead as of `now`, and their leases with them. Only for
    /// a store that one server owns alone (the data folder's SQLite file): a restarted server
    /// must not wait for the heartbeat of its killed predecessor to lapse.
    fn retire_other_instances(&self, me: Uuid, now: DateTime<Utc>) -> StorageResult<()>;

    /// Takes a lease for `holder` of `instance`, live until `until` (and while the instance is
    /// alive), on one file of a package (an upload, `file = Some`) or on the whole package (a
    /// commit or an expiry, `None`). `false`, and nothing taken, when a live lease conflicts:
    /// the same file, or a whole-package lease and anything else of the package. Leases past
    /// their time or of an instance whose heartbeat lapsed are ignored and cleared; an instance
    /// that never sent one (a store used without a server) counts as alive.
    fn claim(&self, key: &PackageKey, file: Option<&str>, lease: Lease) -> StorageResult<bool>;

    /// Ends `holder`'s lease (nothing if it has none).
    fn release(&self, holder: Uuid) -> StorageResult<()>;
}

/// Who holds a lease and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The lease's own id (to end it).
    pub holder: Uuid,
    /// The server instance that took it.
    pub instance: Uuid,
    /// Now, as the taker sees it.
    pub now: DateTime<Utc>,
    /// When it ends at the latest.
    pub until: DateTime<Utc>,
}

/// The stored code of a unit enum (its serde name: `"verified"`, `"photo"`…). Both metadata
/// backends keep statuses and kinds this way.
pub(crate) fn code_of<T: serde::Serialize>(value: &T) -> StorageResult<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(StorageError::Corrupt(format!("código inesperado {other}"))),
        Err(e) => Err(StorageError::Corrupt(e.to_string())),
    }
}

/// The unit enum a stored code names.
pub(crate) fn from_code<T: serde::de::DeserializeOwned>(code: &str) -> StorageResult<T> {
    serde_json::from_value(serde_json::Value::String(code.to_owned()))
        .map_err(|e| StorageError::Corrupt(format!("código «{code}»: {e}")))
}

/// Laudo number `n` of `year`: `MT-2026-000001`. MT: the state whose DETRAN the reference
/// server stands in for.
pub(crate) fn laudo_number(year: i32, n: i64) -> String {
    format!("MT-{year}-{n:06}")
}

/// Whether a lease on `wanted` (`None`: the whole package) conflicts with live ones on `held`.
pub fn claims_conflict(wanted: Option<&str>, held: &[String]) -> bool {
    let wanted = wanted.unwrap_or("");
    held.iter()
        .any(|other| wanted.is_empty() || other.is_empty() || other == wanted)
}

/// Writes more bytes at the end of a partial blob. Dropping it without [`BlobAppender::finish`]
/// may lose the bytes written since the last finish, never earlier ones.
pub trait BlobAppender: Send {
    /// Appends bytes.
    fn write(&mut self, bytes: &[u8]) -> StorageResult<()>;

    /// Makes everything written durable.
    fn finish(self: Box<Self>) -> StorageResult<()>;
}

/// Media bytes. A blob is first *partial* (growing, resumable) and becomes *sealed* once the
/// package is verified; a sealed blob is never modified again.
pub trait BlobStore: Send + Sync {
    /// Bytes held for this file, partial or sealed (0 if none).
    fn len(&self, key: &PackageKey, name: &str) -> StorageResult<u64>;

    /// Opens the partial blob for appending at `offset`, which must not exceed [`Self::len`];
    /// anything after `offset` is cut off first.
    fn append(
        &self,
        key: &PackageKey,
        name: &str,
        offset: u64,
    ) -> StorageResult<Box<dyn BlobAppender>>;

    /// Reads the blob from the start (sealed if sealed, else partial).
    fn open(&self, key: &PackageKey, name: &str) -> StorageResult<Box<dyn Read + Send>>;

    /// Drops the partial or sealed bytes of a file that failed verification, so it can be sent
    /// again.
    fn discard(&self, key: &PackageKey, name: &str) -> StorageResult<()>;

    /// Turns the partial blob into the sealed one, atomically and durably. Sealing a sealed blob
    /// is a no-op.
    fn seal(&self, key: &PackageKey, name: &str) -> StorageResult<()>;

    /// Names of the sealed blobs of an inspection.
    fn sealed(&self, key: &PackageKey) -> StorageResult<Vec<String>>;

    /// Removes everything held for an inspection (retention, §9).
    fn delete_inspection(&self, key: &PackageKey) -> StorageResult<()>;
}
