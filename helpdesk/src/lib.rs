//! The system company's help desk (2k, 2n, §3 of Portaria Detran-MT 741/2019, Anexo II): tickets
//! from the stations' kiosks, from WhatsApp through a chatbot and from the web console, kept in
//! our own store first and synchronised with GLPI 10.0.6 through its REST API. See `README.md`.

pub mod chatbot;
pub mod config;
pub mod glpi;
pub mod http;
pub mod jobs;
pub mod model;
pub mod outbound;
pub mod report;
pub mod service;
pub mod stages;
pub mod standin;
pub mod store;
pub mod sync;
pub mod whatsapp;
pub mod worker;
