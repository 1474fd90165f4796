//! The kiosk window: one full-screen iced application. The root routes messages to the screen
//! shown and reacts to the screens' events; it does not decide anything about an inspection.
//! Background duties (clock sync, delivery, deadlines, the status bar's data) are the station
//! worker's; the window listens to it through a subscription.

pub mod display;
mod status_bar;
mod tour;
pub mod work;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use iced::widget::{column, container, row};
use iced::{Element, Length, Subscription, Task, window};
use vistoria_core::accounts::Role;

use crate::screen::{counter, diagnostics, inspection, login, outbox, setup, signature, staff};
use crate::widget;
use vistoria_station::{Failure, Session, Station, StationEvent, StatusSnapshot, WorkerConfig};

/// How the window runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fullscreen without decorations; only the technician's menu closes it.
    pub kiosk_mode: bool,
    /// Window size when not in kiosk mode.
    pub size: (f32, f32),
    /// When the process started (for the first-frame time).
    pub started: Instant,
    /// Print the time to the first frame as a JSON line and exit (`bench startup`).
    pub exit_after_first_frame: bool,
    /// Walk the screens and save a screenshot of each here (`xtask screenshots`).
    pub tour: Option<PathBuf>,
}

/// The screen shown.
#[derive(Debug)]
pub enum Screen {
    /// Entrar.
    Login(login::State),
    /// Atendimento.
    Counter(counter::State),
    /// Vistoria.
    Inspection(inspection::State),
    /// Assinatura.
    Signature(signature::State),
    /// Envios.
    Outbox(outbox::State),
    /// Diagnóstico.
    Diagnostics(diagnostics::State),
    /// Configuração inicial (no administrator yet).
    Setup(setup::State),
    /// Administração.
    Staff(staff::State),
}

/// Where the navigation bar can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Atendimento.
    Counter,
    /// Envios.
    Outbox,
    /// Diagnóstico.
    Diagnostics,
    /// Administração.
    Staff,
}

/// Everything that happens in the window.
#[derive(Debug, Clone)]
pub enum Message {
    /// Login screen.
    Login(login::Message),
    /// Counter screen.
    Counter(counter::Message),
    /// Inspection screen.
    Inspection(inspection::Message),
    /// Signature screen.
    Signature(signature::Message),
    /// Outbox screen.
    Outbox(outbox::Message),
    /// Diagnostics screen.
    Diagnostics(diagnostics::Message),
    /// First-administrator setup screen.
    Setup(setup::Message),
    /// Administração screen.
    Staff(staff::Message),
    /// Navigation bar.
    Go(Nav),
    /// "Sair".
    Logout,
    /// One second passed (the counter's countdowns).
    Tick,
    /// A press, key or touch: the person is at the kiosk (§15 c idle lock).
    Activity,
    /// Time to see whether the session sat idle past the security policy (§15 c).
    IdleCheck,
    /// The station's worker reported something.
    Station(StationEvent),
    /// A frame was drawn.
    Frame,
    /// The screenshot tour.
    Tour(tour::Message),
    /// Someone tried to close the window.
    CloseRequested,
}

/// The application state.
pub struct App {
    kiosk: Station,
    options: Options,
    session: Option<Session>,
    screen: Screen,
    status: Option<StatusSnapshot>,
    online: Option<bool>,
    notice: Option<String>,
    first_frame: bool,
    tour: tour::Tour,
    /// The last press, key or touch (§15 c idle lock).
    last_input: std::time::Instant,
}

/// How often a logged-in window looks at its idle time (§15 c).
const IDLE_CHECK_EVERY: Duration = Duration::from_secs(15);

/// Presses, keys and touches count as the person being there; pointer moves do not (they
/// arrive by the hundred and a cursor can drift on its own).
fn activity(
    event: iced::Event,
    _status: iced::event::Status,
    _window: iced::window::Id,
) -> Option<Message> {
    use iced::{Event, keyboard, mouse, touch};
    match event {
        Event::Mouse(mouse::Event::ButtonPressed(_) | mouse::Event::WheelScrolled { .. })
        | Event::Keyboard(keyboard::Event::KeyPressed { .. })
        | Event::Touch(touch::Event::FingerPressed { .. }) => Some(Message::Activity),
        _ => None,
    }
}

