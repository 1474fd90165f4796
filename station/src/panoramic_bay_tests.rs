//! The bay's presence calibration at the station: who may set it, what is kept and audited,
//! what is loaded back, and what the camera's preview is judged to show. Real store, real
//! embedded central, a real RTSP camera on loopback (the simulated bay).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use vistoria_core::accounts::Role;
use vistoria_drivers::panoramic::Region;
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};

use super::{BayNow, DEMO_SETTER, REFERENCE_KEY};
use crate::{Session, Station, lock};

fn session(login: &str, role: Role) -> Session {
    Session {
        login: login.into(),
        name: login.into(),
        role,
        cpf: String::new(),
    }
}

fn audit_rows(kiosk: &Station, action: &str) -> Vec<serde_json::Value> {
    let core = kiosk.core();
    let (head, _) = core.store.audit_head().unwrap().unwrap();
    core.store
        .audit_trail_to(head)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action)
        .map(|r| serde_json::from_str(&r.detail).unwrap())
        .collect()
}

/// Waits until the bay is judged as `pred` wants.
fn wait_for(kiosk: &Station, pred: impl Fn(&BayNow) -> bool) -> BayNow {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = kiosk.bay_presence_info().unwrap().now;
        if pred(&now) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_technician_calibrates_the_bay_and_it_is_kept_audited_and_judged() {
    let camera = TestCamera::start(&CameraConfig {
        width: 960,
        height: 540,
        fps: 8,
        ..CameraConfig::default()
    })
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let kiosk =
        crate::embedded_central::demo_station(root.path(), "ECV-TESTE-01", Some(&camera.url()))
            .unwrap();
    kiosk.sync_clock().unwrap();
    // Demo mode starts calibrated with the simulated camera's bare floor.
    let info = kiosk.bay_presence_info().unwrap();
    assert_eq!(info.reference.as_ref().unwrap().set.login, DEMO_SETTER);
    assert_eq!(info.now, BayNow::NoImage);

    let operator = session("operador", Role::Operator);
    let technician = session("tecnico", Role::Technician);
    let region = Region {
        x: 0.05,
        y: 0.1,
        w: 0.9,
        h: 0.85,
    };
    assert!(kiosk.set_bay_region(&operator, region).is_err());
    assert!(kiosk.capture_bay_reference(&operator).is_err());
    let outside = Region { x: 0.5, ..region };
    assert!(kiosk.set_bay_region(&technician, outside).is_err());
    assert!(audit_rows(&kiosk, "panoramic.bay_region_set").is_empty());

    let info = kiosk.set_bay_region(&technician, region).unwrap();
    assert_eq!(info.region, region);
    assert_eq!(info.region_set.as_ref().unwrap().login, "tecnico");
    assert_eq!(audit_rows(&kiosk, "panoramic.bay_region_set").len(), 1);

    // The technician empties the bay and captures it (the connection test starts itself).
    camera.set_empty_bay(true);
    std::thread::sleep(Duration::from_secs(1));
    let info = kiosk.capture_bay_reference(&technician).unwrap();
    let reference = info.reference.clone().unwrap();
    assert_eq!(reference.set.login, "tecnico");
    assert!(reference.set.at.is_some());
    assert_eq!(
        (reference.width, reference.height),
        (320, 180),
        "the preview's size"
    );
    let rows = audit_rows(&kiosk, "panoramic.bay_reference_captured");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["sha256"], reference.sha256.as_str());
    let picture = kiosk.bay_reference_picture().unwrap();
    assert_eq!(picture.rgba.len(), 320 * 180 * 4);

    // The empty bay is empty; the vehicle back in it is a vehicle.
    let now = wait_for(&kiosk, |n| matches!(n, BayNow::Seen { .. }));
    assert!(
        matches!(now, BayNow::Seen { vehicle: false, .. }),
        "{now:?}"
    );
    camera.set_empty_bay(false);
    let now = wait_for(&kiosk, |n| matches!(n, BayNow::Seen { vehicle: true, .. }));
    let BayNow::Seen { vehicle, share, .. } = now else {
        panic!("{now:?}")
    };
    assert!(vehicle && share > 0.25, "{share}");

    // Kept: loaded back as it was stored (what the next start reads).
    let before = kiosk.bay_presence_info().unwrap();
    *lock(&kiosk.0.panoramic.as_ref().unwrap().bay) = Default::default();
    kiosk.load_bay_calibration();
    let after = kiosk.bay_presence_info().unwrap();
    assert_eq!(after.region, before.region);
    assert_eq!(after.region_set, before.region_set);
    assert_eq!(after.reference, before.reference);

    // Recordings start with it, and their audit row says against what.
    let config = kiosk.presence_config();
    assert_eq!(config.basis().unwrap().reference_sha256, reference.sha256);
    kiosk
        .open_inspection(&operator, "QTK3308", "43787047302", "")
        .unwrap();
    let started = audit_rows(&kiosk, "panoramic.started");
    assert_eq!(
        started[0]["presence"]["reference_sha256"],
        reference.sha256.as_str()
    );
    // While an inspection is filmed the bay is not empty: no capture.
    let refused = kiosk.capture_bay_reference(&technician).unwrap_err();
    assert!(refused.to_string().contains("sendo filmada"), "{refused}");

    // A stored reference that does not match its digest is not used.
    let stored = kiosk.core().store.meta(REFERENCE_KEY).unwrap().unwrap();
    let forged = stored.replace(&reference.sha256, &"0".repeat(64));
    kiosk.core().store.set_meta(REFERENCE_KEY, &forged).unwrap();
    kiosk.load_bay_calibration();
    let info = kiosk.bay_presence_info().unwrap();
    assert_eq!(info.reference.unwrap().set.login, DEMO_SETTER);
}
