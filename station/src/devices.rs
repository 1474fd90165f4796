//! Devices as the status bar and the diagnostics screen see them.

use vistoria_drivers::DeviceStatus;
use vistoria_drivers::camera::sim::CameraFault;

use std::sync::atomic::Ordering;

use super::{Failure, Station, lock};

/// The devices the kiosk drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// Still camera (§7).
    Camera,
    /// Fingerprint reader (§16).
    Fingerprint,
}

impl DeviceKind {
    /// Every device, in the order the screens list them.
    pub const ALL: [DeviceKind; 2] = [DeviceKind::Camera, DeviceKind::Fingerprint];

    /// Short name for the status bar.
    pub fn short_pt(self) -> &'static str {
        match self {
            DeviceKind::Camera => "Câmera",
            DeviceKind::Fingerprint => "Biometria",
        }
    }
}

/// One device's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// Which.
    pub kind: DeviceKind,
    /// Its own name (backend included).
    pub name: String,
    /// Status.
    pub status: DeviceStatus,
}

impl Station {
    /// Every device's status. Waits for a device that is busy.
    pub fn devices(&self) -> Vec<DeviceRow> {
        DeviceKind::ALL
            .into_iter()
            .map(|kind| {
                let (name, status) = match kind {
                    DeviceKind::Camera => {
                        let c = lock(&self.0.camera);
                        (c.name().to_owned(), c.status())
                    }
                    DeviceKind::Fingerprint => {
                        let r = lock(&self.0.reader);
                        let status = match (r.status(), lock(&self.0.reader_fault).clone()) {
                            // Connected, but its images fail §16: say so, with the item.
                            (DeviceStatus::Ready | DeviceStatus::Busy, Some(reason)) => {
                                DeviceStatus::Fault(format!("fora do §16: {reason}"))
                            }
                            (status, _) => status,
                        };
                        (r.name().to_owned(), status)
                    }
                };
                DeviceRow { kind, name, status }
            })
            .collect()
    }

    /// Runs a device's self-test; `Ok` is the device's report.
    pub fn self_test(&self, kind: DeviceKind) -> Result<String, Failure> {
        match kind {
            DeviceKind::Camera => lock(&self.0.camera).self_test(),
            DeviceKind::Fingerprint => lock(&self.0.reader).self_test(),
        }
        .map_err(Failure::from)
    }

    /// Demo mode: the simulated reader's next touch has `fault`.
    pub fn demo_reader_fault(
        &self,
        fault: vistoria_drivers::fingerprint::sim::Fault,
    ) -> Result<(), Failure> {
        match &self.0.demo {
            Some(demo) => {
                lock(demo).inject_reader_fault(fault);
                Ok(())
            }
            None => Err(Failure::rule("só no modo demonstração")),
        }
    }

    /// Demo mode: the finger the simulated reader will read next.
    pub fn choose_demo_finger(&self, index: usize) -> Result<(), Failure> {
        match &self.0.demo {
            Some(demo) => {
                lock(demo).choose_finger(index).map_err(Failure::from)?;
                self.0.demo_finger.store(index, Ordering::Relaxed);
                Ok(())
            }
            None => Err(Failure::rule("só no modo demonstração")),
        }
    }

    /// Demo mode: the fingers the simulated reader offers and the one on it now; nothing
    /// outside demo mode. Does not wait for the reader.
    pub fn demo_fingers(&self) -> (Vec<String>, usize) {
        match &self.0.demo {
            Some(_) => (
                super::demo::DemoDevices::fingers(),
                self.0.demo_finger.load(Ordering::Relaxed),
            ),
            None => (Vec::new(), 0),
        }
    }

    /// Demo mode: the camera shows a vehicle with another plate (to see the §6 flow).
    pub fn demo_show_other_plate(&self, other: bool) {
        if let Some(demo) = &self.0.demo {
            lock(demo).show_other_plate(other);
        }
    }

    /// Demo mode: the kiosk keeps the simulated panoramic camera of the bay.
    pub fn demo_set_bay_camera(
        &self,
        camera: vistoria_drivers::panoramic::test_server::TestCamera,
    ) {
        if let Some(demo) = &self.0.demo {
            lock(demo).set_bay_camera(camera);
        }
    }

    /// Demo mode: the simulated bay looks empty (to see the §4 warning) or occupied.
    pub fn demo_show_empty_bay(&self, empty: bool) {
        if let Some(demo) = &self.0.demo {
            lock(demo).show_empty_bay(empty);
        }
    }

    /// Demo mode: starts or stops a camera fault (to see the error paths).
    pub fn set_demo_camera_fault(&self, fault: Option<CameraFault>) {
        if let Some(demo) = &self.0.demo {
            lock(demo).set_camera_fault(fault);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use vistoria_drivers::DeviceStatus;
    use vistoria_drivers::fingerprint::sim::Fault;

    use super::DeviceKind;
    use crate::{demo, embedded_central};

    /// §16 a–c at run time: a reader that starts giving 250 dpi or black-and-white images is
    /// refused with the item, shown as faulty in Diagnóstico, and back once its images pass.
    #[test]
    fn a_reader_outside_section_16_is_refused_and_shown_with_the_reason() {
        let root = tempfile::tempdir().unwrap();
        let station = embedded_central::demo_station(root.path(), "ECV-TESTE-01", None).unwrap();
        let reader_status = || {
            station
                .devices()
                .into_iter()
                .find(|d| d.kind == DeviceKind::Fingerprint)
                .unwrap()
                .status
        };
        assert_eq!(reader_status(), DeviceStatus::Ready);
        for (fault, item) in [(Fault::LowResolution, "§16 b"), (Fault::Binarised, "§16 c")] {
            station.demo_reader_fault(fault).unwrap();
            let err = station
                .login_with_fingerprint(Some(demo::INSPECTOR))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(item) && err.contains("chame o técnico"),
                "{err}"
            );
            match reader_status() {
                DeviceStatus::Fault(why) => assert!(why.contains(item), "{why}"),
                other => panic!("{other:?}"),
            }
        }
        // A touch that meets §16 puts it back in service.
        let session = station
            .login_with_fingerprint(Some(demo::INSPECTOR))
            .unwrap();
        assert_eq!(session.login, demo::INSPECTOR);
        assert_eq!(reader_status(), DeviceStatus::Ready);
    }
}
