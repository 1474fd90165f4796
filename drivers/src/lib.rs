//! Vistoria's device drivers. Each device family gets a module with a trait over a narrow
//! transport, a real backend and a simulator that behaves like the device, faults included.
//! The families arrive with their issues; what they share lives here.

pub mod borescope;
pub mod camera;
pub mod fingerprint;
pub mod panoramic;
pub mod printer;
pub mod smartcard;

use serde::{Deserialize, Serialize};

/// What a device reports to the status bar and the diagnostics screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Connected and idle.
    Ready,
    /// Connected and working (capturing, recording, signing).
    Busy,
    /// Not connected.
    Missing,
    /// Connected but failing, with the reason in Portuguese.
    Fault(String),
}

impl DeviceStatus {
    /// Short Portuguese label for the status bar.
    pub fn label_pt(&self) -> &str {
        match self {
            DeviceStatus::Ready => "pronto",
            DeviceStatus::Busy => "ocupado",
            DeviceStatus::Missing => "ausente",
            DeviceStatus::Fault(reason) => reason,
        }
    }
}

/// Why a device operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The device is not connected.
    #[error("dispositivo não encontrado: {0}")]
    Missing(String),
    /// The device answered with an error or nonsense.
    #[error("falha no dispositivo: {0}")]
    Fault(String),
    /// The device did not answer in time.
    #[error("o dispositivo não respondeu a tempo: {0}")]
    Timeout(String),
}

/// What every device offers the technician.
pub trait Device {
    /// Human name shown in diagnostics, in Portuguese (e.g. "Leitor biométrico").
    fn name(&self) -> &str;
    /// Current status.
    fn status(&self) -> DeviceStatus;
    /// Exercises the device end to end; `Ok` carries a short report for the technician.
    fn self_test(&mut self) -> Result<String, DeviceError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_serializes_with_its_reason() {
        let json = serde_json::to_string(&DeviceStatus::Fault("lente suja".into())).expect("json");
        assert_eq!(json, r#"{"status":"fault","reason":"lente suja"}"#);
        assert_eq!(DeviceStatus::Missing.label_pt(), "ausente");
    }
}
