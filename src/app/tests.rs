//! `iced_test` simulations of the kiosk window: each test starts the real embedded central on
//! loopback and a demo kiosk (simulated camera and reader, real store, real OCR, real matcher)
//! in a temporary folder, then clicks and types through the screens as a person would and
//! checks what the screens and the store end up with. The tasks the screens start run for
//! real (on their worker threads) and their results are fed back, as the window does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;

use iced::futures::StreamExt;
use iced::futures::executor::block_on;
use iced::{Size, Task};
use iced_test::Simulator;
use iced_test::runtime::Action;
use iced_test::selector;
use vistoria_core::domain::{PhotoKind, StateKind};
use vistoria_core::store::OutboxState;

use super::{App, Message, Options, Screen};
use crate::screen::inspection;
use crate::widget;
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};
use vistoria_station::{Station, demo};

#[path = "tests_panoramic.rs"]
mod panoramic;

#[path = "tests_devices.rs"]
mod devices;

#[path = "tests_staff.rs"]
mod staff;

/// A registry vehicle (assets/vehicles.json), a passenger car.
const PLATE: &str = "QTK3308";
const RENAVAM: &str = "43787047302";

/// Scrolls the scrollable under the target until the target is on screen.
fn reveal<S>(ui: &mut Simulator<'_, Message>, selector: S)
where
    S: selector::Selector + Send + Clone,
    S::Output: selector::Bounded + Clone + Send,
{
    use iced::mouse::{Event as Mouse, ScrollDelta};
    use selector::Bounded;
    for _ in 0..120 {
        let Ok(target) = ui.find(selector.clone()) else {
            return;
        };
        if target.visible_bounds().is_some() {
            return;
        }
        let b = target.bounds();
        let down = b.y > 400.0;
        ui.point_at(iced::Point::new(b.x + b.width / 2.0, 500.0));
        ui.simulate([iced::Event::Mouse(Mouse::WheelScrolled {
            delta: ScrollDelta::Lines {
                x: 0.0,
                y: if down { -1.0 } else { 1.0 },
            },
        })]);
    }
}

/// Set in the child run of a test that signs with the demo token.
const CHILD: &str = "VISTORIA_UI_TEST_CHILD";

/// Tests that sign with the demo's SoftHSM2 e-CPF token run in a child process of this test
/// binary whose `SOFTHSM2_CONF` names the token in the test's folder: SoftHSM2 reads its
/// configuration only from the environment, and a test may not change its own (edition 2024).
/// Returns the folder in the child; in the parent `None`, once the child passed, or at once
/// when SoftHSM2 is not installed (skipped with a message).
fn signing_child(test: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CHILD) {
        return Some(PathBuf::from(dir));
    }
    let missing = vistoria_core::signing::test_pki::missing_tools(true);
    if !missing.is_empty() {
        eprintln!(
            "SKIP: {} not installed (installer/setup-dev.sh)",
            missing.join(", ")
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!("app::tests::{test}");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, dir.path())
        .env(
            "SOFTHSM2_CONF",
            vistoria_station::card::demo_softhsm_conf(&dir.path().join("kiosk")),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child run of {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    None
}

struct Harness {
    app: App,
    kiosk: Station,
    camera: Option<TestCamera>,
    _dir: Option<tempfile::TempDir>,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_bay_camera(false, None)
    }

    /// With `bay_camera`, a local RTSP server plays the panoramic camera (§17). In `root`
    /// when given (a signing child's folder), else in a new temporary folder.
    fn with_bay_camera(bay_camera: bool, root: Option<PathBuf>) -> Harness {
        let config = CameraConfig {
            width: 960,
            height: 540,
            fps: 8,
            ..CameraConfig::default()
        };
        Harness::with_camera(bay_camera.then_some(config), root)
    }

    /// With `camera`, a local RTSP server sending it plays the panoramic camera.
    fn with_camera(camera: Option<CameraConfig>, root: Option<PathBuf>) -> Harness {
        let (dir, root) = match root {
            Some(root) => (None, root),
            None => {
                let dir = tempfile::tempdir().unwrap();
                let root = dir.path().to_path_buf();
                (Some(dir), root)
            }
        };
        let bay = camera.map(|config| TestCamera::start(&config).unwrap());
        let kiosk = vistoria_station::embedded_central::demo_station(
            &root,
            "ECV-TESTE-01",
            bay.as_ref().map(TestCamera::url).as_deref(),
        )
        .unwrap();
        let mut h = Harness::with_kiosk(kiosk, dir);
        h.camera = bay;
        h
    }

    /// The window over an opened station.
    fn with_kiosk(kiosk: Station, dir: Option<tempfile::TempDir>) -> Harness {
        // The station worker's first job in the real window; the harness runs no worker.
        kiosk.sync_clock().unwrap();
        let (app, boot) = App::new(
            kiosk.clone(),
            Options {
                kiosk_mode: true,
                size: (1280.0, 800.0),
                started: Instant::now(),
                exit_after_first_frame: false,
                tour: None,
            },
        );
        let mut h = Harness {
            app,
            kiosk,
            camera: None,
            _dir: dir,
        };
        h.run(boot);
        h
    }

    /// Runs a task to its end, feeding every message it produces back into the app.
    fn run(&mut self, task: Task<Message>) {
        let Some(mut stream) = iced_test::runtime::task::into_stream(task) else {
            return;
        };
        while let Some(action) = block_on(stream.next()) {
            if let Action::Output(message) = action {
                let next = self.app.update(message);
                self.run(next);
            }
        }
    }

    fn send(&mut self, message: Message) {
        let task = self.app.update(message);
        self.run(task);
    }

    fn simulator(&self) -> Simulator<'_, Message> {
        let settings = iced::Settings {
            fonts: vec![
                widget::FONT_REGULAR_BYTES.into(),
                widget::FONT_BOLD_BYTES.into(),
            ],
            default_font: widget::FONT,
            ..iced::Settings::default()
        };
        Simulator::with_size(settings, Size::new(1280.0, 800.0), self.app.view())
    }

    /// Clicks what `target` selects (a text or a widget id), scrolling to it as a person
    /// would, and processes the result.
    fn click(&mut self, target: &str) {
        let messages: Vec<Message> = {
            let mut ui = self.simulator();
            let by_text = ui.find(target).is_ok();
            let clicked = if by_text {
                reveal(&mut ui, target);
                ui.click(target).map(|_| ())
            } else {
                let id = iced::widget::Id::from(target.to_owned());
                reveal(&mut ui, id.clone());
                ui.click(id).map(|_| ())
            };
            clicked.unwrap_or_else(|e| panic!("nada clicável em {target:?}: {e}"));
            ui.into_messages().collect()
        };
        for m in messages {
            self.send(m);
        }
    }

    /// Clicks the field with id `id` and types `text`.
    fn type_into(&mut self, id: &'static str, text: &str) {
        let messages: Vec<Message> = {
            let mut ui = self.simulator();
            reveal(&mut ui, iced::widget::Id::from(id));
            ui.click(selector::id(id)).unwrap();
            ui.typewrite(text);
            ui.into_messages().collect()
        };
        for m in messages {
            self.send(m);
        }
    }

    /// Clicks the field with id `id`, empties it and types `text`.
    fn replace(&mut self, id: &'static str, text: &str) {
        use iced::keyboard::key::Named;
        let messages: Vec<Message> = {
            let mut ui = self.simulator();
            reveal(&mut ui, iced::widget::Id::from(id));
            ui.click(selector::id(id)).unwrap();
            ui.tap_key(Named::End);
            for _ in 0..40 {
                ui.tap_key(Named::Backspace);
            }
            ui.typewrite(text);
            ui.into_messages().collect()
        };
        for m in messages {
            self.send(m);
        }
    }

    fn audit_actions(&self) -> Vec<String> {
        let db = vistoria_core::paths::database_in(&self.kiosk.data_dir());
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT action FROM audit_log ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn audit_detail(&self, action: &str) -> serde_json::Value {
        let db = vistoria_core::paths::database_in(&self.kiosk.data_dir());
        let conn = rusqlite::Connection::open(db).unwrap();
        let detail: String = conn
            .query_row(
                "SELECT detail FROM audit_log WHERE action = ?1 ORDER BY seq DESC LIMIT 1",
                [action],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&detail).unwrap()
    }

    /// Central time of the latest audit row of `action`.
    fn audit_at(&self, action: &str) -> chrono::DateTime<chrono::Utc> {
        let db = vistoria_core::paths::database_in(&self.kiosk.data_dir());
        let conn = rusqlite::Connection::open(db).unwrap();
        let at: String = conn
            .query_row(
                "SELECT at FROM audit_log WHERE action = ?1 ORDER BY seq DESC LIMIT 1",
                [action],
                |r| r.get(0),
            )
            .unwrap();
        at.parse().unwrap()
    }

    fn sees(&self, text: &str) -> bool {
        self.simulator().find(text).is_ok()
    }

    fn login_password(&mut self, login: &str, password: &str) {
        self.replace(crate::screen::login::LOGIN_INPUT, login);
        self.type_into(crate::screen::login::PASSWORD_INPUT, password);
        self.click("Entrar");
    }

    fn open_inspection(&mut self) {
        use crate::screen::counter::*;
        self.login_password(demo::OPERATOR, demo::PASSWORD);
        self.type_into(PLATE_INPUT, PLATE);
        self.type_into(RENAVAM_INPUT, RENAVAM);
        self.click("Consultar e abrir vistoria");
    }

    fn inspector_takes_it(&mut self) {
        self.click("Sair");
        self.click("Vistoriador (digital)");
        self.click("Ler digital");
        assert_eq!(self.app.session().unwrap().login, demo::INSPECTOR);
        self.click("Vistoriar");
        assert!(matches!(self.app.screen(), Screen::Inspection(_)));
    }

    fn inspection(&self) -> &inspection::State {
        match self.app.screen() {
            Screen::Inspection(s) => s,
            _ => panic!("não está na tela de vistoria"),
        }
    }

    /// Photographs every required photo by clicking "Capturar", doing the §6 correction if
    /// the reading asks for it. The panoramic photo (§7 a) the station took as capture
    /// started; if the camera had not given it, it is asked for again.
    fn take_all_photos(&mut self) {
        let required = self.inspection().row().required.clone();
        self.wait_for_film();
        for kind in required {
            if kind.is_automatic() {
                let taken = |h: &Harness| h.inspection().shots().iter().any(|s| s.kind == kind);
                if !taken(self) {
                    self.click(&format!("foto-{}", kind.code()));
                    self.click(inspection::photos::RETAKE_PANORAMIC);
                }
                assert!(taken(self), "{:?}", self.inspection().error());
                continue;
            }
            self.click(&format!("foto-{}", kind.code()));
            self.click("Capturar");
            let s = self.inspection();
            assert!(s.error().is_none(), "{:?}", s.error());
            let shot = s.shots().last().unwrap();
            assert_eq!(shot.kind, kind);
            assert_eq!(shot.md5.len(), 32);
            if shot.ocr.as_ref().is_some_and(|o| o.needs_correction) {
                self.correct_plate();
            }
        }
    }

    /// §4: with a bay camera, capture is refused until the film receives frames; waits for the
    /// first ones (the camera's start-up, not a timing under test).
    fn wait_for_film(&self) {
        let id = self.inspection().row().id;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.kiosk.film_state(id) != vistoria_core::film::FilmState::Recording
            && self.kiosk.film_state(id) != vistoria_core::film::FilmState::NoPanoramicCamera
        {
            assert!(
                std::time::Instant::now() < deadline,
                "a filmagem não começou: {:?}",
                self.kiosk.film_state(id)
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn correct_plate(&mut self) {
        use crate::screen::inspection::photos::*;
        self.type_into(CORRECTION_PLATE, PLATE);
        self.type_into(CORRECTION_RENAVAM, RENAVAM);
        self.type_into(CORRECTION_REASON, "placa com reflexo na foto");
        self.click("Registrar correção");
        assert!(
            self.inspection().error().is_none(),
            "{:?}",
            self.inspection().error()
        );
    }

    fn fill_checklist(&mut self, non_conforming: Option<&str>) {
        self.click("2. Checklist");
        let items: Vec<_> = self
            .inspection()
            .row()
            .checklist
            .iter()
            .map(|(i, _, _)| *i)
            .collect();
        for item in items {
            if Some(item.code()) == non_conforming {
                self.click(&format!("nc-{}", item.code()));
                self.type_into(
                    crate::screen::inspection::checklist::NOTE_INPUT,
                    "sulco abaixo do mínimo",
                );
                self.click("Registrar não conformidade");
            } else {
                self.click(&format!("ok-{}", item.code()));
            }
        }
        let row = self.inspection().row();
        assert!(row.checklist.iter().all(|(_, c, _)| c.is_some()), "{row:?}");
    }

    fn store_state(&self, plate: &str) -> (StateKind, Option<OutboxState>) {
        let rows = self.kiosk.inspections_today().unwrap();
        let row = rows
            .iter()
            .find(|r| r.plate.replace('-', "") == plate)
            .unwrap();
        let outbox = self
            .kiosk
            .outbox()
            .unwrap()
            .into_iter()
            .find(|o| o.id == row.id)
            .map(|o| o.state);
        (row.state, outbox)
    }
}

#[test]
fn wrong_credentials_do_not_say_which_part_and_repeated_failures_lock() {
    let mut h = Harness::new();
    h.login_password("operador", "senha-errada");
    assert!(h.sees("usuário ou credencial incorretos"));
    h.login_password("ninguem", demo::PASSWORD);
    assert!(h.sees("usuário ou credencial incorretos"));
    assert!(h.app.session().is_none());
    for _ in 0..4 {
        h.login_password("operador", "senha-errada");
    }
    assert!(h.sees("muitas tentativas sem sucesso: aguarde 5 min e tente de novo"));
    // Locked even with the right password, while the lock lasts.
    h.login_password("operador", demo::PASSWORD);
    assert!(h.app.session().is_none());
    // Another user is not locked.
    h.login_password(demo::TECHNICIAN, demo::PASSWORD);
    assert_eq!(h.app.session().unwrap().login, demo::TECHNICIAN);
    assert!(matches!(h.app.screen(), Screen::Diagnostics(_)));
}

#[test]
fn the_counter_shows_precise_query_errors_then_opens_the_inspection() {
    use crate::screen::counter::*;
    let mut h = Harness::new();
    h.login_password(demo::OPERATOR, demo::PASSWORD);
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    // A RENAVAM with a wrong check digit never reaches the central.
    h.type_into(PLATE_INPUT, PLATE);
    h.type_into(RENAVAM_INPUT, "43787047301");
    h.click("Consultar e abrir vistoria");
    assert!(h.sees("o dígito verificador do RENAVAM não confere"));
    // A valid plate that the registry does not have: the central's own reason.
    h.replace(RENAVAM_INPUT, RENAVAM);
    h.replace(PLATE_INPUT, "ZZZ9Z99");
    h.click("Consultar e abrir vistoria");
    let Screen::Counter(s) = h.app.screen() else {
        panic!()
    };
    let error = s.error().unwrap().to_owned();
    assert!(error.starts_with("o servidor central recusou"), "{error}");
    assert!(s.opened().is_none());
    // Neither RENAVAM nor chassis.
    h.replace(PLATE_INPUT, PLATE);
    h.replace(RENAVAM_INPUT, "");
    h.click("Consultar e abrir vistoria");
    assert!(h.sees("Informe o RENAVAM ou o chassi junto com a placa (§5)"));
    // The right one opens, with the central's data and the 4 h window.
    h.type_into(RENAVAM_INPUT, RENAVAM);
    h.click("Consultar e abrir vistoria");
    let Screen::Counter(s) = h.app.screen() else {
        panic!()
    };
    let opened = s.opened().expect("aberta").clone();
    assert_eq!(opened.plate, "QTK-3308");
    assert_eq!(opened.vehicle, "FIAT/ARGO DRIVE");
    assert_eq!(
        opened.deadline - opened.queried_at,
        chrono::Duration::hours(4)
    );
    assert_eq!(s.rows().len(), 1);
    assert!(h.sees("Vistoria aberta: QTK-3308"));
    assert!(h.sees("faltam 3h59min") || h.sees("faltam 4h00min"));
}

#[test]
fn a_whole_inspection_from_counter_to_delivered_package() {
    let Some(root) = signing_child("a_whole_inspection_from_counter_to_delivered_package") else {
        return;
    };
    let mut h = Harness::fixed_station(Some(root));
    h.open_inspection();
    h.inspector_takes_it();
    assert_eq!(h.inspection().row().state, StateKind::Capturing);
    // §7 a: at a fixed station the panoramic photo comes first and is taken as capture starts.
    assert_eq!(h.inspection().row().required[0], PhotoKind::Panoramic);
    assert_eq!(h.inspection().row().required.len(), 10);
    h.take_all_photos();
    // The rear photo was read and checked against the typed plate (§6).
    let rear = h
        .inspection()
        .shots()
        .iter()
        .find(|s| s.kind == PhotoKind::RearWithPlate)
        .unwrap()
        .clone();
    assert!(rear.ocr.is_some());
    // A retake asks for a reason and keeps the first photo.
    h.click("foto-front");
    h.click("Refazer");
    h.type_into(
        crate::screen::inspection::photos::RETAKE_INPUT,
        "foto tremida",
    );
    h.click("Refazer foto");
    let fronts = h
        .inspection()
        .shots()
        .iter()
        .filter(|s| s.kind == PhotoKind::Front)
        .count();
    assert_eq!(fronts, 2);
    h.click("Foto adicional");
    assert_eq!(
        h.inspection().shots().last().unwrap().kind,
        PhotoKind::Additional
    );
    h.fill_checklist(Some("tyres"));
    h.click("3. Conclusão");
    assert!(h.sees("Resultado: Não conforme: Pneus"));
    h.click("Concluir vistoria");
    assert!(matches!(h.app.screen(), Screen::Signature(_)));
    // Signing needs the fingerprint first.
    h.click("Conferir digital");
    let Screen::Signature(s) = h.app.screen() else {
        panic!()
    };
    assert!(s.confirmed(), "{:?}", s.error());
    // Then the e-CPF card's PIN (§14): the demo's SoftHSM2 token.
    h.type_into(
        crate::screen::signature::PIN_INPUT,
        vistoria_core::signing::test_pki::TOKEN_PIN,
    );
    h.click("Assinar laudo");
    assert!(
        matches!(h.app.screen(), Screen::Counter(_)),
        "{:?}",
        match h.app.screen() {
            Screen::Signature(s) => s.error(),
            _ => None,
        }
    );
    let notice = h.app.notice().unwrap();
    assert!(
        notice.starts_with("Laudo de QTK-3308 assinado e colocado na fila de envio. Assinado por ANA PAULA SOUZA (certificado "),
        "{notice}"
    );
    assert!(
        notice.contains("Sem impressora configurada: laudo salvo em "),
        "{notice}"
    );
    // The laudo and its P7S are the inspection's media, and the P7S verifies over the laudo
    // with the inspector's CPF in the certificate (what the central checks too).
    let signed = h.audit_detail("inspection.signed");
    assert_eq!(
        signed["certificate"]["holder"], "ANA PAULA SOUZA",
        "{signed}"
    );
    assert_eq!(signed["p7s_sha256"].as_str().unwrap().len(), 64, "{signed}");
    assert!(
        signed["biometric_confirmation"]["at"].is_string(),
        "{signed}"
    );
    let pdf = notice.rsplit(' ').next().unwrap().to_owned();
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    // The PDF's signature block: holder, certificate serial and the P7S's SHA-256 (§14).
    if let Ok(out) = std::process::Command::new("pdftotext")
        .args([pdf.as_str(), "-"])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        let sha = signed["p7s_sha256"].as_str().unwrap();
        assert!(text.contains(&sha[..32]), "{text}");
        assert!(
            text.contains(signed["certificate"]["serial"].as_str().unwrap()),
            "{text}"
        );
        assert!(text.contains("ANA PAULA SOUZA"), "{text}");
        assert!(!text.contains("RASCUNHO"), "{text}");
    }
    let (state, _) = h.store_state(PLATE);
    assert!(
        matches!(state, StateKind::Queued | StateKind::Delivered),
        "{state:?}"
    );
    // Envios: the package is delivered and shows the laudo number.
    h.click("Envios");
    h.click("Enviar agora");
    let Screen::Outbox(s) = h.app.screen() else {
        panic!()
    };
    let row = &s.rows()[0];
    assert_eq!(row.state, OutboxState::Delivered, "{row:?}");
    assert!(row.laudo_number.is_some());
    assert!(h.sees(&format!(
        "Laudo nº {}",
        row.laudo_number.as_deref().unwrap()
    )));
    assert_eq!(
        h.store_state(PLATE),
        (StateKind::Delivered, Some(OutboxState::Delivered))
    );
    // §9: the receipt took the PDF with the photos; Envios offers no reprint and says why.
    assert!(
        !std::path::Path::new(&pdf).exists(),
        "{pdf} kept after delivery"
    );
    assert!(!row.laudo_pdf, "{row:?}");
    assert!(!h.sees("Imprimir laudo"));
    let url = row.verify_url.clone().unwrap();
    assert!(
        url.ends_with(&format!("/v/{}", row.laudo_number.as_deref().unwrap())),
        "{url}"
    );
    assert!(h.sees(&format!(
        "Laudo entregue: a cópia desta estação foi apagada (§9) e a via impressa é a única. \
         Conferência em {url}"
    )));
    // The bay camera filmed it from the opening to the signature, and the film went with it.
    let audit = h.audit_actions();
    assert!(audit.iter().any(|a| a == "panoramic.started"), "{audit:?}");
    let stopped = h.audit_detail("panoramic.stopped");
    assert!(stopped["segments"].as_u64().unwrap() >= 1, "{stopped}");
    // The film covers the time from the opening to the signature, less the camera's start
    // (connecting to the RTSP stream, the first keyframe).
    let span = (h.audit_at("panoramic.stopped") - h.audit_at("panoramic.started")).as_seconds_f64();
    assert!(
        stopped["seconds"].as_f64().unwrap() > span - 2.0,
        "{stopped} over {span} s"
    );
}

#[test]
fn a_plate_that_does_not_match_needs_the_section_6_correction() {
    let mut h = Harness::new();
    h.open_inspection();
    h.inspector_takes_it();
    h.kiosk.demo_show_other_plate(true);
    h.click("foto-rear_with_plate");
    h.click("Capturar");
    let shot = h.inspection().shots().last().unwrap().clone();
    let ocr = shot.ocr.clone().unwrap();
    assert!(ocr.needs_correction, "{ocr:?}");
    assert_ne!(ocr.read.as_deref(), Some(PLATE));
    // Cannot go on before correcting.
    h.click("2. Checklist");
    assert_eq!(h.inspection().step(), inspection::Step::Photos);
    assert!(
        h.inspection()
            .error()
            .unwrap()
            .contains("registre a correção (§6)")
    );
    h.click("Fechar");
    // A wrong RENAVAM in the form is refused with its reason; the right one is recorded.
    use crate::screen::inspection::photos::*;
    h.type_into(CORRECTION_PLATE, PLATE);
    h.type_into(CORRECTION_RENAVAM, "11111111111");
    h.type_into(CORRECTION_REASON, "placa trocada na foto");
    h.click("Registrar correção");
    assert!(h.inspection().error().is_some());
    h.replace(CORRECTION_RENAVAM, RENAVAM);
    h.click("Registrar correção");
    assert!(
        h.inspection().error().is_none(),
        "{:?}",
        h.inspection().error()
    );
    h.click("2. Checklist");
    assert_eq!(h.inspection().step(), inspection::Step::Checklist);
    let audit = h.audit_actions();
    assert!(audit.iter().any(|a| a == "ocr.corrected"), "{audit:?}");
}

#[test]
fn an_interrupted_inspection_is_queued_with_its_cause() {
    let mut h = Harness::new();
    h.open_inspection();
    h.inspector_takes_it();
    h.click("3. Conclusão");
    assert!(h.sees("Ainda não: 9 foto(s) por tirar, checklist incompleto"));
    h.click("causa-customer_gave_up");
    h.click("Interromper vistoria");
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    assert!(h.sees("Vistoria QTK-3308 interrompida e colocada na fila de envio"));
    let (state, outbox) = h.store_state(PLATE);
    assert!(
        matches!(state, StateKind::Queued | StateKind::Delivered),
        "{state:?}"
    );
    assert!(outbox.is_some());
}

#[test]
fn another_persons_finger_neither_logs_in_nor_signs() {
    let mut h = Harness::new();
    h.click("Vistoriador (digital)");
    h.click("Dedo de outra pessoa");
    h.click("Ler digital");
    assert!(h.app.session().is_none());
    let Screen::Login(s) = h.app.screen() else {
        panic!()
    };
    assert_eq!(
        s.error().as_deref(),
        Some("usuário ou credencial incorretos")
    );
    h.click("Dedo de Ana Paula (vistoriadora)");
    h.click("Ler digital");
    assert_eq!(h.app.session().unwrap().login, demo::INSPECTOR);
}

#[test]
fn diagnostics_show_devices_faults_and_export_a_support_zip() {
    let mut h = Harness::new();
    h.login_password(demo::TECHNICIAN, demo::PASSWORD);
    let Screen::Diagnostics(s) = h.app.screen() else {
        panic!()
    };
    let report = s.report().unwrap();
    assert!(
        report.central.latency.is_ok(),
        "{:?}",
        report.central.latency
    );
    assert!(report.audit.is_ok());
    assert!(h.sees("pronto"));
    // The signature's card: the demo's SoftHSM2 token (or it being made), and the readers as
    // pcscd sees them, or why it cannot say.
    assert!(h.sees("Cartão e-CPF (§14)"));
    assert!(!report.card.is_empty());
    assert!(h.sees(&report.card), "{}", report.card);
    match &report.readers {
        Ok(readers) if readers.is_empty() => {
            assert!(h.sees("Nenhuma leitora de cartão conectada"));
        }
        Ok(readers) => assert!(readers.iter().any(|(r, present)| h.sees(&format!(
            "{r}: {}",
            if *present {
                "cartão inserido"
            } else {
                "sem cartão"
            }
        )))),
        Err(e) => assert!(h.sees(&format!("Leitoras: {e}"))),
    }
    h.click("Desconectar a câmera");
    assert!(h.sees("ausente"));
    h.click("testar-Camera");
    assert!(h.sees("Autoteste falhou: dispositivo não encontrado: câmera desconectada"));
    h.click("Câmera normal");
    h.click("testar-Camera");
    assert!(!h.sees("Autoteste falhou: dispositivo não encontrado: câmera desconectada"));
    h.click("Exportar registros (zip)");
    let Screen::Diagnostics(_) = h.app.screen() else {
        panic!()
    };
    let zip = std::fs::read_dir(h.kiosk.data_dir().join("suporte"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&zip).unwrap();
    assert!(bytes.starts_with(b"PK"));
    // Only the technician's menu leaves kiosk mode: a close request is ignored.
    let task = h.app.update(Message::CloseRequested);
    assert!(iced_test::runtime::task::into_stream(task).is_none());
}

#[test]
fn operators_cannot_reach_diagnostics() {
    let mut h = Harness::new();
    h.login_password(demo::OPERATOR, demo::PASSWORD);
    assert!(!h.sees("Diagnóstico"));
    h.send(Message::Go(super::Nav::Diagnostics));
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
}

#[test]
fn a_wrong_pin_is_said_and_the_inspection_waits_for_the_right_one() {
    let Some(root) =
        signing_child("a_wrong_pin_is_said_and_the_inspection_waits_for_the_right_one")
    else {
        return;
    };
    use crate::screen::signature::PIN_INPUT;
    let mut h = Harness::with_bay_camera(false, Some(root));
    h.open_inspection();
    h.inspector_takes_it();
    h.take_all_photos();
    h.fill_checklist(None);
    h.click("3. Conclusão");
    h.click("Concluir vistoria");
    h.click("Conferir digital");
    h.type_into(PIN_INPUT, "000000");
    h.click("Assinar laudo");
    // §14: the card refused the PIN; nothing was signed, stored or queued.
    let Screen::Signature(s) = h.app.screen() else {
        panic!("saiu da assinatura")
    };
    assert_eq!(
        s.error().as_deref(),
        Some("PIN incorreto; confira e digite de novo")
    );
    assert!(h.sees("PIN incorreto; confira e digite de novo"));
    assert_eq!(h.store_state(PLATE), (StateKind::Concluded, None));
    let failed = h.audit_detail("inspection.sign_failed");
    assert_eq!(failed["reason"], "PIN incorreto; confira e digite de novo");
    // The PIN is typed again and the laudo signed.
    h.type_into(PIN_INPUT, vistoria_core::signing::test_pki::TOKEN_PIN);
    h.click("Assinar laudo");
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    let (state, outbox) = h.store_state(PLATE);
    assert!(
        matches!(state, StateKind::Queued | StateKind::Delivered),
        "{state:?}"
    );
    assert!(outbox.is_some());
}

#[test]
fn a_late_answer_for_another_inspection_does_not_land_on_the_one_shown() {
    use vistoria_core::domain::InspectionId;
    use vistoria_station::Failure;

    let mut h = Harness::new();
    h.open_inspection();
    h.inspector_takes_it();
    let shown = h.inspection().row().id;
    // The answer to a conclusion asked for another inspection, arriving late.
    let other = InspectionId::new();
    h.send(Message::Inspection(inspection::Message::Ended(
        other,
        Err(Failure::rule("Faltam fotos: Traseira")),
    )));
    assert!(
        h.inspection().error().is_none(),
        "{:?}",
        h.inspection().error()
    );
    assert_eq!(h.inspection().row().id, shown);
    // The same answer for the inspection shown does land.
    h.send(Message::Inspection(inspection::Message::Ended(
        shown,
        Err(Failure::rule("Faltam fotos: Traseira")),
    )));
    assert_eq!(
        h.inspection().error().as_deref(),
        Some("Faltam fotos: Traseira")
    );
}
