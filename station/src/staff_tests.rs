//! Staff at a station without demo mode (issue 19): the first administrator from the shell's
//! one-time code, an inspector added and enrolled from the station's reader (the folder
//! simulator serving FVC impressions of one finger), then logging in with another impression
//! of that finger and refused with another's. Real store, vault and key file; the embedded
//! central on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use vistoria_core::accounts::Role;
use vistoria_core::biometrics::image::fvc_sample;
use vistoria_core::biometrics::quality::{as_latent, as_too_dark};
use vistoria_core::biometrics::{Finger, GrayImage};
use vistoria_core::config::{DeviceSection, Devices};
use vistoria_core::staff::{self, NewPerson};

use crate::embedded_central::demo_opening;
use crate::{DeviceSetup, Opening, Station};

const STATION: &str = "ECV-TESTE-01";

/// A station configured with the simulated reader serving `touches` in order, nothing seeded.
fn configured(root: &Path, touches: &[GrayImage]) -> (Station, PathBuf) {
    let folder = root.join("leitor");
    std::fs::create_dir_all(&folder).unwrap();
    for (i, image) in touches.iter().enumerate() {
        std::fs::write(folder.join(format!("{i:02}.tif")), image.to_tiff()).unwrap();
    }
    let mut opening: Opening = demo_opening(root, STATION, None).unwrap();
    let devices = Devices {
        allow_simulated: true,
        fingerprint: DeviceSection {
            backend: "sim".into(),
            address: Some(folder.to_string_lossy().into_owned()),
        },
        ..Devices::default()
    };
    opening.devices = DeviceSetup::Configured {
        devices: Box::new(devices),
        icp_roots: root.join("icp-brasil"),
    };
    opening.template_key = root.join("etc/biometria.key");
    let data = opening.data.clone();
    (Station::open(opening).unwrap(), data)
}

#[test]
fn an_inspector_is_enrolled_from_the_reader_and_logs_in_with_that_finger_only() {
    let images: Option<Vec<GrayImage>> = [
        "101_1.tif",
        "101_2.tif",
        "101_3.tif",
        "101_5.tif",
        "105_1.tif",
    ]
    .iter()
    .map(|n| fvc_sample(n))
    .collect();
    let Some(images) = images else { return };
    let [a1, a2, a3, a5, other] = <[GrayImage; 5]>::try_from(images).unwrap();
    let root = tempfile::tempdir().unwrap();
    // What the reader will be touched with, in order: a good touch, its latent, a too-dark
    // touch, two good ones (enrolled), then the login's: the same finger, another finger.
    let touches = [
        a1.clone(),
        as_latent(&a1, 0.3),
        as_too_dark(&a2),
        a2,
        a3,
        a5,
        other,
    ];
    let (station, data) = configured(root.path(), &touches);

    // Nobody can administer it yet: only the shell's code makes the first administrator.
    assert!(station.needs_setup().unwrap());
    let admin = NewPerson {
        login: "alice".into(),
        name: "Alice Admin".into(),
        cpf: "86288366757".into(),
        role: Role::Administrator,
        password: Some("senha-forte-1".into()),
    };
    assert!(
        station
            .setup_first_administrator("ABCD-EFGH-JKMN", &admin)
            .is_err()
    );
    let code = staff::issue_setup_code(&data, "root", SystemTime::now()).unwrap();
    let alice = station.setup_first_administrator(&code, &admin).unwrap();
    assert_eq!(alice.role, Role::Administrator);
    assert!(!station.needs_setup().unwrap());

    let inspector = NewPerson {
        login: "ana".into(),
        name: "Ana Vistoriadora".into(),
        cpf: "39053344705".into(),
        role: Role::Inspector,
        password: None,
    };
    station.add_person(&alice, &inspector).unwrap();
    // Without the consent nothing starts.
    assert!(
        station
            .start_enrolment(&alice, "ana", Finger::RightIndex, false)
            .is_err()
    );
    station
        .start_enrolment(&alice, "ana", Finger::RightIndex, true)
        .unwrap();
    let mut results = Vec::new();
    loop {
        let progress = station.enrolment_touch(&alice).unwrap();
        results.push(progress.last.clone());
        if progress.done {
            assert_eq!(progress.accepted, 3);
            break;
        }
        assert!(results.len() < 6, "{results:?}");
    }
    assert!(results[0].is_ok(), "{results:?}");
    let latent = results[1].as_ref().unwrap_err();
    assert!(latent.contains("latente"), "{latent}");
    let dark = results[2].as_ref().unwrap_err();
    assert!(dark.contains("escura demais"), "{dark}");
    assert!(results[3].is_ok() && results[4].is_ok(), "{results:?}");
    let people = station.staff(&alice).unwrap();
    let ana = people.iter().find(|p| p.login == "ana").unwrap();
    assert_eq!(ana.fingers, [Finger::RightIndex]);
    assert!(ana.needs_fingers(), "one finger of two");

    // Another impression of the enrolled finger logs her in; another finger does not.
    let session = station.login_with_fingerprint(Some("ana")).unwrap();
    assert_eq!(
        (session.login.as_str(), session.role),
        ("ana", Role::Inspector)
    );
    assert!(station.login_with_fingerprint(Some("ana")).is_err());

    // An inspector cannot administer; a deactivated one stops logging in at once.
    assert!(station.staff(&session).is_err());
    station.set_person_active(&alice, "ana", false).unwrap();
    assert!(station.inspectors().unwrap().is_empty());

    // The template key is not under the data directory.
    assert!(root.path().join("etc/biometria.key").is_file());
    assert!(!data.join("biometrics/station.key").exists());
}
