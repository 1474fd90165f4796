//! The U.are.U 4000B/4500 wire protocol as pure functions over bytes. Facts from the public
//! description in libfprint's `uru4000` driver; the code is ours.
//!
//! - Registers are read and written with vendor control requests `0x04`, register number in
//!   `wValue`: `HWSTAT` (0x07; bit 7 = low power), `MODE` (0x4e), scramble index/key
//!   (0x33/0x34), device info (0xf0, 16 bytes).
//! - Interrupts arrive on endpoint 0x81 as 64-byte packets whose first two bytes are a
//!   big-endian type: scan power on `0x56aa`, finger on `0x0101`, finger off `0x0200`,
//!   imminent failure `0x0800`.
//! - An image arrives on bulk endpoint 0x82: a 64-byte header (`num_lines` LE u16 at 4,
//!   `key_number` at 6, 15 block descriptors `(flags, lines)` from 16) then up to 290 lines of 384
//!   pixels. Blocks may be encrypted with a keystream from a 32-bit LFSR whose seed the host
//!   obtains by writing `(key_number, seed)` to 0x33 and reading 0x34 (which holds key ⊕ seed).

/// Vendor request number for register access.
pub const USB_RQ: u8 = 0x04;
/// `bmRequestType` of a vendor read (device to host).
pub const CTRL_IN: u8 = 0xc0;
/// `bmRequestType` of a vendor write (host to device).
pub const CTRL_OUT: u8 = 0x40;
/// Interrupt endpoint.
pub const EP_INTR: u8 = 0x81;
/// Bulk image endpoint.
pub const EP_DATA: u8 = 0x82;
/// Interrupt packet length.
pub const IRQ_LENGTH: usize = 64;
/// USB vendor id of DigitalPersona.
pub const VENDOR_ID: u16 = 0x05ba;
/// USB product id of the U.are.U 4000B / 4500.
pub const PRODUCT_ID: u16 = 0x000a;

/// Image width in pixels.
pub const IMAGE_WIDTH: usize = 384;
/// Image height in pixels (most lines the reader sends).
pub const IMAGE_HEIGHT: usize = 290;
/// Its resolution (the 4000B/4500 data sheets: 512 dpi nominal, sold as 500 dpi).
pub const IMAGE_DPI: u16 = 500;
/// Image header length.
pub const HEADER_LEN: usize = 64;
/// Bulk transfer size for one image.
pub const IMAGE_TRANSFER: usize = HEADER_LEN + IMAGE_WIDTH * IMAGE_HEIGHT;

/// Hardware status register.
pub const REG_HWSTAT: u16 = 0x07;
/// Scramble index register (write key number + seed).
pub const REG_SCRAMBLE_DATA_INDEX: u16 = 0x33;
/// Scramble key register (read key ⊕ seed).
pub const REG_SCRAMBLE_DATA_KEY: u16 = 0x34;
/// Mode register.
pub const REG_MODE: u16 = 0x4e;
/// Device information (16 bytes).
pub const REG_DEVICE_INFO: u16 = 0xf0;

/// Reader modes written to [`REG_MODE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// After power-up.
    Init = 0x00,
    /// Waiting for a finger; a finger-on interrupt follows.
    AwaitFingerOn = 0x10,
    /// Waiting for the finger to lift; a finger-off interrupt follows.
    AwaitFingerOff = 0x12,
    /// Capturing: an image follows on the bulk endpoint.
    Capture = 0x20,
    /// Lamp off, idle.
    Off = 0x70,
    /// Ready.
    Ready = 0x80,
}

impl Mode {
    /// The mode a register byte names.
    pub fn from_byte(b: u8) -> Option<Mode> {
        [
            Mode::Init,
            Mode::AwaitFingerOn,
            Mode::AwaitFingerOff,
            Mode::Capture,
            Mode::Off,
            Mode::Ready,
        ]
        .into_iter()
        .find(|m| *m as u8 == b)
    }
}

