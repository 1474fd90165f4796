//! Content digests recorded with every stored file: MD5 because the rule names it (2e, §8) and
//! SHA-256 because MD5 alone no longer proves anything against a deliberate forger.

use std::io::{self, Read};

use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The digests of one file's exact bytes, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    /// MD5 of the bytes (2e, §8).
    pub md5: String,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Length in bytes.
    pub size: u64,
}

impl Digests {
    /// Digests of a byte slice held in memory.
    pub fn of(bytes: &[u8]) -> Digests {
        let mut hasher = Hasher::default();
        hasher.update(bytes);
        hasher.finish()
    }

    /// Digests of everything a reader yields, read in chunks (video segments do not fit in memory).
    pub fn of_reader(mut reader: impl Read) -> io::Result<Digests> {
        let mut hasher = Hasher::default();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(hasher.finish());
            }
            hasher.update(&buf[..n]);
        }
    }
}

/// Incremental MD5 + SHA-256, for data that arrives in pieces.
#[derive(Default, Clone)]
pub struct Hasher {
    md5: Md5,
    sha256: Sha256,
    size: u64,
}

impl Hasher {
    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha256.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// The digests of everything fed so far.
    pub fn finish(self) -> Digests {
        Digests {
            md5: hex::encode(self.md5.finalize()),
            sha256: hex::encode(self.sha256.finalize()),
            size: self.size,
        }
    }
}

/// SHA-256 of a byte slice as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let d = Digests::of(b"abc");
        assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.size, 3);
    }

    #[test]
    fn reader_matches_slice() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let from_reader = Digests::of_reader(&data[..]).expect("read from slice");
        assert_eq!(from_reader, Digests::of(&data));
    }
}
