//! The reference central server of a Vistoria system company: central time (2d), vehicle query
//! (§5), reception of inspection packages with a signed receipt (2s, §12) and five-year
//! retention (§9). `README.md` documents the API; `main.rs` is the command line.

pub mod api;
pub mod cross_flags;
pub mod flags;
pub mod fsutil;
pub mod helpdesk;
pub mod inspection_flags;
pub mod keys;
pub mod listener;
pub mod names;
pub mod portal;
pub mod registry;
pub mod release;
pub mod report;
pub mod report_pdf;
pub mod retention;
pub mod server;
pub mod stations;
pub mod storage;
pub mod tls;
pub mod trust;
pub mod users;
