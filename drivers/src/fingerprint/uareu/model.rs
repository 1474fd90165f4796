//! A model of the U.are.U device's side of the conversation, for tests and diagnostics without
//! the hardware: registers (HWSTAT power bit, MODE, scramble index/key), the interrupt queue
//! (scan power, finger on/off) and the bulk image, scrambled with the same keystream the real
//! device uses and split into blocks with the header flags. Faults: unplug at any point, a
//! sensor stuck in low power, truncated image transfers.

use std::collections::VecDeque;
use std::time::Duration;

use super::Transport;
use super::protocol::{self, ImageHeader, Irq, Mode, Setup, block};
use crate::DeviceError;

/// The simulated reader.
#[derive(Debug)]
pub struct DeviceModel {
    hwstat: u8,
    mode: Mode,
    irqs: VecDeque<Irq>,
    finger: Option<Vec<u8>>,
    keys: [u32; 256],
    key_number: u8,
    index_seed: Option<(u8, u32)>,
    plugged: bool,
    /// Never leaves low power (a broken sensor).
    pub stuck_low_power: bool,
    /// Cut the next image transfer to this many bytes.
    pub truncate_next: Option<usize>,
    /// Send these bytes as the next image transfer instead (a crafted or corrupt image).
    pub raw_next: Option<Vec<u8>>,
    /// Encrypt images (the 4500 does; some 4000B firmwares do not).
    pub encrypt: bool,
    /// Every control transfer seen: setup and data.
    pub log: Vec<(Setup, Vec<u8>)>,
}

impl DeviceModel {
    /// A plugged reader in low power, with a device secret derived from `secret`.
    pub fn new(secret: u32) -> DeviceModel {
        let mut keys = [0u32; 256];
        let mut k = secret | 1;
        for slot in keys.iter_mut() {
            for _ in 0..7 {
                k = protocol::update_key(k);
            }
            *slot = k;
        }
        DeviceModel {
            hwstat: 0x81,
            mode: Mode::Init,
            irqs: VecDeque::new(),
            finger: None,
            keys,
            key_number: 0x3a,
            index_seed: None,
            plugged: true,
            stuck_low_power: false,
            truncate_next: None,
            raw_next: None,
            encrypt: true,
            log: Vec::new(),
        }
    }

    /// Puts a finger on the prism: the image the sensor will see, as the host should receive it
    /// (384×290, ridges dark).
    pub fn put_finger(&mut self, image: Vec<u8>) {
        self.finger = Some(image);
        if self.mode == Mode::AwaitFingerOn {
            self.irqs.push_back(Irq::FingerOn);
        }
    }

    /// Lifts the finger.
    pub fn lift_finger(&mut self) {
        self.finger = None;
        if self.mode == Mode::AwaitFingerOff {
            self.irqs.push_back(Irq::FingerOff);
        }
    }

    /// Pulls the cable: every transfer fails until [`DeviceModel::plug`].
    pub fn unplug(&mut self) {
        self.plugged = false;
    }

    /// Plugs back in: the device starts over in low power.
    pub fn plug(&mut self) {
        self.plugged = true;
        self.hwstat = 0x81;
        self.mode = Mode::Init;
        self.irqs.clear();
    }

    /// The current mode register.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn check(&self) -> Result<(), DeviceError> {
        if self.plugged {
            Ok(())
        } else {
            Err(DeviceError::Missing("leitor desconectado".into()))
        }
    }

    /// The bulk transfer for the finger on the prism: the wire form of `image`.
    fn image_transfer(&mut self) -> Vec<u8> {
        let width = protocol::IMAGE_WIDTH;
        let lines = protocol::IMAGE_HEIGHT - 1;
        let image = self
            .finger
            .clone()
            .unwrap_or_else(|| vec![230; width * protocol::IMAGE_HEIGHT]);
        // Undo what the host does in `assemble`: turn 180° and invert.
        let mut raw: Vec<u8> = image.iter().rev().map(|p| 255 - p).collect();
        raw.truncate(lines * width);
        // Blocks of varied kinds: plain, encrypted, encrypted after a key change.
        let plan: [(u8, u8); 5] = if self.encrypt {
            [
                (0, 40),
                (block::ENCRYPTED, 80),
                (block::ENCRYPTED | block::CHANGE_KEY, 60),
                (0, 30),
                (block::ENCRYPTED, 79),
            ]
        } else {
            [(0, 40), (0, 80), (0, 60), (0, 30), (0, 79)]
        };
        let header = ImageHeader {
            num_lines: lines as u16,
            key_number: self.key_number,
            blocks: plan.to_vec(),
        };
        let mut out = protocol::encode_header(&header).to_vec();
        let mut key = self.keys[self.key_number as usize];
        let mut line = 0usize;
        for (flags, n) in plan {
            if flags & block::CHANGE_KEY != 0 {
                self.key_number = self.key_number.wrapping_add(1);
                key = self.keys[self.key_number as usize];
            }
            let chunk = &raw[line * width..(line + n as usize) * width];
            if flags & block::ENCRYPTED != 0 {
                let (wire, next) = protocol::scramble(chunk, key, (line % 251) as u8);
                out.extend_from_slice(&wire);
                key = next;
            } else {
                out.extend_from_slice(chunk);
                key = protocol::skip_key(key, chunk.len());
            }
            line += n as usize;
        }
        // The next capture starts on a fresh key.
        self.key_number = self.key_number.wrapping_add(1);
        out
    }
}

