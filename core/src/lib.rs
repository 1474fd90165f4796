//! Vistoria's core: everything that is neither UI nor a device.
//!
//! Rules cite Portaria Detran-MT 741/2019, Anexo II (`../shared/seeds/002_cb3a28bb034e36c2.txt`):
//! items `2a`…`2t` of its section 2 and sections `§5`…`§18`.

pub mod accounts;
pub mod audit_keying;
pub mod biometrics;
pub mod canonical;
pub mod capture;
pub mod central_client;
pub mod clock;
pub mod config;
pub mod domain;
pub mod film;
pub mod fixtures;
pub mod geometry;
pub mod hashing;
pub mod laudo;
pub mod ocr;
pub mod outbox;
pub mod package;
pub mod paths;
pub mod policy;
pub mod session;
pub mod signing;
pub mod staff;
pub mod store;
pub mod tickets;
pub mod wire;
pub mod workflow;