/// A control transfer's setup, without its data stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// `bmRequestType`.
    pub request_type: u8,
    /// `bRequest`.
    pub request: u8,
    /// `wValue`: the register.
    pub value: u16,
    /// `wIndex`.
    pub index: u16,
    /// `wLength`.
    pub length: u16,
}

/// Setup of a read of `count` registers from `reg`.
pub fn read_regs(reg: u16, count: u16) -> Setup {
    Setup {
        request_type: CTRL_IN,
        request: USB_RQ,
        value: reg,
        index: 0,
        length: count,
    }
}

/// Setup of a write of `count` registers from `reg`.
pub fn write_regs(reg: u16, count: u16) -> Setup {
    Setup {
        request_type: CTRL_OUT,
        request: USB_RQ,
        value: reg,
        index: 0,
        length: count,
    }
}

/// Interrupt types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Irq {
    /// The scanner powered up.
    ScanPowerOn,
    /// A finger touched the prism.
    FingerOn,
    /// The finger lifted.
    FingerOff,
    /// The next transfer is likely to fail.
    Death,
    /// Anything else.
    Other(u16),
}

/// Decodes an interrupt packet.
pub fn decode_irq(packet: &[u8]) -> Option<Irq> {
    let ty = u16::from_be_bytes([*packet.first()?, *packet.get(1)?]);
    Some(match ty {
        0x56aa => Irq::ScanPowerOn,
        0x0101 => Irq::FingerOn,
        0x0200 => Irq::FingerOff,
        0x0800 => Irq::Death,
        other => Irq::Other(other),
    })
}

/// Encodes an interrupt packet (the device model's side).
pub fn encode_irq(irq: Irq) -> [u8; IRQ_LENGTH] {
    let ty: u16 = match irq {
        Irq::ScanPowerOn => 0x56aa,
        Irq::FingerOn => 0x0101,
        Irq::FingerOff => 0x0200,
        Irq::Death => 0x0800,
        Irq::Other(t) => t,
    };
    let mut p = [0u8; IRQ_LENGTH];
    p[..2].copy_from_slice(&ty.to_be_bytes());
    p
}

/// Block descriptor flags.
pub mod block {
    /// The host must fetch a new key before this block.
    pub const CHANGE_KEY: u8 = 0x80;
    /// The keystream does not advance over this block.
    pub const NO_KEY_UPDATE: u8 = 0x04;
    /// The block is encrypted.
    pub const ENCRYPTED: u8 = 0x02;
    /// The block's lines are not in the transfer (repeat the previous lines).
    pub const NOT_PRESENT: u8 = 0x01;
}

/// The parsed image header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageHeader {
    /// Lines present in the transfer.
    pub num_lines: u16,
    /// Which device key encrypts the image.
    pub key_number: u8,
    /// `(flags, lines)` per block, up to the first empty one.
    pub blocks: Vec<(u8, u8)>,
}

/// Why an image transfer cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Shorter than its header says.
    #[error("imagem truncada: {got} bytes, esperados {want}")]
    Truncated {
        /// Bytes received.
        got: usize,
        /// Bytes the header announces.
        want: usize,
    },
    /// The header is impossible.
    #[error("cabeçalho de imagem inválido")]
    BadHeader,
}

/// Parses the 64-byte header and checks the transfer holds the lines it announces.
pub fn parse_header(transfer: &[u8]) -> Result<ImageHeader, ImageError> {
    if transfer.len() < HEADER_LEN {
        return Err(ImageError::Truncated {
            got: transfer.len(),
            want: HEADER_LEN,
        });
    }
    let num_lines = u16::from_le_bytes([transfer[4], transfer[5]]);
    if num_lines as usize >= IMAGE_HEIGHT {
        return Err(ImageError::BadHeader);
    }
    let want = HEADER_LEN + num_lines as usize * IMAGE_WIDTH;
    if transfer.len() < want {
        return Err(ImageError::Truncated {
            got: transfer.len(),
            want,
        });
    }
    let blocks: Vec<(u8, u8)> = (0..15)
        .map(|i| (transfer[16 + 2 * i], transfer[17 + 2 * i]))
        .take_while(|&(_, lines)| lines != 0)
        .collect();
    // The blocks lay out the output image: more lines than it has is a crafted or corrupt
    // header (15 blocks of 255 lines once wrote past the image in `assemble`).
    let laid_out: usize = blocks.iter().map(|&(_, lines)| lines as usize).sum();
    if laid_out > IMAGE_HEIGHT {
        return Err(ImageError::BadHeader);
    }
    Ok(ImageHeader {
        num_lines,
        key_number: transfer[6],
        blocks,
    })
}

