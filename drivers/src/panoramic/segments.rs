//! Segment bookkeeping: which files splitmuxsink has open, when each started and ended (from the
//! running times in its messages), and the digests of each finished file (2e, §8).

use std::path::Path;
use std::time::{Duration, Instant};

use vistoria_core::hashing::Digests;

/// Segments of one pipeline, mapped from its running time to [`Instant`]s.
pub struct OpenSegments {
    play_at: Instant,
    open: Vec<(String, Instant)>,
    opened_count: u32,
}

impl OpenSegments {
    /// For a pipeline set to PLAYING at `play_at` (running time 0).
    pub fn new(play_at: Instant) -> OpenSegments {
        OpenSegments {
            play_at,
            open: Vec::new(),
            opened_count: 0,
        }
    }

    fn at(&self, running: Option<Duration>) -> Instant {
        running.map_or_else(Instant::now, |r| self.play_at + r)
    }

    /// splitmuxsink opened `location` at running time `running`.
    pub fn opened(&mut self, location: &str, running: Option<Duration>) {
        let at = self.at(running);
        self.open.push((location.to_owned(), at));
        self.opened_count += 1;
    }

    /// splitmuxsink closed `location`; returns its start and end.
    pub fn closed(
        &mut self,
        location: &str,
        running: Option<Duration>,
    ) -> Option<(Instant, Instant)> {
        let end = self.at(running);
        let i = self.open.iter().position(|(l, _)| l == location)?;
        let (_, start) = self.open.remove(i);
        Some((start, end.max(start)))
    }

    /// True while a segment is open.
    pub fn has_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// Segments never reported closed, with their starts.
    pub fn take_open(&mut self) -> Vec<(String, Instant)> {
        std::mem::take(&mut self.open)
    }

    /// Index for the next pipeline's first segment.
    pub fn next_index(&self, start_index: u32) -> u32 {
        start_index + self.opened_count
    }
}

/// Digests of a finished segment; `None` when the file is missing or empty.
pub fn hash_segment(path: &Path) -> std::io::Result<Option<Digests>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let digests = Digests::of_reader(std::io::BufReader::new(file))?;
    Ok((digests.size > 0).then_some(digests))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn running_times_become_instants_and_indexes_continue() {
        let t = Instant::now();
        let mut s = OpenSegments::new(t);
        s.opened("a.mp4", Some(Duration::from_secs(1)));
        assert!(s.has_open());
        let (start, end) = s.closed("a.mp4", Some(Duration::from_secs(6))).unwrap();
        assert_eq!(start - t, Duration::from_secs(1));
        assert_eq!(end - start, Duration::from_secs(5));
        s.opened("b.mp4", Some(Duration::from_secs(6)));
        assert_eq!(s.take_open().len(), 1);
        assert!(!s.has_open());
        assert_eq!(s.next_index(3), 5);
        assert!(s.closed("zzz.mp4", None).is_none());
    }

    #[test]
    fn empty_or_missing_files_are_not_segments() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            hash_segment(&dir.path().join("none.mp4"))
                .unwrap()
                .is_none()
        );
        std::fs::write(dir.path().join("empty.mp4"), b"").unwrap();
        assert!(
            hash_segment(&dir.path().join("empty.mp4"))
                .unwrap()
                .is_none()
        );
        std::fs::write(dir.path().join("x.mp4"), b"abc").unwrap();
        let d = hash_segment(&dir.path().join("x.mp4")).unwrap().unwrap();
        assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
    }
}