impl App {
    /// The window's first state: the login screen, a clock sync under way.
    pub fn new(kiosk: Station, options: Options) -> (App, Task<Message>) {
        // A station nobody administers yet offers only the setup (a failure to read the
        // accounts falls back to the login, which says what is wrong when used).
        let (screen, load) = if kiosk.needs_setup().unwrap_or(false) {
            (Screen::Setup(setup::State::new()), Task::none())
        } else {
            let (login, load) = login::State::new(&kiosk);
            (Screen::Login(login), load.map(Message::Login))
        };
        let tour = tour::Tour::new(options.tour.clone());
        let start_tour = tour.start();
        let app = App {
            kiosk,
            options,
            session: None,
            screen,
            status: None,
            online: None,
            notice: None,
            last_input: std::time::Instant::now(),
            first_frame: false,
            tour,
        };
        (app, Task::batch([load, start_tour]))
    }

    /// The screen shown (tests).
    #[cfg(test)]
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// Who is logged in (tests).
    #[cfg(test)]
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The banner shown (tests).
    #[cfg(test)]
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// The screen a role starts on.
    fn home(&mut self, session: &Session) -> Task<Message> {
        if matches!(session.role, Role::Technician | Role::Administrator) {
            self.go(Nav::Diagnostics)
        } else {
            self.go(Nav::Counter)
        }
    }

    fn go(&mut self, nav: Nav) -> Task<Message> {
        let Some(session) = self.session.clone() else {
            return Task::none();
        };
        match nav {
            Nav::Counter => {
                let (s, t) = counter::State::new(&self.kiosk, session);
                self.screen = Screen::Counter(s);
                t.map(Message::Counter)
            }
            Nav::Outbox => {
                let (s, t) = outbox::State::new(&self.kiosk, session);
                self.screen = Screen::Outbox(s);
                t.map(Message::Outbox)
            }
            Nav::Diagnostics if matches!(session.role, Role::Technician | Role::Administrator) => {
                let (s, t) = diagnostics::State::new(&self.kiosk, session);
                self.screen = Screen::Diagnostics(s);
                t.map(Message::Diagnostics)
            }
            Nav::Diagnostics => Task::none(),
            Nav::Staff if session.role == Role::Administrator => {
                let (s, t) = staff::State::new(&self.kiosk, session);
                self.screen = Screen::Staff(s);
                t.map(Message::Staff)
            }
            Nav::Staff => Task::none(),
        }
    }

    /// §15 c: a session left untouched past the central's security policy is closed, and the
    /// login says why. (The station refuses the session's next action past the same limit.)
    fn lock_if_idle(&mut self) -> Task<Message> {
        let Some(limit) = self.kiosk.idle_lock_after() else {
            return Task::none();
        };
        if self.session.is_none() || self.last_input.elapsed() < limit {
            return Task::none();
        }
        if let Some(session) = &self.session {
            tracing::info!(login = %session.login, "session locked after idle time (§15 c)");
        }
        let task = self.logout();
        self.notice = Some(format!(
            "Sessão encerrada por inatividade ({} min sem uso, política de segurança da central). \
             Entre novamente para continuar; a vistoria em andamento continua salva.",
            limit.as_secs() / 60
        ));
        task
    }