/// Encodes a header (the device model's side).
pub fn encode_header(header: &ImageHeader) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[4..6].copy_from_slice(&header.num_lines.to_le_bytes());
    h[6] = header.key_number;
    for (i, &(flags, lines)) in header.blocks.iter().take(15).enumerate() {
        h[16 + 2 * i] = flags;
        h[17 + 2 * i] = lines;
    }
    h
}

/// One step of the keystream LFSR (taps at bits 1 3 4 7 11 13 20 23 26 29 32).
pub fn update_key(key: u32) -> u32 {
    let mut bit = key & 0x9248_144d;
    bit ^= bit << 16;
    bit ^= bit << 8;
    bit ^= bit << 4;
    bit ^= bit << 2;
    bit ^= bit << 1;
    (bit & 0x8000_0000) | (key >> 1)
}

/// The keystream byte for the current key state.
fn key_byte(key: u32) -> u8 {
    const BITS: [u32; 8] = [4, 8, 11, 14, 18, 21, 24, 29];
    BITS.iter()
        .enumerate()
        .fold(0u8, |acc, (i, &b)| acc | ((((key >> b) & 1) as u8) << i))
}

/// Descrambles `data` in place: each output byte is the *next* input byte XOR the keystream; the
/// last byte is implicitly zero. Returns the key state after the block.
pub fn descramble(data: &mut [u8], mut key: u32) -> u32 {
    if data.is_empty() {
        return key;
    }
    for i in 0..data.len() - 1 {
        let x = key_byte(key);
        key = update_key(key);
        data[i] = data[i + 1] ^ x;
    }
    let last = data.len() - 1;
    data[last] = 0;
    update_key(key)
}

/// Scrambles like the device (the model's side): the inverse of [`descramble`] except for the
/// last byte, which the device never transmits.
pub fn scramble(plain: &[u8], mut key: u32, filler: u8) -> (Vec<u8>, u32) {
    let mut out = vec![filler; plain.len()];
    if plain.is_empty() {
        return (out, key);
    }
    for i in 0..plain.len() - 1 {
        let x = key_byte(key);
        key = update_key(key);
        out[i + 1] = plain[i] ^ x;
    }
    (out, update_key(key))
}

/// Advances the key over `bytes` bytes of an unencrypted block.
pub fn skip_key(mut key: u32, bytes: usize) -> u32 {
    for _ in 0..bytes {
        key = update_key(key);
    }
    key
}

/// The 5 bytes written to [`REG_SCRAMBLE_DATA_INDEX`] to ask for key `key_number` masked by
/// `seed`.
pub fn key_request(key_number: u8, seed: u32) -> [u8; 5] {
    let s = seed.to_le_bytes();
    [key_number, s[0], s[1], s[2], s[3]]
}

/// The key from the 4 bytes read from [`REG_SCRAMBLE_DATA_KEY`].
pub fn key_from_response(response: [u8; 4], seed: u32) -> u32 {
    u32::from_le_bytes(response) ^ seed
}

