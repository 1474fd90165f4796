//! DigitalPersona U.are.U 4000B / 4500 (USB 05ba:000a; optical prism, 500 dpi, 8-bit grey — it
//! meets Portaria 741/2019 §16 a–d and g–i). [`protocol`] is the wire format as pure functions;
//! [`UareU`] drives it over any [`Transport`]: [`usb::RusbTransport`] for the real reader,
//! [`model::DeviceModel`] for tests, which plays the device's side of the conversation.

pub mod model;
pub mod protocol;
pub mod usb;

use std::time::{Duration, Instant};

use protocol::{Irq, Mode};

use super::{FingerImage, FingerprintReader};
use crate::{Device, DeviceError, DeviceStatus};

/// How the driver reaches the device: the few USB operations the protocol uses.
pub trait Transport {
    /// A control read; returns the bytes read.
    fn control_in(&mut self, setup: protocol::Setup) -> Result<Vec<u8>, DeviceError>;
    /// A control write of `data`.
    fn control_out(&mut self, setup: protocol::Setup, data: &[u8]) -> Result<(), DeviceError>;
    /// An interrupt read; `Ok(None)` on timeout.
    fn interrupt_in(
        &mut self,
        endpoint: u8,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, DeviceError>;
    /// A bulk read of up to `len` bytes.
    fn bulk_in(
        &mut self,
        endpoint: u8,
        len: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, DeviceError>;
}

/// Where the driver is in its conversation with the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not initialised yet, or re-plugged.
    Closed,
    /// Powered and idle.
    Ready,
    /// Waiting for a finger.
    AwaitingFinger,
    /// A finger is on the prism.
    FingerOn,
    /// Waiting for the finger to lift.
    AwaitingRemoval,
    /// The device went away (unplugged mid-operation).
    Unplugged,
}

/// The U.are.U driver.
#[derive(Debug)]
pub struct UareU<T: Transport> {
    transport: T,
    state: State,
    seed: u32,
    /// Hardware and firmware version bytes from the device information register.
    pub version: Option<[u8; 4]>,
}

const CTRL_TIMEOUT: Duration = Duration::from_secs(5);
const POWER_TRIES: usize = 100;

impl<T: Transport> UareU<T> {
    /// A driver over `transport`; call [`UareU::init`] (or any operation, which initialises).
    pub fn new(transport: T) -> UareU<T> {
        UareU {
            transport,
            state: State::Closed,
            // Fixed per driver instance: the seed only masks the key on the wire.
            seed: 0x5eed_c0de,
            version: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The transport (the model in tests).
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    fn fail(&mut self, e: DeviceError) -> DeviceError {
        if matches!(e, DeviceError::Missing(_)) {
            self.state = State::Unplugged;
        }
        e
    }

    fn read_reg(&mut self, reg: u16, count: u16) -> Result<Vec<u8>, DeviceError> {
        let data = self.transport.control_in(protocol::read_regs(reg, count))?;
        if data.len() != count as usize {
            return Err(DeviceError::Fault(format!(
                "registro {reg:#x}: {} bytes, esperados {count}",
                data.len()
            )));
        }
        Ok(data)
    }

    fn write_reg(&mut self, reg: u16, data: &[u8]) -> Result<(), DeviceError> {
        self.transport
            .control_out(protocol::write_regs(reg, data.len() as u16), data)
    }

    fn set_mode(&mut self, mode: Mode) -> Result<(), DeviceError> {
        self.write_reg(protocol::REG_MODE, &[mode as u8])
    }

    /// Powers the reader up: leave low power (HWSTAT bit 7), wait for the scan-power interrupt,
    /// read the version.
    pub fn init(&mut self) -> Result<(), DeviceError> {
        self.init_inner().map_err(|e| self.fail(e))
    }

    fn init_inner(&mut self) -> Result<(), DeviceError> {
        let mut hwstat = self.read_reg(protocol::REG_HWSTAT, 1)?[0];
        if hwstat & 0x80 == 0 {
            // Power down first so the power-up below raises the scan-power interrupt.
            self.write_reg(protocol::REG_HWSTAT, &[hwstat | 0x80])?;
            hwstat |= 0x80;
        }
        let mut powered = false;
        for _ in 0..POWER_TRIES {
            self.write_reg(protocol::REG_HWSTAT, &[hwstat & 0x0f])?;
            if self.read_reg(protocol::REG_HWSTAT, 1)?[0] & 0x80 == 0 {
                powered = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if !powered {
            return Err(DeviceError::Fault(
                "leitor não saiu do modo de baixo consumo".into(),
            ));
        }
        let deadline = Instant::now() + Duration::from_millis(900);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DeviceError::Timeout("energização do sensor".into()));
            }
            match self.next_irq(left)? {
                Some(Irq::ScanPowerOn) => break,
                _ => continue,
            }
        }
        let info = self.read_reg(protocol::REG_DEVICE_INFO, 16)?;
        self.version = Some([info[10], info[11], info[4], info[5]]);
        self.state = State::Ready;
        Ok(())
    }

    fn ensure_ready(&mut self) -> Result<(), DeviceError> {
        if matches!(self.state, State::Closed | State::Unplugged) {
            self.init()?;
        }
        Ok(())
    }

    fn next_irq(&mut self, timeout: Duration) -> Result<Option<Irq>, DeviceError> {
        Ok(self
            .transport
            .interrupt_in(protocol::EP_INTR, timeout)?
            .and_then(|p| protocol::decode_irq(&p)))
    }

    fn wait_irq(&mut self, want: Irq, timeout: Duration, what: &str) -> Result<(), DeviceError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DeviceError::Timeout(what.to_owned()));
            }
            match self.next_irq(left)? {
                Some(irq) if irq == want => return Ok(()),
                _ => continue,
            }
        }
    }

    fn fetch_key(&mut self, key_number: u8) -> Result<u32, DeviceError> {
        self.seed = protocol::update_key(self.seed);
        self.write_reg(
            protocol::REG_SCRAMBLE_DATA_INDEX,
            &protocol::key_request(key_number, self.seed),
        )?;
        let r = self.read_reg(protocol::REG_SCRAMBLE_DATA_KEY, 4)?;
        Ok(protocol::key_from_response(
            [r[0], r[1], r[2], r[3]],
            self.seed,
        ))
    }

    fn capture_inner(&mut self) -> Result<FingerImage, DeviceError> {
        self.set_mode(Mode::Capture)?;
        let mut transfer =
            self.transport
                .bulk_in(protocol::EP_DATA, protocol::IMAGE_TRANSFER, CTRL_TIMEOUT)?;
        let mut header =
            protocol::parse_header(&transfer).map_err(|e| DeviceError::Fault(e.to_string()))?;
        let encrypted = header
            .blocks
            .iter()
            .any(|&(f, _)| f & protocol::block::ENCRYPTED != 0);
        if encrypted {
            let (mut from, mut line) = (0, 0);
            loop {
                let key = self.fetch_key(header.key_number)?;
                match protocol::decode_blocks(&mut transfer, &header, key, from, line) {
                    Ok(()) => break,
                    Err((block, at_line)) => {
                        header.key_number = header.key_number.wrapping_add(1);
                        from = block;
                        line = at_line;
                    }
                }
            }
        }
        let pixels = protocol::assemble(&transfer, &header);
        self.set_mode(Mode::AwaitFingerOff)?;
        self.state = State::AwaitingRemoval;
        Ok(FingerImage {
            width: protocol::IMAGE_WIDTH,
            height: protocol::IMAGE_HEIGHT,
            pixels,
            dpi: protocol::IMAGE_DPI,
        })
    }
}

