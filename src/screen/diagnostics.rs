//! Diagnóstico (technician): every device with its status and a self-test, the camera's live
//! view, the central connection (latency, clock offset, certificate), disk space, versions,
//! the audit chain, a support export (zip), the panoramic camera's check and the bay's
//! presence calibration ([`bay`]), the help desk's tickets ("Abrir chamado", [`ticket_form`];
//! "Chamados da estação", [`tickets`]; issue 23), and the only way out of kiosk mode.

pub mod bay;
mod policies;
pub mod ticket_form;
pub mod tickets;

use iced::widget::image::Handle;
use iced::widget::{Space, column, container, image, row, scrollable, text};
use std::time::Duration;

use iced::{ContentFit, Element, Length, Subscription, Task};
use vistoria_drivers::DeviceStatus;
use vistoria_drivers::camera::sim::CameraFault;
use vistoria_drivers::panoramic::StreamFormat;

use crate::app::work::work;
use crate::widget;
use vistoria_station::{
    DeviceKind, Diagnostics, Failure, PanoramicInfo, Session, Station, Thumbnail,
};

/// The diagnostics screen.
#[derive(Debug)]
pub struct State {
    /// Boxed: the screens share one enum, kept small.
    report: Option<Box<Diagnostics>>,
    loading: bool,
    tests: Vec<(DeviceKind, Result<String, Failure>)>,
    live: Option<Result<Handle, Failure>>,
    export: Option<Result<String, Failure>>,
    demo: bool,
    /// The panoramic camera's connection test: running, or what it found.
    camera_testing: bool,
    camera_test: Option<Result<StreamFormat, Failure>>,
    /// The panoramic live view is on, and its last frame.
    panoramic_live: bool,
    panoramic_frame: Option<Result<Handle, Failure>>,
    /// The technician (the station checks the role of every calibration change).
    session: Session,
    /// The bay's presence calibration (§17e).
    bay: bay::Bay,
    /// "Instalar atualização" (§15 a): running, or what it gave.
    installing: bool,
    /// Boxed: the screens share one enum, kept small.
    update: Option<Box<Result<String, Failure>>>,
    /// The help desk's screens (issue 23) shown instead of the report, when open.
    panel: Panel,
}

/// What the screen shows: the report, or one of the help desk's screens.
#[derive(Debug)]
enum Panel {
    Report,
    Tickets(Box<tickets::State>),
    NewTicket(Box<ticket_form::State>),
}

/// What happens on it.
#[derive(Debug, Clone)]
pub enum Message {
    /// Measure again.
    Refresh,
    /// Measurements arrived.
    Loaded(Box<Diagnostics>),
    /// "Testar" on a device.
    SelfTest(DeviceKind),
    /// A self-test ended.
    Tested(DeviceKind, Result<String, Failure>),
    /// "Ver câmera".
    LiveView,
    /// "Ler digital": one touch, shown.
    ReaderView,
    /// A frame arrived.
    Frame(Result<Thumbnail, Failure>),
    /// "Exportar registros".
    Export,
    /// The zip was written.
    Exported(Result<String, Failure>),
    /// Demo: simulate a camera fault (or clear it).
    CameraFault(Option<CameraFault>),
    /// Demo: the camera shows a vehicle with another plate (§6 flow) or the right one.
    OtherPlate(bool),
    /// Demo: the panoramic camera sees the bay empty (§4 warning) or occupied.
    EmptyBay(bool),
    /// "Testar conexão" of the panoramic camera.
    TestPanoramic,
    /// The connection test ended.
    PanoramicTested(Result<StreamFormat, Failure>),
    /// Panoramic live view on or off.
    PanoramicLive(bool),
    /// Time for a panoramic frame (≈2 fps).
    PanoramicTick,
    /// A panoramic frame arrived.
    PanoramicFrame(Result<Thumbnail, Failure>),
    /// The bay's presence calibration.
    Bay(bay::Message),
    /// "Instalar atualização" (§15 a).
    InstallUpdate,
    /// The update was downloaded and checked (its spooled path) or not.
    UpdateSpooled(Result<String, Failure>),
    /// "Chamados da estação" (issue 23).
    ShowTickets,
    /// "Abrir chamado" (issue 23).
    NewTicket,
    /// The station's tickets.
    Tickets(tickets::Message),
    /// The new-ticket form.
    Form(ticket_form::Message),
    /// "Sair do Vistoria".
    Quit,
}

