//! Stand-ins for what cannot run here, each written from the real service's documentation and
//! able to fail as the real one does: GLPI 10.0's REST API ([`glpi`]) and Meta's WhatsApp Cloud
//! API ([`meta`]: the Graph API side and a driver that posts signed webhooks). Tests and the demo
//! start them on loopback.

pub mod glpi;
pub mod meta;
pub mod server;