impl<T: Transport> Device for UareU<T> {
    fn name(&self) -> &str {
        "Leitor biométrico U.are.U 4500"
    }

    fn status(&self) -> DeviceStatus {
        match self.state {
            State::Unplugged => DeviceStatus::Missing,
            State::Closed | State::Ready => DeviceStatus::Ready,
            _ => DeviceStatus::Busy,
        }
    }

    fn self_test(&mut self) -> Result<String, DeviceError> {
        self.init()?;
        let hwstat = self
            .read_reg(protocol::REG_HWSTAT, 1)
            .map_err(|e| self.fail(e))?[0];
        let v = self.version.unwrap_or_default();
        Ok(format!(
            "leitor U.are.U ok: versões {:02x}{:02x}/{:02x}{:02x}, estado {hwstat:#04x}",
            v[0], v[1], v[2], v[3]
        ))
    }
}

impl<T: Transport> FingerprintReader for UareU<T> {
    fn await_finger(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        self.ensure_ready()?;
        let r = self.set_mode(Mode::AwaitFingerOn).and_then(|()| {
            self.state = State::AwaitingFinger;
            self.wait_irq(Irq::FingerOn, timeout, "aguardando o dedo")
        });
        match r {
            Ok(()) => {
                self.state = State::FingerOn;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn capture(&mut self) -> Result<FingerImage, DeviceError> {
        if self.state != State::FingerOn {
            return Err(DeviceError::Fault(
                "nenhum dedo detectado para capturar".into(),
            ));
        }
        self.capture_inner().map_err(|e| self.fail(e))
    }

    fn await_removal(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        if self.state != State::AwaitingRemoval {
            self.set_mode(Mode::AwaitFingerOff)
                .map_err(|e| self.fail(e))?;
            self.state = State::AwaitingRemoval;
        }
        self.wait_irq(Irq::FingerOff, timeout, "aguardando retirar o dedo")
            .map_err(|e| self.fail(e))?;
        self.set_mode(Mode::Ready).map_err(|e| self.fail(e))?;
        self.state = State::Ready;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
