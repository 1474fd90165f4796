//! The rules below the screens (issue 18), on the workflow every path uses: each test here fails
//! on a workflow that leaves the rule to a screen.

#![allow(clippy::unwrap_used)]

use chrono::Duration;
use serde_json::json;

use super::photos::Request;
use super::*;
use crate::capture::Source;
use crate::config::Station;
use crate::domain::{AdditionalReason, Plate, PlateFormat, SignatureInfo, Site};
use crate::film::FilmState;
use crate::fixtures;
use crate::laudo::{InspectorInfo, LaudoInputs, StationInfo};
use crate::ocr::correction::{self, CorrectionForm};

const INSPECTOR: &str = "vistoriador";

fn stamp(minutes: i64) -> CentralStamp {
    CentralStamp {
        at: fixtures::sample_time(0) + Duration::minutes(minutes),
        sync_age_ms: 0,
    }
}

/// A capturing inspection of a passenger car, stored.
fn capturing(store: &mut Store) -> Inspection {
    let mut inspection = fixtures::sample_inspection(0);
    store
        .save_inspection(
            &inspection,
            AuditEvent::new(Some(stamp(0)), "op", AuditAction::InspectionOpened),
        )
        .unwrap();
    apply(
        store,
        &mut inspection,
        stamp(1),
        INSPECTOR,
        AuditAction::InspectionCaptureStarted,
        json!(null),
        |i, at| i.start_capture(at),
    )
    .unwrap();
    inspection
}

const NO_FILM: &FilmState = &FilmState::NoPanoramicCamera;

fn photo(store: &mut Store, inspection: &Inspection, kind: PhotoKind) -> MediaRecord {
    store_photo(
        store,
        inspection,
        Request {
            kind,
            retake_reason: None,
            film: NO_FILM,
            source: Source::StillCamera,
            reason: None,
        },
        format!("foto {}", kind.code()).as_bytes(),
        stamp(2),
        INSPECTOR,
    )
    .unwrap()
}

/// Every required photo; returns the rear one.
fn all_photos(store: &mut Store, inspection: &Inspection) -> MediaRecord {
    let mut rear = None;
    for kind in inspection.required_photos() {
        let record = photo(store, inspection, kind);
        if kind == PhotoKind::RearWithPlate {
            rear = Some(record);
        }
    }
    rear.unwrap()
}

fn other_plate(inspection: &Inspection) -> Plate {
    Plate::parse(
        if inspection.vehicle().plate().format() == PlateFormat::Old {
            "ZZZ9999"
        } else {
            "ZZZ9Z99"
        },
    )
    .unwrap()
}

fn fill(store: &mut Store, inspection: &mut Inspection) {
    apply(
        store,
        inspection,
        stamp(5),
        INSPECTOR,
        AuditAction::InspectionItemRecorded,
        json!(null),
        |i, at| {
            fixtures::fill_checklist(i, 0, at);
            Ok(())
        },
    )
    .unwrap();
}

fn correction_form(inspection: &Inspection) -> (String, String) {
    (
        inspection.vehicle().plate().to_string(),
        inspection
            .vehicle()
            .renavam()
            .map(|r| r.as_str().to_owned())
            .unwrap(),
    )
}

