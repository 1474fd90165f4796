//! What one recording produced: its segments with digests and times, and every stretch that is
//! missing (§17e: the reviewer must see exactly what was not filmed and why).

use std::path::Path;

use serde::{Deserialize, Serialize};
use vistoria_core::clock::CentralStamp;
use vistoria_core::hashing::Digests;

/// One finished MP4 segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// File name inside the output directory.
    pub file: String,
    /// MD5 + SHA-256 of the finished file (2e, §8).
    pub digests: Digests,
    /// Start, in seconds from the start of the recording.
    pub start_s: f64,
    /// End, in seconds from the start of the recording.
    pub end_s: f64,
    /// Central time of the start (2d); `None` when the kiosk had no central time.
    pub start_at: Option<CentralStamp>,
    /// Central time of the end.
    pub end_at: Option<CentralStamp>,
    /// True when the segment was left unfinalised by a kiosk crash and recovered afterwards:
    /// playable up to the muxer's last index update, its end is the end of what plays.
    #[serde(default)]
    pub recovered: bool,
}

/// Why video is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapCause {
    /// The camera could not be reached or closed the connection.
    ConnectionLost,
    /// Connected, but no frame for the loss timeout (frozen camera, network cut).
    NoFrames,
    /// Our side failed: pipeline error, disk full.
    SystemFailure,
    /// The kiosk itself stopped (power cut, crash, kill) while filming; the gap runs from the
    /// last frame on disk to the restart (or to the inspection's interruption).
    KioskInterrupted,
}

impl GapCause {
    /// Portuguese label for the UI and the audit log.
    pub fn label_pt(self) -> &'static str {
        match self {
            GapCause::ConnectionLost => "perda de conexão com a câmera",
            GapCause::NoFrames => "câmera sem imagem",
            GapCause::SystemFailure => "falha do sistema de gravação",
            GapCause::KioskInterrupted => "falha do sistema: interrupção do quiosque",
        }
    }
}

/// A stretch without video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// Start (last frame received), in seconds from the start of the recording.
    pub start_s: f64,
    /// End (first frame after reconnection, or the stop), in seconds from the start.
    pub end_s: f64,
    /// Central time of the start.
    pub start_at: Option<CentralStamp>,
    /// Central time of the end.
    pub end_at: Option<CentralStamp>,
    /// Why.
    pub cause: GapCause,
    /// What GStreamer or the watchdog said, for the technician (Portuguese).
    pub detail: String,
    /// True when the recording was stopped before video came back.
    pub open_at_stop: bool,
}

/// Whether the monitored region looked occupied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// A vehicle-sized difference from the empty bay was seen recently.
    Present,
    /// No vehicle seen for the hold time.
    Absent,
}

/// What presence was judged against: the empty-bay still (by the SHA-256 of its PNG, as in
/// the audit row that set it), the region and the vehicle share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceBasis {
    /// SHA-256 of the reference still's PNG.
    pub reference_sha256: String,
    /// The monitored region, as fractions of the frame.
    pub region: super::presence::Region,
    /// Share of the region a blob of difference must cover to be a vehicle.
    pub min_vehicle_share: f32,
}

/// One stretch of the presence timeline (§4, §17e).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceSpan {
    /// Start, in seconds from the start of the recording.
    pub start_s: f64,
    /// End, in seconds from the start of the recording.
    pub end_s: f64,
    /// What was seen.
    pub state: Presence,
}

/// The format found at the camera and what was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamFormat {
    /// Codec sent by the camera (`H264`, `H265`).
    pub source_codec: String,
    /// Camera frame size and rate (fps 0 = not declared by the camera).
    pub source_width: u32,
    /// Camera frame height.
    pub source_height: u32,
    /// Camera frame rate.
    pub source_fps: f64,
    /// True when the camera's stream is stored as-is.
    pub passthrough: bool,
    /// Written frame width.
    pub width: u32,
    /// Written frame height.
    pub height: u32,
    /// Written frame rate.
    pub fps: f64,
}

