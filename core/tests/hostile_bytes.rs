//! Property tests over hostile bytes for the parsers a station or a stranger can feed (issue
//! 17): the TIFF reader, the hOCR reader, the package manifest JSON and the canonical laudo.
//! The same parsers have `cargo fuzz` targets (`fuzz/`); these run in every `cargo test` with a
//! bounded number of cases so CI keeps checking. Inputs are valid documents mutated byte by
//! byte (overwrite, insert, remove, truncate) plus free-form input.
//!
//! With `VISTORIA_FUZZ_SEEDS=DIR` set, the valid documents are also written to
//! `DIR/<target>/` as seeds for the fuzz targets (`cargo xtask fuzz` does this).

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use vistoria_core::biometrics::GrayImage;
use vistoria_core::domain::{Checklist, InspectionId, Outcome, Plate, VehicleClass, Verdict};
use vistoria_core::hashing::Digests;
use vistoria_core::laudo::{InspectorInfo, Laudo, LaudoInputs, StationInfo};
use vistoria_core::ocr::engine::{symbols_from_hocr, words_from_hocr};
use vistoria_core::wire::{
    ManifestFile, MediaKind, PackageManifest, canonical_json, manifest_sha256,
};

/// One byte-level edit: position (scaled to the input), byte, and kind (0 overwrite, 1 insert,
/// 2 remove, 3 truncate).
type Edit = (Index, u8, u8);

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..4), 1..10)
}

fn mutate(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = base.to_vec();
    for (at, byte, kind) in edits {
        if out.is_empty() {
            out.push(*byte);
            continue;
        }
        let i = at.index(out.len());
        match kind {
            0 => out[i] = *byte,
            1 => out.insert(i, *byte),
            2 => {
                out.remove(i);
            }
            _ => out.truncate(i),
        }
    }
    out
}