/// What the app must do.
#[derive(Debug, Clone)]
pub enum Event {
    /// Leave kiosk mode and close.
    Quit,
}

impl State {
    /// The screen for `session`; starts measuring.
    pub fn new(kiosk: &Station, session: Session) -> (State, Task<Message>) {
        let mut s = State {
            report: None,
            loading: false,
            tests: Vec::new(),
            live: None,
            export: None,
            demo: kiosk.is_demo(),
            camera_testing: false,
            camera_test: None,
            panoramic_live: false,
            panoramic_frame: None,
            session,
            bay: bay::Bay::default(),
            installing: false,
            update: None,
            panel: Panel::Report,
        };
        let t = s.refresh(kiosk);
        (
            s,
            Task::batch([t, bay::Bay::refresh(kiosk).map(Message::Bay)]),
        )
    }

    /// The bay's presence calibration (tests).
    #[cfg(test)]
    pub fn bay(&self) -> &bay::Bay {
        &self.bay
    }

    /// The last report (tests).
    #[cfg(test)]
    pub fn report(&self) -> Option<&Diagnostics> {
        self.report.as_deref()
    }

    /// What the panoramic connection test found (tests).
    #[cfg(test)]
    pub fn camera_test(&self) -> Option<&Result<StreamFormat, Failure>> {
        self.camera_test.as_ref()
    }

    /// Whether a panoramic frame is shown (tests).
    #[cfg(test)]
    pub fn has_panoramic_frame(&self) -> bool {
        matches!(self.panoramic_frame, Some(Ok(_)))
    }

    /// The live view's clock: ≈2 frames a second while it is on.
    pub fn subscription(&self) -> Subscription<Message> {
        if let Panel::Tickets(t) = &self.panel {
            return t.subscription().map(Message::Tickets);
        }
        if self.panoramic_live {
            iced::time::every(Duration::from_millis(500)).map(|_| Message::PanoramicTick)
        } else {
            Subscription::none()
        }
    }