/// §6 and re-entry: a rear photo read as another plate keeps the inspection from its conclusion
/// until the correction is recorded, across a restart; re-entering shows the photos, the
/// pending correction and the checklist answers as stored.
#[test]
fn the_plate_gate_and_the_photos_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let id;
    let rear_id;
    {
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let mut inspection = capturing(&mut store);
        id = inspection.id();
        let rear = all_photos(&mut store, &inspection);
        rear_id = rear.id.clone();
        let read = other_plate(&inspection);
        correction::record_reading(
            &mut store,
            &inspection,
            &rear,
            Some(&read),
            0.91,
            None,
            stamp(2),
            INSPECTOR,
        )
        .unwrap();
        fill(&mut store, &mut inspection);
        let err = conclude(&mut store, &mut inspection, stamp(6), INSPECTOR).unwrap_err();
        assert!(
            matches!(err, WorkflowError::PlateCorrectionPending),
            "{err}"
        );
        // Nor through the generic event path a caller could use instead.
        let err = apply(
            &mut store,
            &mut inspection,
            stamp(6),
            INSPECTOR,
            AuditAction::InspectionConcluded,
            json!(null),
            |i, at| i.conclude(crate::domain::Verdict::Conforming, at),
        )
        .unwrap_err();
        assert!(matches!(err, WorkflowError::PlateCorrectionPending));
        assert_eq!(inspection.state_kind(), StateKind::Capturing);
        store.close().unwrap();
    }
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let view = view::load(&store, id).unwrap();
    assert!(view.pending_correction());
    assert!(view.missing.is_empty(), "{:?}", view.missing);
    assert_eq!(view.photos.len(), view.inspection.required_photos().len());
    assert_eq!(
        view.latest(PhotoKind::RearWithPlate).unwrap().media.id,
        rear_id
    );
    let reading = view.plate.reading.clone().unwrap();
    assert_eq!(
        reading.read,
        Some(other_plate(&view.inspection).to_string())
    );
    assert!(view.inspection.checklist().missing().is_empty());
    let mut inspection = view.inspection;
    let (plate, renavam) = correction_form(&inspection);
    correction::record(
        &mut store,
        &inspection,
        &rear_id,
        &CorrectionForm {
            user: INSPECTOR,
            plate: &plate,
            renavam: &renavam,
            reason: "placa trocada na foto de teste",
        },
        stamp(7),
    )
    .unwrap();
    assert!(!view::load(&store, id).unwrap().pending_correction());
    conclude(&mut store, &mut inspection, stamp(8), INSPECTOR).unwrap();
    assert_eq!(inspection.state_kind(), StateKind::Concluded);
}

/// §6 "nothing was read": a rear photo whose reading was never stored (the reader missing, a
/// crash right after the capture) also needs the correction; a retaken rear photo moves the
/// gate to the new one.
#[test]
fn an_unread_rear_photo_needs_the_correction_and_a_matching_retake_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let mut inspection = capturing(&mut store);
    all_photos(&mut store, &inspection);
    fill(&mut store, &mut inspection);
    let err = conclude(&mut store, &mut inspection, stamp(6), INSPECTOR).unwrap_err();
    assert!(
        matches!(err, WorkflowError::PlateCorrectionPending),
        "{err}"
    );
    let again = store_photo(
        &mut store,
        &inspection,
        Request {
            kind: PhotoKind::RearWithPlate,
            retake_reason: Some("placa estava suja"),
            film: NO_FILM,
            source: Source::StillCamera,
            reason: None,
        },
        b"outra traseira",
        stamp(6),
        INSPECTOR,
    )
    .unwrap();
    let typed = inspection.vehicle().plate().clone();
    correction::record_reading(
        &mut store,
        &inspection,
        &again,
        Some(&typed),
        0.97,
        None,
        stamp(6),
        INSPECTOR,
    )
    .unwrap();
    conclude(&mut store, &mut inspection, stamp(7), INSPECTOR).unwrap();
}

/// §7: the photos the class requires are checked at the conclusion, whatever the event path.
#[test]
fn no_conclusion_without_the_photos_of_the_class() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let mut inspection = capturing(&mut store);
    photo(&mut store, &inspection, PhotoKind::Front);
    fill(&mut store, &mut inspection);
    let err = apply(
        &mut store,
        &mut inspection,
        stamp(6),
        INSPECTOR,
        AuditAction::InspectionConcluded,
        json!(null),
        |i, at| i.conclude(crate::domain::Verdict::Conforming, at),
    )
    .unwrap_err();
    let WorkflowError::MissingPhotos(missing) = &err else {
        panic!("{err}");
    };
    assert!(missing.contains(&PhotoKind::RearWithPlate));
    assert!(!missing.contains(&PhotoKind::Front));
    assert!(err.to_string().contains("Traseira") || err.to_string().contains("traseira"));
    assert_eq!(
        store
            .inspection(inspection.id())
            .unwrap()
            .unwrap()
            .state_kind(),
        StateKind::Capturing
    );
}