    fn logout(&mut self) -> Task<Message> {
        self.session = None;
        self.notice = None;
        let (s, t) = login::State::new(&self.kiosk);
        self.screen = Screen::Login(s);
        t.map(Message::Login)
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Login(m) => {
                let Screen::Login(s) = &mut self.screen else {
                    return Task::none();
                };
                let (task, event) = s.update(m, &self.kiosk);
                let task = task.map(Message::Login);
                match event {
                    Some(login::Event::LoggedIn(session)) => {
                        tracing::info!(login = %session.login, role = ?session.role, "logged in");
                        self.session = Some(session.clone());
                        self.notice = None;
                        self.last_input = std::time::Instant::now();
                        Task::batch([task, self.home(&session)])
                    }
                    None => task,
                }
            }
            Message::Counter(m) => {
                let Screen::Counter(s) = &mut self.screen else {
                    return Task::none();
                };
                let (task, event) = s.update(m, &self.kiosk);
                let task = task.map(Message::Counter);
                let Some(session) = self.session.clone() else {
                    return task;
                };
                match event {
                    Some(counter::Event::Inspect(row)) => {
                        self.notice = None;
                        let (s, t) = inspection::State::new(&self.kiosk, session, row);
                        self.screen = Screen::Inspection(s);
                        Task::batch([task, t.map(Message::Inspection)])
                    }
                    Some(counter::Event::Sign(row)) => {
                        self.notice = None;
                        self.screen =
                            Screen::Signature(signature::State::new(&self.kiosk, session, row));
                        task
                    }
                    None => task,
                }
            }
            Message::Inspection(m) => {
                let Screen::Inspection(s) = &mut self.screen else {
                    return Task::none();
                };
                let (task, event) = s.update(m, &self.kiosk);
                let task = task.map(Message::Inspection);
                let Some(session) = self.session.clone() else {
                    return task;
                };
                match event {
                    Some(inspection::Event::Concluded(row)) => {
                        self.screen =
                            Screen::Signature(signature::State::new(&self.kiosk, session, row));
                        task
                    }
                    Some(inspection::Event::Interrupted(row)) => {
                        self.notice = Some(format!(
                            "Vistoria {} interrompida e colocada na fila de envio",
                            row.plate
                        ));
                        self.kiosk.deliver_now();
                        Task::batch([task, self.go(Nav::Counter)])
                    }
                    None => task,
                }
            }
            Message::Signature(m) => {
                let Screen::Signature(s) = &mut self.screen else {
                    return Task::none();
                };
                let (task, event) = s.update(m, &self.kiosk);
                let task = task.map(Message::Signature);
                match event {
                    Some(signature::Event::Signed(row, printed)) => {
                        self.notice = Some(format!(
                            "Laudo de {} assinado e colocado na fila de envio. {printed}",
                            row.plate
                        ));
                        self.kiosk.deliver_now();
                        Task::batch([task, self.go(Nav::Counter)])
                    }
                    Some(signature::Event::Back) => Task::batch([task, self.go(Nav::Counter)]),
                    None => task,
                }
            }
            Message::Outbox(m) => {
                let Screen::Outbox(s) = &mut self.screen else {
                    return Task::none();
                };
                s.update(m, &self.kiosk).map(Message::Outbox)
            }
            Message::Diagnostics(m) => {
                let Screen::Diagnostics(s) = &mut self.screen else {
                    return Task::none();
                };
                let (task, event) = s.update(m, &self.kiosk);
                match event {
                    Some(diagnostics::Event::Quit) => {
                        tracing::info!("kiosk closed from the technician's menu");
                        self.kiosk.shutdown();
                        iced::exit()
                    }
                    None => task.map(Message::Diagnostics),
                }
            }
            Message::Setup(m) => {
                let Screen::Setup(s) = &mut self.screen else {
                    return Task::none();
                };
                let (task, event) = s.update(m, &self.kiosk);
                let task = task.map(Message::Setup);
                match event {
                    Some(setup::Event::LoggedIn(session)) => {
                        tracing::info!(login = %session.login, "first administrator created");
                        self.session = Some(session);
                        Task::batch([task, self.go(Nav::Staff)])
                    }
                    None => task,
                }
            }
            Message::Staff(m) => {
                let Screen::Staff(s) = &mut self.screen else {
                    return Task::none();
                };
                s.update(m, &self.kiosk).map(Message::Staff)
            }
            Message::Go(nav) => {
                self.notice = None;
                self.go(nav)
            }
            Message::Logout => self.logout(),
            Message::Activity => {
                self.last_input = std::time::Instant::now();
                Task::none()
            }
            Message::IdleCheck => self.lock_if_idle(),
            Message::Tick => match &mut self.screen {
                Screen::Counter(s) => {
                    let now = self.kiosk.clock().now().ok().map(|n| n.at);
                    s.update(counter::Message::Tick(now), &self.kiosk)
                        .0
                        .map(Message::Counter)
                }
                _ => Task::none(),
            },
            Message::Station(event) => self.station_event(event),
            Message::Frame => {
                if !self.first_frame {
                    self.first_frame = true;
                    let ms = self.options.started.elapsed().as_secs_f64() * 1000.0;
                    tracing::info!(ms, "first frame");
                    if self.options.exit_after_first_frame {
                        println!("{}", serde_json::json!({ "first_frame_ms": ms }));
                        self.kiosk.shutdown();
                        return iced::exit();
                    }
                }
                Task::none()
            }
            Message::Tour(m) => tour::update(self, m),
            Message::CloseRequested => {
                if self.options.kiosk_mode {
                    tracing::info!("close request ignored in kiosk mode");
                    Task::none()
                } else {
                    self.kiosk.shutdown();
                    iced::exit()
                }
            }
        }
    }

    /// What the station's worker reported.
    fn station_event(&mut self, event: StationEvent) -> Task<Message> {
        match event {
            StationEvent::Status(s) => {
                self.status = Some(s);
                Task::none()
            }
            StationEvent::Synced(r) => {
                if let Err(e) = &r {
                    tracing::warn!(%e, "clock sync failed");
                }
                self.online = link(r.as_ref().map(drop), self.online);
                Task::none()
            }
            StationEvent::Delivered(r) => {
                let answer = match &r {
                    Ok(d) => match d.failures.iter().find(|(_, f)| f.is_offline()) {
                        Some((_, f)) => Some(Err(f)),
                        // Only an answer from the central says "online"; nothing due says
                        // nothing.
                        None if d.delivered.is_empty() && d.failures.is_empty() => None,
                        None => Some(Ok(())),
                    },
                    Err(e) => {
                        tracing::warn!(%e, "delivery pass failed");
                        Some(Err(e))
                    }
                };
                if let Some(answer) = answer {
                    self.online = link(answer, self.online);
                }
                match &mut self.screen {
                    Screen::Outbox(s) => s
                        .update(outbox::Message::Refresh, &self.kiosk)
                        .map(Message::Outbox),
                    _ => Task::none(),
                }
            }
            StationEvent::Expired(ids) => {
                tracing::info!(
                    count = ids.len(),
                    "inspections interrupted by their deadline"
                );
                match &mut self.screen {
                    Screen::Counter(s) => s
                        .update(counter::Message::Refresh, &self.kiosk)
                        .0
                        .map(Message::Counter),
                    _ => Task::none(),
                }
            }
        }
    }

    /// Background subscriptions: the station's worker, the screen's own (the counter's
    /// countdowns), the first frame, close requests.
    pub fn subscription(&self) -> Subscription<Message> {
        let mut subs = vec![
            Subscription::run_with(self.kiosk.clone(), Station::subscribe).map(Message::Station),
            window::close_requests().map(|_| Message::CloseRequested),
        ];
        match &self.screen {
            Screen::Counter(_) => {
                subs.push(iced::time::every(Duration::from_secs(1)).map(|_| Message::Tick));
            }
            Screen::Inspection(s) => subs.push(s.subscription().map(Message::Inspection)),
            Screen::Diagnostics(s) => subs.push(s.subscription().map(Message::Diagnostics)),
            _ => {}
        }
        if !self.first_frame {
            subs.push(window::frames().map(|_| Message::Frame));
        }
        if self.session.is_some() {
            subs.push(iced::event::listen_with(activity));
            subs.push(iced::time::every(IDLE_CHECK_EVERY).map(|_| Message::IdleCheck));
        }
        Subscription::batch(subs)
    }

    /// Draws the window: status bar, navigation, the screen.
    pub fn view(&self) -> Element<'_, Message> {
        let screen: Element<'_, Message> = match &self.screen {
            Screen::Login(s) => s.view().map(Message::Login),
            Screen::Counter(s) => s.view().map(Message::Counter),
            Screen::Inspection(s) => s.view().map(Message::Inspection),
            Screen::Signature(s) => s.view().map(Message::Signature),
            Screen::Outbox(s) => s.view().map(Message::Outbox),
            Screen::Diagnostics(s) => s.view().map(Message::Diagnostics),
            Screen::Setup(s) => s.view().map(Message::Setup),
            Screen::Staff(s) => s.view().map(Message::Staff),
        };
        let mut page = column![status_bar::view(
            self.kiosk.station(),
            self.status.as_ref(),
            self.online,
            self.kiosk.is_demo(),
        )];
        if let Some(session) = &self.session {
            page = page.push(self.nav(session));
        }
        if let Some(n) = &self.notice {
            page = page.push(container(widget::notice(n)).padding([8, 20]));
        }
        page.push(container(screen).width(Length::Fill).height(Length::Fill))
            .into()
    }

    fn nav(&self, session: &Session) -> Element<'_, Message> {
        let current = match self.screen {
            Screen::Counter(_) => Some(Nav::Counter),
            Screen::Outbox(_) => Some(Nav::Outbox),
            Screen::Diagnostics(_) => Some(Nav::Diagnostics),
            Screen::Staff(_) => Some(Nav::Staff),
            _ => None,
        };
        let mut bar = row![
            widget::toggle(
                "Atendimento",
                current == Some(Nav::Counter),
                Message::Go(Nav::Counter)
            ),
            widget::toggle(
                "Envios",
                current == Some(Nav::Outbox),
                Message::Go(Nav::Outbox)
            ),
        ]
        .spacing(8);
        if matches!(session.role, Role::Technician | Role::Administrator) {
            bar = bar.push(widget::toggle(
                "Diagnóstico",
                current == Some(Nav::Diagnostics),
                Message::Go(Nav::Diagnostics),
            ));
        }
        if session.role == Role::Administrator {
            bar = bar.push(widget::toggle(
                "Administração",
                current == Some(Nav::Staff),
                Message::Go(Nav::Staff),
            ));
        }
        bar = bar.push(iced::widget::Space::new().width(Length::Fill));
        bar = bar.push(widget::muted(format!(
            "{} · {}",
            session.name,
            session.role.label_pt()
        )));
        bar = bar.push(widget::secondary("Sair", Some(Message::Logout)));
        container(bar.align_y(iced::Alignment::Center))
            .padding([8, 20])
            .into()
    }
}

