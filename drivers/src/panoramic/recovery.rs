//! After a crash (power cut, kill, kiosk failure) the recording folder of an inspection still
//! holds what was filmed: the segments listed in `manifest.json` (finalised and hashed), and the
//! segment that was open, which splitmuxsink never finalised. That one was written in mp4mux's
//! robust mode (see `pipeline::robust_muxer`), so it plays up to its last index update: it is
//! kept and hashed when it plays, removed when it does not (less than a second of video). The
//! time from the last frame on disk to the restart becomes a gap of cause
//! [`GapCause::KioskInterrupted`] (§17e "falhas de sistema"), so the manifest shows exactly what
//! is missing. Nothing is lost: what plays is kept, what is missing is said.

use std::collections::HashSet;
use std::path::Path;

use gstreamer as gst;
use gstreamer_pbutils as pbutils;
use vistoria_core::clock::CentralStamp;

use super::manifest::{Gap, GapCause, Manifest, SegmentEntry};
use super::segments::hash_segment;

/// What recovery found in a recording folder.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// The manifest, with recovered segments and the crash gap (open at its end).
    pub manifest: Manifest,
    /// Unfinalised segments that play and were kept.
    pub recovered: Vec<String>,
    /// Unfinalised segments that did not play and were removed.
    pub discarded: Vec<String>,
}

/// Portuguese detail of the crash gap, for the reviewer.
pub const CRASH_DETAIL: &str = "o quiosque parou durante a gravação (queda de energia, \
     travamento ou encerramento forçado); a gravação foi recuperada ao reiniciar";

/// Recovers the recording in `dir` (camera `url`), the kiosk restarting at `restart_at`
/// (central time; `None` when there is none yet, and then the gap's length is unknown and
/// recorded as zero with the detail saying so). Rewrites `manifest.json` atomically, so running
/// it again after another crash only extends the same gap.
pub fn recover(
    dir: &Path,
    url: &str,
    restart_at: Option<CentralStamp>,
) -> std::io::Result<Recovery> {
    let _ = std::fs::remove_file(dir.join("manifest.json.tmp"));
    let mut manifest = match Manifest::read_from(dir) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, dir = %dir.display(), "manifesto ausente ou ilegível; refeito a partir dos segmentos");
            Manifest::new(url, None)
        }
    };
    let known: HashSet<String> = manifest.segments.iter().map(|s| s.file.clone()).collect();
    let mut recovered = Vec::new();
    let mut discarded = Vec::new();
    for file in segment_files(dir)? {
        if known.contains(&file) {
            continue;
        }
        let path = dir.join(&file);
        let plays = playable_seconds(&path).filter(|d| *d > 0.0);
        match (plays, hash_segment(&path)?) {
            (Some(seconds), Some(digests)) => {
                let (start_s, start_at) = video_end(&manifest);
                manifest.segments.push(SegmentEntry {
                    file: file.clone(),
                    digests,
                    start_s,
                    end_s: start_s + seconds,
                    start_at,
                    end_at: start_at.map(|a| later(a, seconds)),
                    recovered: true,
                });
                recovered.push(file);
            }
            _ => {
                std::fs::remove_file(&path)?;
                discarded.push(file);
            }
        }
    }
    if !manifest.complete {
        let (start_s, start_at) = video_end(&manifest);
        let extend = manifest
            .gaps
            .last()
            .is_some_and(|g| g.open_at_stop && g.cause == GapCause::KioskInterrupted);
        if !extend {
            manifest.gaps.push(Gap {
                start_s,
                end_s: start_s,
                start_at,
                end_at: None,
                cause: GapCause::KioskInterrupted,
                detail: CRASH_DETAIL.to_owned(),
                open_at_stop: true,
            });
        }
        if let Some(gap) = manifest.gaps.last_mut() {
            end_gap_at(gap, restart_at);
            manifest.seconds = manifest.seconds.max(gap.end_s);
        }
    }
    manifest.write_to(dir)?;
    Ok(Recovery {
        manifest,
        recovered,
        discarded,
    })
}

/// Ends a recovered recording that will not resume (its inspection was interrupted at `at`):
/// the crash gap runs to `at`, and the manifest is complete and says it stopped during a loss.
pub fn finish(
    dir: &Path,
    manifest: &mut Manifest,
    at: Option<CentralStamp>,
) -> std::io::Result<()> {
    if !manifest.complete {
        if let Some(gap) = manifest
            .gaps
            .last_mut()
            .filter(|g| g.open_at_stop && g.cause == GapCause::KioskInterrupted)
        {
            end_gap_at(gap, at);
            manifest.seconds = manifest.seconds.max(gap.end_s);
            manifest.stopped_during_loss = true;
        }
        manifest.stopped_at = at.or(manifest.stopped_at);
        manifest.complete = true;
    }
    manifest.write_to(dir)
}

/// The index the next segment written in `dir` must take, so a resumed recording never
/// overwrites one a crash left behind.
pub fn next_segment_index(dir: &Path) -> u32 {
    segment_files(dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|f| segment_index(f))
        .max()
        .map_or(0, |i| i + 1)
}