/// §7 a: at a fixed station the panoramic photo is required of every class, and only the
/// panoramic camera takes it; without it the inspection is not concluded.
#[test]
fn no_conclusion_at_a_fixed_station_without_the_panoramic_photo() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let mut inspection = fixtures::sample_inspection(0).at_site(Site::FixedStation);
    store
        .save_inspection(
            &inspection,
            AuditEvent::new(Some(stamp(0)), "op", AuditAction::InspectionOpened),
        )
        .unwrap();
    apply(
        &mut store,
        &mut inspection,
        stamp(1),
        INSPECTOR,
        AuditAction::InspectionCaptureStarted,
        json!(null),
        |i, at| i.start_capture(at),
    )
    .unwrap();
    // Stored and read back with its site.
    assert_eq!(
        store.inspection(inspection.id()).unwrap().unwrap().site(),
        Site::FixedStation
    );
    let required = inspection.required_photos();
    assert_eq!(required[0], PhotoKind::Panoramic);
    assert_eq!(
        required.len(),
        inspection
            .data()
            .class
            .required_photos(Site::WithoutPanoramicCamera)
            .len()
            + 1
    );
    let mut rear = None;
    for kind in required.iter().copied().filter(|k| !k.is_automatic()) {
        let record = photo(&mut store, &inspection, kind);
        if kind == PhotoKind::RearWithPlate {
            rear = Some(record);
        }
    }
    let typed = inspection.vehicle().plate().clone();
    correction::record_reading(
        &mut store,
        &inspection,
        &rear.unwrap(),
        Some(&typed),
        0.97,
        None,
        stamp(2),
        INSPECTOR,
    )
    .unwrap();
    fill(&mut store, &mut inspection);
    let err = conclude(&mut store, &mut inspection, stamp(6), INSPECTOR).unwrap_err();
    let WorkflowError::MissingPhotos(missing) = &err else {
        panic!("{err}");
    };
    assert_eq!(missing, &vec![PhotoKind::Panoramic]);
    assert!(err.to_string().contains("Panorâmica do veículo"), "{err}");
    assert_eq!(inspection.state_kind(), StateKind::Capturing);
    // The still camera cannot stand in for the panoramic camera.
    let panoramic = |source| Request {
        kind: PhotoKind::Panoramic,
        retake_reason: None,
        film: NO_FILM,
        source,
        reason: None,
    };
    let err = store_photo(
        &mut store,
        &inspection,
        panoramic(Source::StillCamera),
        b"panoramica",
        stamp(6),
        INSPECTOR,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("tirada automaticamente pela câmera panorâmica"),
        "{err}"
    );
    store_photo(
        &mut store,
        &inspection,
        panoramic(Source::Panoramic),
        b"panoramica",
        stamp(6),
        "sistema",
    )
    .unwrap();
    assert!(
        view::load(&store, inspection.id())
            .unwrap()
            .missing
            .is_empty()
    );
    conclude(&mut store, &mut inspection, stamp(7), INSPECTOR).unwrap();
    assert_eq!(inspection.state_kind(), StateKind::Concluded);
}

/// §8, §18: the borescope takes the engine number only, the panoramic camera nothing but §7 a's
/// photo (and only at a fixed station); the disassembled-engine reason is an additional
/// photo's, of a vehicle with an engine.
#[test]
fn each_device_takes_only_its_photos() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let inspection = capturing(&mut store);
    let request = |kind, source, reason| Request {
        kind,
        retake_reason: None,
        film: NO_FILM,
        source,
        reason,
    };
    let refused = [
        (
            PhotoKind::Front,
            Source::Borescope,
            None,
            "o boroscópio fotografa só",
        ),
        (
            PhotoKind::Front,
            Source::Panoramic,
            None,
            "tira só a panorâmica",
        ),
        // This inspection is not at a fixed station.
        (
            PhotoKind::Panoramic,
            Source::Panoramic,
            None,
            "só da vistoria fixa",
        ),
        (
            PhotoKind::EngineNumber,
            Source::StillCamera,
            Some(AdditionalReason::EngineDisassembled),
            "é motivo de foto adicional",
        ),
    ];
    for (kind, source, reason, says) in refused {
        let err =
            super::photos::check(&store, &inspection, request(kind, source, reason)).unwrap_err();
        assert!(err.to_string().contains(says), "{kind:?} {source:?}: {err}");
    }
    for (kind, source, reason) in [
        (PhotoKind::EngineNumber, Source::Borescope, None),
        (PhotoKind::EngineNumber, Source::StillCamera, None),
        (
            PhotoKind::Additional,
            Source::StillCamera,
            Some(AdditionalReason::EngineDisassembled),
        ),
    ] {
        super::photos::check(&store, &inspection, request(kind, source, reason)).unwrap();
    }
}

