//! RENAVAM, the national vehicle register number that confirms the typed plate (§5, §6).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Number of digits of a current RENAVAM.
pub const RENAVAM_LEN: usize = 11;

/// Weights applied to the first ten digits, left to right.
const WEIGHTS: [u32; 10] = [3, 2, 9, 8, 7, 6, 5, 4, 3, 2];

/// The check digit of a RENAVAM from its first ten digits (each a value `0..=9`):
/// `Σ digitᵢ × weightᵢ` with weights `3,2,9,8,7,6,5,4,3,2`, then `(Σ × 10) mod 11`, where 10
/// becomes 0.
pub fn check_digit(first10: &[u8; 10]) -> u8 {
    let sum: u32 = first10
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    match (sum * 10) % 11 {
        10 => 0,
        // The remainder is below 10 here, so it fits.
        dv => dv as u8,
    }
}

/// Why a RENAVAM was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenavamError {
    /// Nothing left after removing spaces and separators.
    #[error("informe o RENAVAM")]
    Empty,
    /// Something other than a digit (1-based position, separators not counted).
    #[error("posição {position}: o RENAVAM só tem números (encontrado «{found}»)")]
    NonDigit {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Not 11 digits (nor a legacy 9 or 10).
    #[error("o RENAVAM deve ter 11 dígitos; foram informados {found}")]
    Length {
        /// How many digits were given.
        found: usize,
    },
    /// The last digit does not match the other ten.
    #[error("o dígito verificador do RENAVAM não confere")]
    CheckDigit,
}

/// A valid RENAVAM: eleven digits whose last one is the [`check_digit`] of the first ten.
///
/// Legacy 9- and 10-digit numbers are left-padded with zeros, as DETRANs do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Renavam(String);

impl Renavam {
    /// Parses typed input, ignoring whitespace, `.` and `-`.
    pub fn parse(input: &str) -> Result<Renavam, RenavamError> {
        let mut digits = Vec::with_capacity(RENAVAM_LEN);
        for c in input.chars() {
            if c.is_whitespace() || c == '.' || c == '-' {
                continue;
            }
            match c.to_digit(10) {
                // `to_digit(10)` only accepts ASCII digits and returns values below 10.
                Some(d) => digits.push(d as u8),
                None => {
                    return Err(RenavamError::NonDigit {
                        position: digits.len() + 1,
                        found: c,
                    });
                }
            }
        }
        match digits.len() {
            0 => return Err(RenavamError::Empty),
            9 | 10 => {
                let pad = RENAVAM_LEN - digits.len();
                digits.splice(0..0, std::iter::repeat_n(0, pad));
            }
            RENAVAM_LEN => {}
            found => return Err(RenavamError::Length { found }),
        }
        let mut first10 = [0u8; 10];
        first10.copy_from_slice(&digits[..10]);
        if check_digit(&first10) != digits[10] {
            return Err(RenavamError::CheckDigit);
        }
        Ok(Renavam(
            digits.iter().map(|&d| char::from(b'0' + d)).collect(),
        ))
    }

    /// The eleven digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Renavam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Renavam {
    type Err = RenavamError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Renavam::parse(s)
    }
}

impl AsRef<str> for Renavam {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Renavam {
    type Error = RenavamError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Renavam::parse(&value)
    }
}

