//! The kiosk's look: bundled fonts, colours, and the few building blocks every screen uses
//! (titles, cards, error boxes with a way forward, big touch-friendly buttons).

use iced::widget::{button, column, container, row, text};
use iced::{Background, Border, Color, Element, Font, Length, Theme, font};

/// Noto Sans (SIL Open Font License, `assets/fonts/OFL.txt`): the kiosk machine has no fonts.
pub const FONT_REGULAR_BYTES: &[u8] = include_bytes!("../assets/fonts/NotoSans-Regular.ttf");
/// Noto Sans Bold.
pub const FONT_BOLD_BYTES: &[u8] = include_bytes!("../assets/fonts/NotoSans-Bold.ttf");
/// The default font.
pub const FONT: Font = Font::with_name("Noto Sans");
/// The bold face.
pub const BOLD: Font = Font {
    weight: font::Weight::Bold,
    ..FONT
};

/// Body text size: readable at arm's length on a 1280×800 touch screen.
pub const BODY: f32 = 17.0;
/// Button height for touch.
const BUTTON_PADDING: [u16; 2] = [10, 18];

/// The kiosk's theme: light, with the Detran-like blue as primary.
pub fn theme() -> Theme {
    Theme::custom(
        "Vistoria",
        iced::theme::Palette {
            background: Color::from_rgb8(0xF4, 0xF6, 0xF8),
            text: Color::from_rgb8(0x1B, 0x22, 0x2C),
            primary: Color::from_rgb8(0x0B, 0x5C, 0xAD),
            success: Color::from_rgb8(0x1E, 0x7D, 0x32),
            warning: Color::from_rgb8(0xB2, 0x6A, 0x00),
            danger: Color::from_rgb8(0xC6, 0x28, 0x28),
        },
    )
}

/// A screen title.
pub fn title<'a, M: 'a>(s: impl text::IntoFragment<'a>) -> Element<'a, M> {
    text(s).size(28).font(BOLD).into()
}

/// A section heading.
pub fn heading<'a, M: 'a>(s: impl text::IntoFragment<'a>) -> Element<'a, M> {
    text(s).size(20).font(BOLD).into()
}

/// Small grey text.
pub fn muted<'a, M: 'a>(s: impl text::IntoFragment<'a>) -> Element<'a, M> {
    text(s)
        .size(14)
        .style(|t: &Theme| text::Style {
            color: Some(t.extended_palette().background.strong.text.scale_alpha(0.7)),
        })
        .into()
}

/// A white card with a light border.
pub fn card<'a, M: 'a>(content: impl Into<Element<'a, M>>) -> Element<'a, M> {
    container(content)
        .padding(16)
        .width(Length::Fill)
        .style(|t: &Theme| container::Style {
            background: Some(Background::Color(Color::WHITE)),
            border: Border {
                color: t.extended_palette().background.strong.color,
                width: 1.0,
                radius: 8.0.into(),
            },
            ..container::Style::default()
        })
        .into()
}

/// A primary action.
pub fn action<'a, M: Clone + 'a>(
    label: impl text::IntoFragment<'a>,
    on_press: Option<M>,
) -> Element<'a, M> {
    button(text(label).size(BODY).font(BOLD))
        .padding(BUTTON_PADDING)
        .style(button::primary)
        .on_press_maybe(on_press)
        .into()
}

/// A secondary action.
pub fn secondary<'a, M: Clone + 'a>(
    label: impl text::IntoFragment<'a>,
    on_press: Option<M>,
) -> Element<'a, M> {
    button(text(label).size(BODY))
        .padding(BUTTON_PADDING)
        .style(button::secondary)
        .on_press_maybe(on_press)
        .into()
}

/// A destructive or alarming action.
pub fn danger<'a, M: Clone + 'a>(
    label: impl text::IntoFragment<'a>,
    on_press: Option<M>,
) -> Element<'a, M> {
    button(text(label).size(BODY).font(BOLD))
        .padding(BUTTON_PADDING)
        .style(button::danger)
        .on_press_maybe(on_press)
        .into()
}

/// A choice that is on or off (checklist, tabs).
pub fn toggle<'a, M: Clone + 'a>(
    label: impl text::IntoFragment<'a>,
    on: bool,
    on_press: M,
) -> Element<'a, M> {
    button(text(label).size(BODY))
        .padding(BUTTON_PADDING)
        .style(if on {
            button::primary
        } else {
            button::secondary
        })
        .on_press(on_press)
        .into()
}

/// An error as screen state: what happened and the ways forward.
pub fn error_box<'a, M: Clone + 'a>(
    message: impl text::IntoFragment<'a>,
    ways: Vec<Element<'a, M>>,
) -> Element<'a, M> {
    container(column![text(message).size(BODY).font(BOLD), row(ways).spacing(12)].spacing(10))
        .padding(14)
        .width(Length::Fill)
        .style(|t: &Theme| {
            let danger = t.extended_palette().danger.base.color;
            container::Style {
                background: Some(Background::Color(Color::from_rgb8(0xFD, 0xEC, 0xEA))),
                text_color: Some(Color::from_rgb8(0x7F, 0x1D, 0x1D)),
                border: Border {
                    color: danger,
                    width: 1.0,
                    radius: 8.0.into(),
                },
                ..container::Style::default()
            }
        })
        .into()
}

/// A good-news or in-progress banner.
pub fn notice<'a, M: 'a>(message: impl text::IntoFragment<'a>) -> Element<'a, M> {
    container(text(message).size(BODY))
        .padding(12)
        .width(Length::Fill)
        .style(|_: &Theme| container::Style {
            background: Some(Background::Color(Color::from_rgb8(0xE6, 0xF4, 0xEA))),
            text_color: Some(Color::from_rgb8(0x14, 0x53, 0x22)),
            border: Border {
                color: Color::from_rgb8(0x1E, 0x7D, 0x32),
                width: 1.0,
                radius: 8.0.into(),
            },
            ..container::Style::default()
        })
        .into()
}

/// A labelled form field.
pub fn field<'a, M: 'a>(label: &'a str, input: impl Into<Element<'a, M>>) -> Element<'a, M> {
    column![text(label).size(15).font(BOLD), input.into()]
        .spacing(4)
        .into()
}

/// Time left, as `3h05min`, or "prazo vencido".
pub fn countdown(left: chrono::Duration) -> String {
    let s = left.num_seconds();
    if s <= 0 {
        return "prazo vencido".to_owned();
    }
    format!("{}h{:02}min", s / 3600, (s % 3600) / 60)
}

/// Central time in the station's zone, as on the tarja and the laudo.
pub fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    vistoria_core::clock::station_time(t)
}
