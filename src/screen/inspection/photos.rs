//! The photo step's view: the sequence, the live preview, the last photo with its tarja, hash
//! and device, retake with a reason, the borescope and the disassembled engine on the engine
//! number (§8, §18), the panoramic photo the station takes (§7 a), the plate reading and the
//! §6 correction.

use iced::widget::image::Handle;
use iced::widget::{Space, column, container, image, row, scrollable, text, text_input};
use iced::{ContentFit, Element, Length};
use vistoria_core::domain::PhotoKind;

use super::{Message, State, Step};
use crate::widget;
use vistoria_station::PhotoShot;

/// Id of the retake-reason field.
pub const RETAKE_INPUT: &str = "vistoria-motivo-refazer";
/// The warning shown while the panoramic camera sees the bay empty (§4, §17e).
pub const BAY_EMPTY: &str = "O veículo não aparece na área monitorada pela câmera panorâmica.";
/// Ids of the §6 fields.
pub const CORRECTION_PLATE: &str = "vistoria-correcao-placa";
/// RENAVAM of the §6 form.
pub const CORRECTION_RENAVAM: &str = "vistoria-correcao-renavam";
/// Reason of the §6 form.
pub const CORRECTION_REASON: &str = "vistoria-correcao-motivo";
/// The borescope's button on the engine number (§8, §18).
pub const BORESCOPE: &str = "Boroscópio";
/// The additional photo of an engine number readable only with the engine taken apart (§8).
pub const DISASSEMBLED: &str = "Foto adicional (motor desmontado)";
/// The retry of the panoramic photo (§7 a).
pub const RETAKE_PANORAMIC: &str = "Tirar panorâmica novamente";

pub(super) fn view(state: &State) -> Element<'_, Message> {
    row![
        container(sequence(state)).width(Length::FillPortion(2)),
        container(camera(state)).width(Length::FillPortion(5)),
    ]
    .spacing(16)
    .height(Length::Fill)
    .into()
}

fn sequence(state: &State) -> Element<'_, Message> {
    let mut list = column![widget::heading("Fotos exigidas (§7)")].spacing(6);
    for (i, kind) in state.row.required.iter().enumerate() {
        let done = state.shot_of(*kind).is_some();
        let label = format!("{} {}", if done { "✓" } else { "○" }, kind.label_pt());
        list = list.push(
            container(widget::toggle(
                label,
                i == state.current,
                Message::Select(i),
            ))
            .id(format!("foto-{}", kind.code())),
        );
    }
    let extra = state
        .shots
        .iter()
        .filter(|s| s.kind == PhotoKind::Additional)
        .count();
    list = list.push(widget::muted(format!("Fotos adicionais: {extra}")));
    let missing = state.missing_photos().len();
    let next: Element<'_, Message> = if missing == 0 {
        widget::action("Ir para o checklist", Some(Message::Go(Step::Checklist)))
    } else {
        widget::muted(format!("Faltam {missing} foto(s)"))
    };
    scrollable(list.push(next)).height(Length::Fill).into()
}

