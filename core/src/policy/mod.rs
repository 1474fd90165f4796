//! Device management from the central (§15 of Portaria Detran-MT 741/2019, Anexo II): the three
//! documents the central publishes and every station obeys.
//!
//! - [`VersionPolicy`] (§15 a): which release of the station software is current, where its
//!   package is and its SHA-256, and the minimum version a station may run and still open new
//!   inspections.
//! - [`SoftwarePolicy`] (§15 b): what may be installed, run, loaded and plugged in at a station
//!   (allow-lists), and whether anything else blocks new inspections.
//! - [`SecurityPolicy`] (§15 c): password length, lock-out, idle lock, USB storage, log
//!   retention.
//!
//! Each travels as a [`SignedPolicy`]: the document as JSON and the central's Ed25519 signature
//! (the key that signs receipts, learnt at the clock sync) over [`signing_bytes`]: a prefix, the
//! kind and the canonical JSON of the document *as received*, so a field this station does not
//! know is covered by the signature all the same and a signature over one kind is never taken
//! for another. Each document has a version that only grows: [`accept`] takes a document only
//! when its signature holds and its version is above the one in force, so a replayed older
//! policy (a rollback) is ignored like a forged one.

mod inventory;
mod version;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::canonical::canonical_json;
use crate::wire::rfc3339_ms;

pub use inventory::{InstalledPackage, Inventory, InventoryAck, Offender, OffenderKind};
pub use version::compare_versions;

/// What every signed policy's bytes start with (a signature made for anything else — a
/// receipt — never verifies as a policy).
pub const POLICY_SIGNING_PREFIX: &[u8] = b"vistoria-policy-v1\n";

/// Which of the three documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// [`VersionPolicy`].
    Version,
    /// [`SoftwarePolicy`].
    Software,
    /// [`SecurityPolicy`].
    Security,
}

impl PolicyKind {
    /// Every kind.
    pub const ALL: [PolicyKind; 3] = [
        PolicyKind::Version,
        PolicyKind::Software,
        PolicyKind::Security,
    ];

    /// The stored and signed name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Version => "version",
            PolicyKind::Software => "software",
            PolicyKind::Security => "security",
        }
    }

    /// The name people read (Diagnóstico, errors).
    pub fn label(self) -> &'static str {
        match self {
            PolicyKind::Version => "política de versões",
            PolicyKind::Software => "política de software",
            PolicyKind::Security => "política de segurança",
        }
    }

    /// The kind a stored name names.
    pub fn parse(name: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// What the three documents share.
pub trait PolicyDocument: Serialize + DeserializeOwned {
    /// Which document this is.
    const KIND: PolicyKind;
    /// Its version (grows by one with every publication).
    fn version(&self) -> u64;
}

/// §15 a: the release stations should run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionPolicy {
    /// Version of this document.
    pub version: u64,
    /// When the central issued it.
    #[serde(with = "rfc3339_ms")]
    pub issued_at: DateTime<Utc>,
    /// The current release (the package's Debian version, e.g. `0.2.0`).
    pub current: String,
    /// SHA-256 (lowercase hex) of the release's `.deb`.
    pub package_sha256: String,
    /// Its size in bytes.
    pub package_size: u64,
    /// Where to fetch it, relative to the central's API (`/releases/0.2.0`).
    pub package_path: String,
    /// Below this version a station finishes what is open but starts no new inspection.
    pub minimum: String,
}

impl PolicyDocument for VersionPolicy {
    const KIND: PolicyKind = PolicyKind::Version;
    fn version(&self) -> u64 {
        self.version
    }
}

impl VersionPolicy {
    /// Whether `running` is below the minimum.
    pub fn below_minimum(&self, running: &str) -> bool {
        compare_versions(running, &self.minimum).is_lt()
    }

    /// Whether `running` is older than the current release (an update is offered).
    pub fn update_available(&self, running: &str) -> bool {
        compare_versions(running, &self.current).is_lt()
    }
}

