//! The status bar on every screen: station, central time and sync age, online or offline,
//! devices and the outbox at a glance (who is logged in is on the navigation bar).

use iced::widget::{Space, container, row, text};
use iced::{Background, Color, Element, Length, Theme};
use vistoria_core::config::Station;
use vistoria_drivers::DeviceStatus;

use super::Message;
use crate::widget;
use vistoria_station::StatusSnapshot;

const BAR_TEXT: Color = Color::WHITE;
const GOOD: Color = Color::from_rgb8(0x9C, 0xF0, 0xA6);
const BAD: Color = Color::from_rgb8(0xFF, 0xA8, 0xA8);

fn item<'a>(s: impl text::IntoFragment<'a>) -> Element<'a, Message> {
    text(s)
        .size(14)
        .color(BAR_TEXT)
        .wrapping(text::Wrapping::None)
        .into()
}

/// The bar.
pub fn view<'a>(
    station: &'a Station,
    status: Option<&'a StatusSnapshot>,
    online: Option<bool>,
    demo: bool,
) -> Element<'a, Message> {
    let mut bar = row![
        text(format!("{} · {}", station.name, station.code))
            .size(15)
            .font(widget::BOLD)
            .color(BAR_TEXT),
    ]
    .spacing(14)
    .align_y(iced::Alignment::Center);
    if demo {
        bar = bar.push(
            container(text("DEMONSTRAÇÃO").size(13).font(widget::BOLD))
                .padding([2, 8])
                .style(|_: &Theme| container::Style {
                    background: Some(Background::Color(Color::from_rgb8(0xFF, 0xC1, 0x07))),
                    text_color: Some(Color::BLACK),
                    ..container::Style::default()
                }),
        );
    }
    bar = bar.push(Space::new().width(Length::Fill));
    if let Some(s) = status {
        for d in &s.devices {
            let (mark, colour) = match d.status {
                DeviceStatus::Ready => ("●", GOOD),
                DeviceStatus::Busy => ("●", Color::from_rgb8(0xFF, 0xD5, 0x4F)),
                DeviceStatus::Missing | DeviceStatus::Fault(_) => ("✕", BAD),
            };
            bar = bar
                .push(row![text(mark).size(14).color(colour), item(d.kind.short_pt())].spacing(4));
        }
        if let Some(p) = &s.panoramic {
            let (mark, colour, label) = match (p.recording, p.receiving) {
                (0, _) => ("●", GOOD, "Panorâmica".to_owned()),
                (n, true) => (
                    "●",
                    Color::from_rgb8(0xFF, 0x8A, 0x80),
                    format!("Gravando ({n})"),
                ),
                (_, false) => ("✕", BAD, "SEM VÍDEO".to_owned()),
            };
            bar = bar.push(row![text(mark).size(14).color(colour), item(label)].spacing(4));
        }
        let queue = match (s.pending, s.stuck) {
            (0, 0) => "Envios em dia".to_owned(),
            (p, 0) => format!("{p} envio(s) na fila"),
            (p, st) => format!("{p} na fila · {st} parado(s)"),
        };
        bar = bar.push(item(queue));
        bar = bar.push(item(match (s.central_time, s.sync_age) {
            (Some(t), Some(age)) => format!(
                "Hora central {} · sinc. {}",
                vistoria_core::clock::in_station_zone(t).format("%H:%M:%S"),
                age_label(age)
            ),
            _ => "Hora central não sincronizada".to_owned(),
        }));
    }
    bar = bar.push(
        text(match online {
            Some(true) => "● Online",
            Some(false) => "● Sem conexão",
            None => "● Conectando…",
        })
        .size(14)
        .font(widget::BOLD)
        .wrapping(text::Wrapping::None)
        .color(match online {
            Some(true) => GOOD,
            Some(false) => BAD,
            None => BAR_TEXT,
        }),
    );
    container(bar)
        .padding([8, 20])
        .width(Length::Fill)
        .style(|t: &Theme| container::Style {
            background: Some(Background::Color(t.palette().primary)),
            ..container::Style::default()
        })
        .into()
}

fn age_label(age: std::time::Duration) -> String {
    let s = age.as_secs();
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else {
        format!("{} h", s / 3600)
    }
}
