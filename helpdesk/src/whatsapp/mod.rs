//! The WhatsApp channel: Meta's webhook ([`webhook`]) brings messages in, the Graph API
//! ([`graph`]) sends replies and fetches media.

pub mod channel;
pub mod graph;
pub mod webhook;
