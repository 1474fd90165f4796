//! One module per screen, each with its `State`, `Message`, `update` and `view`; the app
//! routes between them (see `crate::app`).

pub mod counter;
pub mod diagnostics;
pub mod finger_picker;
pub mod inspection;
pub mod login;
pub mod outbox;
pub mod setup;
pub mod signature;
pub mod staff;
