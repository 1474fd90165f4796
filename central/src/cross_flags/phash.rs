//! A 64-bit difference hash (dHash) of a photo, computed at the central from the stored JPEG,
//! and the index keys that find every stored hash within [`MAX_DISTANCE`] bits of it.
//!
//! dHash: the photo in grey, shrunk by area averaging to 9×8, one bit per horizontal
//! neighbour pair (left brighter than right). Re-encoding, resizing and a small crop change a
//! few bits; another car in another light changes about half of them. The threshold is
//! measured on the real plate photos of `../shared/data/plates` (`tests/cross_flags_phash.rs`).
//!
//! The index (multi-index hashing): the 64 bits are cut in 4 bands of 16. Two hashes at most
//! 10 bits apart differ in at most two bits of some band (pigeonhole: 4 bands × 3 bits would be
//! 12), so looking up each band's value and its neighbours within two bits (1 + 16 + 120 = 137
//! per band, 548 exact keys) finds every stored hash within 10 bits with plain B-tree indexes on
//! both backends, without reading every photo of every station; the candidates are then
//! checked bit by bit.

/// Largest Hamming distance reported as a near match. Measured on the 57 real photos
/// (`tests/cross_flags_phash.rs`): re-encoded at quality 60 or resized to half, a copy is at
/// most 4 bits from its original; cropped 1 % each side at most 8; cropped 2 % each side 56 of
/// 57 within 10 (one 14); the closest two different photos are 15 bits apart (1 % of the pairs
/// under 19). 10 keeps 5 bits of margin below the closest different cars.
pub const MAX_DISTANCE: u32 = 10;

/// Bits a band may differ by and still be probed: `MAX_DISTANCE / BANDS`, rounded down.
const BAND_RADIUS: u32 = MAX_DISTANCE / BANDS as u32;

/// Bands of the index.
pub const BANDS: usize = 4;

/// The dHash of a JPEG (or PNG); `None` when it cannot be decoded (not a photo, or damaged:
/// the digests already say whether the bytes are the ones sent).
pub fn dhash(bytes: &[u8]) -> Option<u64> {
    let image = image::load_from_memory(bytes).ok()?;
    let grey = image.to_luma8();
    if grey.width() < 9 || grey.height() < 8 {
        return None;
    }
    let small = image::imageops::thumbnail(&grey, 9, 8);
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let left = small.get_pixel(x, y).0[0];
            let right = small.get_pixel(x + 1, y).0[0];
            hash = (hash << 1) | u64::from(left > right);
        }
    }
    Some(hash)
}

/// Bits that differ.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// The 4 band values of a hash, most significant first.
pub fn bands(hash: u64) -> [u16; BANDS] {
    [
        (hash >> 48) as u16,
        (hash >> 32) as u16,
        (hash >> 16) as u16,
        hash as u16,
    ]
}

/// For each band, its value and every value within two bits of it: a stored hash within
/// [`MAX_DISTANCE`] bits has at least one band among them.
pub fn probe_keys(hash: u64) -> [Vec<u16>; BANDS] {
    bands(hash).map(|value| {
        let mut keys = vec![value];
        for a in 0..16 {
            keys.push(value ^ (1 << a));
            if BAND_RADIUS >= 2 {
                keys.extend((a + 1..16).map(|b| value ^ (1 << a) ^ (1 << b)));
            }
        }
        keys
    })
}

/// The hash as the databases keep it (a signed 64-bit integer, same bits).
pub fn to_stored(hash: u64) -> i64 {
    hash as i64
}

/// The hash of a stored integer.
pub fn from_stored(stored: i64) -> u64 {
    stored as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hash_within_the_threshold_shares_a_probed_band() {
        // Flip MAX_DISTANCE bits spread every way over the bands: always found.
        let base = 0x9E37_79B9_7F4A_7C15u64;
        for seed in 0u64..2_000 {
            let mut other = base;
            let mut x = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
            let mut flipped = 0;
            while flipped < MAX_DISTANCE {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let bit = x % 64;
                if (other ^ base) & (1 << bit) == 0 {
                    other ^= 1 << bit;
                    flipped += 1;
                }
            }
            assert_eq!(distance(base, other), MAX_DISTANCE);
            let keys = probe_keys(base);
            let found = bands(other)
                .iter()
                .zip(&keys)
                .any(|(value, probes)| probes.contains(value));
            assert!(found, "{base:016x} vs {other:016x}");
        }
    }

    #[test]
    fn the_probes_are_distinct() {
        let keys = probe_keys(0x0123_4567_89AB_CDEF);
        for band in &keys {
            let mut unique = band.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!((band.len(), unique.len()), (137, 137));
        }
    }

    #[test]
    fn stored_form_keeps_every_bit() {
        for h in [0, 1, u64::MAX, 1 << 63, 0x8000_0000_0000_0001] {
            assert_eq!(from_stored(to_stored(h)), h);
        }
    }

    #[test]
    fn not_a_picture_has_no_hash() {
        assert_eq!(dhash(b"not a jpeg"), None);
    }
}