/// Everything one recording produced. Written as `manifest.json` in the output directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Camera URL without credentials.
    pub url: String,
    /// Central time of the start.
    pub started_at: Option<CentralStamp>,
    /// Central time of the stop.
    pub stopped_at: Option<CentralStamp>,
    /// Length of the recording, start to stop, in seconds.
    pub seconds: f64,
    /// Format of the last connection (`None` if the camera never answered).
    pub format: Option<StreamFormat>,
    /// Finished segments, in order.
    pub segments: Vec<SegmentEntry>,
    /// Stretches without video, in order.
    pub gaps: Vec<Gap>,
    /// Presence timeline (empty when presence was not calibrated).
    pub presence: Vec<PresenceSpan>,
    /// What presence was judged against; `None` (written `null`, or absent in manifests
    /// older than it): the bay was not calibrated and the timeline claims nothing.
    #[serde(default)]
    pub presence_basis: Option<PresenceBasis>,
    /// True once the recording was stopped and every segment finalised and hashed.
    pub complete: bool,
    /// True when the stop came while video was lost (the last gap is open at stop).
    pub stopped_during_loss: bool,
}

impl Manifest {
    /// An empty manifest for a recording of `url`.
    pub fn new(url: &str, started_at: Option<CentralStamp>) -> Manifest {
        Manifest {
            url: strip_credentials(url),
            started_at,
            stopped_at: None,
            seconds: 0.0,
            format: None,
            segments: Vec::new(),
            gaps: Vec::new(),
            presence: Vec::new(),
            presence_basis: None,
            complete: false,
            stopped_during_loss: false,
        }
    }

    /// End of the last stretch of video on disk, in seconds from the start (0 if none).
    pub fn last_video_s(&self) -> f64 {
        self.segments.iter().map(|s| s.end_s).fold(0.0, f64::max)
    }

    /// Seconds of video missing.
    pub fn missing_seconds(&self) -> f64 {
        self.gaps.iter().map(|g| g.end_s - g.start_s).sum()
    }

    /// Writes `manifest.json` into `dir` atomically (temp file + rename), so a crash leaves
    /// either the previous manifest or the new one.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join("manifest.json.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join("manifest.json"))
    }

    /// Reads `manifest.json` from `dir`.
    pub fn read_from(dir: &Path) -> std::io::Result<Manifest> {
        let bytes = std::fs::read(dir.join("manifest.json"))?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }
}

/// `rtsp://user:pass@host/…` → `rtsp://host/…`: credentials never go into a package.
pub fn strip_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_manifest() {
        assert_eq!(
            strip_credentials("rtsp://admin:s3nh@10.0.0.5:554/stream1"),
            "rtsp://10.0.0.5:554/stream1"
        );
        assert_eq!(
            strip_credentials("rtsp://10.0.0.5/a@b"),
            "rtsp://10.0.0.5/a@b"
        );
        assert_eq!(Manifest::new("rtsp://u:p@h/x", None).url, "rtsp://h/x");
    }

    #[test]
    fn manifest_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest::new("rtsp://h/x", None);
        m.gaps.push(Gap {
            start_s: 1.0,
            end_s: 4.5,
            start_at: None,
            end_at: None,
            cause: GapCause::NoFrames,
            detail: "sem quadros".into(),
            open_at_stop: false,
        });
        m.write_to(dir.path()).unwrap();
        let back = Manifest::read_from(dir.path()).unwrap();
        assert_eq!(back, m);
        assert!((back.missing_seconds() - 3.5).abs() < 1e-9);
        let json = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
        assert!(json.contains("\"cause\": \"no_frames\""), "{json}");
    }

    /// Times are measured floats; the file is what the package hashes, so a
    /// manifest read back must equal the one written to the last bit (serde_json
    /// needs `float_roundtrip` for that: its fast parser is off by an ulp at times).
    #[test]
    fn measured_times_come_back_bit_exact() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest::new("rtsp://h/x", None);
        m.seconds = 29.316680304;
        let mut t = 0.06315959_f64;
        for i in 0..2000 {
            let end = t + 9.0 + (i as f64).sin().abs() * 0.037_123_456_789;
            m.gaps.push(Gap {
                start_s: t,
                end_s: end,
                start_at: None,
                end_at: None,
                cause: GapCause::NoFrames,
                detail: String::new(),
                open_at_stop: false,
            });
            t = end;
        }
        m.write_to(dir.path()).unwrap();
        let back = Manifest::read_from(dir.path()).unwrap();
        for (a, b) in back.gaps.iter().zip(&m.gaps) {
            assert_eq!(
                a.end_s.to_bits(),
                b.end_s.to_bits(),
                "{} vs {}",
                a.end_s,
                b.end_s
            );
        }
        assert_eq!(back, m);
    }
}
