//! What the Detran API (issue 21) reads from the metadata store: the credentials of people
//! (Detran auditors, the system company's administrators) and the search over every station's
//! inspections. A supertrait of [`super::MetadataStore`], so both backends keep it in the same
//! database as the rest and every instance sees the same thing.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PackageRecord, StorageResult};

/// What a person's credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A Detran auditor: reads every station's inspections, changes nothing.
    Detran,
    /// The system company's administrator: everything an auditor reads (and, later, the portal's
    /// administration, issue 22).
    Admin,
}

/// A person's credential as stored (its token only as a SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserRecord {
    /// Unique name, as given to `user add`.
    pub name: String,
    /// What the token may do.
    pub role: Role,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked (`None`: in force).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// How an inspection ended, as the search filters it: the verdict's code, or `interrupted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeCode {
    /// Conforme.
    Conforming,
    /// Não conforme.
    NonConforming,
    /// Interrompida.
    Interrupted,
}

impl OutcomeCode {
    /// The code as stored in the manifest's JSON (`interrupted` is the outcome's variant name,
    /// the other two the verdict's tag).
    pub fn code(self) -> &'static str {
        match self {
            OutcomeCode::Conforming => "conforming",
            OutcomeCode::NonConforming => "non_conforming",
            OutcomeCode::Interrupted => "interrupted",
        }
    }
}

/// A place in the search's order: newest reception first, then station and inspection id
/// descending. A page continues strictly after the last row of the previous one, so rows
/// arriving meanwhile never shift a page (keyset pagination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPosition {
    /// When the central first saw the package.
    pub first_seen_at: DateTime<Utc>,
    /// Station code.
    pub station: String,
    /// The station's inspection id.
    pub inspection_id: Uuid,
}

impl SearchPosition {
    /// The position of a package.
    pub fn of(package: &PackageRecord) -> SearchPosition {
        SearchPosition {
            first_seen_at: package.first_seen_at,
            station: package.station.clone(),
            inspection_id: package.inspection_id,
        }
    }
}

/// A search over every station's inspections; every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectionFilter {
    /// Canonical plates, any of them (the old and Mercosul forms of one vehicle); empty: any.
    pub plates: Vec<String>,
    /// Station code, exact.
    pub station: Option<String>,
    /// Received by the central at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Received by the central before this instant.
    pub to: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Option<OutcomeCode>,
    /// Only rows after this position.
    pub after: Option<SearchPosition>,
    /// Rows at most.
    pub limit: usize,
}

/// Credentials of people and the search of the Detran API.
pub trait Directory {
    /// Stores a credential; [`super::StorageError::AlreadyExists`] if the name (revoked or not)
    /// or the token hash is taken.
    fn add_user(
        &self,
        name: &str,
        role: Role,
        token_sha256: &str,
        at: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// The credential in force whose token hashes to `token_sha256` (a revoked one: `None`).
    fn user_for_token(&self, token_sha256: &str) -> StorageResult<Option<UserRecord>>;

    /// Every credential, revoked ones included, by name.
    fn users(&self) -> StorageResult<Vec<UserRecord>>;

    /// Revokes a credential at `at`; `false` if there is no such name. Revoking a revoked one
    /// keeps its first revocation time.
    fn revoke_user(&self, name: &str, at: DateTime<Utc>) -> StorageResult<bool>;

    /// The packages matching `filter`, in [`SearchPosition`] order, at most `filter.limit`.
    fn search_packages(&self, filter: &InspectionFilter) -> StorageResult<Vec<PackageRecord>>;
}

/// One argument of a search statement, converted by each backend to its own types.
pub(crate) enum SearchArg {
    /// A text column.
    Text(String),
    /// A time column (SQLite keeps it as RFC 3339 text, PostgreSQL as `timestamptz`).
    Time(DateTime<Utc>),
    /// An inspection id (SQLite: text, PostgreSQL: `uuid`).
    Id(Uuid),
}

/// The search's `WHERE …` (empty without filters), `ORDER BY` and `LIMIT`, its parameters
/// written `{mark}1`, `{mark}2`… (`?` for SQLite, `$` for PostgreSQL), and their arguments.
/// `outcome_sql` is the backend's expression of a row's [`OutcomeCode`].
pub(crate) fn search_clauses(
    filter: &InspectionFilter,
    outcome_sql: &str,
    mark: char,
) -> (String, Vec<SearchArg>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<SearchArg> = Vec::new();
    // `@` marks a parameter in a clause (`?` and `$` occur in SQL and JSON paths).
    let mut push = |clause: &str, values: Vec<SearchArg>| {
        let mut clause = clause.to_owned();
        for value in values {
            args.push(value);
            clause = clause.replacen('@', &format!("{mark}{}", args.len()), 1);
        }
        clauses.push(clause);
    };
    if !filter.plates.is_empty() {
        let marks = vec!["@"; filter.plates.len()].join(", ");
        push(
            &format!("plate IN ({marks})"),
            filter.plates.iter().cloned().map(SearchArg::Text).collect(),
        );
    }
    if let Some(station) = &filter.station {
        push("station = @", vec![SearchArg::Text(station.clone())]);
    }
    if let Some(from) = filter.from {
        push("first_seen_at >= @", vec![SearchArg::Time(from)]);
    }
    if let Some(to) = filter.to {
        push("first_seen_at < @", vec![SearchArg::Time(to)]);
    }
    if let Some(outcome) = filter.outcome {
        push(
            &format!("{outcome_sql} = @"),
            vec![SearchArg::Text(outcome.code().to_owned())],
        );
    }
    if let Some(after) = &filter.after {
        push(
            "(first_seen_at, station, inspection_id) < (@, @, @)",
            vec![
                SearchArg::Time(after.first_seen_at),
                SearchArg::Text(after.station.clone()),
                SearchArg::Id(after.inspection_id),
            ],
        );
    }
    let filter_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "{filter_sql} ORDER BY first_seen_at DESC, station DESC, inspection_id DESC LIMIT {}",
        filter.limit
    );
    (sql, args)
}
