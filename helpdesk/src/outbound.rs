//! Replies go back on the channel the ticket came from: one [`OutboundChannel`] per channel, and
//! the [`Deliverer`] that runs the queue's delivery jobs through them. WhatsApp pushes through
//! the Graph API; the kiosk and the console read their tickets' messages from the store, so for
//! them delivery is making the message available ([`PullChannel`]).

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::SyncSettings;
use crate::http::BoxFuture;
use crate::jobs::{Attempt, Order, RunReport, blocking, run_due};
use crate::model::{Attachment, Channel, Contact, JobKind, Outbound, OutboundBody, OutboundId};
use crate::service::{Helpdesk, ServiceError, fill_body};

/// A message ready for its channel: `{chamado}` filled, the addressee and the file at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The queued message.
    pub outbound: Outbound,
    /// Its body with the ticket's reference filled in.
    pub body: OutboundBody,
    /// Who it goes to.
    pub contact: Contact,
    /// The file, for a media body.
    pub media: Option<(Attachment, Vec<u8>)>,
}

/// Why a channel did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later (outage, throttling).
    #[error("{0}")]
    Retry(String),
    /// Never deliverable as is (no number, window closed, refused): kept for the console.
    #[error("{0}")]
    Refused(String),
}

/// One way of reaching requesters.
pub trait OutboundChannel: Send + Sync {
    /// Which channel it serves.
    fn channel(&self) -> Channel;

    /// Delivers one message; the channel's id for it, if any.
    fn deliver<'a>(
        &'a self,
        message: &'a Prepared,
    ) -> BoxFuture<'a, Result<Option<String>, DeliveryError>>;
}

/// A channel whose requesters read their messages from us (the kiosk's ticket list, the
/// console for callers): queued is delivered.
pub struct PullChannel(pub Channel);

impl OutboundChannel for PullChannel {
    fn channel(&self) -> Channel {
        self.0
    }

    fn deliver<'a>(
        &'a self,
        _message: &'a Prepared,
    ) -> BoxFuture<'a, Result<Option<String>, DeliveryError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Runs delivery jobs.
pub struct Deliverer {
    helpdesk: Arc<Helpdesk>,
    channels: HashMap<Channel, Arc<dyn OutboundChannel>>,
    pace: SyncSettings,
}

static DELIVER: [JobKind; 1] = [JobKind::Deliver];

impl Deliverer {
    /// A deliverer with the pull channels for the kiosk and the console; add WhatsApp with
    /// [`Deliverer::with_channel`].
    pub fn new(helpdesk: Arc<Helpdesk>) -> Deliverer {
        let pace = helpdesk.config().sync.clone();
        let mut d = Deliverer {
            helpdesk,
            channels: HashMap::new(),
            pace,
        };
        d = d.with_channel(Arc::new(PullChannel(Channel::Kiosk)));
        d.with_channel(Arc::new(PullChannel(Channel::Web)))
    }

    /// Adds (or replaces) a channel.
    pub fn with_channel(mut self, channel: Arc<dyn OutboundChannel>) -> Deliverer {
        self.channels.insert(channel.channel(), channel);
        self
    }

    async fn prepare(&self, id: OutboundId) -> Result<Prepared, ServiceError> {
        blocking(&self.helpdesk, move |h| {
            let store = h.store();
            let outbound = store
                .outbound(id)?
                .ok_or_else(|| ServiceError::NotFound(format!("envio {}", id.0)))?;
            let contact = store.contact(outbound.contact_id)?.ok_or_else(|| {
                ServiceError::NotFound(format!("contato {}", outbound.contact_id.0))
            })?;
            let body = match outbound.ticket_id {
                Some(t) => fill_body(&outbound.body, &t.reference()),
                None => outbound.body.clone(),
            };
            let media = match &outbound.body {
                OutboundBody::Media { attachment, .. } => {
                    let a = store
                        .attachment(*attachment)?
                        .ok_or_else(|| ServiceError::NotFound(format!("anexo {}", attachment.0)))?;
                    let b = store.attachment_bytes(*attachment)?.ok_or_else(|| {
                        ServiceError::NotFound(format!("bytes do anexo {}", attachment.0))
                    })?;
                    Some((a, b))
                }
                _ => None,
            };
            Ok(Prepared {
                outbound,
                body,
                contact,
                media,
            })
        })
        .await
    }

    /// Runs the due deliveries once.
    pub async fn run_once(&self) -> Result<RunReport, ServiceError> {
        run_due(
            &self.helpdesk,
            &DELIVER,
            &self.pace,
            Order::Strict,
            |job| async move {
                let id = OutboundId(job.target);
                let prepared = match self.prepare(id).await {
                    Ok(p) => p,
                    Err(e) => return Attempt::Retry(e.to_string()),
                };
                if prepared.outbound.delivered_at.is_some() || prepared.outbound.failed.is_some() {
                    return Attempt::Done;
                }
                let Some(channel) = self.channels.get(&prepared.outbound.channel) else {
                    return Attempt::Retry(format!(
                        "canal {} não configurado",
                        prepared.outbound.channel.label_pt()
                    ));
                };
                let result = channel.deliver(&prepared).await;
                let now = self.helpdesk.now();
                let stored = match result {
                    Ok(external) => {
                        blocking(&self.helpdesk, move |h| {
                            Ok(h.store().mark_delivered(id, external.as_deref(), now)?)
                        })
                        .await
                    }
                    Err(DeliveryError::Refused(reason)) => {
                        tracing::warn!(outbound = id.0, %reason, "mensagem recusada pelo canal");
                        blocking(&self.helpdesk, move |h| {
                            Ok(h.store().mark_undeliverable(id, &reason)?)
                        })
                        .await
                    }
                    Err(DeliveryError::Retry(e)) => return Attempt::Retry(e),
                };
                match stored {
                    Ok(()) => Attempt::Done,
                    Err(e) => Attempt::Retry(e.to_string()),
                }
            },
        )
        .await
    }
}
