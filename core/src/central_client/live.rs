//! The live view of the panoramic camera (§7): what a station asks the central before it
//! streams (`GET /stations/self/live`: is the station inside its business hours now) and one
//! frame sent (`POST /stations/self/live/frames`). Shared by the station's streamer and the
//! central's handlers, so both read the same shapes.
//!
//! One request per frame, not one long chunked request: a load balancer in front of the
//! central commonly buffers request bodies until they end, which would hold a never-ending
//! stream back; a frame a request reaches whichever instance is free, and the central's
//! per-station limit (20 requests/s by default) leaves room for 3 frames a second next to the
//! deliveries.

use serde::{Deserialize, Serialize};

use super::{Body, CentralClient, ClientError};

/// Where a station asks about its live view, under the API prefix.
pub const LIVE_PATH: &str = "/stations/self/live";
/// Where a station sends a frame, under the API prefix (`?captured_at=` Unix milliseconds).
pub const LIVE_FRAMES_PATH: &str = "/stations/self/live/frames";
/// The largest frame the central takes (a 480×270 JPEG is about 10 kB).
pub const MAX_LIVE_FRAME_BYTES: usize = 256 * 1024;

/// The central's answer to `GET /stations/self/live` and to every frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSchedule {
    /// Stream now: the station is inside its business hours. `false` on a frame's answer means
    /// the frame was not kept and the station stops until it asks again.
    pub stream: bool,
    /// The station's business hours, for people (`seg,ter,qua,qui,sex 07:00-18:00 (UTC-04:00)`).
    pub hours: String,
    /// Ask again after this many seconds when not streaming.
    pub recheck_seconds: u64,
    /// The number the central gave the frame (frames' answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl CentralClient {
    /// `GET /stations/self/live`: whether to stream now.
    pub fn live_schedule(&self) -> Result<LiveSchedule, ClientError> {
        let url = self.url(LIVE_PATH);
        self.call(|| self.agent.get(&url), Body::Empty)
    }

    /// `POST /stations/self/live/frames`: one JPEG captured at `captured_at_ms` (Unix ms).
    pub fn send_live_frame(
        &self,
        jpeg: &[u8],
        captured_at_ms: i64,
    ) -> Result<LiveSchedule, ClientError> {
        let url = self.url(LIVE_FRAMES_PATH);
        let open = || -> std::io::Result<Box<dyn std::io::Read + '_>> { Ok(Box::new(jpeg)) };
        self.call(
            || {
                self.agent
                    .post(&url)
                    .query("captured_at", &captured_at_ms.to_string())
                    .set("Content-Type", "image/jpeg")
                    .set("Content-Length", &jpeg.len().to_string())
            },
            Body::Bytes {
                name: "quadro ao vivo",
                open: &open,
            },
        )
    }
}
