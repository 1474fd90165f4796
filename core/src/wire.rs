//! Types that travel between the kiosk and the central server (JSON over `/api/v1`).
//!
//! The central server's `README.md` documents every endpoint with examples; this module is the
//! single definition both sides compile against. Timestamps are RFC 3339 in UTC with
//! milliseconds (`2026-11-23T14:05:07.123Z`), always central time (2d).
//!
//! Two byte forms are hashed or signed and must be reproduced exactly by both sides:
//! - the **canonical JSON** of [`canonical_json`] (manifest hash, receipt signature);
//! - the receipt's signed bytes, [`Receipt::signing_bytes`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::{Checklist, InspectionId, Outcome, Plate, VehicleData};

/// Path prefix of every endpoint.
pub const API_PREFIX: &str = "/api/v1";

/// Path prefix of the central's public laudo check page, outside the API and without a token:
/// `GET /v/{laudo number}` is where the laudo's QR code points.
pub const VERIFY_PREFIX: &str = "/v";

/// Largest manifest body the server accepts (bytes).
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// Longest media file name (bytes).
pub const MAX_FILE_NAME_LEN: usize = 128;

/// How long after the vehicle query the inspection must be concluded (§9: "prazo de quatro
/// horas, contadas da consulta").
pub const QUERY_VALIDITY_HOURS: i64 = 4;

/// Domain-separation prefix of the receipt's signed bytes.
pub const RECEIPT_SIGNING_PREFIX: &[u8] = b"vistoria-receipt-v1\n";

/// Serde helpers for `DateTime<Utc>` as RFC 3339 with exactly three fractional digits and `Z`.
pub mod rfc3339_ms {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// The wire text of a timestamp.
    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Serializes as `2026-11-23T14:05:07.123Z`.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// Accepts any RFC 3339 timestamp and converts it to UTC, but not one finer than a
    /// millisecond: it would be read as one instant and written back (and hashed, signed,
    /// reported) as another. The `manifest` fuzz target found that round trip breaking.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        let t = DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)?;
        if t.timestamp_subsec_nanos() % 1_000_000 != 0 {
            return Err(serde::de::Error::custom(format!(
                "«{text}» tem mais precisão que milissegundos; envie no máximo três casas decimais"
            )));
        }
        Ok(t)
    }
}

/// Machine-readable reason of an error response; the kiosk decides what to do by this code and
/// shows [`ErrorBody::error`] to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: missing or unknown bearer token.
    Unauthorized,
    /// 403: the token's station may not do this (e.g. a manifest naming another station).
    Forbidden,
    /// 429: the station's request budget is spent; retry later.
    RateLimited,
    /// 400: the body is not the JSON expected.
    InvalidJson,
    /// 400: one field has a bad value; [`ErrorBody::field`] names it.
    InvalidField,
    /// 415: wrong `Content-Type`.
    UnsupportedMediaType,
    /// 413: body larger than allowed.
    PayloadTooLarge,
    /// 404: no vehicle with that plate in the registry (§5).
    VehicleNotFound,
    /// 422: the plate exists but the typed RENAVAM is another vehicle's (§5).
    RenavamMismatch,
    /// 422: the plate exists but the typed chassis is another vehicle's (§5).
    ChassisMismatch,
    /// 422: the manifest's `query_id` is unknown, another station's, or another plate's.
    UnknownQuery,
    /// 400: a media file name is unsafe (`..`, `/`, NUL, too long…); [`ErrorBody::file`] names it.
    InvalidFileName,
    /// 404: the file is not listed in the package's manifest.
    UnknownFile,
    /// 404: no package or inspection with that id.
    InspectionNotFound,
    /// 409: the inspection was already received with a different manifest.
    ManifestConflict,
    /// 409: the upload's `offset` is not the number of bytes already received;
    /// [`ErrorBody::received`] says where to resume.
    OffsetMismatch,
    /// 409: another upload or commit of the same package is running.
    UploadInProgress,
    /// 413: more bytes than the manifest declared for that file, or above the server's limit.
    FileTooLarge,
    /// 409: commit before every file was fully received.
    IncompletePackage,
    /// 422: a received file's bytes do not match the manifest's size, MD5 or SHA-256;
    /// [`ErrorBody::file`] names it and its bytes were discarded for re-upload.
    HashMismatch,
    /// 422: a laudo signature (P7S) does not verify, is not the inspector's, or is missing
    /// (§14); the reason says which. Permanent: the same bytes will fail again.
    InvalidSignature,
    /// 422: the package contradicts itself or its vehicle query (a verdict without its laudo
    /// and signature, a laudo of another plate, a checklist of another class, a conclusion
    /// time outside the query's window, a second package for one query…);
    /// [`ErrorBody::field`] names what. Permanent: the same package will fail again.
    InconsistentPackage,
    /// 409: the station's audit key was already handed out and confirmed; it is never sent again.
    AuditKeyIssued,
    /// 422: the laudo's signer (by the CPF of the e-CPF) is not an inspector the station
    /// registered at the central (§11, `PUT /stations/self/inspectors`). The station sends its
    /// list and commits again.
    UnregisteredInspector,
    /// 503: a CA's revocation list (LCR) could not be fetched and no current copy is cached:
    /// the signature cannot be judged now. Nothing is refused; retry later.
    RevocationUnavailable,
    /// 400: the upload's body ended in an error (connection cut); what arrived is kept and
    /// [`ErrorBody::received`] says where to resume.
    UploadInterrupted,
    /// 408: the request took too long, or the client stopped sending.
    Timeout,
    /// 404: no such endpoint.
    NotFound,
    /// 405: the endpoint exists but not with this method.
    MethodNotAllowed,
    /// 500: the server failed; retry later.
    Internal,
    /// 507: the central's disk is too full to take more media; queries still work, retry later.
    InsufficientStorage,
    /// 503: the central is stopping; what arrived is kept, resume later (`Retry-After`).
    ShuttingDown,
    /// 503: this central runs no help desk (issue 23); the station keeps its ticket queued.
    HelpdeskUnavailable,
    /// 404: no ticket with that id among the station's.
    TicketNotFound,
    /// A code this build does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

