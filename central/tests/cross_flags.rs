//! Cross-station flags (issue 22) on both metadata backends — SQLite and a real PostgreSQL 15
//! (`common::services`) — with the media in real blob files: a near-duplicate photo across two
//! stations (a real plate photo of `../shared/data` and a resized, re-encoded, cropped copy; a
//! different car does not match), the same vehicle the same day at two stations (old and
//! Mercosul plate forms), one inspector at two stations at once, an inspection much shorter than
//! its class's median (only with enough sample), the resumable pass, idempotence, and retention
//! removing a package's flags and those pointing at it.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;
use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::records::{FACTS, package, signer};
use serde_json::Value;
use uuid::Uuid;
use vistoria_central::cross_flags::{analyze, catch_up};
use vistoria_central::storage::cross_flags::CrossKind;
use vistoria_central::storage::files::FileBlobs;
use vistoria_central::storage::postgres::PgMetadata;
use vistoria_central::storage::sqlite::SqliteMetadata;
use vistoria_central::storage::{BlobStore, FileRecord, MetadataStore, PackageKey, PackageRecord};
use vistoria_core::domain::{Interruption, InterruptionCause, Outcome, Plate};
use vistoria_core::wire::{ManifestFile, MediaKind, canonical_json, manifest_sha256};

/// 7 Dec 2026, `h:m` in Mato Grosso (UTC−4).
fn mt(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, h + 4, m, 0).unwrap()
}

struct Spec<'a> {
    station: &'a str,
    plate: &'a str,
    start: DateTime<Utc>,
    minutes: i64,
    inspector: Option<&'a str>,
    photos: Vec<(&'a str, Vec<u8>)>,
    interrupted: bool,
}

impl<'a> Spec<'a> {
    fn new(station: &'a str, plate: &'a str, start: DateTime<Utc>, minutes: i64) -> Spec<'a> {
        Spec {
            station,
            plate,
            start,
            minutes,
            inspector: None,
            photos: Vec::new(),
            interrupted: false,
        }
    }
}

/// Stores a verified package as the commit leaves it, its photos sealed in `blobs`.
fn deliver(store: &dyn MetadataStore, blobs: &dyn BlobStore, spec: Spec<'_>) -> PackageRecord {
    let end = spec.start + Duration::minutes(spec.minutes);
    let mut p = package(Uuid::new_v4());
    p.manifest.station = spec.station.into();
    p.manifest.plate = Plate::parse(spec.plate).unwrap();
    p.manifest.concluded_at = end;
    if spec.interrupted {
        p.manifest.outcome = Outcome::Interrupted(Interruption {
            cause: InterruptionCause::CustomerGaveUp,
            note: String::new(),
            at: end,
            unsigned_verdict: None,
        });
    }
    p.manifest.metadata.clear();
    if let Some(who) = spec.inspector {
        p.manifest
            .metadata
            .insert("inspector".into(), Value::from(who));
    }
    p.manifest.files = spec
        .photos
        .iter()
        .map(|(name, _)| ManifestFile {
            name: (*name).into(),
            kind: MediaKind::Photo,
            size: 3,
            md5: "0".repeat(32),
            sha256: "1".repeat(64),
        })
        .collect();
    p.files = spec
        .photos
        .iter()
        .map(|(name, bytes)| FileRecord {
            name: (*name).into(),
            kind: MediaKind::Photo,
            size: bytes.len() as u64,
            md5: "0".repeat(32),
            sha256: "1".repeat(64),
            digests_match: Some(true),
        })
        .collect();
    let value = serde_json::to_value(&p.manifest).unwrap();
    p.manifest_json = canonical_json(&value);
    p.manifest_sha256 = manifest_sha256(&value);
    p.station = spec.station.into();
    p.plate = spec.plate.into();
    p.first_seen_at = end;
    // No query record: the inspection starts 4 h before its deadline (its vehicle query).
    p.deadline = spec.start + Duration::hours(4);
    store.insert_package(&p).unwrap();
    let key = p.key();
    for (name, bytes) in &spec.photos {
        let mut out = blobs.append(&key, name, 0).unwrap();
        out.write(bytes).unwrap();
        out.finish().unwrap();
        blobs.seal(&key, name).unwrap();
    }
    store
        .commit_package(&key, end, &FACTS, &signer(p.inspection_id, end))
        .unwrap();
    store.package(&key).unwrap().unwrap()
}

