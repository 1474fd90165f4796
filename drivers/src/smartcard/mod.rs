//! The inspector's e-CPF A3 card (§14): PC/SC reader and card events ([`readers`]) and
//! signing through the card's PKCS#11 middleware ([`pkcs11`]). The CAdES building and the
//! certificate checks are in `vistoria_core::signing`; here is only the device.

pub mod pkcs11;
pub mod readers;

pub use pkcs11::{KNOWN_MODULES, Pkcs11Signer, find_module};
pub use readers::{ReaderEvent, ReaderWatcher};