/// Body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for people, in Portuguese.
    pub error: String,
    /// The request field at fault, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The media file at fault, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// With [`ErrorCode::OffsetMismatch`]: bytes already received, where to resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
}

/// `POST /audit/key`: the station asks for the first key of its audit chain, which will key row
/// `next_seq` on (`core::store::audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditKeyRequest {
    /// The position the first keyed row will have.
    pub next_seq: u64,
}

/// Answer to [`AuditKeyRequest`]: the key (hex, 32 bytes) and the row it keys. Sent again, the
/// same, until a package anchored in the keyed part arrives; never after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditKeyResponse {
    /// 32 bytes, lowercase hex.
    pub key: String,
    /// The row it keys.
    pub start_seq: u64,
}

/// `POST /audit/verify`: a contiguous run of the station's audit rows (position, hash, MAC;
/// nothing of their content), at most [`AUDIT_VERIFY_PAGE`] of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerifyRequest {
    /// Rows in order, without gaps.
    pub rows: Vec<crate::store::MacRow>,
}

/// Most rows one [`AuditVerifyRequest`] may carry (keeps the body under the 1 MB JSON limit).
pub const AUDIT_VERIFY_PAGE: usize = 4000;

/// Where the station's chain departs from what the central holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDivergence {
    /// The first row that differs.
    pub seq: u64,
    /// Why, in Portuguese.
    pub reason: String,
}

/// Answer to [`AuditVerifyRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerifyResponse {
    /// The first keyed row, if the chain is keyed.
    pub keyed_from: Option<u64>,
    /// Rows of the run whose MAC was checked.
    pub macs_checked: u64,
    /// Package anchors within the run that were compared.
    pub anchors_checked: u64,
    /// The first divergence, or `None`.
    pub divergence: Option<AuditDivergence>,
}

/// `GET /time`: the central clock (2d).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeResponse {
    /// The server's current time.
    #[serde(with = "rfc3339_ms")]
    pub now: DateTime<Utc>,
    /// The server's Ed25519 public key (32 bytes, standard base64), which signs receipts.
    pub server_key: String,
    /// The request limit each station is held to, so a station can pace itself under it.
    /// Absent from centrals that do not announce it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<RateLimits>,
}

/// A station's request budget at the central: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateLimits {
    /// Requests per second a station may sustain.
    pub requests_per_second: f64,
    /// Requests a station may make at once before the rate applies.
    pub burst: u32,
}