fn segment_index(file: &str) -> Option<u32> {
    file.strip_prefix("segment-")?
        .strip_suffix(".mp4")?
        .parse()
        .ok()
}

/// `segment-NNNNN.mp4` files in `dir`, in index order.
fn segment_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files: Vec<(u32, String)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|f| segment_index(&f).map(|i| (i, f)))
        .collect();
    files.sort();
    Ok(files.into_iter().map(|(_, f)| f).collect())
}

/// Where video on disk ends: after the last segment or the last closed gap.
fn video_end(m: &Manifest) -> (f64, Option<CentralStamp>) {
    let mut end = (0.0, m.started_at);
    for s in &m.segments {
        if s.end_s >= end.0 {
            end = (s.end_s, s.end_at);
        }
    }
    for g in m.gaps.iter().filter(|g| !g.open_at_stop) {
        if g.end_s > end.0 {
            end = (g.end_s, g.end_at);
        }
    }
    end
}

/// Ends `gap` at central time `at`: its length comes from the two central stamps; without
/// them it cannot be known, and the detail says so.
fn end_gap_at(gap: &mut Gap, at: Option<CentralStamp>) {
    match (gap.start_at, at) {
        (Some(start), Some(end)) => {
            let seconds = (end.at - start.at).num_milliseconds().max(0) as f64 / 1000.0;
            gap.end_s = gap.start_s + seconds;
            gap.end_at = Some(end);
        }
        (_, end) => {
            gap.end_at = end;
            if !gap.detail.contains("duração desconhecida") {
                gap.detail
                    .push_str(" (duração desconhecida: sem hora central antes ou depois da queda)");
            }
        }
    }
}

fn later(stamp: CentralStamp, seconds: f64) -> CentralStamp {
    let ms = (seconds * 1000.0).round() as i64;
    CentralStamp {
        at: stamp.at + chrono::Duration::milliseconds(ms),
        sync_age_ms: stamp.sync_age_ms.saturating_add(ms.max(0) as u64),
    }
}

/// Seconds of video an MP4 plays, read by demuxing it; `None` when it does not play.
pub fn playable_seconds(path: &Path) -> Option<f64> {
    gst::init().ok()?;
    let discoverer = pbutils::Discoverer::new(gst::ClockTime::from_seconds(10)).ok()?;
    let uri = gst::glib::filename_to_uri(path.canonicalize().ok()?, None).ok()?;
    let info = discoverer.discover_uri(&uri).ok()?;
    if info.video_streams().is_empty() {
        return None;
    }
    info.duration().map(|d| d.nseconds() as f64 / 1e9)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vistoria_core::fixtures;

    fn stamp(second: i64) -> CentralStamp {
        CentralStamp {
            at: fixtures::sample_time(0) + chrono::Duration::seconds(second),
            sync_age_ms: 0,
        }
    }

    #[test]
    fn an_unplayable_leftover_is_removed_and_the_crash_is_a_gap_to_the_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest::new("rtsp://h/x", Some(stamp(0)));
        m.segments.push(SegmentEntry {
            file: "segment-00000.mp4".into(),
            digests: vistoria_core::hashing::Digests::of(b"x"),
            start_s: 0.0,
            end_s: 60.0,
            start_at: Some(stamp(0)),
            end_at: Some(stamp(60)),
            recovered: false,
        });
        m.write_to(dir.path()).unwrap();
        std::fs::write(dir.path().join("segment-00000.mp4"), b"x").unwrap();
        std::fs::write(dir.path().join("segment-00001.mp4"), b"not an mp4").unwrap();
        let r = recover(dir.path(), "rtsp://h/x", Some(stamp(100))).unwrap();
        assert_eq!(r.discarded, vec!["segment-00001.mp4".to_owned()]);
        assert!(!dir.path().join("segment-00001.mp4").exists());
        let gap = r.manifest.gaps.last().unwrap();
        assert_eq!(gap.cause, GapCause::KioskInterrupted);
        assert!(gap.open_at_stop);
        assert_eq!((gap.start_s, gap.end_s), (60.0, 100.0));
        assert_eq!(next_segment_index(dir.path()), 1);

        // A second crash before anything new was filmed extends the same gap.
        let again = recover(dir.path(), "rtsp://h/x", Some(stamp(130))).unwrap();
        assert_eq!(again.manifest.gaps.len(), 1);
        assert_eq!(again.manifest.gaps[0].end_s, 130.0);

        // The inspection was interrupted at the restart: the gap ends there, complete.
        let mut m = again.manifest;
        finish(dir.path(), &mut m, Some(stamp(131))).unwrap();
        assert!(m.complete && m.stopped_during_loss);
        assert_eq!(m.gaps[0].end_s, 131.0);
        assert_eq!(Manifest::read_from(dir.path()).unwrap(), m);
    }

    #[test]
    fn without_central_time_the_gap_says_its_length_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let r = recover(dir.path(), "rtsp://u:p@h/x", None).unwrap();
        assert_eq!(r.manifest.url, "rtsp://h/x");
        let gap = &r.manifest.gaps[0];
        assert_eq!((gap.start_s, gap.end_s), (0.0, 0.0));
        assert!(
            gap.detail.contains("duração desconhecida"),
            "{}",
            gap.detail
        );
    }
}