fn kinds(store: &dyn MetadataStore, key: &PackageKey) -> Vec<(CrossKind, Option<PackageKey>)> {
    store
        .cross_flags_of(key)
        .unwrap()
        .into_iter()
        .map(|f| (f.kind, f.other))
        .collect()
}

fn real_photo(name: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/plates/br-openalpr")
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            eprintln!(
                "SKIPPED: {} is absent (no real photos here)",
                path.display()
            );
            None
        }
    }
}

/// The photo cut 1 % each side, resized to 60 % and re-encoded at quality 70.
fn altered_copy(jpeg: &[u8]) -> Vec<u8> {
    let image = image::load_from_memory(jpeg).unwrap();
    let (w, h) = (image.width(), image.height());
    let cut = image.crop_imm(w / 100, h / 100, w - w / 50, h - h / 50);
    let small = cut.resize(w * 3 / 5, h * 3 / 5, image::imageops::FilterType::Triangle);
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 70);
    small.to_rgb8().write_with_encoder(encoder).unwrap();
    out
}

fn near_duplicate_photo_across_two_stations(store: &dyn MetadataStore, blobs: &dyn BlobStore) {
    let (Some(car), Some(other_car)) = (real_photo("AYO9034.jpg"), real_photo("FZB9581.jpg"))
    else {
        return;
    };
    let mut a = Spec::new("ECV-01", "ABC1D23", mt(1, 9, 0), 30);
    a.photos = vec![("traseira.jpg", car.clone())];
    let mut b = Spec::new("ECV-02", "DEF4G56", mt(3, 14, 0), 30);
    b.photos = vec![
        ("frente.jpg", other_car.clone()),
        ("traseira-2.jpg", altered_copy(&car)),
    ];
    let mut c = Spec::new("ECV-03", "GHI7J89", mt(5, 11, 0), 30);
    c.photos = vec![("traseira.jpg", other_car.clone())];
    let a = deliver(store, blobs, a);
    let b = deliver(store, blobs, b);
    // Verified, not analysed yet: the pass finds them, oldest first.
    assert_eq!(store.unanalyzed(10).unwrap(), vec![a.key(), b.key()]);
    let now = mt(6, 8, 0);
    assert!(analyze(store, blobs, &a, now).unwrap().is_empty());
    let raised = analyze(store, blobs, &b, now).unwrap();
    assert_eq!(raised.len(), 1, "{raised:?}");
    let flag = &raised[0];
    assert_eq!(flag.kind, CrossKind::PhotoNearDuplicate);
    assert_eq!(flag.other, Some(a.key()));
    assert_eq!(flag.photo.as_deref(), Some("traseira-2.jpg"));
    assert_eq!(flag.other_photo.as_deref(), Some("traseira.jpg"));
    let bits = flag.detail["bits"].as_u64().unwrap();
    assert!(bits <= 10, "{bits}");
    assert!(
        flag.detail["texto"]
            .as_str()
            .unwrap()
            .contains("traseira-2.jpg")
    );
    // Stored on both, each pointing at the other.
    assert_eq!(
        kinds(store, &b.key()),
        [(CrossKind::PhotoNearDuplicate, Some(a.key()))]
    );
    let mirror = store.cross_flags_of(&a.key()).unwrap();
    assert_eq!(mirror.len(), 1);
    assert_eq!(mirror[0].other, Some(b.key()));
    assert_eq!(mirror[0].photo.as_deref(), Some("traseira.jpg"));
    assert_eq!(mirror[0].other_photo.as_deref(), Some("traseira-2.jpg"));

    // A third station's photo of the other car matches B's "frente.jpg" (the same picture),
    // never the first car.
    let c = deliver(store, blobs, c);
    // The resumable pass picks up what no commit analysed.
    assert_eq!(store.unanalyzed(10).unwrap(), vec![c.key()]);
    assert_eq!(catch_up(store, blobs).unwrap(), 1);
    assert!(store.unanalyzed(10).unwrap().is_empty());
    let on_c = store.cross_flags_of(&c.key()).unwrap();
    assert_eq!(on_c.len(), 1, "{on_c:?}");
    assert_eq!(on_c[0].other, Some(b.key()));
    assert_eq!(on_c[0].other_photo.as_deref(), Some("frente.jpg"));
    assert_eq!(on_c[0].detail["bits"], 0);

    // Again: nothing twice.
    analyze(store, blobs, &b, now + Duration::hours(1)).unwrap();
    analyze(store, blobs, &c, now + Duration::hours(1)).unwrap();
    assert_eq!(store.cross_flags_of(&b.key()).unwrap().len(), 2);
    assert_eq!(store.count_cross_flags(None).unwrap(), 4);
    assert_eq!(store.count_cross_flags(Some("ECV-02")).unwrap(), 2);
    assert_eq!(store.count_cross_flags(Some("ECV-09")).unwrap(), 0);

    // Retention removes a package's flags and the flags pointing at it.
    store.delete_package(&a.key()).unwrap();
    assert!(store.cross_flags_of(&a.key()).unwrap().is_empty());
    assert_eq!(
        kinds(store, &b.key()),
        [(CrossKind::PhotoNearDuplicate, Some(c.key()))]
    );
    assert_eq!(store.count_cross_flags(None).unwrap(), 2);
}