/// `POST /vehicles/query`: plate confirmed by RENAVAM or chassis (§5). Fields are the text as
/// typed; the server normalises and validates them and names the bad one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleQuery {
    /// Plate, old (`ABC1234`, `ABC-1234`) or Mercosul (`ABC1D23`).
    pub plate: String,
    /// RENAVAM confirming the plate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renavam: Option<String>,
    /// Chassis confirming the plate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis: Option<String>,
    /// The id of the inspection this query opens, drawn by the station before asking: the
    /// central allocates the inspection's laudo number with the answer (§10), once per
    /// (station, inspection id), so a query repeated after a lost answer gets the same query
    /// and the same number. Absent from stations older than central-allocated numbers, whose
    /// laudo number is then given at commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection_id: Option<InspectionId>,
}

/// A registry vehicle, as the vehicle query returns it (and as `assets/vehicles.json` holds it):
/// the identifiers plus the domain's [`VehicleData`], flattened into one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vehicle {
    /// Canonical plate (7 characters, no separator).
    pub plate: String,
    /// 11-digit RENAVAM.
    pub renavam: String,
    /// Make, model, year, colour, class (its code), chassis and city.
    #[serde(flatten)]
    pub data: VehicleData,
}

/// Answer to a successful vehicle query. The package refers to it by `query_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleQueryResponse {
    /// Identifies this query; the package's manifest must carry it.
    pub query_id: Uuid,
    /// When the central server answered (central time).
    #[serde(with = "rfc3339_ms")]
    pub queried_at: DateTime<Utc>,
    /// `queried_at` + 4 h: the inspection must be concluded by then (§9).
    #[serde(with = "rfc3339_ms")]
    pub deadline: DateTime<Utc>,
    /// The vehicle's registry data.
    pub vehicle: Vehicle,
    /// The inspection the query named ([`VehicleQuery::inspection_id`]), echoed so the answer
    /// says whose laudo number it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection_id: Option<InspectionId>,
    /// The laudo number the central allocated to that inspection: the kiosk prints and signs
    /// the laudo with it, and the receipt carries the same. Absent when the query named no
    /// inspection, or from centrals older than central-allocated numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub laudo_number: Option<String>,
}

/// What a media file of a package is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A still photo (§7 a–j, additional photos).
    Photo,
    /// A segment of the panoramic camera's recording (§7, 2m).
    VideoSegment,
    /// The laudo document (§10).
    Laudo,
    /// A detached signature (P7S) over the laudo (§14).
    Signature,
    /// An export of the kiosk's audit log for this inspection.
    AuditLog,
    /// Anything else.
    Other,
}

/// One media file listed in the manifest, with the digests taken at capture (2e, §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// File name: 1–128 bytes of `A–Z a–z 0–9 . _ -`, not starting with `.`.
    pub name: String,
    /// What the file is.
    pub kind: MediaKind,
    /// Size in bytes.
    pub size: u64,
    /// MD5 of the bytes, lowercase hex (2e, §8).
    pub md5: String,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
}

/// The manifest's `metadata` key of the audit trail: the station's audit rows (as its store
/// keeps them, hashes and MACs included) after the previous package's trail, through this
/// package's anchor (`audit_sequence`). At most `store::MAX_TRAIL_ROWS`, the newest.
pub const AUDIT_TRAIL_KEY: &str = "audit_trail";

/// `POST /packages`: everything about one inspection except the media bytes.
///
/// Its identity is [`manifest_sha256`]: the SHA-256 of the canonical JSON of exactly the object
/// sent, so the kiosk must hash the same JSON value it sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageManifest {
    /// The kiosk's id for the inspection; the package is idempotent by it.
    pub inspection_id: InspectionId,
    /// Station code; must be the authenticated station's.
    pub station: String,
    /// The vehicle query this inspection started from (§5, §9).
    pub query_id: Uuid,
    /// The vehicle's plate.
    pub plate: Plate,
    /// When the inspection was concluded or interrupted (central time).
    #[serde(with = "rfc3339_ms")]
    pub concluded_at: DateTime<Utc>,
    /// The verdict, or the interruption with its cause (§12).
    pub outcome: Outcome,
    /// The checklist (§13), possibly partial for an interrupted inspection.
    pub checklist: Checklist,
    /// Anything else (inspector, OCR reading, corrections…), kept as sent; under
    /// [`AUDIT_TRAIL_KEY`], the station's audit rows since the previous package.
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
    /// Hash of the last entry of the kiosk's audit chain for this inspection (hex).
    pub audit_head: String,
    /// Position of that entry in the chain: with `audit_head`, the anchor the central keeps and
    /// compares (`vistoria audit verify --central`). Absent from kiosks older than the anchors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_sequence: Option<u64>,
    /// Every media file of the package.
    pub files: Vec<ManifestFile>,
}

