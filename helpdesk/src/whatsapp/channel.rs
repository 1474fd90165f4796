//! The WhatsApp channel wired to the help desk: replies out through the Graph API, media in
//! fetched by id, webhook events into the service.

use std::sync::Arc;
use std::time::Duration;

use super::graph::{GraphClient, GraphEndpoint, GraphError, WaMessage};
use super::webhook::{Event, InboundHandler};
use crate::config::{SyncSettings, WhatsAppSettings};
use crate::http::{BoxFuture, ReqwestTransport, TransportError};
use crate::jobs::{Attempt, Order, RunReport, blocking, run_due};
use crate::model::{AttachmentId, Channel, JobKind, OutboundBody};
use crate::outbound::{DeliveryError, OutboundChannel, Prepared};
use crate::service::{Helpdesk, ServiceError};

/// A Graph API client as the settings say.
pub fn graph_client(settings: &WhatsAppSettings) -> Result<GraphClient, TransportError> {
    let transport = ReqwestTransport::new(Duration::from_secs(settings.timeout_seconds))?;
    Ok(GraphClient::new(
        GraphEndpoint {
            base: settings.graph_url.clone(),
            version: settings.api_version.clone(),
            phone_number_id: settings.phone_number_id.clone(),
            access_token: settings.access_token.clone(),
        },
        Arc::new(transport),
    ))
}

fn delivery_error(e: GraphError) -> DeliveryError {
    if e.is_permanent() {
        DeliveryError::Refused(e.to_string())
    } else {
        DeliveryError::Retry(e.to_string())
    }
}

/// Sends replies through the Graph API.
pub struct WhatsAppChannel {
    graph: Arc<GraphClient>,
}

impl WhatsAppChannel {
    /// The channel over `graph`.
    pub fn new(graph: Arc<GraphClient>) -> WhatsAppChannel {
        WhatsAppChannel { graph }
    }
}

fn media_kind(mime: &str) -> &'static str {
    match mime.split('/').next().unwrap_or("") {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "document",
    }
}

impl OutboundChannel for WhatsAppChannel {
    fn channel(&self) -> Channel {
        Channel::WhatsApp
    }

    fn deliver<'a>(
        &'a self,
        message: &'a Prepared,
    ) -> BoxFuture<'a, Result<Option<String>, DeliveryError>> {
        Box::pin(async move {
            let to = message.contact.phone.clone().ok_or_else(|| {
                DeliveryError::Refused(format!(
                    "{} não tem número de WhatsApp",
                    message.contact.name
                ))
            })?;
            let wa = match &message.body {
                OutboundBody::Text { text } => WaMessage::Text(text.clone()),
                OutboundBody::Buttons { text, choices } => WaMessage::Buttons {
                    text: text.clone(),
                    buttons: choices
                        .iter()
                        .map(|c| (c.id.clone(), c.title.clone()))
                        .collect(),
                },
                OutboundBody::List {
                    text,
                    button,
                    choices,
                } => WaMessage::List {
                    text: text.clone(),
                    button: button.clone(),
                    rows: choices
                        .iter()
                        .map(|c| (c.id.clone(), c.title.clone(), c.description.clone()))
                        .collect(),
                },
                OutboundBody::Media { caption, .. } => {
                    let (attachment, bytes) = message.media.as_ref().ok_or_else(|| {
                        DeliveryError::Retry("arquivo ainda não disponível".into())
                    })?;
                    let media_id = self
                        .graph
                        .upload(&attachment.mime, &attachment.filename, bytes)
                        .await
                        .map_err(delivery_error)?;
                    let kind = media_kind(&attachment.mime);
                    WaMessage::Media {
                        kind: kind.to_owned(),
                        media_id,
                        caption: caption.clone(),
                        filename: (kind == "document").then(|| attachment.filename.clone()),
                    }
                }
            };
            let wamid = self.graph.send(&to, &wa).await.map_err(delivery_error)?;
            Ok(Some(wamid))
        })
    }
}

static FETCH: [JobKind; 1] = [JobKind::FetchMedia];

/// Fetches the media people send, by id, into the store (then GLPI gets them as documents).
pub struct MediaFetcher {
    helpdesk: Arc<Helpdesk>,
    graph: Arc<GraphClient>,
    pace: SyncSettings,
}

impl MediaFetcher {
    /// A fetcher over `graph`.
    pub fn new(helpdesk: Arc<Helpdesk>, graph: Arc<GraphClient>) -> MediaFetcher {
        let pace = helpdesk.config().sync.clone();
        MediaFetcher {
            helpdesk,
            graph,
            pace,
        }
    }

    /// Runs the due fetches once.
    pub async fn run_once(&self) -> Result<RunReport, ServiceError> {
        run_due(
            &self.helpdesk,
            &FETCH,
            &self.pace,
            Order::PerTicket,
            |job| async move {
                let id = AttachmentId(job.target);
                let attachment =
                    match blocking(&self.helpdesk, move |h| Ok(h.store().attachment(id)?)).await {
                        Ok(Some(a)) => a,
                        Ok(None) => return Attempt::Done,
                        Err(e) => return Attempt::Retry(e.to_string()),
                    };
                if attachment.size.is_some() {
                    return Attempt::Done;
                }
                let Some(media_id) = attachment.wa_media_id.clone() else {
                    return Attempt::Done;
                };
                match self.graph.fetch_media(&media_id).await {
                    Ok((info, bytes)) => {
                        let mime = if info.mime_type.is_empty() {
                            attachment.mime.clone()
                        } else {
                            info.mime_type
                        };
                        match blocking(&self.helpdesk, move |h| {
                            Ok(h.store().set_attachment_bytes(id, &mime, &bytes)?)
                        })
                        .await
                        {
                            Ok(()) => Attempt::Done,
                            Err(e) => Attempt::Retry(e.to_string()),
                        }
                    }
                    Err(e) => Attempt::Retry(e.to_string()),
                }
            },
        )
        .await
    }
}

/// The webhook's events into the service, each message stored before the webhook answers 200.
pub struct WebhookSink {
    helpdesk: Arc<Helpdesk>,
}

impl WebhookSink {
    /// A sink into `helpdesk`.
    pub fn new(helpdesk: Arc<Helpdesk>) -> WebhookSink {
        WebhookSink { helpdesk }
    }
}

impl InboundHandler for WebhookSink {
    fn handle(&self, events: Vec<Event>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            for event in events {
                let outcome = blocking(&self.helpdesk, move |h| {
                    match &event {
                        Event::Message(m) => h.handle_whatsapp(m)?,
                        Event::Status(s) => h.whatsapp_status(s),
                    }
                    Ok(())
                })
                .await;
                outcome.map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    }
}
