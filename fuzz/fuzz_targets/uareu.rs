//! The U.are.U 4000B/4500 image transfer on hostile bytes: header parsing, block decoding with
//! key changes (as the driver loops) and assembly. Also the decoder and assembler given a header
//! that `parse_header` would refuse, since both are public.
//!
//! `protocol.rs` is compiled here from the driver's own source file: it is pure (bytes in, bytes
//! out), and depending on `vistoria-drivers` would pull GStreamer, PC/SC and libusb into an
//! instrumented build for nothing.
#![no_main]

#[allow(dead_code, clippy::all)]
#[path = "../../drivers/src/fingerprint/uareu/protocol.rs"]
mod protocol;

use libfuzzer_sys::fuzz_target;
use protocol::{HEADER_LEN, IMAGE_HEIGHT, IMAGE_WIDTH, ImageHeader};

fuzz_target!(|data: &[u8]| {
    let key = data
        .get(8..12)
        .map_or(0, |k| u32::from_le_bytes([k[0], k[1], k[2], k[3]]));
    let mut transfer = data.to_vec();
    if let Ok(mut header) = protocol::parse_header(&transfer) {
        assert!(transfer.len() >= HEADER_LEN + header.num_lines as usize * IMAGE_WIDTH);
        // The driver's loop: on a key change, fetch the next key and resume from that block.
        let (mut from, mut line, mut k) = (0, 0, key);
        for _ in 0..=header.blocks.len() {
            match protocol::decode_blocks(&mut transfer, &header, k, from, line) {
                Ok(()) => break,
                Err((block, at_line)) => {
                    assert!(block > from, "no progress");
                    header.key_number = header.key_number.wrapping_add(1);
                    k = protocol::update_key(k ^ 0x5a5a_5a5a);
                    from = block;
                    line = at_line;
                }
            }
        }
        let image = protocol::assemble(&transfer, &header);
        assert_eq!(image.len(), IMAGE_WIDTH * IMAGE_HEIGHT);
    }
    // The same bytes read as a header nobody validated.
    if data.len() >= 36 {
        let raw = ImageHeader {
            num_lines: u16::from_le_bytes([data[4], data[5]]),
            key_number: data[6],
            blocks: data[16..46.min(data.len())]
                .chunks_exact(2)
                .map(|p| (p[0], p[1]))
                .collect(),
        };
        let mut t = data.to_vec();
        let from = data[7] as usize % 16;
        let line = data[12] as usize * 3;
        let _ = protocol::decode_blocks(&mut t, &raw, key, from, line);
        assert_eq!(
            protocol::assemble(&t, &raw).len(),
            IMAGE_WIDTH * IMAGE_HEIGHT
        );
    }
});