/// Descrambles the encrypted blocks of a transfer in place, given the image key. Returns
/// `Err(index)` when a block asks for a key change first (the caller fetches the next key and
/// calls again from that block).
pub fn decode_blocks(
    transfer: &mut [u8],
    header: &ImageHeader,
    mut key: u32,
    from_block: usize,
    mut line: usize,
) -> Result<(), (usize, usize)> {
    for (b, &(flags, lines)) in header.blocks.iter().enumerate().skip(from_block) {
        if line >= header.num_lines as usize {
            break;
        }
        if flags & block::CHANGE_KEY != 0 && b != from_block {
            return Err((b, line));
        }
        // Every index is bounded by the transfer actually received, whatever the header says.
        let Some(start) = line
            .checked_mul(IMAGE_WIDTH)
            .and_then(|l| l.checked_add(HEADER_LEN))
            .filter(|&s| s <= transfer.len())
        else {
            break;
        };
        let len = (lines as usize * IMAGE_WIDTH).min(transfer.len() - start);
        match flags & (block::NO_KEY_UPDATE | block::ENCRYPTED) {
            block::ENCRYPTED => key = descramble(&mut transfer[start..start + len], key),
            0 => key = skip_key(key, lines as usize * IMAGE_WIDTH),
            _ => {}
        }
        if flags & block::NOT_PRESENT == 0 {
            line += lines as usize;
        }
    }
    Ok(())
}