    fn refresh(&mut self, kiosk: &Station) -> Task<Message> {
        if self.loading {
            return Task::none();
        }
        self.loading = true;
        work(
            kiosk,
            "diagnostics",
            |k| Ok(k.diagnostics()),
            |r: Result<Diagnostics, Failure>| match r {
                Ok(d) => Message::Loaded(Box::new(d)),
                Err(e) => Message::Exported(Err(e)),
            },
        )
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Refresh => return (self.refresh(kiosk), None),
            Message::Loaded(d) => {
                self.loading = false;
                self.report = Some(d);
            }
            Message::SelfTest(kind) => {
                return (
                    work(
                        kiosk,
                        "self-test",
                        move |k| Ok(k.self_test(kind)),
                        move |r| Message::Tested(kind, r.and_then(|x| x)),
                    ),
                    None,
                );
            }
            Message::Tested(kind, result) => {
                self.tests.retain(|(k, _)| *k != kind);
                self.tests.push((kind, result));
                return (self.refresh(kiosk), None);
            }
            Message::LiveView => {
                return (
                    work(
                        kiosk,
                        "live-view",
                        |k| k.preview(None, None),
                        Message::Frame,
                    ),
                    None,
                );
            }
            Message::ReaderView => {
                return (
                    work(kiosk, "reader-view", |k| k.reader_sample(), Message::Frame),
                    None,
                );
            }
            Message::Frame(r) => {
                self.live = Some(r.map(|t| Handle::from_rgba(t.width, t.height, t.rgba)));
            }
            Message::Export => {
                return (
                    work(
                        kiosk,
                        "export",
                        |k| k.export_logs().map(|p| p.display().to_string()),
                        Message::Exported,
                    ),
                    None,
                );
            }
            Message::Exported(r) => {
                self.loading = false;
                self.export = Some(r);
            }
            Message::CameraFault(fault) => {
                kiosk.set_demo_camera_fault(fault);
                return (self.refresh(kiosk), None);
            }
            Message::OtherPlate(other) => kiosk.demo_show_other_plate(other),
            Message::EmptyBay(empty) => kiosk.demo_show_empty_bay(empty),
            Message::TestPanoramic => {
                if self.camera_testing {
                    return (Task::none(), None);
                }
                self.camera_testing = true;
                self.camera_test = None;
                return (
                    work(
                        kiosk,
                        "panoramic-test",
                        |k| k.test_panoramic(),
                        Message::PanoramicTested,
                    ),
                    None,
                );
            }
            Message::PanoramicTested(result) => {
                self.camera_testing = false;
                self.panoramic_live = result.is_ok();
                self.camera_test = Some(result);
                return (self.refresh(kiosk), None);
            }
            Message::PanoramicLive(on) => {
                self.panoramic_live = on;
                if !on {
                    self.panoramic_frame = None;
                    return (
                        work(
                            kiosk,
                            "panoramic-test-stop",
                            |k| {
                                k.stop_panoramic_test();
                                Ok(())
                            },
                            |_: Result<(), Failure>| Message::Refresh,
                        ),
                        None,
                    );
                }
            }
            Message::PanoramicTick => {
                let frame = work(
                    kiosk,
                    "panoramic-preview",
                    |k| k.panoramic_preview(),
                    Message::PanoramicFrame,
                );
                // What presence makes of the same frames, live.
                let bay = bay::Bay::refresh(kiosk).map(Message::Bay);
                return (Task::batch([frame, bay]), None);
            }
            Message::PanoramicFrame(r) => {
                if self.panoramic_live {
                    self.panoramic_frame =
                        Some(r.map(|t| Handle::from_rgba(t.width, t.height, t.rgba)));
                }
            }
            Message::Bay(m) => {
                let task = self.bay.update(m, kiosk, &self.session);
                return (task.map(Message::Bay), None);
            }
            Message::InstallUpdate => {
                if self.installing {
                    return (Task::none(), None);
                }
                self.installing = true;
                let session = self.session.clone();
                return (
                    work(
                        kiosk,
                        "update",
                        move |k| k.download_update(&session).map(|p| p.display().to_string()),
                        Message::UpdateSpooled,
                    ),
                    None,
                );
            }
            Message::UpdateSpooled(result) => {
                self.installing = false;
                self.update = Some(Box::new(result));
                return (self.refresh(kiosk), None);
            }
            Message::ShowTickets => return (self.show_tickets(kiosk, None), None),
            Message::NewTicket => {
                let (form, task) = ticket_form::State::new(kiosk, self.session.clone());
                self.panel = Panel::NewTicket(Box::new(form));
                return (task.map(Message::Form), None);
            }
            Message::Tickets(m) => {
                let Panel::Tickets(t) = &mut self.panel else {
                    return (Task::none(), None);
                };
                let (task, event) = t.update(m, kiosk);
                let task = task.map(Message::Tickets);
                return match event {
                    Some(tickets::Event::NewTicket) => {
                        (Task::batch([task, Task::done(Message::NewTicket)]), None)
                    }
                    Some(tickets::Event::Close) => {
                        self.panel = Panel::Report;
                        (task, None)
                    }
                    None => (task, None),
                };
            }
            Message::Form(m) => {
                let Panel::NewTicket(f) = &mut self.panel else {
                    return (Task::none(), None);
                };
                let (task, event) = f.update(m, kiosk);
                let task = task.map(Message::Form);
                return match event {
                    Some(ticket_form::Event::Queued(request)) => {
                        tracing::info!(client_id = %request.client_id, "ticket queued from Diagnóstico");
                        let notice = "Chamado registrado na fila da estação: vai para a central \
                                      assim que houver conexão."
                            .to_owned();
                        (self.show_tickets(kiosk, Some(notice)), None)
                    }
                    Some(ticket_form::Event::Cancelled) => {
                        self.panel = Panel::Report;
                        (task, None)
                    }
                    None => (task, None),
                };
            }
            Message::Quit => return (Task::none(), Some(Event::Quit)),
        }
        (Task::none(), None)
    }

    fn show_tickets(&mut self, kiosk: &Station, notice: Option<String>) -> Task<Message> {
        let (list, task) = tickets::State::new(kiosk, self.session.clone(), notice);
        self.panel = Panel::Tickets(Box::new(list));
        task.map(Message::Tickets)
    }

    /// The help desk's screen shown, if one is (tests).
    #[cfg(test)]
    pub fn tickets(&self) -> Option<&tickets::State> {
        match &self.panel {
            Panel::Tickets(t) => Some(t),
            _ => None,
        }
    }

    /// The new-ticket form, if shown (tests).
    #[cfg(test)]
    pub fn ticket_form(&self) -> Option<&ticket_form::State> {
        match &self.panel {
            Panel::NewTicket(f) => Some(f),
            _ => None,
        }
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        match &self.panel {
            Panel::Report => {}
            Panel::Tickets(t) => {
                return container(t.view().map(Message::Tickets)).padding(20).into();
            }
            Panel::NewTicket(f) => {
                return container(scrollable(f.view().map(Message::Form)))
                    .padding(20)
                    .into();
            }
        }
        let header = row![
            widget::title("Diagnóstico"),
            Space::new().width(Length::Fill),
            widget::secondary(
                if self.loading {
                    "Medindo…"
                } else {
                    "Medir de novo"
                },
                (!self.loading).then_some(Message::Refresh)
            ),
            widget::secondary("Exportar registros (zip)", Some(Message::Export)),
            widget::secondary("Chamados da estação", Some(Message::ShowTickets)),
            widget::action("Abrir chamado", Some(Message::NewTicket)),
            widget::danger("Sair do Vistoria", Some(Message::Quit)),
        ]
        .spacing(10)
        .align_y(iced::Alignment::Center);
        let mut body = column![header].spacing(14);
        if let Some(export) = &self.export {
            body = body.push(match export {
                Ok(path) => widget::notice(format!("Pacote de suporte gravado em {path}")),
                Err(e) => widget::error_box(
                    e.to_string(),
                    vec![widget::secondary("Tentar de novo", Some(Message::Export))],
                ),
            });
        }
        let Some(d) = &self.report else {
            return container(body.push(text("Medindo…").size(widget::BODY)))
                .padding(20)
                .into();
        };
        let mut devices = column![widget::heading("Dispositivos")].spacing(8);
        for dev in &d.devices {
            let (label, colour) = status_label(&dev.status);
            let mut buttons = row![
                container(widget::secondary(
                    "Testar",
                    Some(Message::SelfTest(dev.kind))
                ))
                .id(format!("testar-{:?}", dev.kind))
            ]
            .spacing(8);
            buttons = buttons.push(match dev.kind {
                DeviceKind::Camera => widget::secondary("Ver câmera", Some(Message::LiveView)),
                DeviceKind::Fingerprint => {
                    widget::secondary("Ler digital", Some(Message::ReaderView))
                }
            });
            devices = devices.push(
                row![
                    column![
                        text(&dev.name).size(widget::BODY),
                        text(label).size(15).font(widget::BOLD).color(colour),
                    ]
                    .spacing(2)
                    .width(Length::Fill),
                    buttons,
                ]
                .spacing(10)
                .align_y(iced::Alignment::Center),
            );
            if let Some((_, result)) = self.tests.iter().find(|(k, _)| *k == dev.kind) {
                devices = devices.push(match result {
                    Ok(report) => widget::muted(format!("Autoteste: {report}")),
                    Err(e) => widget::error_box(
                        format!("Autoteste falhou: {e}"),
                        vec![widget::secondary(
                            "Abrir chamado no suporte",
                            Some(Message::NewTicket),
                        )],
                    ),
                });
            }
        }
        if self.demo {
            devices = devices.push(widget::muted("Simulação (modo demonstração):"));
            devices = devices.push(
                row![
                    widget::secondary(
                        "Desconectar a câmera",
                        Some(Message::CameraFault(Some(CameraFault::Unplugged)))
                    ),
                    widget::secondary(
                        "Imagem escura",
                        Some(Message::CameraFault(Some(CameraFault::Dark)))
                    ),
                    widget::secondary("Câmera normal", Some(Message::CameraFault(None))),
                    widget::secondary("Veículo com outra placa", Some(Message::OtherPlate(true))),
                    widget::secondary("Placa certa", Some(Message::OtherPlate(false))),
                    widget::secondary("Baia vazia (panorâmica)", Some(Message::EmptyBay(true))),
                    widget::secondary("Veículo na baia", Some(Message::EmptyBay(false))),
                ]
                .spacing(8)
                .wrap()
                .vertical_spacing(8),
            );
        }
        if let Some(live) = &self.live {
            devices = devices.push(match live {
                Ok(h) => image(h.clone())
                    .height(220)
                    .content_fit(ContentFit::Contain)
                    .into(),
                Err(e) => widget::error_box(e.to_string(), Vec::new()),
            });
        }
        devices = devices.push(self.panoramic(d.panoramic.as_ref()));
        let c = &d.central;
        let latency = match &c.latency {
            Ok(rtt) => format!("conectado · latência {} ms", rtt.as_millis()),
            Err(e) => format!("sem conexão: {e}"),
        };
        let central = column![
            widget::heading("Servidor central"),
            text(&c.url).size(widget::BODY),
            text(latency).size(widget::BODY),
            widget::muted(match c.clock_offset_s {
                Some(off) => format!("Hora central − relógio desta máquina: {off:+.1} s (a estação usa a hora central)"),
                None => "Hora central ainda não sincronizada".to_owned(),
            }),
            widget::muted(match &c.certificate {
                Some(pin) => format!("Certificado fixado (SHA-256): {}…", &pin[..pin.len().min(32)]),
                None => "Certificado: cadeia de confiança padrão (sem fixação)".to_owned(),
            }),
        ]
        .spacing(6);
        let disk = match d.disk {
            Some((free, total)) => format!(
                "{:.1} GB livres de {:.1} GB",
                free as f64 / 1e9,
                total as f64 / 1e9
            ),
            None => "indisponível".to_owned(),
        };
        let mut system = column![
            widget::heading("Sistema"),
            text(format!("Disco: {disk}")).size(widget::BODY),
            widget::muted(format!("Pasta de dados: {}", d.data_dir.display())),
            text(match &d.audit {
                Ok(rows) => format!("Registro de auditoria íntegro ({rows} eventos)"),
                Err(e) => format!("Registro de auditoria com problema: {e}"),
            })
            .size(widget::BODY),
        ]
        .spacing(6);
        for (name, version) in &d.versions {
            system = system.push(widget::muted(format!("{name}: {version}")));
        }
        let mut card = column![
            widget::heading("Cartão e-CPF (§14)"),
            text(&d.card).size(widget::BODY)
        ]
        .spacing(6);
        card = match &d.readers {
            Ok(readers) if readers.is_empty() => {
                card.push(widget::muted("Nenhuma leitora de cartão conectada"))
            }
            Ok(readers) => readers.iter().fold(card, |col, (reader, present)| {
                col.push(text(format!(
                    "{reader}: {}",
                    if *present {
                        "cartão inserido"
                    } else {
                        "sem cartão"
                    }
                )))
            }),
            Err(e) => card.push(widget::muted(format!("Leitoras: {e}"))),
        };
        body = body.push(
            row![
                column![widget::card(devices)].width(Length::FillPortion(3)),
                column![
                    widget::card(central),
                    widget::card(policies::view(
                        &d.policies,
                        self.update.as_deref(),
                        self.installing
                    )),
                    widget::card(card),
                    widget::card(system)
                ]
                .spacing(14)
                .width(Length::FillPortion(2)),
            ]
            .spacing(14),
        );
        container(scrollable(body)).padding(20).into()
    }
}