impl PackageManifest {
    /// The JSON value to send; hash exactly this value ([`manifest_sha256`]).
    pub fn to_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// [`manifest_sha256`] of [`PackageManifest::to_json`]: the `manifest_sha256` the receipt
    /// will carry when this manifest is sent as is.
    pub fn content_sha256(&self) -> Result<String, serde_json::Error> {
        Ok(manifest_sha256(&self.to_json()?))
    }
}

/// Where a package stands on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageStatus {
    /// Manifest received; files still arriving or commit not yet asked.
    Receiving,
    /// The last commit found bytes that do not match the manifest; those files must be re-sent.
    Rejected,
    /// Committed: every file verified, receipt issued.
    Verified,
}

/// Upload progress of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProgress {
    /// File name.
    pub name: String,
    /// Declared size.
    pub size: u64,
    /// Bytes received so far; resume with `?offset=received`.
    pub received: u64,
    /// Whether all `size` bytes arrived.
    pub complete: bool,
    /// Once complete: whether the received bytes match the manifest's digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digests_match: Option<bool>,
}

/// Answer of `POST /packages`, `PUT …/files/{name}` and part of `GET /inspections/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    /// The inspection.
    pub inspection_id: InspectionId,
    /// Where the package stands.
    pub status: PackageStatus,
    /// SHA-256 of the canonical manifest.
    pub manifest_sha256: String,
    /// Progress of every file, in manifest order.
    pub files: Vec<FileProgress>,
    /// Names of the files not yet fully received.
    pub missing: Vec<String>,
    /// The receipt, once verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// Proof that the central server received and verified a package (2s, §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The inspection.
    pub inspection_id: InspectionId,
    /// Number of the laudo, assigned by the server.
    pub laudo_number: String,
    /// When the server verified the package (central time).
    #[serde(with = "rfc3339_ms")]
    pub received_at: DateTime<Utc>,
    /// SHA-256 of the canonical manifest that was verified.
    pub manifest_sha256: String,
    /// Ed25519 signature by the server key over [`Receipt::signing_bytes`], standard base64.
    pub signature: String,
}

impl Receipt {
    /// The bytes the signature covers: [`RECEIPT_SIGNING_PREFIX`] followed by the canonical JSON
    /// of `{"inspection_id","laudo_number","manifest_sha256","received_at"}` (all strings, the
    /// time in the wire's millisecond form).
    pub fn signing_bytes(&self) -> Vec<u8> {
        let fields = serde_json::json!({
            "inspection_id": self.inspection_id.to_string(),
            "laudo_number": self.laudo_number,
            "manifest_sha256": self.manifest_sha256,
            "received_at": rfc3339_ms::format(&self.received_at),
        });
        let mut bytes = RECEIPT_SIGNING_PREFIX.to_vec();
        bytes.extend_from_slice(canonical_json(&fields).as_bytes());
        bytes
    }

    /// Whether the signature is the server key's (`public_base64`: the Ed25519 public key as
    /// `GET /time` gives it) over [`Receipt::signing_bytes`].
    pub fn verify(&self, public_base64: &str) -> bool {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        let key = STANDARD
            .decode(public_base64)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
            .and_then(|bytes| ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok());
        let signature = STANDARD
            .decode(&self.signature)
            .ok()
            .and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok());
        match (key, signature) {
            (Some(key), Some(signature)) => {
                key.verify_strict(&self.signing_bytes(), &signature).is_ok()
            }
            _ => false,
        }
    }

    /// The part of the receipt the inspection's domain state keeps.
    pub fn to_domain(&self) -> crate::domain::Receipt {
        crate::domain::Receipt {
            laudo_number: self.laudo_number.clone(),
            received_at: self.received_at,
        }
    }
}

/// `GET /inspections/{id}`: what the server holds about one inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionView {
    /// Station that sent it.
    pub station: String,
    /// Plate of the manifest.
    pub plate: String,
    /// The vehicle query it refers to.
    pub query_id: Uuid,
    /// When the manifest first arrived.
    #[serde(with = "rfc3339_ms")]
    pub first_seen_at: DateTime<Utc>,
    /// The query's deadline (§9).
    #[serde(with = "rfc3339_ms")]
    pub deadline: DateTime<Utc>,
    /// Whether `concluded_at` was after the deadline (recorded, never refused: §12).
    pub late: bool,
    /// The result or interruption cause.
    pub outcome: Outcome,
    /// Why the last commit was refused, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<String>,
    /// Upload and verification state, with the receipt once verified.
    #[serde(flatten)]
    pub upload: UploadState,
}

