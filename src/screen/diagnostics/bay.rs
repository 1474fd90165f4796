//! Diagnóstico's presence calibration of the bay (§17e): the region of the panoramic frame
//! the bay takes (four percentages, or a preset), the still of the empty bay captured from the
//! camera, the state (calibrated when and by whom, region) and what the camera shows now.
//! The station checks the role and keeps and audits every change.

use iced::widget::image::Handle;
use iced::widget::{column, container, image, row, text, text_input};
use iced::{ContentFit, Element, Task};
use vistoria_drivers::panoramic::Region;
use vistoria_station::{
    BayNow, BayPresenceInfo, DEMO_SETTER, Failure, Session, Station, Thumbnail,
};

use crate::app::work::work;
use crate::widget;

/// The region fields' ids (tests type into them).
pub const REGION_INPUTS: [&str; 4] = [
    "regiao-esquerda",
    "regiao-topo",
    "regiao-largura",
    "regiao-altura",
];
const REGION_LABELS: [&str; 4] = ["Esquerda (%)", "Topo (%)", "Largura (%)", "Altura (%)"];
/// Id of the capture button.
pub const CAPTURE_BUTTON: &str = "capturar-referencia";
/// Id of the region button.
pub const REGION_BUTTON: &str = "definir-regiao";
/// Shown while presence is not calibrated.
pub const NOT_CALIBRATED: &str = "Presença NÃO calibrada: defina a região e capture a referência da baia vazia. Até lá as vistorias são filmadas sem verificar a presença do veículo (§4).";

/// The section's state.
#[derive(Debug, Default)]
pub struct Bay {
    info: Option<BayPresenceInfo>,
    picture: Option<Handle>,
    fields: [String; 4],
    busy: bool,
    result: Option<Result<String, Failure>>,
}

/// What happens in it.
#[derive(Debug, Clone)]
pub enum Message {
    /// Read the calibration and what the camera shows now.
    Refresh,
    /// Read.
    Loaded(Option<Box<BayPresenceInfo>>, Option<Thumbnail>),
    /// A region field changed.
    Field(usize, String),
    /// A preset region into the fields.
    Preset(Region),
    /// "Definir região da baia".
    SetRegion,
    /// "Capturar referência da baia vazia".
    Capture,
    /// A change ended (what to say).
    Done(Result<String, Failure>),
}

impl Bay {
    /// The calibration (tests).
    #[cfg(test)]
    pub fn info(&self) -> Option<&BayPresenceInfo> {
        self.info.as_ref()
    }

    /// Reads the calibration and what the camera shows now.
    pub fn refresh(kiosk: &Station) -> Task<Message> {
        work(
            kiosk,
            "bay-presence",
            |k| Ok((k.bay_presence_info(), k.bay_reference_picture())),
            |r: Result<_, Failure>| match r {
                Ok((info, picture)) => Message::Loaded(info.map(Box::new), picture),
                Err(e) => Message::Done(Err(e)),
            },
        )
    }

    /// Handles a message.
    pub fn update(
        &mut self,
        message: Message,
        kiosk: &Station,
        session: &Session,
    ) -> Task<Message> {
        match message {
            Message::Refresh => return Bay::refresh(kiosk),
            Message::Loaded(info, picture) => {
                // The fields start from the region in force; later reads keep what is typed.
                if self.info.is_none()
                    && let Some(i) = &info
                {
                    self.fill(i.region);
                }
                self.info = info.map(|i| *i);
                self.picture = picture.map(|t| Handle::from_rgba(t.width, t.height, t.rgba));
            }
            Message::Field(i, value) => {
                if let Some(field) = self.fields.get_mut(i) {
                    *field = value;
                }
            }
            Message::Preset(region) => self.fill(region),
            Message::SetRegion => {
                let region = match self.region() {
                    Ok(r) => r,
                    Err(e) => {
                        self.result = Some(Err(Failure::rule(e)));
                        return Task::none();
                    }
                };
                self.busy = true;
                let session = session.clone();
                return work(
                    kiosk,
                    "bay-region",
                    move |k| k.set_bay_region(&session, region),
                    |r| Message::Done(r.map(|i| format!("Região definida: {}", region_text(&i)))),
                );
            }
            Message::Capture => {
                self.busy = true;
                self.result = None;
                let session = session.clone();
                return work(
                    kiosk,
                    "bay-reference",
                    move |k| k.capture_bay_reference(&session),
                    |r| Message::Done(r.map(|_| REFERENCE_CAPTURED.to_owned())),
                );
            }
            Message::Done(result) => {
                self.busy = false;
                self.result = Some(result);
                return Bay::refresh(kiosk);
            }
        }
        Task::none()
    }

    fn fill(&mut self, region: Region) {
        let pct = |v: f32| format!("{}", (v * 100.0).round());
        self.fields = [pct(region.x), pct(region.y), pct(region.w), pct(region.h)];
    }