impl State {
    /// The panoramic camera (§17): URL (read-only), connection test, live view.
    fn panoramic<'a>(&'a self, info: Option<&'a PanoramicInfo>) -> Element<'a, Message> {
        let mut col = column![widget::heading("Câmera panorâmica (§17)")].spacing(8);
        let Some(info) = info else {
            return col
                .push(widget::muted(
                    "Nenhuma câmera panorâmica configurada: defina backend = \"rtsp\" e address em [devices.panoramic] no arquivo de configuração da estação.",
                ))
                .into();
        };
        col = col
            .push(text(format!("Endereço: {}", info.url)).size(widget::BODY))
            .push(widget::muted(CONFIG_HINT))
            .push(widget::muted(format!(
                "Filmando agora: {} vistoria(s)",
                info.recording
            )));
        col = col.push(
            row![
                container(widget::secondary(
                    if self.camera_testing {
                        "Testando…"
                    } else {
                        "Testar conexão"
                    },
                    (!self.camera_testing).then_some(Message::TestPanoramic),
                ))
                .id("testar-panoramica"),
                if self.panoramic_live {
                    widget::secondary("Parar imagem ao vivo", Some(Message::PanoramicLive(false)))
                } else {
                    widget::secondary("Ver ao vivo", Some(Message::PanoramicLive(true)))
                },
            ]
            .spacing(8),
        );
        match &self.camera_test {
            Some(Ok(f)) => col = col.push(widget::notice(format_found(f))),
            Some(Err(e)) => {
                col = col.push(widget::error_box(
                    format!("{PANORAMIC_TEST_FAILED}: {e}"),
                    vec![widget::secondary(
                        "Tentar de novo",
                        Some(Message::TestPanoramic),
                    )],
                ));
            }
            None => {}
        }
        match &self.panoramic_frame {
            Some(Ok(h)) => {
                col = col.push(
                    image(h.clone())
                        .height(220)
                        .content_fit(ContentFit::Contain),
                );
            }
            Some(Err(e)) => col = col.push(widget::muted(e.to_string())),
            None => {}
        }
        col.push(self.bay.view().map(Message::Bay)).into()
    }
}

