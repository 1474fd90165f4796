//! A device whose backend this build cannot drive, or that was not found at start: it says so
//! in the status bar and diagnostics, and every operation fails with that reason.

use std::time::Duration;

use vistoria_drivers::camera::{Frame, StillCamera};
use vistoria_drivers::fingerprint::{FingerImage, FingerprintReader};
use vistoria_drivers::{Device, DeviceError, DeviceStatus};

/// The stand-in.
pub struct Absent {
    name: String,
    reason: String,
}

impl Absent {
    /// `name` (shown to the technician) is missing because of `reason`.
    pub fn new(name: &str, reason: impl Into<String>) -> Absent {
        Absent {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }

    fn fail<T>(&self) -> Result<T, DeviceError> {
        Err(DeviceError::Missing(self.reason.clone()))
    }
}

impl Device for Absent {
    fn name(&self) -> &str {
        &self.name
    }
    fn status(&self) -> DeviceStatus {
        DeviceStatus::Missing
    }
    fn self_test(&mut self) -> Result<String, DeviceError> {
        self.fail()
    }
}

impl StillCamera for Absent {
    fn resolution(&self) -> (u32, u32) {
        (0, 0)
    }
    fn capture(&mut self) -> Result<Frame, DeviceError> {
        self.fail()
    }
}

impl FingerprintReader for Absent {
    fn await_finger(&mut self, _timeout: Duration) -> Result<(), DeviceError> {
        self.fail()
    }
    fn capture(&mut self) -> Result<FingerImage, DeviceError> {
        self.fail()
    }
    fn await_removal(&mut self, _timeout: Duration) -> Result<(), DeviceError> {
        self.fail()
    }
}
