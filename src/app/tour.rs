//! The screenshot tour (`cargo xtask screenshots`): in demo mode, the window walks itself
//! through a whole inspection by sending the same messages a person's clicks would, and saves
//! a PNG of each screen from the real window.

use std::path::PathBuf;
use std::time::Duration;

use iced::futures::channel::oneshot;
use iced::{Task, window};
use vistoria_core::domain::{ChecklistItem, PhotoKind};

use super::{App, Message as AppMessage, Nav, Screen};
use crate::screen::{counter, diagnostics, inspection, login, signature, staff};
use vistoria_station::demo;

/// A registry vehicle (assets/vehicles.json) the tour inspects.
const PLATE: &str = "QTK3308";
const RENAVAM: &str = "43787047302";

/// Tour progress.
#[derive(Debug)]
pub struct Tour {
    dir: Option<PathBuf>,
    step: usize,
}

/// Tour messages.
#[derive(Debug, Clone)]
pub enum Message {
    /// Do the next step.
    Next,
    /// Take the screenshot named so.
    Shoot(&'static str),
    /// The screenshot arrived.
    Shot(&'static str, window::Screenshot),
    /// It was saved (or not).
    Saved(Result<(), String>),
}

impl Tour {
    /// A tour saving into `dir`, or no tour.
    pub fn new(dir: Option<PathBuf>) -> Tour {
        Tour { dir, step: 0 }
    }

    /// The first step, after the window has settled.
    pub fn start(&self) -> Task<AppMessage> {
        if self.dir.is_some() {
            after(Duration::from_millis(2500), Message::Next)
        } else {
            Task::none()
        }
    }
}

/// Sends `m` after `d`, without blocking the window.
fn after(d: Duration, m: Message) -> Task<AppMessage> {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let _ = tx.send(());
    });
    Task::perform(async move { rx.await.ok() }, move |_| AppMessage::Tour(m))
}

/// One step: the messages to send, how long to let them settle, and the screenshot to take.
struct Step {
    messages: Vec<AppMessage>,
    wait: Duration,
    shot: Option<&'static str>,
    /// Run this step again instead of moving on (photo sequence).
    again: bool,
}

fn step(messages: Vec<AppMessage>, wait_ms: u64, shot: Option<&'static str>) -> Step {
    Step {
        messages,
        wait: Duration::from_millis(wait_ms),
        shot,
        again: false,
    }
}

fn login(m: login::Message) -> AppMessage {
    AppMessage::Login(m)
}
fn counter(m: counter::Message) -> AppMessage {
    AppMessage::Counter(m)
}
fn insp(m: inspection::Message) -> AppMessage {
    AppMessage::Inspection(m)
}

