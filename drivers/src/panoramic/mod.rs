//! Panoramic IP camera (§4, §7 last paragraph, §17 of Portaria Detran-MT 741/2019 Anexo II): the
//! whole inspection is filmed continuously over RTSP and handed over as MP4 segments of at least
//! 4 fps at 860×480, each hashed (2e, §8) and stamped with central time (2d), with every
//! stretch of lost video (§17e) listed in the recording's manifest together with a presence
//! timeline of the monitored bay.
//!
//! [`Recorder`] runs the GStreamer pipeline built by [`pipeline`]; [`presence`] and
//! [`bay_vision`] are pure frame arithmetic (a vehicle-sized difference from the empty bay);
//! [`test_server`] is a simulated camera for tests, the benchmark and bench checks, and
//! [`bay_scenes`] renders recorded sequences of a bay for the presence tests.

pub mod bay_scenes;
pub mod bay_vision;
pub mod live;
pub mod manifest;
pub mod pipeline;
pub mod presence;
pub mod recorder;
pub mod recovery;
pub mod segments;
pub mod still;
pub mod test_server;

pub use manifest::{
    Gap, GapCause, Manifest, Presence, PresenceBasis, PresenceSpan, SegmentEntry, StreamFormat,
};
pub use pipeline::{Minimums, Transport};
pub use presence::{BayReference, GrayFrame, PresenceConfig, Region};
pub use recorder::{LiveStatus, Recorder, RecorderConfig, RecorderError, RecorderEvent};