fn same_vehicle_and_inspector_at_two_stations(store: &dyn MetadataStore, blobs: &dyn BlobStore) {
    // ABC1234 (old) and ABC1C34 (its Mercosul form) are one vehicle (§5).
    let mut a = Spec::new("ECV-01", "ABC1C34", mt(7, 10, 0), 40);
    a.inspector = Some("Maria Souza");
    let mut b = Spec::new("ECV-02", "ABC1234", mt(7, 10, 30), 30);
    b.inspector = Some("Maria Souza");
    // The next day at another station, another inspector: nothing.
    let mut c = Spec::new("ECV-02", "ABC1234", mt(8, 10, 0), 30);
    c.inspector = Some("João Lima");
    // The same station as A, same day, same inspector, overlapping A (9:00–10:05): no
    // inspector flag (it is one station); the same vehicle that day as B's, though.
    let mut d = Spec::new("ECV-01", "ABC1C34", mt(7, 9, 0), 65);
    d.inspector = Some("Maria Souza");
    let now = mt(9, 8, 0);
    let mut keys = Vec::new();
    for spec in [d, a, b, c] {
        let p = deliver(store, blobs, spec);
        analyze(store, blobs, &p, now).unwrap();
        keys.push(p.key());
    }
    let [d, a, b, c] = <[PackageKey; 4]>::try_from(keys).unwrap();
    let sorted = |key: &PackageKey| {
        let mut all = kinds(store, key);
        all.sort_by_key(|(k, o)| format!("{k:?}{o:?}"));
        all
    };
    let mut want_a = vec![
        (CrossKind::InspectorOverlap, Some(b.clone())),
        (CrossKind::PlateTwiceSameDay, Some(b.clone())),
    ];
    want_a.sort_by_key(|(k, o)| format!("{k:?}{o:?}"));
    assert_eq!(sorted(&a), want_a);
    let mut want_b = vec![
        (CrossKind::InspectorOverlap, Some(a.clone())),
        (CrossKind::PlateTwiceSameDay, Some(a.clone())),
        (CrossKind::PlateTwiceSameDay, Some(d.clone())),
    ];
    want_b.sort_by_key(|(k, o)| format!("{k:?}{o:?}"));
    assert_eq!(sorted(&b), want_b);
    assert_eq!(
        sorted(&d),
        [(CrossKind::PlateTwiceSameDay, Some(b.clone()))]
    );
    assert!(kinds(store, &c).is_empty(), "{:?}", kinds(store, &c));
    let text = store.cross_flags_of(&a).unwrap();
    let overlap = text
        .iter()
        .find(|f| f.kind == CrossKind::InspectorOverlap)
        .unwrap();
    let words = overlap.detail["texto"].as_str().unwrap();
    assert!(
        words.contains("«Maria Souza»") && words.contains("10:30"),
        "{words}"
    );
}