/// A second photo of a kind needs a reason, stored with it and audited; additional photos may
/// be many.
#[test]
fn a_second_photo_of_a_kind_needs_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let inspection = capturing(&mut store);
    photo(&mut store, &inspection, PhotoKind::Front);
    let request = |reason| Request {
        kind: PhotoKind::Front,
        retake_reason: reason,
        film: NO_FILM,
        source: Source::StillCamera,
        reason: None,
    };
    for reason in [None, Some("   "), Some("ruim")] {
        let err = store_photo(
            &mut store,
            &inspection,
            request(reason),
            b"de novo",
            stamp(3),
            INSPECTOR,
        )
        .unwrap_err();
        assert!(
            matches!(err, WorkflowError::RetakeWithoutReason(PhotoKind::Front)),
            "{err}"
        );
    }
    assert_eq!(store.media_of(inspection.id()).unwrap().len(), 1);
    let second = store_photo(
        &mut store,
        &inspection,
        request(Some("  reflexo no para-brisa ")),
        b"de novo",
        stamp(3),
        INSPECTOR,
    )
    .unwrap();
    let reasons = store.retake_reasons(inspection.id()).unwrap();
    assert_eq!(reasons[&second.id], "reflexo no para-brisa");
    let view = view::load(&store, inspection.id()).unwrap();
    assert_eq!(view.photos[0].retake_reason, None);
    assert_eq!(
        view.photos[1].retake_reason.as_deref(),
        Some("reflexo no para-brisa")
    );
    for _ in 0..3 {
        photo(&mut store, &inspection, PhotoKind::Additional);
    }
    let station = Station {
        code: "ECV-01".into(),
        name: "Vistoria".into(),
        address: "Rua A, 1".into(),
        city: "Cuiabá/MT".into(),
        latitude: -15.6,
        longitude: -56.1,
        simulated_devices: Vec::new(),
    };
    // The reason travels in the package too (the audit row is checked by the store's chain).
    let mut done = inspection.clone();
    done.interrupt(
        crate::domain::InterruptionCause::CustomerGaveUp,
        "",
        stamp(4).at,
    )
    .unwrap();
    let manifest = crate::package::build_manifest(&store, &station, &done).unwrap();
    let media = manifest.metadata["media"].as_array().unwrap();
    assert_eq!(media[1]["retake_reason"], "reflexo no para-brisa");
    assert!(media[0].get("retake_reason").is_none());
    assert!(store.verify_audit().unwrap().problem.is_none());
}

/// §4: no photo while the film of a station that films is down.
#[test]
fn capture_is_refused_while_the_film_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let inspection = capturing(&mut store);
    let down = FilmState::NotRecording("câmera sem imagem".into());
    let err = store_photo(
        &mut store,
        &inspection,
        Request {
            kind: PhotoKind::Front,
            retake_reason: None,
            film: &down,
            source: Source::StillCamera,
            reason: None,
        },
        b"foto",
        stamp(2),
        INSPECTOR,
    )
    .unwrap_err();
    assert!(matches!(err, WorkflowError::FilmDown(_)), "{err}");
    assert!(err.to_string().contains("SEM VÍDEO"));
    assert!(store.media_of(inspection.id()).unwrap().is_empty());
    store_photo(
        &mut store,
        &inspection,
        Request {
            kind: PhotoKind::Front,
            retake_reason: None,
            film: &FilmState::Recording,
            source: Source::StillCamera,
            reason: None,
        },
        b"foto",
        stamp(2),
        INSPECTOR,
    )
    .unwrap();
}

