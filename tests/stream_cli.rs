//! `vistoria stream` (issue 22, §7): the technician's check of the live view runs the kiosk's
//! streaming code against a real central and the RTSP test camera, and says in one JSON line
//! what went out; outside the station's business hours nothing goes, and it says why.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{Central, central_bin};
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};

const STATION: &str = "ECV-AOVIVO-01";

fn hours(central: &Central, days: &str) {
    let out = Command::new(central_bin())
        .args(["station", "hours", STATION, "--days", days])
        .args(["--periods", "00:00-24:00", "--data"])
        .arg(&central.data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn stream(
    central: &Central,
    token: &str,
    camera: &TestCamera,
) -> (bool, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vistoria"))
        .args(["stream", "--url", &camera.url(), "--central", &central.url])
        .args(["--token", token, "--seconds", "4"])
        .args(["--cert-sha256", central.cert_sha256.as_deref().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.success(),
        serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_technician_checks_the_live_view_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&dir.path().join("central"));
    let token = central.add_station(STATION);
    let camera = TestCamera::start(&CameraConfig {
        fps: 15,
        colour: true,
        ..CameraConfig::default()
    })
    .unwrap();

    // Every day, all day: frames go out at the kiosk's rate, within §7's budget.
    hours(&central, "seg-dom");
    let (ok, report, stderr) = stream(&central, &token, &camera);
    assert!(ok, "{report} {stderr}");
    assert_eq!(report["state"], "streaming", "{report}");
    assert!(report["frames"].as_u64().unwrap() >= 4, "{report}");
    assert!(
        report["kbit_per_second"].as_f64().unwrap() <= 300.0,
        "{report}"
    );
    assert!(stderr.contains("transmitindo"), "{stderr}");

    // A day the station is closed (none is today): nothing goes, and the command says why.
    let weekday = (chrono::Utc::now() - chrono::Duration::hours(4)).format("%u");
    let tomorrow = ["seg", "ter", "qua", "qui", "sex", "sab", "dom"]
        [weekday.to_string().parse::<usize>().unwrap() % 7];
    hours(&central, tomorrow);
    let (ok, report, stderr) = stream(&central, &token, &camera);
    assert!(!ok, "{report}");
    assert_eq!(report["frames"], 0, "{report}");
    assert_eq!(report["state"], "outside_hours", "{report}");
    assert!(stderr.contains("expediente"), "{stderr}");
}
