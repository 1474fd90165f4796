//! The panoramic camera in the window: the inspector warned while the bay looks empty (§4,
//! §17e), and the technician's camera check in Diagnóstico. Same harness as the other window
//! tests: real embedded central, demo kiosk, a real RTSP camera on loopback.

use std::time::{Duration, Instant};

use super::{Harness, Message};
use crate::screen::inspection;
use crate::screen::inspection::photos::BAY_EMPTY;

impl Harness {
    /// Lets the inspection screen poll (preview and bay) until `done`, for up to `limit`.
    fn poll_inspection_until(&mut self, limit: Duration, done: impl Fn(&Harness) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            self.send(Message::Inspection(inspection::Message::PreviewTick));
            if done(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(400));
        }
        false
    }

    fn count_audit(&self, action: &str) -> usize {
        self.audit_actions().iter().filter(|a| *a == action).count()
    }
}

#[test]
fn an_empty_bay_warns_the_inspector_and_is_audited_once_per_episode() {
    let mut h = Harness::with_bay_camera(true, None);
    h.open_inspection();
    h.inspector_takes_it();
    // The vehicle (the moving test pattern) is in the bay: no warning.
    assert!(h.poll_inspection_until(Duration::from_secs(20), |h| {
        h.kiosk.bay_presence(h.inspection().row().id)
            == Some(vistoria_drivers::panoramic::Presence::Present)
    }));
    assert!(!h.sees(BAY_EMPTY));

    // The bay empties (a still picture), as the demo's Diagnóstico switch does it: after the
    // detector's hold time the warning shows.
    h.kiosk.demo_set_bay_camera(h.camera.take().unwrap());
    h.kiosk.demo_show_empty_bay(true);
    assert!(
        h.poll_inspection_until(Duration::from_secs(30), |h| h.sees(BAY_EMPTY)),
        "the warning never showed"
    );
    // The worker drains the recorder's events into the audit log (done by hand here).
    for _ in 0..3 {
        h.kiosk.record_panoramic_events();
    }
    assert_eq!(h.count_audit("panoramic.bay_empty"), 1);

    // The vehicle is back: the warning goes, the episode is closed once.
    h.kiosk.demo_show_empty_bay(false);
    assert!(
        h.poll_inspection_until(Duration::from_secs(20), |h| !h.sees(BAY_EMPTY)),
        "the warning stayed"
    );
    for _ in 0..3 {
        h.kiosk.record_panoramic_events();
    }
    assert_eq!(h.count_audit("panoramic.bay_empty"), 1);
    assert_eq!(h.count_audit("panoramic.bay_occupied"), 1);
}

#[test]
fn diagnostics_test_the_panoramic_camera_and_show_it_live() {
    use crate::screen::diagnostics::{self, CONFIG_HINT, PANORAMIC_TEST_FAILED};

    let mut h = Harness::with_bay_camera(true, None);
    h.login_password(super::demo::TECHNICIAN, super::demo::PASSWORD);
    let url = h.camera.as_ref().unwrap().url();
    // The address is shown (no credentials in this one), read-only, with where to change it.
    assert!(h.sees(format!("Endereço: {url}").as_str()));
    assert!(h.sees(CONFIG_HINT));

    h.click("testar-panoramica");
    let diagnostics_state = |h: &Harness| match h.app.screen() {
        super::Screen::Diagnostics(s) => s.camera_test().cloned(),
        _ => panic!("não está no Diagnóstico"),
    };
    let format = diagnostics_state(&h)
        .expect("the test ended")
        .expect("the camera answered");
    assert_eq!(format.source_codec, "H264");
    assert_eq!((format.source_width, format.source_height), (960, 540));
    assert!((format.source_fps - 8.0).abs() < 0.01, "{format:?}");
    assert!(h.sees(diagnostics::format_found(&format).as_str()));

    // The live view comes from the test connection's preview branch.
    let deadline = Instant::now() + Duration::from_secs(10);
    let has_frame = |h: &Harness| match h.app.screen() {
        super::Screen::Diagnostics(s) => s.has_panoramic_frame(),
        _ => false,
    };
    while !has_frame(&h) && Instant::now() < deadline {
        h.send(Message::Diagnostics(diagnostics::Message::PanoramicTick));
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(has_frame(&h), "no live frame");
    h.click("Parar imagem ao vivo");
    assert!(!has_frame(&h));

    // The camera goes away: the test says so clearly.
    drop(h.camera.take());
    h.click("testar-panoramica");
    let failed = diagnostics_state(&h).expect("the test ended");
    let error = failed.expect_err("no camera to answer");
    assert!(h.sees(format!("{PANORAMIC_TEST_FAILED}: {error}").as_str()));
}