/// Assembles the final image from a decoded transfer: blocks marked not present repeat the
/// lines before them; the sensor's grey scale is inverted (ridges come out bright) and the
/// 4000B's image is turned 180°, so the result has dark ridges as the finger is seen.
pub fn assemble(transfer: &[u8], header: &ImageHeader) -> Vec<u8> {
    let mut out = vec![0u8; IMAGE_WIDTH * IMAGE_HEIGHT];
    let (mut to, mut from) = (0usize, 0usize);
    for &(flags, lines) in &header.blocks {
        if from >= header.num_lines as usize {
            break;
        }
        if to >= out.len() {
            break;
        }
        // Bounded by both buffers, whatever the header says (it is parsed from the wire).
        let n = lines as usize * IMAGE_WIDTH;
        let src_start = (HEADER_LEN + from * IMAGE_WIDTH).min(transfer.len());
        let count = n.min(transfer.len() - src_start).min(out.len() - to);
        out[to..to + count].copy_from_slice(&transfer[src_start..src_start + count]);
        if flags & block::NOT_PRESENT == 0 {
            from += lines as usize;
        }
        to += n;
    }
    out.iter_mut().for_each(|p| *p = 255 - *p);
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irq_round_trip() {
        for irq in [
            Irq::ScanPowerOn,
            Irq::FingerOn,
            Irq::FingerOff,
            Irq::Death,
            Irq::Other(0x1234),
        ] {
            assert_eq!(decode_irq(&encode_irq(irq)), Some(irq));
        }
        assert_eq!(decode_irq(&[0x01, 0x01, 0, 0]), Some(Irq::FingerOn));
        assert_eq!(decode_irq(&[0x56]), None);
    }

    #[test]
    fn lfsr_matches_known_steps() {
        // Hand-computed: taps of 1 are bit 0 only, so the new top bit is 1.
        assert_eq!(update_key(1), 0x8000_0000);
        // 0x8000_0000 has tap bit 31 set: parity 1 again.
        assert_eq!(update_key(0x8000_0000), 0xc000_0000);
        // 2 has no tapped bit (bit 1 is not in 0x9248144d): plain shift.
        assert_eq!(update_key(2), 1);
        assert_eq!(key_byte(0), 0);
        assert_eq!(key_byte(1 << 29 | 1 << 4), 0x81);
    }

    #[test]
    fn descramble_inverts_scramble_but_loses_the_last_byte() {
        let plain: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (wire, key_after) = scramble(&plain, 0xdead_beef, 0x5a);
        assert_ne!(wire[1..], plain[..999]);
        let mut data = wire.clone();
        let key_after_decode = descramble(&mut data, 0xdead_beef);
        assert_eq!(key_after, key_after_decode);
        assert_eq!(data[..999], plain[..999]);
        assert_eq!(data[999], 0);
    }

    #[test]
    fn header_round_trip_and_truncation() {
        let h = ImageHeader {
            num_lines: 2,
            key_number: 3,
            blocks: vec![(block::ENCRYPTED, 1), (0, 1)],
        };
        let mut t = encode_header(&h).to_vec();
        t.extend(vec![0u8; 2 * IMAGE_WIDTH]);
        assert_eq!(parse_header(&t), Ok(h));
        assert!(matches!(
            parse_header(&t[..100]),
            Err(ImageError::Truncated { .. })
        ));
        let mut bad = t.clone();
        bad[4] = 0xff;
        bad[5] = 0x01;
        assert_eq!(parse_header(&bad), Err(ImageError::BadHeader));
    }

    /// A crafted header (issue 17): 15 blocks of 255 lines marked "not present",
    /// used to index past the 384×290 image in `assemble` (a panic in any build) — refused by
    /// `parse_header`, and `assemble`/`decode_blocks` stay within their buffers even when given
    /// such a header directly.
    #[test]
    fn a_crafted_header_cannot_index_past_the_buffers() {
        let crafted = ImageHeader {
            num_lines: 2,
            key_number: 0,
            blocks: vec![(block::NOT_PRESENT | block::ENCRYPTED, 255); 15],
        };
        let mut t = encode_header(&crafted).to_vec();
        t.extend(vec![7u8; 2 * IMAGE_WIDTH]);
        assert_eq!(parse_header(&t), Err(ImageError::BadHeader));
        let image = assemble(&t, &crafted);
        assert_eq!(image.len(), IMAGE_WIDTH * IMAGE_HEIGHT);
        assert!(decode_blocks(&mut t, &crafted, 1, 0, 0).is_ok());
        // A resume line far past the transfer is not an index either.
        assert!(decode_blocks(&mut t, &crafted, 1, 0, usize::MAX / 2).is_ok());
        // Lines laid out within the image still parse.
        let fits = ImageHeader {
            blocks: vec![(0, 145), (block::NOT_PRESENT, 145)],
            ..crafted
        };
        let mut t = encode_header(&fits).to_vec();
        t.extend(vec![7u8; 2 * IMAGE_WIDTH]);
        assert_eq!(parse_header(&t), Ok(fits));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Any header bytes and transfer length (the `uareu` fuzz target's property, bounded):
        /// parsing, the driver's decode loop and assembly never index out of their buffers.
        #[test]
        fn any_transfer_decodes_or_is_refused(
            head in proptest::collection::vec(proptest::prelude::any::<u8>(), HEADER_LEN),
            lines in 0usize..300,
            key in proptest::prelude::any::<u32>(),
        ) {
            let mut t = head.clone();
            t.extend((0..lines * IMAGE_WIDTH + lines).map(|i| i as u8));
            if let Ok(mut header) = parse_header(&t) {
                let (mut from, mut line) = (0, 0);
                for _ in 0..=header.blocks.len() {
                    match decode_blocks(&mut t, &header, key, from, line) {
                        Ok(()) => break,
                        Err((b, l)) => {
                            proptest::prop_assert!(b > from);
                            header.key_number = header.key_number.wrapping_add(1);
                            (from, line) = (b, l);
                        }
                    }
                }
                proptest::prop_assert_eq!(assemble(&t, &header).len(), IMAGE_WIDTH * IMAGE_HEIGHT);
            }
            // The same bytes as a header nobody validated.
            let raw = ImageHeader {
                num_lines: u16::from_le_bytes([head[4], head[5]]),
                key_number: head[6],
                blocks: head[16..46].chunks_exact(2).map(|p| (p[0], p[1])).collect(),
            };
            let _ = decode_blocks(&mut t, &raw, key, head[7] as usize % 16, head[12] as usize);
            proptest::prop_assert_eq!(assemble(&t, &raw).len(), IMAGE_WIDTH * IMAGE_HEIGHT);
        }
    }

    #[test]
    fn key_exchange_bytes() {
        assert_eq!(key_request(7, 0x0403_0201), [7, 1, 2, 3, 4]);
        assert_eq!(key_from_response([0xff, 0, 0, 0], 0x0000_00f0), 0x0f);
        assert_eq!(read_regs(REG_HWSTAT, 1).request_type, 0xc0);
        assert_eq!(write_regs(REG_MODE, 1).request_type, 0x40);
        assert_eq!(Mode::from_byte(0x20), Some(Mode::Capture));
    }
}