fn camera(state: &State) -> Element<'_, Message> {
    // §6 first: while the plate reading waits for its correction, the form takes the place of
    // the live view so it is in sight on a 1280×800 screen.
    if let Some(rear) = state.pending_correction() {
        return scrollable(widget::card(
            column![
                widget::heading("Traseira com placa — leitura da placa"),
                photo(rear),
                plate_check(state, rear),
            ]
            .spacing(10),
        ))
        .height(Length::Fill)
        .into();
    }
    let Some(kind) = state.kind() else {
        return widget::card(text("Esta espécie não exige fotos.").size(widget::BODY));
    };
    if kind.is_automatic() {
        return panoramic(state);
    }
    let last = state.shot_of(kind);
    let borescope = (kind == PhotoKind::EngineNumber)
        .then_some(state.borescope.as_ref())
        .flatten();
    let live: Element<'_, Message> = match (&state.preview, &state.preview_error) {
        (_, Some(e)) => widget::error_box(
            e.to_string(),
            vec![widget::secondary(
                "Tentar de novo",
                Some(Message::PreviewTick),
            )],
        ),
        (Some(frame), None) => image(frame.clone())
            .content_fit(ContentFit::Contain)
            .height(250)
            .into(),
        (None, None) => container(text("Abrindo a câmera…").size(widget::BODY))
            .height(250)
            .center_y(250)
            .into(),
    };
    let mut actions = row![].spacing(10).align_y(iced::Alignment::Center);
    match (&state.retake_reason, last) {
        (Some(reason), _) => {
            actions = actions.push(
                text_input(
                    "Motivo para refazer (fica no registro de auditoria)",
                    reason,
                )
                .id(RETAKE_INPUT)
                .on_input(Message::RetakeReasonChanged)
                .on_submit(Message::Capture)
                .padding(10)
                .size(widget::BODY)
                .width(Length::Fill),
            );
            actions = actions.push(widget::action(
                "Refazer foto",
                (!state.capturing).then_some(Message::Capture),
            ));
            if borescope.is_some() {
                actions = actions.push(widget::action(
                    BORESCOPE,
                    (!state.capturing).then_some(Message::CaptureBorescope),
                ));
            }
            actions = actions.push(widget::secondary(
                "Cancelar",
                Some(Message::RetakeCancelled),
            ));
        }
        (None, Some(_)) => {
            actions = actions.push(widget::secondary("Refazer", Some(Message::Retake)));
            actions = actions.push(Space::new().width(Length::Fill));
        }
        (None, None) => {
            actions = actions.push(widget::action(
                if state.capturing {
                    "Capturando…"
                } else {
                    "Capturar"
                },
                (!state.capturing).then_some(Message::Capture),
            ));
            if borescope.is_some() {
                actions = actions.push(widget::action(
                    BORESCOPE,
                    (!state.capturing).then_some(Message::CaptureBorescope),
                ));
            }
            actions = actions.push(Space::new().width(Length::Fill));
        }
    }
    if state.retake_reason.is_none() {
        actions = actions.push(widget::secondary(
            "Foto adicional",
            (!state.capturing).then_some(Message::CaptureAdditional),
        ));
    }
    let mut col = column![widget::heading(format!("{} — ao vivo", kind.label_pt()))].spacing(10);
    if let Some(warning) = bay_warning(state) {
        col = col.push(warning);
    }
    if let Some(name) = borescope {
        col = col.push(widget::muted(format!(
            "Numeração de difícil acesso: use o boroscópio ({name}, §8)."
        )));
    }
    col = col.push(live).push(actions);
    if kind == PhotoKind::EngineNumber && state.retake_reason.is_none() {
        // §8: a number readable only with the engine taken apart is an additional photo
        // with that reason.
        col = col.push(
            row![
                widget::secondary(
                    DISASSEMBLED,
                    (!state.capturing).then_some(Message::CaptureDisassembled)
                ),
                widget::muted(format!(
                    "quando a {}",
                    vistoria_core::domain::AdditionalReason::EngineDisassembled.label_pt()
                )),
            ]
            .spacing(10)
            .align_y(iced::Alignment::Center),
        );
    }
    if let Some(shot) = last {
        col = col.push(photo(shot));
        if kind == PhotoKind::RearWithPlate {
            col = col.push(plate_check(state, shot));
        }
    }
    scrollable(widget::card(col)).height(Length::Fill).into()
}

/// §4: the vehicle must stay in the monitored area during the whole inspection.
fn bay_warning(state: &State) -> Option<Element<'_, Message>> {
    state.bay_empty.then(|| {
        widget::error_box(
            BAY_EMPTY,
            vec![widget::muted(
                "Posicione o veículo na baia de vistoria: a filmagem precisa mostrá-lo durante toda a vistoria (§4).",
            )],
        )
    })
}

