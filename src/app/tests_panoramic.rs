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

#[test]
fn diagnostics_calibrate_the_bay_and_show_what_it_sees() {
    use crate::screen::diagnostics::bay::{
        CAPTURE_BUTTON, REFERENCE_CAPTURED, REGION_BUTTON, REGION_INPUTS,
    };
    use vistoria_station::BayNow;

    let mut h = Harness::with_bay_camera(true, None);
    h.login_password(super::demo::TECHNICIAN, super::demo::PASSWORD);
    // Demo mode starts calibrated with the simulated camera's bare floor.
    assert!(h.sees("Calibrada com a imagem conhecida da câmera simulada (demonstração)"));
    assert!(h.sees("Região: esquerda 10 %, topo 10 %, largura 80 %, altura 80 %"));

    // The region: four percentages, kept by the station and audited.
    for (id, value) in REGION_INPUTS.iter().zip(["5", "10", "90", "85"]) {
        h.replace(id, value);
    }
    h.click(REGION_BUTTON);
    assert!(h.sees("Região definida: esquerda 5 %, topo 10 %, largura 90 %, altura 85 %"));
    assert_eq!(h.count_audit("panoramic.bay_region_set"), 1);

    // The demo's switch empties the bay; the technician captures it.
    h.kiosk.demo_set_bay_camera(h.camera.take().unwrap());
    h.click("Baia vazia (panorâmica)");
    std::thread::sleep(Duration::from_secs(1));
    h.click(CAPTURE_BUTTON);
    assert!(h.sees(REFERENCE_CAPTURED), "the capture failed");
    let info = |h: &Harness| match h.app.screen() {
        super::Screen::Diagnostics(s) => s.bay().info().cloned().expect("calibration read"),
        _ => panic!("não está no Diagnóstico"),
    };
    let reference = info(&h).reference.expect("calibrated");
    assert_eq!(reference.set.login, super::demo::TECHNICIAN);
    let when = crate::widget::local(reference.set.at.expect("central time"));
    assert!(h.sees(format!("Calibrada em {when} por {}", super::demo::TECHNICIAN).as_str()));
    assert_eq!(h.count_audit("panoramic.bay_reference_captured"), 1);

    // What the camera shows now, judged against it: empty, then the vehicle back.
    let judged = |h: &mut Harness, vehicle: bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            h.click("Ver agora");
            let now = info(h);
            if matches!(now.now, BayNow::Seen { vehicle: v, .. } if v == vehicle) {
                assert!(h.sees(crate::screen::diagnostics::bay::now_text(&now).as_str()));
                return true;
            }
            std::thread::sleep(Duration::from_millis(400));
        }
        false
    };
    assert!(judged(&mut h, false), "the empty bay was not seen empty");
    h.click("Veículo na baia");
    assert!(judged(&mut h, true), "the vehicle was not seen");
}
