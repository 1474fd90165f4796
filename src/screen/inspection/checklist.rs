//! The checklist (§13) and the conclusion or interruption (§12).

use iced::widget::{column, container, row, scrollable, text, text_input};
use iced::{Element, Length};
use vistoria_core::domain::{Condition, InterruptionCause};

use super::{Message, State, Step};
use crate::widget;
use vistoria_station::inspection_verdict;

/// Id of the non-conformity note field.
pub const NOTE_INPUT: &str = "vistoria-nota";
/// Id of the interruption note field.
pub const INTERRUPTION_NOTE: &str = "vistoria-nota-interrupcao";

pub(super) fn view(state: &State) -> Element<'_, Message> {
    let notes = state.notes();
    let mut list = column![].spacing(6);
    let mut group = None;
    for (item, condition, _) in &state.row.checklist {
        if group != Some(item.group()) {
            group = Some(item.group());
            list = list.push(widget::heading(item.group().label_pt()));
        }
        let mut line = row![
            text(item.label_pt()).size(widget::BODY).width(Length::Fill),
            container(widget::toggle(
                "Conforme",
                *condition == Some(Condition::Conforming),
                Message::Conforming(*item)
            ))
            .id(format!("ok-{}", item.code())),
            container(widget::toggle(
                "Não conforme",
                *condition == Some(Condition::NonConforming),
                Message::NonConforming(*item)
            ))
            .id(format!("nc-{}", item.code())),
        ]
        .spacing(8)
        .align_y(iced::Alignment::Center);
        if let Some(note) = notes.get(item) {
            line = line.push(widget::muted(*note));
        }
        list = list.push(widget::card(line));
        if let Some((pending, note)) = &state.pending_non_conforming
            && pending == item
        {
            list = list.push(
                row![
                    text_input("O que não está conforme? (obrigatório)", note)
                        .id(NOTE_INPUT)
                        .on_input(Message::NoteChanged)
                        .on_submit(Message::ConfirmNonConforming)
                        .padding(10)
                        .size(widget::BODY),
                    widget::danger(
                        "Registrar não conformidade",
                        Some(Message::ConfirmNonConforming)
                    ),
                ]
                .spacing(8),
            );
        }
    }
    let missing = state
        .row
        .checklist
        .iter()
        .filter(|(_, c, _)| c.is_none())
        .count();
    let footer: Element<'_, Message> = if missing == 0 {
        widget::action("Ir para a conclusão", Some(Message::Go(Step::Conclusion)))
    } else {
        widget::muted(format!("Faltam {missing} item(ns)"))
    };
    column![scrollable(list).height(Length::Fill), footer]
        .spacing(10)
        .into()
}

pub(super) fn conclusion(state: &State) -> Element<'_, Message> {
    let missing_photos = state.missing_photos();
    let verdict = inspection_verdict(&state.row);
    let mut conclude = column![widget::heading("Concluir")].spacing(10);
    match (&verdict, missing_photos.is_empty()) {
        (Some(v), true) => {
            conclude = conclude.push(text(format!("Resultado: {v}")).size(24).font(widget::BOLD));
            conclude = conclude.push(widget::action(
                "Concluir vistoria",
                (!state.busy).then_some(Message::Conclude),
            ));
        }
        _ => {
            let mut why = Vec::new();
            if !missing_photos.is_empty() {
                why.push(format!("{} foto(s) por tirar", missing_photos.len()));
            }
            if verdict.is_none() {
                why.push("checklist incompleto".to_owned());
            }
            conclude = conclude.push(widget::muted(format!("Ainda não: {}", why.join(", "))));
        }
    }
    let mut causes = column![].spacing(6);
    for cause in InterruptionCause::ALL
        .into_iter()
        .filter(|c| !c.is_system_only())
    {
        causes = causes.push(
            container(widget::toggle(
                cause.label_pt(),
                state.cause == Some(cause),
                Message::CauseChosen(cause),
            ))
            .id(format!("causa-{}", cause.code())),
        );
    }
    let interrupt = column![
        widget::heading("Interromper (§12)"),
        widget::muted("A vistoria interrompida também é registrada e enviada ao servidor central."),
        causes,
        text_input(
            "Observação (obrigatória para \"outro motivo\")",
            &state.interruption_note
        )
        .id(INTERRUPTION_NOTE)
        .on_input(Message::InterruptionNoteChanged)
        .padding(10)
        .size(widget::BODY),
        widget::danger(
            "Interromper vistoria",
            (!state.busy && state.cause.is_some()).then_some(Message::Interrupt)
        ),
    ]
    .spacing(10);
    scrollable(
        row![
            container(widget::card(conclude)).width(Length::FillPortion(1)),
            container(widget::card(interrupt)).width(Length::FillPortion(1)),
        ]
        .spacing(16),
    )
    .height(Length::Fill)
    .into()
}
