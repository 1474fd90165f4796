//! A stored blob's bytes as a response body: read on a blocking thread in chunks and sent as
//! they are read, so a download of a film or a release package holds one chunk in memory, and
//! a client that goes away stops the reading. Shared by the Detran API's and the portal's file
//! downloads and the stations' release download.

use axum::body::{Body, Bytes};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::ApiError;

/// Bytes read and sent at a time.
const CHUNK: usize = 64 * 1024;

/// The body that streams `reader` to its end.
pub(crate) fn body_of(mut reader: impl std::io::Read + Send + 'static) -> Body {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let chunk = match reader.read(&mut buffer) {
                Ok(0) => return,
                Ok(n) => Ok(Bytes::copy_from_slice(&buffer[..n])),
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            // The reader went away (client closed): stop reading.
            if sender.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    Body::from_stream(stream)
}

/// The `Repr-Digest` header's value (RFC 9530) for a SHA-256 given in hex.
pub(crate) fn repr_digest(sha256_hex: &str) -> Result<String, ApiError> {
    hex::decode(sha256_hex)
        .map(|raw| format!("sha-256=:{}:", STANDARD.encode(raw)))
        .map_err(ApiError::internal)
}
