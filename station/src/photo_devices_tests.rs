//! The devices in the photo flow (issue 19) on the station API: the borescope on the engine
//! number (§8, §18) and the panoramic photo taken when capture starts (§7 a). Real embedded
//! central on loopback, demo station (simulated camera, reader and borescope, real store and
//! pipeline), a real RTSP camera on loopback for the panoramic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use vistoria_core::accounts::Role;
use vistoria_core::domain::{Condition, InspectionId, PhotoKind, StateKind};
use vistoria_core::film::FilmState;
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};

use crate::demo_borescope::BorescopeFault;
use crate::embedded_central::demo_station;
use crate::{PhotoDevice, PhotoRequest, Session, Station, demo};

const STATION: &str = "ECV-TESTE-01";
/// A registry vehicle (assets/vehicles.json), a passenger car, and its RENAVAM.
const PLATE: &str = "QTK3308";
const RENAVAM: &str = "43787047302";

fn session(login: &str, role: Role) -> Session {
    Session {
        login: login.into(),
        name: login.into(),
        role,
        cpf: String::new(),
    }
}

fn inspector() -> Session {
    session(demo::INSPECTOR, Role::Inspector)
}

/// A demo station (filmed by `bay` when given), synced, with an inspection of [`PLATE`] open.
fn opened(root: &std::path::Path, bay: Option<&TestCamera>) -> (Station, InspectionId) {
    let url = bay.map(TestCamera::url);
    let station = demo_station(root, STATION, url.as_deref()).unwrap();
    station.sync_clock().unwrap();
    let operator = session(demo::OPERATOR, Role::Operator);
    let row = station
        .open_inspection(&operator, PLATE, RENAVAM, "")
        .unwrap();
    (station, row.id)
}

/// §4: waits for the film to receive frames (the camera's start-up, not a timing under test).
fn wait_for_film(station: &Station, id: InspectionId) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while station.film_state(id) != FilmState::Recording {
        assert!(Instant::now() < deadline, "{:?}", station.film_state(id));
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn bay_camera(width: u32, height: u32) -> TestCamera {
    TestCamera::start(&CameraConfig {
        width,
        height,
        fps: 8,
        colour: true,
        ..CameraConfig::default()
    })
    .unwrap()
}

/// The stored photo's pixels.
fn stored_image(station: &Station, id: InspectionId, media_id: &str) -> image::RgbImage {
    let core = station.core();
    let record = core
        .store
        .media_of(id)
        .unwrap()
        .into_iter()
        .find(|m| m.id == media_id)
        .unwrap();
    let bytes = core.store.read_media(&record).unwrap();
    assert_eq!(
        vistoria_core::hashing::Digests::of(&bytes).md5.len(),
        32,
        "hashed at capture"
    );
    image::load_from_memory(&bytes).unwrap().to_rgb8()
}

/// The tarja is a dark band across the bottom of the photo (§7).
fn has_tarja(image: &image::RgbImage) -> bool {
    let (w, h) = image.dimensions();
    let y = h - h / 72;
    let dark = (0..w)
        .filter(|x| image.get_pixel(*x, y).0.iter().all(|c| *c < 70))
        .count();
    dark > (w as usize) / 2
}

/// §8, §18: the borescope photographs the engine number through the still camera's pipeline;
/// a frame below 800×600 is refused with the reason in Portuguese and stores nothing; the
/// photo stored names the borescope; it takes nothing but the engine number. The engine
/// photographed taken apart is an additional photo with that reason.
#[test]
fn the_borescope_takes_the_engine_number_through_the_evidence_pipeline() {
    let root = tempfile::tempdir().unwrap();
    let (station, id) = opened(root.path(), None);
    let inspector = inspector();
    station.start_capture(&inspector, id).unwrap();
    assert_eq!(
        station.borescope().as_deref(),
        Some("Boroscópio (simulado)")
    );
    let request = |kind| PhotoRequest {
        kind,
        retake_reason: None,
        reason: None,
        device: PhotoDevice::Borescope,
    };

    station.set_demo_borescope_fault(Some(BorescopeFault::SmallFrames));
    let err = station
        .take_photo(&inspector, id, request(PhotoKind::EngineNumber))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resolução 640×480 abaixo do mínimo 800×600: verifique o boroscópio e repita a foto"
    );
    station.set_demo_borescope_fault(Some(BorescopeFault::Unplugged));
    let err = station
        .take_photo(&inspector, id, request(PhotoKind::EngineNumber))
        .unwrap_err();
    assert!(err.to_string().contains("Ligue o boroscópio"), "{err}");
    assert!(station.stored_shots(id).unwrap().is_empty());

    station.set_demo_borescope_fault(None);
    let err = station
        .take_photo(&inspector, id, request(PhotoKind::Front))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("o boroscópio fotografa só a numeração do motor"),
        "{err}"
    );
    let shot = station
        .take_photo(&inspector, id, request(PhotoKind::EngineNumber))
        .unwrap();
    assert_eq!(shot.kind, PhotoKind::EngineNumber);
    assert_eq!(shot.device.as_deref(), Some("Boroscópio (simulado)"));
    assert_eq!(shot.md5.len(), 32);
    let image = stored_image(&station, id, &shot.media_id);
    assert_eq!(image.dimensions(), crate::demo_borescope::FRAME);
    assert!(has_tarja(&image));
    // Re-entering shows it with its device.
    let stored = station.stored_shots(id).unwrap();
    assert_eq!(stored[0].device.as_deref(), Some("Boroscópio (simulado)"));

    let apart = station
        .take_photo(
            &inspector,
            id,
            PhotoRequest {
                kind: PhotoKind::Additional,
                retake_reason: None,
                reason: Some(vistoria_core::domain::AdditionalReason::EngineDisassembled),
                device: PhotoDevice::Camera,
            },
        )
        .unwrap();
    assert_eq!(
        apart.reason.as_deref(),
        Some("numeração legível apenas com o motor desmontado")
    );
    assert_eq!(
        apart.device.as_deref(),
        Some("Câmera fotográfica (simulada)")
    );
    let core = station.core();
    let rows = core.store.media_of(id).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].device.as_deref(), Some("Boroscópio (simulado)"));
    assert_eq!(
        rows[1].reason.as_deref(),
        Some("numeração legível apenas com o motor desmontado")
    );
}