impl From<Renavam> for String {
    fn from(renavam: Renavam) -> Self {
        renavam.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn digits(s: &str) -> [u8; 10] {
        let mut out = [0u8; 10];
        for (o, c) in out.iter_mut().zip(s.chars()) {
            *o = c.to_digit(10).unwrap() as u8;
        }
        out
    }

    #[test]
    fn check_digit_by_hand() {
        // 0063988496: 0·3 + 0·2 + 6·9 + 3·8 + 9·7 + 8·6 + 8·5 + 4·4 + 9·3 + 6·2
        //           = 0 + 0 + 54 + 24 + 63 + 48 + 40 + 16 + 27 + 12 = 284;
        // 2840 mod 11 = 2840 − 258·11 = 2 → 00639884962.
        assert_eq!(check_digit(&digits("0063988496")), 2);
        // 1234567890: 3 + 4 + 27 + 32 + 35 + 36 + 35 + 32 + 27 + 0 = 231;
        // 2310 mod 11 = 0 (231 = 21·11) → 12345678900.
        assert_eq!(check_digit(&digits("1234567890")), 0);
        // 0000000001: 1·2 = 2; 20 mod 11 = 9 → 00000000019.
        assert_eq!(check_digit(&digits("0000000001")), 9);
        // 0000000010: 1·3 = 3; 30 mod 11 = 8 → 00000000108.
        assert_eq!(check_digit(&digits("0000000010")), 8);
        // 0000000100: 1·4 = 4; 40 mod 11 = 7.
        assert_eq!(check_digit(&digits("0000000100")), 7);
        // 0000000005: 5·2 = 10; 100 mod 11 = 1.
        assert_eq!(check_digit(&digits("0000000005")), 1);
        // 0000000003: 3·2 = 6; 60 mod 11 = 5.
        assert_eq!(check_digit(&digits("0000000003")), 5);
        // 1000000000: 1·3 = 3; 30 mod 11 = 8.
        assert_eq!(check_digit(&digits("1000000000")), 8);
        // 0000000006: 6·2 = 12; 120 mod 11 = 10, which becomes 0.
        assert_eq!(check_digit(&digits("0000000006")), 0);
    }

    #[test]
    fn valid_examples() {
        for (input, canonical) in [
            ("00639884962", "00639884962"),
            ("639884962", "00639884962"),
            ("0639884962", "00639884962"),
            ("12345678900", "12345678900"),
            (" 0063.988.496-2 ", "00639884962"),
            ("00000000019", "00000000019"),
            ("00000000060", "00000000060"),
        ] {
            assert_eq!(
                Renavam::parse(input).unwrap().as_str(),
                canonical,
                "{input:?}"
            );
        }
    }

    #[test]
    fn errors_and_messages() {
        let cases = [
            ("", RenavamError::Empty, "informe o RENAVAM"),
            (
                "0063988496X",
                RenavamError::NonDigit {
                    position: 11,
                    found: 'X',
                },
                "posição 11: o RENAVAM só tem números (encontrado «X»)",
            ),
            (
                "12345678",
                RenavamError::Length { found: 8 },
                "o RENAVAM deve ter 11 dígitos; foram informados 8",
            ),
            (
                "123456789012",
                RenavamError::Length { found: 12 },
                "o RENAVAM deve ter 11 dígitos; foram informados 12",
            ),
            (
                "00639884963",
                RenavamError::CheckDigit,
                "o dígito verificador do RENAVAM não confere",
            ),
        ];
        for (input, error, message) in cases {
            let got = Renavam::parse(input).unwrap_err();
            assert_eq!(got, error, "{input:?}");
            assert_eq!(got.to_string(), message);
        }
        // Full-width digits are digits to Unicode but not to us.
        assert!(matches!(
            Renavam::parse("１２３"),
            Err(RenavamError::NonDigit { position: 1, .. })
        ));
    }

    #[test]
    fn traits_and_serde() {
        let r: Renavam = "639884962".parse().unwrap();
        assert_eq!(r.to_string(), "00639884962");
        assert_eq!(AsRef::<str>::as_ref(&r), "00639884962");
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"00639884962\"");
        assert_eq!(serde_json::from_str::<Renavam>("\"639884962\"").unwrap(), r);
        assert!(serde_json::from_str::<Renavam>("\"00639884963\"").is_err());
    }

    fn valid() -> impl Strategy<Value = String> {
        "[0-9]{10}".prop_map(|base| format!("{base}{}", check_digit(&digits(&base))))
    }

    proptest! {
        #[test]
        fn valid_numbers_round_trip(s in valid()) {
            let r = Renavam::parse(&s).unwrap();
            prop_assert_eq!(r.as_str(), s.as_str());
            let shown = r.to_string();
            prop_assert_eq!(Renavam::parse(&shown).unwrap(), r);
        }

        #[test]
        fn wrong_check_digit_is_always_rejected(s in valid(), bump in 1u8..10) {
            let last = s.as_bytes()[10] - b'0';
            let wrong = (last + bump) % 10;
            let bad = format!("{}{}", &s[..10], wrong);
            prop_assert_eq!(Renavam::parse(&bad), Err(RenavamError::CheckDigit));
        }

        #[test]
        fn leading_zeros_may_be_omitted(s in valid()) {
            let trimmed = s.trim_start_matches('0');
            if trimmed.len() >= 9 {
                prop_assert_eq!(Renavam::parse(trimmed).unwrap().to_string(), s);
            }
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,16}") {
            if let Ok(r) = Renavam::parse(&s) {
                prop_assert_eq!(r.as_str().len(), RENAVAM_LEN);
            }
        }
    }
}
