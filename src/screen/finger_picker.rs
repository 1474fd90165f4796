//! Demo mode's choice of the finger the simulated reader will read, shared by the screens that
//! take a fingerprint (Entrar, Assinatura). The choice lives in the kiosk, so every screen
//! shows the finger that is really on the reader.

use iced::widget::{column, row, text};
use iced::{Element, Task};

use crate::app::work::work;
use crate::widget;
use vistoria_station::{Failure, Station};

/// The picker: empty outside demo mode.
#[derive(Debug)]
pub struct FingerPicker {
    labels: Vec<String>,
    chosen: usize,
}

/// What happens on it.
#[derive(Debug, Clone)]
pub enum Message {
    /// A finger was picked.
    Chosen(usize),
    /// The reader took the choice.
    Set(Result<(), Failure>),
}

impl FingerPicker {
    /// The fingers the kiosk's simulated reader offers, with the one now on it.
    pub fn new(kiosk: &Station) -> FingerPicker {
        let (labels, chosen) = kiosk.demo_fingers();
        FingerPicker { labels, chosen }
    }

    /// Handles a message; an error is for the screen to show.
    pub fn update(
        &mut self,
        message: Message,
        kiosk: &Station,
    ) -> (Task<Message>, Option<Failure>) {
        match message {
            Message::Chosen(i) => {
                self.chosen = i;
                let task = work(
                    kiosk,
                    "finger",
                    move |k| k.choose_demo_finger(i),
                    Message::Set,
                );
                (task, None)
            }
            Message::Set(Ok(())) => (Task::none(), None),
            Message::Set(Err(e)) => (Task::none(), Some(e)),
        }
    }

    /// The choice, titled; `None` outside demo mode.
    pub fn view(&self, title: &'static str) -> Option<Element<'_, Message>> {
        if self.labels.is_empty() {
            return None;
        }
        let mut fingers = row![].spacing(8);
        for (i, label) in self.labels.iter().enumerate() {
            fingers = fingers.push(widget::toggle(label, self.chosen == i, Message::Chosen(i)));
        }
        Some(
            column![text(title).size(15).font(widget::BOLD), fingers]
                .spacing(6)
                .into(),
        )
    }
}
