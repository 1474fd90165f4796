//! End to end inside the help desk crate: the three channels through the store to the GLPI
//! stand-in and back, GLPI down and back, lost answers, expired sessions, the WhatsApp webhook
//! and Graph API against the Meta stand-in, and five technicians at once.
#![allow(clippy::unwrap_used)]

mod channels;
mod concurrency;
mod glpi_sync;
mod harness;
mod whatsapp;
