//! The technician's check of the panoramic camera (§17) in Diagnóstico: the configured URL
//! (credentials masked), a connection test that reports the codec, size and rate the camera
//! sends and how they will be stored, and a live view from the recorder's preview branch
//! (≈2 fps, the same connection as the recording, never a second one).

use std::time::{Duration, Instant};

use vistoria_drivers::panoramic::StreamFormat;
use vistoria_drivers::panoramic::recorder::{Recorder, RecorderConfig, RecorderEvent};

use super::{Failure, Station, Thumbnail, lock};

/// Folder of the connection test's throw-away recording (not an inspection id, so crash
/// recovery leaves it alone; removed at every test, and at start if a crash left it).
pub(super) const TEST_DIR: &str = "teste-conexao";
/// How long a connection test waits for the first frame.
const TEST_WAIT: Duration = Duration::from_secs(12);
/// A test left running (live view forgotten) is stopped after this.
const TEST_KEPT: Duration = Duration::from_secs(120);

/// The panoramic camera as Diagnóstico shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanoramicInfo {
    /// The camera URL with its password masked.
    pub url: String,
    /// Inspections being filmed now.
    pub recording: usize,
}

impl Station {
    /// The configured panoramic camera, if any.
    pub fn panoramic_info(&self) -> Option<PanoramicInfo> {
        let p = self.0.panoramic.as_ref()?;
        Some(PanoramicInfo {
            url: mask_credentials(&p.url),
            recording: lock(&p.running).len(),
        })
    }

    /// Connects to the panoramic camera and reports what it sends (codec, size, rate) and how
    /// it will be stored; while an inspection is being filmed, reports that connection instead.
    /// A test connection stays open for the live view until [`Station::stop_panoramic_test`] or
    /// two minutes.
    pub fn test_panoramic(&self) -> Result<StreamFormat, Failure> {
        let p = self
            .0
            .panoramic
            .as_ref()
            .ok_or_else(|| Failure::rule("nenhuma câmera panorâmica configurada"))?;
        // While an inspection is filmed its connection is the test: no second session.
        let filming = lock(&p.running).values().find_map(|r| {
            let live = r.live();
            live.format.filter(|_| live.receiving)
        });
        if let Some(format) = filming {
            return Ok(format);
        }
        self.stop_panoramic_test();
        let dir = p.root.join(TEST_DIR);
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = RecorderConfig::new(&p.url, &dir);
        config.backoff_initial = Duration::from_secs(30);
        let recorder = Recorder::start(config).map_err(|e| Failure::device(e.to_string()))?;
        let deadline = Instant::now() + TEST_WAIT;
        let result = loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break Err(Failure::device(format!(
                    "a câmera não enviou imagem em {} s",
                    TEST_WAIT.as_secs()
                )));
            };
            match recorder.events().recv_timeout(left) {
                Ok(RecorderEvent::Connected(format)) => break Ok(format),
                Ok(RecorderEvent::VideoLost { cause, detail, .. }) => {
                    break Err(Failure::device(format!("{}: {detail}", cause.label_pt())));
                }
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    break Err(Failure::device(
                        "a conexão de teste terminou de forma inesperada",
                    ));
                }
            }
        };
        match result {
            Ok(format) => {
                *lock(&p.test) = Some((recorder, Instant::now()));
                Ok(format)
            }
            Err(e) => {
                let _ = recorder.stop();
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// Ends the connection test and removes its recording.
    pub fn stop_panoramic_test(&self) {
        let Some(p) = &self.0.panoramic else {
            return;
        };
        let test = lock(&p.test).take();
        if let Some((recorder, _)) = test {
            let _ = recorder.stop();
            let _ = std::fs::remove_dir_all(p.root.join(TEST_DIR));
        }
    }

    /// Stops a connection test left running too long (the worker calls it every second).
    pub(crate) fn expire_panoramic_test(&self) {
        let expired = self.0.panoramic.as_ref().is_some_and(|p| {
            lock(&p.test)
                .as_ref()
                .is_some_and(|(_, at)| at.elapsed() > TEST_KEPT)
        });
        if expired {
            self.stop_panoramic_test();
        }
    }

    /// The latest preview frame of the connection test, or else of a running recording.
    pub fn panoramic_preview(&self) -> Result<Thumbnail, Failure> {
        let p = self
            .0
            .panoramic
            .as_ref()
            .ok_or_else(|| Failure::rule("nenhuma câmera panorâmica configurada"))?;
        let from_test = lock(&p.test).as_ref().and_then(|(r, _)| r.live().preview);
        let frame = from_test
            .or_else(|| lock(&p.running).values().find_map(|r| r.live().preview))
            .ok_or_else(|| {
                Failure::device(
                    "sem imagem da câmera panorâmica: teste a conexão ou abra uma vistoria",
                )
            })?;
        let rgba = frame
            .rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        Ok(Thumbnail {
            width: frame.width,
            height: frame.height,
            rgba,
        })
    }
}

/// `rtsp://user:secret@host/…` → `rtsp://user:•••@host/…`: the technician sees which account
/// is used, never its password.
pub fn mask_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let user = rest[..at].split(':').next().unwrap_or("");
    format!("{scheme}://{user}:•••@{}", &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::mask_credentials;

    #[test]
    fn passwords_are_masked_and_users_kept() {
        assert_eq!(
            mask_credentials("rtsp://admin:s3nh@10.0.0.5:554/stream1"),
            "rtsp://admin:•••@10.0.0.5:554/stream1"
        );
        assert_eq!(
            mask_credentials("rtsp://10.0.0.5/a@b"),
            "rtsp://10.0.0.5/a@b"
        );
        assert_eq!(mask_credentials("rtsp://cam/x"), "rtsp://cam/x");
    }
}
