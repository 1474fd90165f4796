//! A small DER writer: just what CAdES-BES signed attributes and a detached SignedData need
//! (X.690 §10). Parsing goes through the `der`/`x509-cert`/`cms` crates; building is ours so
//! the exact bytes that are signed stay visible here.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Universal tag numbers used below.
pub mod tag {
    /// INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// NULL.
    pub const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// IA5String.
    pub const IA5_STRING: u8 = 0x16;
    /// UTCTime.
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime.
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE (constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub const SET: u8 = 0x31;
}

/// One TLV with a definite, minimal length.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already-encoded elements, in order.
pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &parts.concat())
}

/// A SET OF already-encoded elements, sorted by their encodings as DER requires (X.690 §11.6).
pub fn set_of(parts: &[&[u8]]) -> Vec<u8> {
    let mut sorted: Vec<&[u8]> = parts.to_vec();
    sorted.sort();
    tlv(tag::SET, &sorted.concat())
}

/// An explicit (constructed) context-specific tag `[n]` around already-encoded content.
pub fn context_constructed(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0xA0 | (n & 0x1F), content)
}

/// An OBJECT IDENTIFIER from its dotted form. Panics only on a malformed constant, which the
/// tests of every constant used rule out.
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse::<u64>().expect("OID constants are numeric"))
        .collect();
    assert!(arcs.len() >= 2, "an OID has at least two arcs");
    let mut body = Vec::new();
    push_base128(&mut body, arcs[0] * 40 + arcs[1]);
    for arc in &arcs[2..] {
        push_base128(&mut body, *arc);
    }
    tlv(tag::OID, &body)
}

fn push_base128(out: &mut Vec<u8>, mut value: u64) {
    let mut groups = vec![(value & 0x7F) as u8];
    value >>= 7;
    while value > 0 {
        groups.push(0x80 | (value & 0x7F) as u8);
        value >>= 7;
    }
    groups.reverse();
    out.extend_from_slice(&groups);
}

/// A non-negative INTEGER from big-endian magnitude bytes (leading zeros trimmed, a zero byte
/// added when the high bit is set).
pub fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let trimmed = &magnitude[skip.min(magnitude.len().saturating_sub(1))..];
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.is_empty() {
        body.push(0);
    } else {
        if trimmed[0] & 0x80 != 0 {
            body.push(0);
        }
        body.extend_from_slice(trimmed);
    }
    tlv(tag::INTEGER, &body)
}

/// A small non-negative INTEGER.
pub fn small_integer(value: u64) -> Vec<u8> {
    unsigned_integer(&value.to_be_bytes())
}

/// An OCTET STRING.
pub fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, bytes)
}

/// NULL.
pub fn null() -> Vec<u8> {
    vec![tag::NULL, 0]
}

/// An IA5String (ASCII).
pub fn ia5_string(text: &str) -> Vec<u8> {
    tlv(tag::IA5_STRING, text.as_bytes())
}

/// A `Time` as RFC 5280 §4.1.2.5 and RFC 5652 §11.3 want it: UTCTime for 1950–2049,
/// GeneralizedTime otherwise; seconds precision, always `Z`.
pub fn time(at: DateTime<Utc>) -> Vec<u8> {
    let year = at.year();
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if (1950..2050).contains(&year) {
        tlv(tag::UTC_TIME, format!("{:02}{rest}", year % 100).as_bytes())
    } else {
        tlv(tag::GENERALIZED_TIME, format!("{year:04}{rest}").as_bytes())
    }
}

/// An AlgorithmIdentifier, with NULL parameters when `null_params`.
pub fn algorithm(oid_dotted: &str, null_params: bool) -> Vec<u8> {
    if null_params {
        sequence(&[&oid(oid_dotted), &null()])
    } else {
        sequence(&[&oid(oid_dotted)])
    }
}

/// Converts a raw ECDSA signature (`r ‖ s`, as PKCS#11 `CKM_ECDSA` returns it) to the DER
/// `Ecdsa-Sig-Value` CMS carries (RFC 5753 §2.1.1). `None` when the length is odd or zero.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    Some(sequence(&[&unsigned_integer(r), &unsigned_integer(s)]))
}

