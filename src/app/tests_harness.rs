//! The window under test: a demo kiosk (or any opened station) behind the real `App`, with
//! a person's clicks and keystrokes through `iced_test`, the tasks run for real, and the
//! store read back. Shared by every `app::tests` module.

use std::path::PathBuf;
use std::time::Instant;

use iced::futures::StreamExt;
use iced::futures::executor::block_on;
use iced::{Size, Task};
use iced_test::Simulator;
use iced_test::runtime::Action;
use iced_test::selector;
use vistoria_core::domain::StateKind;
use vistoria_core::store::OutboxState;

use super::super::{App, Message, Options, Screen};
use crate::screen::inspection;
use crate::widget;
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};
use vistoria_station::{Station, demo};

/// A registry vehicle (assets/vehicles.json), a passenger car.
pub(crate) const PLATE: &str = "QTK3308";
pub(crate) const RENAVAM: &str = "43787047302";

/// Scrolls the scrollable under the target until the target is on screen.
pub(crate) fn reveal<S>(ui: &mut Simulator<'_, Message>, selector: S)
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

/// Runs `test` (a path under `app::tests`) in a child process with the demo token's
/// `SOFTHSM2_CONF` ([`vistoria_station::signing_child`]); in the child, returns its folder.
pub(crate) fn signing_child(test: &str) -> Option<PathBuf> {
    vistoria_station::signing_child::signing_child(&format!("app::tests::{test}"))
}

pub(crate) struct Harness {
    pub(crate) app: App,
    pub(crate) kiosk: Station,
    pub(crate) camera: Option<TestCamera>,
    pub(crate) _dir: Option<tempfile::TempDir>,
}

impl Harness {
    pub(crate) fn new() -> Harness {
        Harness::with_bay_camera(false, None)
    }

    /// With `bay_camera`, a local RTSP server plays the panoramic camera (§17). In `root`
    /// when given (a signing child's folder), else in a new temporary folder.
    pub(crate) fn with_bay_camera(bay_camera: bool, root: Option<PathBuf>) -> Harness {
        let config = CameraConfig {
            width: 960,
            height: 540,
            fps: 8,
            ..CameraConfig::default()
        };
        Harness::with_camera(bay_camera.then_some(config), root)
    }

    /// With `camera`, a local RTSP server sending it plays the panoramic camera.
    pub(crate) fn with_camera(camera: Option<CameraConfig>, root: Option<PathBuf>) -> Harness {
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
    pub(crate) fn with_kiosk(kiosk: Station, dir: Option<tempfile::TempDir>) -> Harness {
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
    pub(crate) fn run(&mut self, task: Task<Message>) {
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

    pub(crate) fn send(&mut self, message: Message) {
        let task = self.app.update(message);
        self.run(task);
    }

    pub(crate) fn simulator(&self) -> Simulator<'_, Message> {
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
    pub(crate) fn click(&mut self, target: &str) {
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
    pub(crate) fn type_into(&mut self, id: &'static str, text: &str) {
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
    pub(crate) fn replace(&mut self, id: &'static str, text: &str) {
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

    pub(crate) fn audit_actions(&self) -> Vec<String> {
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

    pub(crate) fn audit_detail(&self, action: &str) -> serde_json::Value {
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
    pub(crate) fn audit_at(&self, action: &str) -> chrono::DateTime<chrono::Utc> {
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

    pub(crate) fn sees(&self, text: &str) -> bool {
        self.simulator().find(text).is_ok()
    }

    pub(crate) fn login_password(&mut self, login: &str, password: &str) {
        self.replace(crate::screen::login::LOGIN_INPUT, login);
        self.type_into(crate::screen::login::PASSWORD_INPUT, password);
        self.click("Entrar");
    }

    pub(crate) fn open_inspection(&mut self) {
        use crate::screen::counter::*;
        self.login_password(demo::OPERATOR, demo::PASSWORD);
        self.type_into(PLATE_INPUT, PLATE);
        self.type_into(RENAVAM_INPUT, RENAVAM);
        self.click("Consultar e abrir vistoria");
    }

    pub(crate) fn inspector_takes_it(&mut self) {
        self.click("Sair");
        self.click("Vistoriador (digital)");
        self.click("Ler digital");
        assert_eq!(self.app.session().unwrap().login, demo::INSPECTOR);
        self.click("Vistoriar");
        assert!(matches!(self.app.screen(), Screen::Inspection(_)));
    }

    pub(crate) fn inspection(&self) -> &inspection::State {
        match self.app.screen() {
            Screen::Inspection(s) => s,
            _ => panic!("não está na tela de vistoria"),
        }
    }

    /// Photographs every required photo by clicking "Capturar", doing the §6 correction if
    /// the reading asks for it. The panoramic photo (§7 a) the station took as capture
    /// started; if the camera had not given it, it is asked for again.
    pub(crate) fn take_all_photos(&mut self) {
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
    pub(crate) fn wait_for_film(&self) {
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

    pub(crate) fn correct_plate(&mut self) {
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

    pub(crate) fn fill_checklist(&mut self, non_conforming: Option<&str>) {
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

    pub(crate) fn store_state(&self, plate: &str) -> (StateKind, Option<OutboxState>) {
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
