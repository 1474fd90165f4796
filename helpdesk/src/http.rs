//! The one HTTP seam of the crate: requests and responses are plain `http` values with byte
//! bodies, so the GLPI and Graph API protocols are pure functions tested on bytes, and a transport
//! (reqwest here) only carries them.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A request as built by a protocol module.
pub type HttpRequest = http::Request<Vec<u8>>;

/// A response as parsed by a protocol module.
pub type HttpResponse = http::Response<Vec<u8>>;

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The request never got an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Nothing answered (refused, unreachable, DNS).
    #[error("sem conexão com {host}: {detail}")]
    Connect {
        /// Who.
        host: String,
        /// Why.
        detail: String,
    },
    /// No answer in time (the other side may have acted on the request).
    #[error("sem resposta de {host} a tempo")]
    Timeout {
        /// Who.
        host: String,
    },
    /// Cut mid-way, or not HTTP.
    #[error("falha de comunicação com {host}: {detail}")]
    Broken {
        /// Who.
        host: String,
        /// Why.
        detail: String,
    },
}

/// Carries requests. Implementations must be safe to share between tasks.
pub trait HttpTransport: Send + Sync {
    /// Sends one request and reads the whole answer.
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

/// [`HttpTransport`] over reqwest (rustls), with one timeout for the whole exchange.
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport whose every request gives up after `timeout`.
    pub fn new(timeout: Duration) -> Result<ReqwestTransport, TransportError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| TransportError::Broken {
                host: String::new(),
                detail: e.to_string(),
            })?;
        Ok(ReqwestTransport { client })
    }
}

impl HttpTransport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let host = request.uri().host().unwrap_or_default().to_owned();
            let classify = |e: reqwest::Error| {
                if e.is_timeout() {
                    TransportError::Timeout { host: host.clone() }
                } else if e.is_connect() {
                    TransportError::Connect {
                        host: host.clone(),
                        detail: e.to_string(),
                    }
                } else {
                    TransportError::Broken {
                        host: host.clone(),
                        detail: e.to_string(),
                    }
                }
            };
            let request = reqwest::Request::try_from(request).map_err(classify)?;
            let response = self.client.execute(request).await.map_err(classify)?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await.map_err(classify)?;
            builder
                .body(body.to_vec())
                .map_err(|e| TransportError::Broken {
                    host: host.clone(),
                    detail: e.to_string(),
                })
        })
    }
}

/// One part of a `multipart/form-data` body (RFC 7578).
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    /// The form field's name.
    pub name: &'a str,
    /// The file name, for a file part.
    pub filename: Option<&'a str>,
    /// The part's `Content-Type`.
    pub content_type: Option<&'a str>,
    /// Its bytes.
    pub body: &'a [u8],
}

/// A fresh boundary (random, never found in the parts in practice: 32 hex digits).
pub fn new_boundary() -> String {
    format!("vistoria-{:032x}", rand::random::<u128>())
}

/// Encodes a `multipart/form-data` body with `boundary`. Quotes and line breaks in names are
/// percent-encoded as browsers do (WHATWG), so a file name cannot break the part's headers.
pub fn multipart_body(boundary: &str, parts: &[Part]) -> Vec<u8> {
    fn quote(s: &str) -> String {
        s.replace('"', "%22")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"",
            quote(part.name)
        );
        if let Some(f) = part.filename {
            disposition.push_str(&format!("; filename=\"{}\"", quote(f)));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = part.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn multipart_is_byte_exact() {
        let body = multipart_body(
            "B",
            &[
                Part {
                    name: "uploadManifest",
                    filename: None,
                    content_type: Some("application/json"),
                    body: b"{}",
                },
                Part {
                    name: "filename[0]",
                    filename: Some("a\"b.jpg"),
                    content_type: Some("image/jpeg"),
                    body: b"\xff\xd8",
                },
            ],
        );
        let expected: &[u8] = b"--B\r\nContent-Disposition: form-data; name=\"uploadManifest\"\r\n\
Content-Type: application/json\r\n\r\n{}\r\n--B\r\nContent-Disposition: form-data; name=\"filename[0]\"; \
filename=\"a%22b.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--B--\r\n";
        assert_eq!(body, expected);
    }
}