    /// The region the fields hold.
    fn region(&self) -> Result<Region, String> {
        let mut v = [0f32; 4];
        for (i, field) in self.fields.iter().enumerate() {
            v[i] = field
                .trim()
                .replace(',', ".")
                .parse::<f32>()
                .map_err(|_| format!("{}: informe um número de 0 a 100", REGION_LABELS[i]))?
                / 100.0;
        }
        let region = Region {
            x: v[0],
            y: v[1],
            w: v[2],
            h: v[3],
        };
        region.validate()?;
        Ok(region)
    }

    /// Draws the section.
    pub fn view(&self) -> Element<'_, Message> {
        let mut col = column![widget::heading("Presença na baia (§17e)")].spacing(8);
        let Some(info) = &self.info else {
            return col.push(widget::muted("Lendo a calibração…")).into();
        };
        col = col.push(match &info.reference {
            None => widget::error_box(NOT_CALIBRATED, Vec::new()),
            Some(r) if r.set.login == DEMO_SETTER => {
                widget::notice("Calibrada com a imagem conhecida da câmera simulada (demonstração)")
            }
            Some(r) => widget::notice(format!(
                "Calibrada em {} por {}",
                r.set
                    .at
                    .map_or("(sem hora central)".to_owned(), widget::local),
                r.set.login
            )),
        });
        col = col
            .push(text(format!("Região: {}", region_text(info))).size(widget::BODY))
            .push(text(now_text(info)).size(widget::BODY))
            .push(widget::muted(format!(
                "Veículo = uma diferença da referência que cubra ao menos {:.0} % da região; movimento sozinho não conta.",
                info.min_vehicle_share * 100.0
            )));
        if let Some(picture) = &self.picture {
            col = col.push(
                image(picture.clone())
                    .height(160)
                    .content_fit(ContentFit::Contain),
            );
        }
        let mut fields = row![].spacing(8);
        for (i, id) in REGION_INPUTS.iter().enumerate() {
            fields = fields.push(widget::field(
                REGION_LABELS[i],
                text_input("0–100", &self.fields[i])
                    .id(*id)
                    .on_input(move |v| Message::Field(i, v))
                    .padding(8)
                    .width(110)
                    .size(widget::BODY),
            ));
        }
        col = col.push(fields);
        let idle = !self.busy;
        col = col.push(
            row![
                widget::secondary("Quadro inteiro", Some(Message::Preset(Region::FULL))),
                widget::secondary(
                    "Centro (80 %)",
                    Some(Message::Preset(Region {
                        x: 0.1,
                        y: 0.1,
                        w: 0.8,
                        h: 0.8
                    }))
                ),
                container(widget::secondary(
                    "Definir região da baia",
                    idle.then_some(Message::SetRegion)
                ))
                .id(REGION_BUTTON),
            ]
            .spacing(8)
            .wrap()
            .vertical_spacing(8),
        );
        col = col.push(
            row![
                container(widget::action(
                    if self.busy {
                        "Capturando…"
                    } else {
                        "Capturar referência da baia vazia"
                    },
                    idle.then_some(Message::Capture)
                ))
                .id(CAPTURE_BUTTON),
                widget::secondary("Ver agora", Some(Message::Refresh)),
            ]
            .spacing(8),
        );
        col = col.push(widget::muted(
            "Esvazie a baia (sem veículo nem pessoas) antes de capturar: a referência é a baia vazia com que cada imagem é comparada. Capture de novo se a câmera ou a iluminação da baia mudar de forma permanente.",
        ));
        match &self.result {
            Some(Ok(message)) => col = col.push(widget::notice(message.as_str())),
            Some(Err(e)) => {
                col = col.push(widget::error_box(e.to_string(), Vec::new()));
            }
            None => {}
        }
        col.into()
    }
}

/// Said after a capture.
pub const REFERENCE_CAPTURED: &str = "Referência da baia vazia capturada e guardada";

/// The region in words.
pub fn region_text(info: &BayPresenceInfo) -> String {
    let r = info.region;
    if info.region_set.is_none() {
        return "quadro inteiro (padrão)".to_owned();
    }
    let pct = |v: f32| (v * 100.0).round();
    format!(
        "esquerda {} %, topo {} %, largura {} %, altura {} %",
        pct(r.x),
        pct(r.y),
        pct(r.w),
        pct(r.h)
    )
}

/// What the camera shows now, in words.
pub fn now_text(info: &BayPresenceInfo) -> String {
    match &info.now {
        BayNow::NotCalibrated => "Agora: não calibrada".to_owned(),
        BayNow::NoImage => "Agora: sem imagem (teste a conexão ou abra uma vistoria)".to_owned(),
        BayNow::Mismatch(why) => format!("Agora: {why}"),
        BayNow::Unreadable => "Agora: imagem escura, clara demais ou coberta".to_owned(),
        BayNow::Seen { vehicle, share, .. } => format!(
            "Agora: {} ({:.0} % da região diferente da referência)",
            if *vehicle {
                "veículo na baia"
            } else {
                "baia vazia"
            },
            share * 100.0
        ),
    }
}