/// §7 a: the panoramic photo, taken by the station when capture started; why it is missing
/// and the retry.
fn panoramic(state: &State) -> Element<'_, Message> {
    let mut col = column![
        widget::heading(PhotoKind::Panoramic.label_pt()),
        widget::muted(
            "Tirada automaticamente pela câmera panorâmica da estação quando a captura começa (§7 a)."
        ),
    ]
    .spacing(10);
    if let Some(warning) = bay_warning(state) {
        col = col.push(warning);
    }
    match (state.shot_of(PhotoKind::Panoramic), &state.panoramic_error) {
        (Some(shot), _) => col = col.push(photo(shot)),
        (None, _) if state.panoramic_busy => {
            col = col.push(text("Tirando a panorâmica…").size(widget::BODY));
        }
        (None, Some(e)) => {
            col = col.push(widget::error_box(
                format!("A panorâmica não foi tirada: {e}"),
                vec![widget::action(
                    RETAKE_PANORAMIC,
                    Some(Message::RetakePanoramic),
                )],
            ));
        }
        (None, None) => {
            col = col.push(widget::action(
                RETAKE_PANORAMIC,
                Some(Message::RetakePanoramic),
            ));
        }
    }
    scrollable(widget::card(col)).height(Length::Fill).into()
}

fn photo(shot: &PhotoShot) -> Element<'_, Message> {
    let t = &shot.thumbnail;
    let handle = Handle::from_rgba(t.width, t.height, t.rgba.clone());
    let mut about = column![
        text("Foto gravada com a tarja")
            .size(widget::BODY)
            .font(widget::BOLD),
        widget::muted(format!("MD5 {}", shot.md5)),
        widget::muted(format!(
            "SHA-256 {}…",
            &shot.sha256[..16.min(shot.sha256.len())]
        )),
    ]
    .spacing(4);
    if let Some(device) = &shot.device {
        about = about.push(widget::muted(format!("Dispositivo: {device}")));
    }
    if let Some(reason) = &shot.reason {
        about = about.push(widget::muted(format!("Motivo: {reason}")));
    }
    about = about.push(widget::muted(format!(
        "{} ms da captura à gravação",
        shot.ms
    )));
    row![
        image(handle).height(170).content_fit(ContentFit::Contain),
        about,
    ]
    .spacing(12)
    .into()
}

fn plate_check<'a>(state: &'a State, shot: &'a PhotoShot) -> Element<'a, Message> {
    let Some(ocr) = &shot.ocr else {
        return Space::new().into();
    };
    let read = match (&ocr.read, &ocr.error) {
        (Some(p), _) => format!(
            "Placa lida: {p} (confiança {:.0}%) · digitada: {}",
            ocr.confidence * 100.0,
            state.row.plate
        ),
        (None, Some(e)) => format!("Leitura automática indisponível: {e}"),
        (None, None) => "Nenhuma placa legível na foto".to_owned(),
    };
    if !ocr.needs_correction {
        return widget::notice(format!("{read} — confere"));
    }
    if state.corrected {
        return widget::notice(format!("{read} — corrigida pelo usuário (§6)"));
    }
    let c = &state.correction;
    let input = |placeholder, value: &'a str, id: &'static str, msg: fn(String) -> Message| {
        text_input(placeholder, value)
            .id(id)
            .on_input(msg)
            .padding(10)
            .size(widget::BODY)
    };
    widget::error_box(
        format!("{read} — não confere. Confira a placa do veículo e registre a correção (§6)."),
        vec![
            column![
                row![
                    widget::field(
                        "Placa",
                        input(
                            "ABC1D23",
                            &c.plate,
                            CORRECTION_PLATE,
                            Message::CorrectionPlate
                        )
                    ),
                    widget::field(
                        "RENAVAM",
                        input(
                            "11 dígitos",
                            &c.renavam,
                            CORRECTION_RENAVAM,
                            Message::CorrectionRenavam
                        )
                    ),
                ]
                .spacing(10),
                widget::field(
                    "Motivo",
                    input(
                        "ex.: placa suja, reflexo",
                        &c.reason,
                        CORRECTION_REASON,
                        Message::CorrectionReason
                    )
                ),
                row![
                    widget::action(
                        "Registrar correção",
                        (!state.busy).then_some(Message::SubmitCorrection)
                    ),
                    widget::secondary("Refazer a foto", Some(Message::Retake)),
                ]
                .spacing(10),
            ]
            .spacing(10)
            .into(),
        ],
    )
}