fn much_shorter_than_its_class(store: &dyn MetadataStore, blobs: &dyn BlobStore) {
    let now = mt(28, 8, 0);
    let plates = [
        "AAA1A11", "AAA1A12", "AAA1A13", "AAA1A14", "AAA1A15", "AAA1A16", "AAA1A17", "AAA1A18",
        "AAA1A19", "AAA1A20",
    ];
    let run = |spec: Spec<'_>| {
        let p = deliver(store, blobs, spec);
        (p.key(), analyze(store, blobs, &p, now).unwrap())
    };
    for (day, plate) in (10..).zip(&plates[..9]) {
        assert!(
            run(Spec::new("ECV-01", plate, mt(day, 9, 0), 30))
                .1
                .is_empty()
        );
    }
    // Nine known: no usual time yet, so a 5-minute one raises nothing.
    let (_, flags) = run(Spec::new("ECV-02", "BBB2B22", mt(19, 9, 0), 5));
    assert!(flags.is_empty(), "{flags:?}");
    run(Spec::new("ECV-01", plates[9], mt(20, 9, 0), 30));
    // Eleven known (ten of 30 min, one of 5): median 30 min; 8 min is under a third.
    let (short, flags) = run(Spec::new("ECV-02", "BBB2B23", mt(21, 9, 0), 8));
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(
        (flags[0].kind, flags[0].other.clone()),
        (CrossKind::ShortInspection, None)
    );
    assert_eq!(flags[0].detail["mediana_ms"], 30 * 60_000);
    assert_eq!(flags[0].detail["amostra"], 11);
    let text = flags[0].detail["texto"].as_str().unwrap();
    assert!(
        text.contains("Durou 8 min") && text.contains("30 min"),
        "{text}"
    );
    assert_eq!(kinds(store, &short), [(CrossKind::ShortInspection, None)]);
    // 11 minutes is over a third of 30: nothing. An interruption is short by nature: nothing.
    assert!(
        run(Spec::new("ECV-02", "BBB2B24", mt(22, 9, 0), 11))
            .1
            .is_empty()
    );
    let mut quit = Spec::new("ECV-02", "BBB2B25", mt(23, 9, 0), 2);
    quit.interrupted = true;
    assert!(run(quit).1.is_empty());
}

macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let blobs = FileBlobs::open(dir.path()).unwrap();
                    super::$name(&SqliteMetadata::in_memory().unwrap(), &blobs);
                }
            )*
        }

        mod on_postgres {
            use super::*;
            use super::common::services::TestDatabase;
            $(
                #[test]
                fn $name() {
                    let db = TestDatabase::new();
                    let dir = tempfile::tempdir().unwrap();
                    let blobs = FileBlobs::open(dir.path()).unwrap();
                    super::$name(&PgMetadata::connect(&db.url, 4).unwrap(), &blobs);
                }
            )*
        }
    };
}

on_every_backend!(
    near_duplicate_photo_across_two_stations,
    same_vehicle_and_inspector_at_two_stations,
    much_shorter_than_its_class,
);