/// §15 b: what may be at a station. Every list is an allow-list of patterns where `*` matches
/// any run of characters (`["*"]` allows everything of that sort); anything the inventory
/// holds that no pattern matches is an offender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftwarePolicy {
    /// Version of this document.
    pub version: u64,
    /// When the central issued it.
    #[serde(with = "rfc3339_ms")]
    pub issued_at: DateTime<Utc>,
    /// Debian packages, by name (`vistoria`, `libc6`, `linux-image-*`).
    pub packages: Vec<String>,
    /// Running executables, by path (`/usr/bin/vistoria`, `/usr/lib/systemd/*`).
    pub executables: Vec<String>,
    /// Loaded kernel modules, by name.
    pub modules: Vec<String>,
    /// USB devices, as `vendor:product` in lowercase hex (`05ba:000a`, `1d6b:*`).
    pub usb: Vec<String>,
    /// Whether an offender blocks new inspections at the station (otherwise it only flags the
    /// station at the central).
    pub block: bool,
}

impl PolicyDocument for SoftwarePolicy {
    const KIND: PolicyKind = PolicyKind::Software;
    fn version(&self) -> u64 {
        self.version
    }
}

/// §15 c: the security rules the kiosk applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityPolicy {
    /// Version of this document.
    pub version: u64,
    /// When the central issued it.
    #[serde(with = "rfc3339_ms")]
    pub issued_at: DateTime<Utc>,
    /// Shortest password a person may be given.
    pub password_min_length: u32,
    /// Wrong passwords in a row before an account is locked.
    pub failures_before_lock: u32,
    /// How long the lock lasts.
    pub lock_minutes: u32,
    /// Minutes without a touch before the kiosk locks the session.
    pub idle_minutes: u32,
    /// Whether USB mass storage may be mounted at the station.
    pub usb_storage: bool,
    /// Days the station keeps its logs.
    pub log_retention_days: u32,
}

impl PolicyDocument for SecurityPolicy {
    const KIND: PolicyKind = PolicyKind::Security;
    fn version(&self) -> u64 {
        self.version
    }
}

impl SecurityPolicy {
    /// The limits below which the central may not go: a policy asking for less is refused at
    /// publication and at the station (a forged-but-signed "no lock-out" is not a thing the
    /// kiosk will apply).
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if !(6..=128).contains(&self.password_min_length) {
            problems.push("password_min_length deve estar entre 6 e 128");
        }
        if !(1..=50).contains(&self.failures_before_lock) {
            problems.push("failures_before_lock deve estar entre 1 e 50");
        }
        if !(1..=24 * 60).contains(&self.lock_minutes) {
            problems.push("lock_minutes deve estar entre 1 e 1440");
        }
        if !(1..=240).contains(&self.idle_minutes) {
            problems.push("idle_minutes deve estar entre 1 e 240");
        }
        if !(1..=3650).contains(&self.log_retention_days) {
            problems.push("log_retention_days deve estar entre 1 e 3650");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// A policy as it travels and is stored: the document's JSON and the central's signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedPolicy {
    /// Which document.
    pub kind: PolicyKind,
    /// The document, exactly as signed.
    pub document: serde_json::Value,
    /// Ed25519 signature over [`signing_bytes`], standard base64.
    pub signature: String,
}

/// `GET /policies`: the latest of each document the central published (absent: none yet).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicySet {
    /// §15 a.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SignedPolicy>,
    /// §15 b.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<SignedPolicy>,
    /// §15 c.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<SignedPolicy>,
}

impl PolicySet {
    /// The document of `kind`, if published.
    pub fn get(&self, kind: PolicyKind) -> Option<&SignedPolicy> {
        match kind {
            PolicyKind::Version => self.version.as_ref(),
            PolicyKind::Software => self.software.as_ref(),
            PolicyKind::Security => self.security.as_ref(),
        }
    }
}

/// The station store's setting that holds the signed policy of `kind` in force (verified
/// before it was stored, and again whenever the station reads it).
pub fn setting_key(kind: PolicyKind) -> String {
    format!("policy.{}", kind.as_str())
}

/// The versions of the policies in force at a station, as every package's manifest carries
/// them (`metadata.policies`, §15: which rules the inspection was made under); `None` when
/// none is in force.
pub fn versions_in_force(
    store: &crate::store::Store,
) -> Result<Option<serde_json::Value>, crate::store::StoreError> {
    let mut versions = serde_json::Map::new();
    for kind in PolicyKind::ALL {
        let version = store
            .meta(&setting_key(kind))?
            .and_then(|text| serde_json::from_str::<SignedPolicy>(&text).ok())
            .and_then(|signed| signed.document.get("version").and_then(|v| v.as_u64()));
        if let Some(v) = version {
            versions.insert(kind.as_str().to_owned(), v.into());
        }
    }
    Ok((!versions.is_empty()).then_some(serde_json::Value::Object(versions)))
}