/// Step `n` of the tour, given what the window shows now.
fn plan(app: &App, n: usize) -> Option<Step> {
    use counter::Message as C;
    use inspection::Message as I;
    use login::Message as L;
    Some(match n {
        0 => step(vec![], 0, Some("01-entrar")),
        1 => step(
            vec![
                login(L::LoginChanged(demo::OPERATOR.into())),
                login(L::PasswordChanged(demo::PASSWORD.into())),
                login(L::Submit),
            ],
            3000,
            None,
        ),
        2 => step(
            vec![
                counter(C::PlateChanged("QTK3308".into())),
                counter(C::RenavamChanged("43787047301".into())),
                counter(C::Submit),
            ],
            2500,
            Some("03-atendimento-erro"),
        ),
        3 => step(
            vec![
                counter(C::PlateChanged(PLATE.into())),
                counter(C::RenavamChanged(RENAVAM.into())),
                counter(C::Submit),
            ],
            3000,
            Some("02-atendimento"),
        ),
        4 => step(
            vec![
                AppMessage::Logout,
                login(L::ModeChosen(login::Mode::Fingerprint)),
            ],
            1500,
            Some("04-entrar-digital"),
        ),
        5 => step(
            vec![login(L::ReadFinger)],
            5000,
            Some("05-vistorias-do-dia"),
        ),
        6 => {
            let Screen::Counter(s) = &app.screen else {
                return None;
            };
            let row = s
                .rows()
                .iter()
                .find(|r| r.plate.replace('-', "") == PLATE)?;
            step(
                vec![counter(C::Inspect(row.id))],
                3000,
                Some("06-vistoria-ao-vivo"),
            )
        }
        7 => {
            // The rear with the plate: the OCR result is the screenshot.
            let Screen::Inspection(s) = &app.screen else {
                return None;
            };
            let rear = s
                .row()
                .required
                .iter()
                .position(|k| *k == PhotoKind::RearWithPlate)?;
            if s.shots().iter().any(|p| p.kind == PhotoKind::RearWithPlate) {
                step(vec![insp(I::Select(rear))], 1500, Some("07-foto-e-placa"))
            } else {
                let mut st = step(vec![insp(I::Select(rear)), insp(I::Capture)], 6000, None);
                st.again = true;
                st
            }
        }
        8 => {
            // The rest of the sequence, one photo per pass.
            let Screen::Inspection(s) = &app.screen else {
                return None;
            };
            let required = &s.row().required;
            let missing: Vec<usize> = (0..required.len())
                .filter(|i| !s.shots().iter().any(|p| p.kind == required[*i]))
                .collect();
            match missing.first() {
                Some(&i) => {
                    let mut st = step(vec![insp(I::Select(i)), insp(I::Capture)], 3000, None);
                    st.again = true;
                    st
                }
                None => step(vec![], 0, None),
            }
        }
        9 => {
            let Screen::Inspection(s) = &app.screen else {
                return None;
            };
            let mut messages = vec![insp(I::Go(inspection::Step::Checklist))];
            for (item, _, _) in &s.row().checklist {
                if *item == ChecklistItem::Tyres {
                    messages.push(insp(I::NonConforming(*item)));
                    messages.push(insp(I::NoteChanged(
                        "pneu traseiro esquerdo com sulco abaixo de 1,6 mm".into(),
                    )));
                    messages.push(insp(I::ConfirmNonConforming));
                } else {
                    messages.push(insp(I::Conforming(*item)));
                }
            }
            step(messages, 4000, Some("08-checklist"))
        }
        10 => step(
            vec![insp(I::Go(inspection::Step::Conclusion))],
            1500,
            Some("09-conclusao"),
        ),
        11 => step(vec![insp(I::Conclude)], 2500, Some("10-assinatura")),
        12 => step(
            vec![AppMessage::Signature(signature::Message::ReadFinger)],
            5000,
            None,
        ),
        13 => step(
            vec![
                AppMessage::Signature(signature::Message::Pin(
                    vistoria_core::signing::test_pki::TOKEN_PIN.into(),
                )),
                AppMessage::Signature(signature::Message::Sign),
            ],
            6000,
            Some("11-laudo-assinado"),
        ),
        14 => step(vec![AppMessage::Go(Nav::Outbox)], 2500, Some("12-envios")),
        15 => step(
            vec![
                AppMessage::Logout,
                login(L::LoginChanged(demo::TECHNICIAN.into())),
                login(L::PasswordChanged(demo::PASSWORD.into())),
                login(L::Submit),
            ],
            5000,
            Some("13-diagnostico"),
        ),
        16 => step(
            vec![AppMessage::Diagnostics(diagnostics::Message::LiveView)],
            2500,
            Some("14-diagnostico-camera"),
        ),
        17 => step(
            vec![
                AppMessage::Logout,
                login(L::LoginChanged(demo::ADMINISTRATOR.into())),
                login(L::PasswordChanged(demo::PASSWORD.into())),
                login(L::Submit),
            ],
            4000,
            None,
        ),
        18 => step(
            vec![AppMessage::Go(Nav::Staff)],
            2000,
            Some("15-administracao"),
        ),
        19 => step(
            vec![
                AppMessage::Staff(staff::Message::Enrol(demo::INSPECTOR.into())),
                AppMessage::Staff(staff::Message::Enrolment(staff::EnrolMessage::Finger(
                    vistoria_core::biometrics::Finger::LeftIndex,
                ))),
                AppMessage::Staff(staff::Message::Enrolment(staff::EnrolMessage::Consent(
                    true,
                ))),
            ],
            1500,
            Some("16-cadastro-digital"),
        ),
        _ => return None,
    })
}

/// Handles a tour message.
pub fn update(app: &mut App, message: Message) -> Task<AppMessage> {
    let Some(dir) = app.tour.dir.clone() else {
        return Task::none();
    };
    match message {
        Message::Next => {
            let Some(step) = plan(app, app.tour.step) else {
                tracing::info!(step = app.tour.step, "screenshot tour finished");
                app.kiosk.shutdown();
                return iced::exit();
            };
            if !step.again {
                app.tour.step += 1;
            }
            let mut tasks: Vec<Task<AppMessage>> =
                step.messages.into_iter().map(|m| app.update(m)).collect();
            tasks.push(after(
                step.wait,
                match step.shot {
                    Some(name) => Message::Shoot(name),
                    None => Message::Next,
                },
            ));
            Task::batch(tasks)
        }
        Message::Shoot(name) => window::latest()
            .and_then(window::screenshot)
            .map(move |s| AppMessage::Tour(Message::Shot(name, s))),
        Message::Shot(name, shot) => {
            let path = dir.join(format!("{name}.png"));
            Task::perform(async move { save(&path, &shot) }, |r| {
                AppMessage::Tour(Message::Saved(r))
            })
        }
        Message::Saved(r) => {
            if let Err(e) = r {
                tracing::error!(%e, "screenshot not saved");
                eprintln!("erro: {e}");
            }
            Task::done(AppMessage::Tour(Message::Next))
        }
    }
}

fn save(path: &std::path::Path, shot: &window::Screenshot) -> Result<(), String> {
    let img = image::RgbaImage::from_raw(shot.size.width, shot.size.height, shot.rgba.to_vec())
        .ok_or("captura de tela com tamanho inconsistente")?;
    img.save(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}