/// Where the camera's address is changed (the kiosk has no configuration writer: the file is
/// the station's single source of truth, validated at start).
pub const CONFIG_HINT: &str = "Somente leitura: para mudar, edite address em [devices.panoramic] no arquivo de configuração da estação (VISTORIA_CONFIG, padrão /etc/vistoria/vistoria.toml) e reinicie o Vistoria.";

/// Start of the message of a failed panoramic connection test.
pub const PANORAMIC_TEST_FAILED: &str = "A câmera panorâmica não respondeu";

/// What the connection test found, in Portuguese.
pub fn format_found(f: &StreamFormat) -> String {
    let stored = if f.passthrough {
        "gravada como enviada (sem recodificar)".to_owned()
    } else {
        format!(
            "gravada recodificada em {}×{} a {:.1} quadros/s para atender ao mínimo (§7)",
            f.width, f.height, f.fps
        )
    };
    format!(
        "Conectada: {} {}×{} a {:.1} quadros/s — {stored}",
        f.source_codec, f.source_width, f.source_height, f.source_fps
    )
    .replace('.', ",")
}

/// Portuguese label and colour of a status.
pub fn status_label(status: &DeviceStatus) -> (String, iced::Color) {
    match status {
        DeviceStatus::Ready => ("pronto".into(), iced::Color::from_rgb8(0x1E, 0x7D, 0x32)),
        DeviceStatus::Busy => ("ocupado".into(), iced::Color::from_rgb8(0xB2, 0x6A, 0x00)),
        DeviceStatus::Missing => ("ausente".into(), iced::Color::from_rgb8(0xC6, 0x28, 0x28)),
        DeviceStatus::Fault(why) => (
            format!("falha: {why}"),
            iced::Color::from_rgb8(0xC6, 0x28, 0x28),
        ),
    }
}