impl Transport for DeviceModel {
    fn control_in(&mut self, setup: Setup) -> Result<Vec<u8>, DeviceError> {
        self.check()?;
        self.log.push((setup, Vec::new()));
        if setup.request_type != protocol::CTRL_IN || setup.request != protocol::USB_RQ {
            return Err(DeviceError::Fault("requisição não suportada".into()));
        }
        let n = setup.length as usize;
        Ok(match setup.value {
            protocol::REG_HWSTAT => vec![self.hwstat; n.min(1)],
            protocol::REG_MODE => vec![self.mode as u8; n.min(1)],
            protocol::REG_SCRAMBLE_DATA_KEY => {
                let (number, seed) = self
                    .index_seed
                    .ok_or_else(|| DeviceError::Fault("chave pedida sem índice".into()))?;
                (self.keys[number as usize] ^ seed).to_le_bytes()[..n.min(4)].to_vec()
            }
            protocol::REG_DEVICE_INFO => {
                let mut info = vec![0u8; 16];
                info[4] = 0x01;
                info[5] = 0x02;
                info[10] = 0x45;
                info[11] = 0x00;
                info.truncate(n);
                info
            }
            _ => vec![0; n],
        })
    }

    fn control_out(&mut self, setup: Setup, data: &[u8]) -> Result<(), DeviceError> {
        self.check()?;
        self.log.push((setup, data.to_vec()));
        if setup.request_type != protocol::CTRL_OUT
            || setup.request != protocol::USB_RQ
            || setup.length as usize != data.len()
        {
            return Err(DeviceError::Fault("requisição não suportada".into()));
        }
        match (setup.value, data) {
            (protocol::REG_HWSTAT, [v]) => {
                let was_low = self.hwstat & 0x80 != 0;
                if self.stuck_low_power {
                    self.hwstat = v | 0x80;
                } else {
                    self.hwstat = *v;
                    if was_low && v & 0x80 == 0 {
                        self.irqs.push_back(Irq::ScanPowerOn);
                    }
                }
            }
            (protocol::REG_MODE, [m]) => {
                let mode = Mode::from_byte(*m)
                    .ok_or_else(|| DeviceError::Fault("modo inválido".into()))?;
                self.mode = mode;
                match mode {
                    Mode::AwaitFingerOn if self.finger.is_some() => {
                        self.irqs.push_back(Irq::FingerOn)
                    }
                    Mode::AwaitFingerOff if self.finger.is_none() => {
                        self.irqs.push_back(Irq::FingerOff)
                    }
                    _ => {}
                }
            }
            (protocol::REG_SCRAMBLE_DATA_INDEX, [number, s0, s1, s2, s3]) => {
                self.index_seed = Some((*number, u32::from_le_bytes([*s0, *s1, *s2, *s3])));
            }
            _ => {}
        }
        Ok(())
    }

    fn interrupt_in(
        &mut self,
        endpoint: u8,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, DeviceError> {
        self.check()?;
        if endpoint != protocol::EP_INTR {
            return Err(DeviceError::Fault("endpoint de interrupção errado".into()));
        }
        match self.irqs.pop_front() {
            Some(irq) => Ok(Some(protocol::encode_irq(irq).to_vec())),
            None => {
                std::thread::sleep(timeout.min(Duration::from_millis(2)));
                Ok(None)
            }
        }
    }

    fn bulk_in(
        &mut self,
        endpoint: u8,
        len: usize,
        _timeout: Duration,
    ) -> Result<Vec<u8>, DeviceError> {
        self.check()?;
        if endpoint != protocol::EP_DATA || self.mode != Mode::Capture {
            return Err(DeviceError::Timeout("nenhuma imagem enviada".into()));
        }
        let mut t = match self.raw_next.take() {
            Some(raw) => raw,
            None => self.image_transfer(),
        };
        t.truncate(len);
        if let Some(n) = self.truncate_next.take() {
            t.truncate(n);
        }
        Ok(t)
    }
}