pub use crate::canonical::canonical_json;

/// SHA-256 (lowercase hex) of the canonical JSON of a manifest as sent, the package's content
/// identity.
pub fn manifest_sha256(manifest: &Value) -> String {
    crate::hashing::sha256_hex(canonical_json(manifest).as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn manifest_hash_ignores_key_order_and_whitespace_but_not_content() {
        let a: Value =
            serde_json::from_str(r#"{"inspection_id":"x","files":[{"name":"a.jpg","size":3}]}"#)
                .unwrap();
        let b: Value = serde_json::from_str(
            "{ \"files\" : [ { \"size\": 3, \"name\": \"a.jpg\" } ],\n \"inspection_id\": \"x\" }",
        )
        .unwrap();
        let c: Value =
            serde_json::from_str(r#"{"inspection_id":"x","files":[{"name":"a.jpg","size":4}]}"#)
                .unwrap();
        assert_eq!(manifest_sha256(&a), manifest_sha256(&b));
        assert_ne!(manifest_sha256(&a), manifest_sha256(&c));
        assert_eq!(
            manifest_sha256(&a),
            crate::hashing::sha256_hex(
                br#"{"files":[{"name":"a.jpg","size":3}],"inspection_id":"x"}"#
            )
        );
    }

    #[test]
    fn receipt_signing_bytes_are_fixed() {
        let receipt = Receipt {
            inspection_id: InspectionId::from_uuid(Uuid::nil()),
            laudo_number: "MT-2026-000001".into(),
            received_at: DateTime::parse_from_rfc3339("2026-11-23T14:05:07.1Z")
                .unwrap()
                .with_timezone(&Utc),
            manifest_sha256: "ab".into(),
            signature: String::new(),
        };
        let expected = "vistoria-receipt-v1\n{\"inspection_id\":\"00000000-0000-0000-0000-000000000000\",\
             \"laudo_number\":\"MT-2026-000001\",\"manifest_sha256\":\"ab\",\
             \"received_at\":\"2026-11-23T14:05:07.100Z\"}";
        assert_eq!(
            String::from_utf8(receipt.signing_bytes()).unwrap(),
            expected
        );
    }

    #[test]
    fn error_codes_tolerate_unknown_values() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"something_new","error":"x"}"#).unwrap();
        assert_eq!(body.code, ErrorCode::Unknown);
        let json = serde_json::to_string(&ErrorBody {
            code: ErrorCode::HashMismatch,
            error: "e".into(),
            field: None,
            file: Some("a.jpg".into()),
            received: None,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"code":"hash_mismatch","error":"e","file":"a.jpg"}"#
        );
    }

    #[test]
    fn timestamps_have_milliseconds() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05-03:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339_ms::format(&t), "2026-01-02T06:04:05.000Z");
    }

    /// Found by the `manifest` fuzz target: `…08:01:00.0002222222212Z` was accepted and then
    /// written back as `…08:01:00.000Z`, another instant.
    #[test]
    fn timestamps_finer_than_a_millisecond_are_refused() {
        #[derive(Debug, Deserialize)]
        struct T {
            #[serde(with = "rfc3339_ms")]
            #[allow(dead_code)]
            at: DateTime<Utc>,
        }
        let err = serde_json::from_str::<T>(r#"{"at":"1964-11-23T08:01:00.0002222222212Z"}"#)
            .unwrap_err();
        assert!(
            err.to_string().contains("mais precisão que milissegundos"),
            "{err}"
        );
        for ok in [
            "2026-01-02T03:04:05.120Z",
            "2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05.123000-03:00",
        ] {
            let text = format!(r#"{{"at":"{ok}"}}"#);
            assert!(serde_json::from_str::<T>(&text).is_ok(), "{ok}");
        }
    }
}

/// One inspector of a station's staff (§11), as `PUT /stations/self/inspectors` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationInspector {
    /// CPF, 11 digits (punctuation allowed; the central keeps the digits).
    pub cpf: String,
    /// Full name.
    pub name: String,
}

/// Body of `PUT /stations/self/inspectors`: the station's whole current list of inspectors,
/// which replaces the previous one (those left out are kept as removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectorList {
    /// Every inspector who may sign this station's laudos now.
    pub inspectors: Vec<StationInspector>,
}

/// Answer of `PUT /stations/self/inspectors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectorListAck {
    /// How many inspectors the station has registered now.
    pub registered: usize,
}