/// A concluded inspection whose rear photo was corrected and whose film has a gap.
fn concluded(store: &mut Store) -> Inspection {
    let mut inspection = capturing(store);
    let rear = all_photos(store, &inspection);
    correction::record_reading(
        store,
        &inspection,
        &rear,
        None,
        0.0,
        Some("leitor de placas indisponível".into()),
        stamp(2),
        INSPECTOR,
    )
    .unwrap();
    let (plate, renavam) = correction_form(&inspection);
    correction::record(
        store,
        &inspection,
        &rear.id,
        &CorrectionForm {
            user: INSPECTOR,
            plate: &plate,
            renavam: &renavam,
            reason: "leitor indisponível, placa conferida",
        },
        stamp(3),
    )
    .unwrap();
    let film = br#"{"gaps":[{"start_s":12.5,"end_s":20.0,"cause":"no_frames","detail":"","open_at_stop":false}]}"#;
    store
        .store_media(
            NewMedia {
                inspection_id: inspection.id(),
                kind: crate::film::MANIFEST_KIND,
                extension: "json",
                captured_at: stamp(4),
                bytes: film,
            },
            "system",
        )
        .unwrap();
    fill(store, &mut inspection);
    conclude(store, &mut inspection, stamp(6), INSPECTOR).unwrap();
    inspection
}

fn sign_event(
    store: &mut Store,
    inspection: &mut Inspection,
    actor: &str,
    minutes: i64,
) -> Result<(), WorkflowError> {
    apply(
        store,
        inspection,
        stamp(minutes),
        actor,
        AuditAction::InspectionSigned,
        json!(null),
        |i, at| {
            i.sign(SignatureInfo {
                signer: "Ana".into(),
                at,
                certificate: None,
            })
        },
    )
}

/// §14: no signature without the station's own fingerprint check of the signing inspector,
/// made minutes before.
#[test]
fn no_signature_without_the_stations_fingerprint_check() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let mut inspection = concluded(&mut store);
    let err = sign_event(&mut store, &mut inspection, INSPECTOR, 7).unwrap_err();
    assert!(matches!(err, WorkflowError::NoBiometricCheck(_)), "{err}");
    // Someone else's check does not stand for this inspector.
    fixtures::keep_simulated_check(&mut store, inspection.id(), "outro", stamp(7)).unwrap();
    assert!(sign_event(&mut store, &mut inspection, INSPECTOR, 7).is_err());
    // A check too old does not either.
    fixtures::keep_simulated_check(&mut store, inspection.id(), INSPECTOR, stamp(7)).unwrap();
    assert!(sign_event(&mut store, &mut inspection, INSPECTOR, 7 + 11).is_err());
    let check =
        signature::check_for_signature(&store, &inspection, INSPECTOR, stamp(8).at).unwrap();
    sign_event(&mut store, &mut inspection, INSPECTOR, 8).unwrap();
    assert_eq!(inspection.state_kind(), StateKind::Signed);
    assert!(check.score() >= check.threshold());
}