/// The first TLV in `bytes` (tag, length and value), `None` when truncated, when the length
/// is indefinite (`0x80`, not DER) or when it does not fit in the bytes given. The length is
/// attacker-controlled (a `.p7s` arrives from any station before its signature is checked),
/// so every step is checked: eight `0xFF` length bytes once overflowed `header + len`.
pub fn first_tlv(bytes: &[u8]) -> Option<&[u8]> {
    let len_byte = *bytes.get(1)?;
    let (header, len) = if len_byte < 0x80 {
        (2, len_byte as usize)
    } else {
        let n = (len_byte & 0x7F) as usize;
        if n == 0 || n > std::mem::size_of::<usize>() {
            return None;
        }
        let len = bytes.get(2..2 + n)?.iter().try_fold(0usize, |acc, b| {
            acc.checked_mul(256)?.checked_add(*b as usize)
        })?;
        (2 + n, len)
    };
    bytes.get(..header.checked_add(len)?)
}

/// The content of a TLV returned by [`first_tlv`] (what follows its tag and length).
pub fn tlv_content(tlv_bytes: &[u8]) -> Option<&[u8]> {
    let len_byte = *tlv_bytes.get(1)?;
    let header = if len_byte < 0x80 {
        2
    } else {
        2 + (len_byte & 0x7F) as usize
    };
    tlv_bytes.get(header..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn hostile_lengths_are_refused_not_overflowed() {
        // Eight 0xFF length bytes: 2 + 8 + usize::MAX overflowed (a panic in debug builds, a
        // wrapped, wrong slice in release).
        let mut hostile = vec![0x30, 0x88];
        hostile.extend([0xFF; 8]);
        hostile.extend([0u8; 16]);
        assert_eq!(first_tlv(&hostile), None);
        // Nine length bytes cannot fit a usize; the indefinite form is not DER.
        let mut nine = vec![0x30, 0x89];
        nine.extend([0u8; 9]);
        assert_eq!(first_tlv(&nine), None);
        assert_eq!(first_tlv(&[0x30, 0x80, 0, 0]), None);
        // A length just past the end, and one that fits.
        assert_eq!(first_tlv(&[0x04, 0x82, 0x01, 0x00, 1, 2]), None);
        assert_eq!(
            first_tlv(&[0x04, 0x81, 1, 7, 9]),
            Some(&[0x04, 0x81, 1, 7][..])
        );
        assert_eq!(tlv_content(&[0x04, 0x81, 1, 7]), Some(&[7u8][..]));
    }

    #[test]
    fn lengths_use_the_short_and_long_forms() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0u8; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        let longer = tlv(0x04, &[0u8; 300]);
        assert_eq!(&longer[..4], &[0x04, 0x82, 0x01, 0x2C]);
    }

    #[test]
    fn oids_encode_as_x690_says() {
        // sha256 2.16.840.1.101.3.4.2.1
        assert_eq!(
            oid("2.16.840.1.101.3.4.2.1"),
            vec![
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01
            ]
        );
        // The ICP-Brasil AD-RB policy, checked against the `der` crate's parser.
        let encoded = oid("2.16.76.1.7.1.1.2.3");
        let parsed: der::asn1::ObjectIdentifier =
            der::Decode::from_der(&encoded).expect("valid OID");
        assert_eq!(parsed.to_string(), "2.16.76.1.7.1.1.2.3");
    }

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(small_integer(0), vec![0x02, 1, 0]);
        assert_eq!(small_integer(1), vec![0x02, 1, 1]);
        assert_eq!(small_integer(128), vec![0x02, 2, 0, 128]);
        assert_eq!(unsigned_integer(&[0, 0, 0x7F]), vec![0x02, 1, 0x7F]);
    }

    #[test]
    fn sets_are_sorted() {
        assert_eq!(
            set_of(&[&[0x02, 1, 9], &[0x02, 1, 3]]),
            vec![0x31, 6, 0x02, 1, 3, 0x02, 1, 9]
        );
    }

    #[test]
    fn times_switch_to_generalized_after_2049() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 23, 8, 5, 9)
            .single()
            .expect("date");
        assert_eq!(time(at), tlv(tag::UTC_TIME, b"261123080509Z"));
        let late = Utc
            .with_ymd_and_hms(2050, 1, 2, 3, 4, 5)
            .single()
            .expect("date");
        assert_eq!(time(late), tlv(tag::GENERALIZED_TIME, b"20500102030405Z"));
    }

    #[test]
    fn raw_ecdsa_becomes_a_sequence_of_two_integers() {
        let mut raw = vec![0x80; 32];
        raw.extend(vec![0x01; 32]);
        let der_sig = ecdsa_raw_to_der(&raw).expect("even length");
        assert_eq!(der_sig[0], 0x30);
        assert_eq!(&der_sig[2..5], &[0x02, 33, 0x00]);
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_none());
    }
}