/// The bytes a policy's signature covers: [`POLICY_SIGNING_PREFIX`], the kind, a newline and
/// the canonical JSON of the document.
pub fn signing_bytes(kind: PolicyKind, document: &serde_json::Value) -> Vec<u8> {
    let mut bytes = POLICY_SIGNING_PREFIX.to_vec();
    bytes.extend_from_slice(kind.as_str().as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(canonical_json(document).as_bytes());
    bytes
}

/// Why a signed policy was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The signature is not the central key's over these bytes (tampered, another key, or
    /// garbled).
    #[error("{0}: assinatura não confere com a chave da central; política ignorada")]
    BadSignature(&'static str),
    /// Signed, but not a document of its kind (a newer central's format, or nonsense).
    #[error("{kind}: documento assinado ilegível ({reason}); política ignorada")]
    Unreadable {
        /// The document's label.
        kind: &'static str,
        /// What did not parse.
        reason: String,
    },
    /// Signed, but outside the limits the station applies.
    #[error("{kind}: valores fora dos limites ({reason}); política ignorada")]
    OutOfBounds {
        /// The document's label.
        kind: &'static str,
        /// Which values.
        reason: String,
    },
    /// The central key is not known yet (no clock sync so far).
    #[error("chave da central ainda desconhecida; sincronize o relógio antes")]
    NoKey,
}

impl SignedPolicy {
    /// Signs `document` with `sign` (the central's key over the given bytes, giving the
    /// signature in standard base64).
    pub fn sign<T: PolicyDocument>(
        document: &T,
        sign: impl FnOnce(&[u8]) -> String,
    ) -> Result<SignedPolicy, serde_json::Error> {
        let document = serde_json::to_value(document)?;
        let signature = sign(&signing_bytes(T::KIND, &document));
        Ok(SignedPolicy {
            kind: T::KIND,
            document,
            signature,
        })
    }

    /// The document, when the signature is the central key's (`public_base64`, as `GET /time`
    /// gives it) and it reads as a `T`.
    pub fn verify<T: PolicyDocument>(&self, public_base64: &str) -> Result<T, PolicyError> {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        let label = T::KIND.label();
        if self.kind != T::KIND {
            // The kind is signed too; a document moved to another slot fails here or below.
            return Err(PolicyError::BadSignature(label));
        }
        let key = STANDARD
            .decode(public_base64)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
            .and_then(|bytes| ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok())
            .ok_or(PolicyError::NoKey)?;
        let signature = STANDARD
            .decode(&self.signature)
            .ok()
            .and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok())
            .ok_or(PolicyError::BadSignature(label))?;
        key.verify_strict(&signing_bytes(self.kind, &self.document), &signature)
            .map_err(|_| PolicyError::BadSignature(label))?;
        serde_json::from_value(self.document.clone()).map_err(|e| PolicyError::Unreadable {
            kind: label,
            reason: e.to_string(),
        })
    }
}

/// What to do with a policy the central sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Acceptance<T> {
    /// Signed, newer than the one in force: apply it.
    New(T),
    /// The one in force (nothing to do).
    Same,
    /// Signed but older than the one in force: ignored (no rollback).
    Older {
        /// Its version.
        offered: u64,
        /// The version in force.
        in_force: u64,
    },
    /// Not applied, and to be reported.
    Refused(PolicyError),
}

/// Decides about `offered` given the version in force (`None`: no policy of this kind yet).
pub fn accept<T: PolicyDocument>(
    offered: &SignedPolicy,
    in_force: Option<u64>,
    public_base64: &str,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Acceptance<T> {
    let document: T = match offered.verify(public_base64) {
        Ok(d) => d,
        Err(e) => return Acceptance::Refused(e),
    };
    match in_force {
        Some(v) if document.version() == v => return Acceptance::Same,
        Some(v) if document.version() < v => {
            return Acceptance::Older {
                offered: document.version(),
                in_force: v,
            };
        }
        _ => {}
    }
    if let Err(reason) = check(&document) {
        return Acceptance::Refused(PolicyError::OutOfBounds {
            kind: T::KIND.label(),
            reason,
        });
    }
    Acceptance::New(document)
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (the policy's
/// allow-lists).
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests;
