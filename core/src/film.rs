//! §4 "sem cortes": at a station with a panoramic camera the whole inspection is filmed, so no
//! photo is taken while the film is not running ([`check_capture`]), and every stretch the film
//! lacks is listed in the laudo and the package ([`FilmGap`]).
//!
//! The recorder is a device (`drivers::panoramic`); the rule is here, so every path (the
//! window, `simulate`, any later API) applies the same one from the recorder state it reports.

use serde::{Deserialize, Serialize};

use crate::domain::InspectionId;
use crate::store::{Store, StoreError};

/// The stored kind of a recording's manifest (segments, gaps, presence).
pub const MANIFEST_KIND: &str = "panoramic_manifest";

/// The panoramic film of one inspection, as the station's recorder reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilmState {
    /// The station has no panoramic camera (§4 applies to stations that have one).
    NoPanoramicCamera,
    /// Recording and receiving frames.
    Recording,
    /// The station has a camera but the film of this inspection is not running; why, in
    /// Portuguese (never started, starting, video lost).
    NotRecording(String),
}

/// Why a capture was refused for the film.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "SEM VÍDEO: a câmera panorâmica não está gravando ({0}); a captura fica bloqueada até a filmagem voltar (§4, sem cortes). Aguarde ou chame o técnico."
)]
pub struct FilmDown(pub String);

/// §4: a photo may be taken only while the film runs, at a station that films.
pub fn check_capture(film: &FilmState) -> Result<(), FilmDown> {
    match film {
        FilmState::NoPanoramicCamera | FilmState::Recording => Ok(()),
        FilmState::NotRecording(why) => Err(FilmDown(why.clone())),
    }
}

/// A stretch without film, as the laudo and the package list it. Times in milliseconds from
/// the start of the recording (the canonical laudo holds integers only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilmGap {
    /// Start: the last frame received.
    pub start_ms: u64,
    /// End: the first frame after it, or the stop.
    pub end_ms: u64,
    /// Cause code (`connection_lost`, `no_frames`, `system_failure`, `kiosk_interrupted`).
    pub cause: String,
    /// Whether the recording stopped before video came back.
    pub open_at_stop: bool,
}

/// The parts of a recorder manifest this reads (the recorder's own type is the driver's).
#[derive(Deserialize)]
struct ManifestGaps {
    #[serde(default)]
    gaps: Vec<RecorderGap>,
}

#[derive(Deserialize)]
struct RecorderGap {
    start_s: f64,
    end_s: f64,
    cause: String,
    #[serde(default)]
    open_at_stop: bool,
}

fn ms(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0).round() as u64
}

/// The gaps a recorder manifest (`manifest.json`, live or stored) lists, in order.
pub fn gaps_in_manifest(bytes: &[u8]) -> Result<Vec<FilmGap>, String> {
    let manifest: ManifestGaps = serde_json::from_slice(bytes)
        .map_err(|e| format!("manifesto da filmagem ilegível: {e}"))?;
    Ok(manifest
        .gaps
        .into_iter()
        .map(|g| FilmGap {
            start_ms: ms(g.start_s),
            end_ms: ms(g.end_s.max(g.start_s)),
            cause: g.cause,
            open_at_stop: g.open_at_stop,
        })
        .collect())
}

/// Every gap of the stored film of `id` (the manifests of its recordings, in order), without
/// repeats: a recording resumed after a crash continues the timeline and its manifest lists the
/// earlier gaps again.
pub fn stored_gaps(store: &Store, id: InspectionId) -> Result<Vec<FilmGap>, StoreError> {
    let mut gaps: Vec<FilmGap> = Vec::new();
    for record in store.media_of(id)? {
        if record.kind != MANIFEST_KIND {
            continue;
        }
        let bytes = store.read_media(&record)?;
        let found = gaps_in_manifest(&bytes).map_err(StoreError::Decode)?;
        merge(&mut gaps, found);
    }
    Ok(gaps)
}

/// Adds `more` to `gaps`, leaving out those already there (same start and cause), in order of
/// start.
pub fn merge(gaps: &mut Vec<FilmGap>, more: Vec<FilmGap>) {
    for gap in more {
        match gaps
            .iter_mut()
            .find(|g| g.start_ms == gap.start_ms && g.cause == gap.cause)
        {
            // A later manifest knows more of the same gap (it closed since).
            Some(known) => *known = gap,
            None => gaps.push(gap),
        }
    }
    gaps.sort_by_key(|g| g.start_ms);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn capture_waits_for_the_film_only_where_there_is_a_camera() {
        assert!(check_capture(&FilmState::NoPanoramicCamera).is_ok());
        assert!(check_capture(&FilmState::Recording).is_ok());
        let err = check_capture(&FilmState::NotRecording("sem imagem há 6 s".into())).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("SEM VÍDEO"), "{text}");
        assert!(text.contains("sem imagem há 6 s"), "{text}");
    }

    #[test]
    fn a_recorder_manifest_gives_its_gaps_in_milliseconds() {
        let manifest = br#"{"url":"rtsp://cam","seconds":40.0,"segments":[],"presence":[],
            "complete":true,"stopped_during_loss":false,"gaps":[
            {"start_s":3.25,"end_s":9.5,"cause":"no_frames","detail":"x","open_at_stop":false},
            {"start_s":30.0,"end_s":40.0,"cause":"connection_lost","detail":"y","open_at_stop":true}]}"#;
        let gaps = gaps_in_manifest(manifest).unwrap();
        assert_eq!(
            gaps,
            vec![
                FilmGap {
                    start_ms: 3250,
                    end_ms: 9500,
                    cause: "no_frames".into(),
                    open_at_stop: false
                },
                FilmGap {
                    start_ms: 30000,
                    end_ms: 40000,
                    cause: "connection_lost".into(),
                    open_at_stop: true
                },
            ]
        );
        // A resumed recording's manifest repeats the first gap, closed later: kept once.
        let mut all = gaps.clone();
        let mut later = gaps[1].clone();
        later.end_ms = 45000;
        later.open_at_stop = false;
        merge(&mut all, vec![gaps[0].clone(), later.clone()]);
        assert_eq!(all, vec![gaps[0].clone(), later]);
        assert!(gaps_in_manifest(b"not json").is_err());
    }
}