/// §7 a: at a fixed station the panoramic photo is taken from the panoramic camera's stream
/// as capture starts, at the camera's size, with the tarja and its hashes, naming the camera;
/// it is the first of the photos every class requires there.
#[test]
fn the_panoramic_photo_is_taken_when_capture_starts() {
    let root = tempfile::tempdir().unwrap();
    let camera = bay_camera(1600, 1024);
    let (station, id) = opened(root.path(), Some(&camera));
    wait_for_film(&station, id);
    let started = station.begin_capture(&inspector(), id).unwrap();
    assert_eq!(started.row.state, StateKind::Capturing);
    assert_eq!(started.row.required[0], PhotoKind::Panoramic);
    // A passenger car: §7 b–j's nine photos and the panoramic.
    assert_eq!(started.row.required.len(), 10);
    let shot = started
        .panoramic
        .expect("taken at capture start")
        .expect("the camera gave it");
    assert_eq!(shot.kind, PhotoKind::Panoramic);
    let device = shot.device.clone().unwrap();
    assert!(
        device.starts_with("Câmera panorâmica rtsp://127.0.0.1:"),
        "{device}"
    );
    let image = stored_image(&station, id, &shot.media_id);
    assert_eq!(image.dimensions(), (1600, 1024));
    assert!(has_tarja(&image));
    // Re-entering takes no second one.
    let again = station.begin_capture(&inspector(), id).unwrap();
    assert!(again.panoramic.is_none());
    let stored = station.stored_shots(id).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].device.as_deref(), Some(device.as_str()));
}

/// §7 a: when the panoramic camera cannot give the photo (here its 960×540 meets the film's
/// minimum, not the photo's), the inspector is told why, every other photo can be taken, and
/// the inspection is not concluded without it.
#[test]
fn no_conclusion_at_a_fixed_station_without_the_panoramic_photo() {
    let root = tempfile::tempdir().unwrap();
    let camera = bay_camera(960, 540);
    let (station, id) = opened(root.path(), Some(&camera));
    let inspector = inspector();
    wait_for_film(&station, id);
    let started = station.begin_capture(&inspector, id).unwrap();
    let err = started.panoramic.expect("tried").unwrap_err();
    assert!(
        err.to_string()
            .contains("resolução 960×540 abaixo do mínimo 1600×1024"),
        "{err}"
    );
    // "Tirar panorâmica novamente" tells the same.
    let again = station.take_panoramic(&inspector, id).unwrap_err();
    assert_eq!(again, err);
    // Each refusal is in the inspection's audit trail, with its reason.
    let failures: Vec<String> = {
        let core = station.core();
        let (head, _) = core.store.audit_head().unwrap().unwrap();
        core.store
            .audit_trail_to(head)
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "media.capture_failed")
            .map(|r| r.detail)
            .collect()
    };
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[1].contains("1600×1024"), "{failures:?}");
    for kind in started.row.required.iter().copied() {
        if kind.is_automatic() {
            continue;
        }
        let shot = station.capture_photo(&inspector, id, kind, None).unwrap();
        if shot.ocr.as_ref().is_some_and(|o| o.needs_correction) {
            station
                .correct_plate(
                    &inspector,
                    id,
                    &shot.media_id,
                    PLATE,
                    RENAVAM,
                    "placa conferida no veículo",
                )
                .unwrap();
        }
    }
    let items: Vec<_> = started.row.checklist.iter().map(|(i, _, _)| *i).collect();
    for item in items {
        station
            .set_item(&inspector, id, item, Condition::Conforming, None)
            .unwrap();
    }
    let err = station.conclude(&inspector, id).unwrap_err();
    assert_eq!(
        err.to_string(),
        "faltam fotos exigidas para a classe do veículo (§7): Panorâmica do veículo"
    );
    let rows = station.inspections_today().unwrap();
    let row = rows.iter().find(|r| r.id == id).unwrap();
    assert_eq!(row.state, StateKind::Capturing);
}