/// The laudo carries the check's real score, threshold, finger and time, the §6 reading and its
/// correction, and the film's gaps; the package carries the reading and the gaps too.
#[test]
fn the_laudo_and_the_package_carry_the_rules_state() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let inspection = concluded(&mut store);
    let check =
        fixtures::keep_simulated_check(&mut store, inspection.id(), INSPECTOR, stamp(7)).unwrap();
    let stored =
        signature::check_for_signature(&store, &inspection, INSPECTOR, stamp(7).at).unwrap();
    assert_eq!(stored, check);
    let laudo = crate::laudo::Laudo::from_inspection(
        &inspection,
        LaudoInputs {
            number: "ECV-01-1".into(),
            station: StationInfo {
                code: "ECV-01".into(),
                name: "Vistoria".into(),
                city: "Cuiabá/MT".into(),
            },
            inspector: InspectorInfo {
                name: "Ana".into(),
                cpf: "39053344705".into(),
            },
            photos: Vec::new(),
            panoramic_segments: Vec::new(),
            biometric_check: stored,
            plate_reading: crate::laudo::stored::plate_reading(&store, &inspection).unwrap(),
            film_gaps: crate::film::stored_gaps(&store, inspection.id()).unwrap(),
            issued_at: stamp(7).at,
            verify_base_url: crate::laudo::verify_base_url("https://central.example"),
        },
    )
    .unwrap();
    let bytes = laudo.canonical_bytes();
    let back = crate::laudo::Laudo::from_canonical(&bytes).unwrap();
    assert_eq!(back.biometric_check.score(), check.score());
    assert_eq!(back.biometric_check.at(), stamp(7).at);
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains("\"matched\""), "{text}");
    let reading = back.plate_reading.unwrap();
    assert_eq!(reading.result, "unreadable");
    assert_eq!(
        reading.correction.unwrap().reason,
        "leitor indisponível, placa conferida"
    );
    assert_eq!(back.film_gaps.len(), 1);
    assert_eq!(back.film_gaps[0].start_ms, 12_500);
    let station = Station {
        code: "ECV-01".into(),
        name: "Vistoria".into(),
        address: "Rua A, 1".into(),
        city: "Cuiabá/MT".into(),
        latitude: -15.6,
        longitude: -56.1,
        simulated_devices: Vec::new(),
    };
    let manifest = crate::package::build_manifest(&store, &station, &inspection).unwrap();
    assert_eq!(manifest.metadata["plate_reading"]["result"], "unreadable");
    assert_eq!(
        manifest.metadata["plate_reading"]["correction"]["user"],
        INSPECTOR
    );
    assert_eq!(manifest.metadata["film_gaps"][0]["end_ms"], 20_000);
}

/// The central's answer to the vehicle query of inspection `id` (`None`: a query naming none),
/// carrying `number`.
fn answer(id: Option<InspectionId>, number: Option<&str>) -> VehicleQueryResponse {
    let (identity, data) = fixtures::sample_vehicle(0);
    VehicleQueryResponse {
        query_id: uuid::Uuid::new_v4(),
        queried_at: stamp(0).at,
        deadline: stamp(0).at + Duration::hours(4),
        vehicle: crate::wire::Vehicle {
            plate: identity.plate().to_string(),
            renavam: "00000000191".into(),
            data,
        },
        inspection_id: id,
        laudo_number: number.map(str::to_owned),
    }
}

#[test]
fn the_centrals_laudo_number_is_kept_from_the_opening() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let identity = || fixtures::sample_vehicle(0).0;
    let id = InspectionId::new();
    let given = answer(Some(id), Some("MT-2026-000042"));
    let mut inspection = open(
        &mut store,
        None,
        identity(),
        &given,
        Site::WithoutPanoramicCamera,
        stamp(0),
        "op",
    )
    .unwrap();
    assert_eq!(inspection.id(), id, "the inspection the query named");
    // Later saves of the inspection keep it; the laudo is made with it.
    apply(
        &mut store,
        &mut inspection,
        stamp(1),
        INSPECTOR,
        AuditAction::InspectionCaptureStarted,
        json!(null),
        |i, at| i.start_capture(at),
    )
    .unwrap();
    assert_eq!(
        crate::laudo::stored::laudo_number(&store, "ECV-01", id).unwrap(),
        "MT-2026-000042"
    );
    // Another inspection's answer is refused, and nothing is stored.
    let other = InspectionId::new();
    let refused = open(
        &mut store,
        Some(other),
        identity(),
        &given,
        Site::WithoutPanoramicCamera,
        stamp(0),
        "op",
    );
    assert!(
        matches!(
            refused,
            Err(WorkflowError::AnswerOfAnotherInspection { .. })
        ),
        "{refused:?}"
    );
    assert!(store.inspection(other).unwrap().is_none());
    // A number the answer does not say is this inspection's is not kept: the laudo keeps the
    // station's own, and the central numbers the package at commit.
    let legacy = open(
        &mut store,
        None,
        identity(),
        &answer(None, Some("MT-2026-000043")),
        Site::WithoutPanoramicCamera,
        stamp(0),
        "op",
    )
    .unwrap();
    assert_eq!(store.laudo_number(legacy.id()).unwrap(), None);
    assert_eq!(
        crate::laudo::stored::laudo_number(&store, "ECV-01", legacy.id()).unwrap(),
        crate::laudo::stored::station_number("ECV-01", legacy.id())
    );
}
