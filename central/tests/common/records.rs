//! Records for the storage tests: a package as the API would store it, a receipt signer, the
//! laudo facts of a commit.

use chrono::{DateTime, TimeZone as _, Utc};
use uuid::Uuid;
use vistoria_central::storage::FileRecord;
use vistoria_central::storage::PackageRecord;
use vistoria_central::storage::laudos::LaudoFacts;
use vistoria_core::domain::{Checklist, InspectionId, Outcome, Plate, VehicleClass, Verdict};
use vistoria_core::wire::{
    ManifestFile, MediaKind, PackageManifest, PackageStatus, Receipt, canonical_json,
    manifest_sha256,
};

/// What a commit of a package without laudo records.
pub const FACTS: LaudoFacts = LaudoFacts {
    station_name: None,
    signature_verified: false,
};

/// 23 Nov 2026 at `h` o'clock UTC.
pub fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
}

/// A concluded package of ECV-01 for vehicle query `query_id`, one photo, as first received.
pub fn package(query_id: Uuid) -> PackageRecord {
    let manifest = PackageManifest {
        inspection_id: InspectionId::new(),
        station: "ECV-01".into(),
        query_id,
        plate: Plate::parse("ABC1D23").unwrap(),
        concluded_at: at(11),
        outcome: Outcome::Verdict(Verdict::Conforming),
        checklist: Checklist::new(VehicleClass::PassengerCar),
        metadata: Default::default(),
        audit_head: "a".repeat(64),
        audit_sequence: None,
        files: vec![ManifestFile {
            name: "rear.jpg".into(),
            kind: MediaKind::Photo,
            size: 3,
            md5: "0".repeat(32),
            sha256: "1".repeat(64),
        }],
    };
    let value = serde_json::to_value(&manifest).unwrap();
    PackageRecord {
        inspection_id: manifest.inspection_id.as_uuid(),
        station: "ECV-01".into(),
        query_id,
        plate: "ABC1D23".into(),
        files: vec![FileRecord {
            name: "rear.jpg".into(),
            kind: MediaKind::Photo,
            size: 3,
            md5: "0".repeat(32),
            sha256: "1".repeat(64),
            digests_match: None,
        }],
        manifest,
        manifest_json: canonical_json(&value),
        manifest_sha256: manifest_sha256(&value),
        first_seen_at: at(11),
        deadline: at(14),
        late: false,
        status: PackageStatus::Receiving,
        rejection: None,
        receipt: None,
    }
}

/// Builds the receipt of package `id` received `at` (a stand-in for the server key).
pub fn signer(id: Uuid, at: DateTime<Utc>) -> impl Fn(String) -> Receipt {
    move |laudo_number| Receipt {
        inspection_id: InspectionId::from_uuid(id),
        laudo_number,
        received_at: at,
        manifest_sha256: "m".into(),
        signature: "s".into(),
    }
}