fn write_seed(target: &str, name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("VISTORIA_FUZZ_SEEDS") {
        let dir = std::path::Path::new(&dir).join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn sample_tiff() -> Vec<u8> {
    GrayImage::synthetic(24, 20, 5, (0.0, 0.0)).to_tiff()
}

fn sample_manifest() -> Vec<u8> {
    let data = b"photo bytes";
    let d = Digests::of(data);
    let manifest = PackageManifest {
        inspection_id: InspectionId::new(),
        station: "ECV-01".into(),
        query_id: uuid::Uuid::nil(),
        plate: Plate::parse("QTK3308").unwrap(),
        concluded_at: vistoria_core::fixtures::sample_time(1),
        outcome: Outcome::Verdict(Verdict::Conforming),
        checklist: Checklist::new(VehicleClass::PassengerCar),
        metadata: [("inspector".to_owned(), Value::from("Maria Souza"))]
            .into_iter()
            .collect(),
        audit_head: "ab".repeat(32),
        audit_sequence: None,
        files: vec![ManifestFile {
            name: "rear.jpg".into(),
            kind: MediaKind::Photo,
            size: d.size,
            md5: d.md5,
            sha256: d.sha256,
        }],
    };
    serde_json::to_vec(&manifest.to_json().unwrap()).unwrap()
}

fn sample_laudo() -> Vec<u8> {
    let mut inspection = vistoria_core::fixtures::sample_inspection(1);
    let start = vistoria_core::fixtures::sample_time(1) + chrono::Duration::minutes(3);
    inspection.start_capture(start).unwrap();
    vistoria_core::fixtures::fill_checklist(&mut inspection, 1, start);
    let verdict = inspection.checklist().verdict().unwrap();
    inspection
        .conclude(verdict, start + chrono::Duration::minutes(9))
        .unwrap();
    Laudo::from_inspection(
        &inspection,
        LaudoInputs {
            number: "ECV-01-TESTE".into(),
            station: StationInfo {
                code: "ECV-01".into(),
                name: "Vistoria Teste".into(),
                city: "Cuiabá/MT".into(),
            },
            inspector: InspectorInfo {
                name: "Ana Paula Souza".into(),
                cpf: "52998224725".into(),
            },
            photos: Vec::new(),
            panoramic_segments: Vec::new(),
            biometric_check: vistoria_core::fixtures::simulated_check(
                start + chrono::Duration::minutes(10),
            )
            .unwrap(),
            plate_reading: None,
            film_gaps: Vec::new(),
            issued_at: start + chrono::Duration::minutes(10),
            verify_base_url: "https://central.example/laudos/".into(),
        },
    )
    .unwrap()
    .canonical_bytes()
}

const SAMPLE_HOCR: &str = "<span class='ocrx_word' id='word_1_1' title='bbox 10 8 200 60; x_wconf 71'>\
    <span class='ocrx_cinfo' title='x_bboxes 10 8 40 60; x_conf 99.25'>Q</span>\
    <span class='ocrx_cinfo' id='choice_1_1_1' title='x_confs 40.5'>O</span>\
    <span class='ocrx_cinfo' title='x_bboxes 44 8 80 60; x_conf 12.5'>T</span>\
    <span class='ocrx_cinfo' title='x_bboxes 84 8 120 60; x_conf 100'>K</span></span>";

fn check_tiff(bytes: &[u8]) {
    if let Ok(image) = GrayImage::from_tiff(bytes) {
        assert_eq!(image.pixels.len(), image.width * image.height);
        assert!(image.pixels.len() <= bytes.len());
    }
}

fn check_hocr(text: &str) {
    for s in symbols_from_hocr(text) {
        assert!((0.0..=1.0).contains(&s.confidence));
        assert!(s.alternatives.iter().all(|(_, c)| (0.0..=1.0).contains(c)));
    }
    assert!(words_from_hocr(text).len() <= text.len());
}

fn check_manifest(bytes: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let canonical = canonical_json(&value);
    let reparsed: Value = serde_json::from_str(&canonical).unwrap();
    assert_eq!(canonical_json(&reparsed), canonical);
    assert_eq!(manifest_sha256(&value).len(), 64);
    if let Ok(manifest) = serde_json::from_value::<PackageManifest>(value) {
        let again: PackageManifest = serde_json::from_value(manifest.to_json().unwrap()).unwrap();
        assert_eq!(again, manifest);
    }
}

fn check_laudo(bytes: &[u8]) {
    if let Ok(laudo) = Laudo::from_canonical(bytes) {
        assert_eq!(laudo.canonical_bytes(), bytes);
    }
}

#[test]
fn the_valid_samples_parse_and_become_seeds() {
    let tiff = sample_tiff();
    assert!(GrayImage::from_tiff(&tiff).is_ok());
    write_seed("tiff", "synthetic-24x20.tif", &tiff);
    let manifest = sample_manifest();
    assert!(serde_json::from_slice::<PackageManifest>(&manifest).is_ok());
    write_seed("manifest", "manifest.json", &manifest);
    write_seed("manifest", "name.txt", b"seg-0001.mp4");
    let laudo = sample_laudo();
    assert!(Laudo::from_canonical(&laudo).is_ok());
    write_seed("laudo", "laudo.json", &laudo);
    assert_eq!(symbols_from_hocr(SAMPLE_HOCR).len(), 3);
    write_seed("hocr", "page.hocr", SAMPLE_HOCR.as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn tiff_reader_survives_mutations(e in edits()) {
        check_tiff(&mutate(&sample_tiff(), &e));
    }

    /// Header fields overwritten with extreme values at the places the reader looks.
    #[test]
    fn tiff_reader_survives_hostile_header_values(
        entry in 0usize..8, field in 0usize..3, value in prop_oneof![Just(u32::MAX), Just(0u32), any::<u32>()]
    ) {
        let mut t = sample_tiff();
        let ifd = u32::from_le_bytes([t[4], t[5], t[6], t[7]]) as usize;
        let at = ifd + 2 + 12 * entry + [2, 4, 8][field];
        let width = if field == 0 { 2 } else { 4 };
        t[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        check_tiff(&t);
    }

    #[test]
    fn hocr_reader_survives_mutations(e in edits()) {
        check_hocr(&String::from_utf8_lossy(&mutate(SAMPLE_HOCR.as_bytes(), &e)));
    }

    #[test]
    fn hocr_reader_survives_fragment_soup(parts in prop::collection::vec(prop_oneof![
        Just("class='ocrx_cinfo'"), Just("id='choice_"), Just("x_conf "), Just("x_confs "),
        Just("x_bboxes "), Just(">"), Just("<"), Just(";"), Just(" "), Just("9"), Just("."),
        Just("99999999999999999999999999999999999999999999"), Just("A"), Just("é"),
    ], 0..40)) {
        check_hocr(&parts.concat());
    }

    #[test]
    fn manifest_reader_survives_mutations(e in edits()) {
        check_manifest(&mutate(&sample_manifest(), &e));
    }

    #[test]
    fn laudo_reader_survives_mutations(e in edits()) {
        check_laudo(&mutate(&sample_laudo(), &e));
    }
}