/// The central link as an answer shows it: reached (`Ok`, even when it refused), unreachable
/// (an offline failure), or unknown as before (any other failure is not about the link).
fn link(answer: Result<(), &Failure>, before: Option<bool>) -> Option<bool> {
    match answer {
        Ok(()) | Err(Failure::Refused(_)) => Some(true),
        Err(f) if f.is_offline() => Some(false),
        Err(_) => before,
    }
}

/// Opens the window and runs until it is closed.
pub fn run(kiosk: Station, options: Options) -> iced::Result {
    // The station's own background work runs as long as the window does.
    let _worker = kiosk
        .start_worker(WorkerConfig::default())
        .map_err(|e| tracing::error!(%e, "station worker not started"))
        .ok();
    let kiosk_mode = options.kiosk_mode;
    let size = iced::Size::new(options.size.0, options.size.1);
    let title = format!("Vistoria — {}", kiosk.station().name);
    iced::application(
        move || App::new(kiosk.clone(), options.clone()),
        App::update,
        App::view,
    )
    .title(move |_: &App| title.clone())
    .theme(|_: &App| widget::theme())
    .subscription(App::subscription)
    .font(widget::FONT_REGULAR_BYTES)
    .font(widget::FONT_BOLD_BYTES)
    .default_font(widget::FONT)
    .window(window::Settings {
        size,
        min_size: Some(iced::Size::new(1024.0, 700.0)),
        fullscreen: kiosk_mode,
        decorations: !kiosk_mode,
        resizable: !kiosk_mode,
        ..window::Settings::default()
    })
    .exit_on_close_request(false)
    .run()
}
