//! The subcommands: one module each. Machine-readable output is one JSON line per result.

pub mod audit;
pub mod bench;
pub mod bench_central;
pub mod bench_live;
pub mod bench_station;
pub mod central_policy;
pub mod config;
pub mod demo;
pub mod fingerprint;
pub mod laudo;
pub mod ocr;
pub mod record;
pub mod sign;
pub mod simulate;
pub mod staff;
pub mod station;
pub mod stream;
pub mod synthetic;
pub mod update;
pub mod usb_policy;
