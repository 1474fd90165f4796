//! The real transport: libusb through `rusb`. Opens the first 05ba:000a device, detaches a
//! kernel driver if one is bound, claims interface 0. A device that disappears turns every call
//! into `DeviceError::Missing`, which the driver reports as unplugged.

use std::time::Duration;

use rusb::{DeviceHandle, GlobalContext};

use super::Transport;
use super::protocol::{self, Setup};
use crate::DeviceError;

/// A U.are.U reader on the USB bus.
pub struct RusbTransport {
    handle: DeviceHandle<GlobalContext>,
}

impl std::fmt::Debug for RusbTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RusbTransport")
    }
}

fn usb_error(e: rusb::Error) -> DeviceError {
    match e {
        rusb::Error::NoDevice | rusb::Error::NotFound => DeviceError::Missing("leitor biométrico".into()),
        rusb::Error::Timeout => DeviceError::Timeout("leitor biométrico".into()),
        rusb::Error::Access => DeviceError::Fault(
            "sem permissão para abrir o leitor (instale a regra udev 60-vistoria-fingerprint.rules)".into(),
        ),
        other => DeviceError::Fault(other.to_string()),
    }
}

impl RusbTransport {
    /// Opens the first U.are.U 4000B/4500 on the bus.
    pub fn open() -> Result<RusbTransport, DeviceError> {
        let handle = rusb::open_device_with_vid_pid(protocol::VENDOR_ID, protocol::PRODUCT_ID)
            .ok_or_else(|| {
                DeviceError::Missing("leitor biométrico U.are.U não conectado".into())
            })?;
        // Not every platform supports detaching; claiming fails clearly if a driver holds it.
        let _ = handle.set_auto_detach_kernel_driver(true);
        handle.claim_interface(0).map_err(usb_error)?;
        Ok(RusbTransport { handle })
    }
}

const TIMEOUT: Duration = Duration::from_secs(5);

impl Transport for RusbTransport {
    fn control_in(&mut self, setup: Setup) -> Result<Vec<u8>, DeviceError> {
        let mut buf = vec![0u8; setup.length as usize];
        let n = self
            .handle
            .read_control(
                setup.request_type,
                setup.request,
                setup.value,
                setup.index,
                &mut buf,
                TIMEOUT,
            )
            .map_err(usb_error)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn control_out(&mut self, setup: Setup, data: &[u8]) -> Result<(), DeviceError> {
        let n = self
            .handle
            .write_control(
                setup.request_type,
                setup.request,
                setup.value,
                setup.index,
                data,
                TIMEOUT,
            )
            .map_err(usb_error)?;
        if n != data.len() {
            return Err(DeviceError::Fault(format!(
                "escrita curta: {n} de {} bytes",
                data.len()
            )));
        }
        Ok(())
    }

    fn interrupt_in(
        &mut self,
        endpoint: u8,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, DeviceError> {
        let mut buf = vec![0u8; protocol::IRQ_LENGTH];
        match self.handle.read_interrupt(endpoint, &mut buf, timeout) {
            Ok(n) => {
                buf.truncate(n);
                Ok(Some(buf))
            }
            Err(rusb::Error::Timeout) => Ok(None),
            Err(e) => Err(usb_error(e)),
        }
    }

    fn bulk_in(
        &mut self,
        endpoint: u8,
        len: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, DeviceError> {
        let mut buf = vec![0u8; len];
        let n = self
            .handle
            .read_bulk(endpoint, &mut buf, timeout)
            .map_err(usb_error)?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// Whether a U.are.U reader is on the bus (for hot-plug polling and the status bar).
pub fn present() -> bool {
    rusb::devices().is_ok_and(|list| {
        list.iter().any(|d| {
            d.device_descriptor().is_ok_and(|desc| {
                desc.vendor_id() == protocol::VENDOR_ID && desc.product_id() == protocol::PRODUCT_ID
            })
        })
    })
}

#[cfg(test)]
mod tests {
    /// Needs the reader plugged in: `cargo test -p vistoria-drivers -- --ignored uareu_hardware`.
    #[test]
    #[ignore = "precisa do leitor U.are.U conectado"]
    fn uareu_hardware_self_test() {
        use crate::Device;
        let transport = super::RusbTransport::open().expect("leitor conectado");
        let mut reader = super::super::UareU::new(transport);
        let report = reader.self_test().expect("autoteste");
        eprintln!("{report}");
    }
}
