//! Chassis number (VIN), an alternative to RENAVAM for confirming the typed plate (§5) and the
//! engraving photographed under §7 f.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Length of a modern VIN (ISO 3779), mandatory in Brazil since 1986.
pub const VIN_LEN: usize = 17;

/// Shortest pre-1986 chassis number we accept.
pub const LEGACY_MIN_LEN: usize = 5;

/// Position weights of the check-digit computation (position 9 itself weighs 0).
const WEIGHTS: [u32; VIN_LEN] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// Value of a VIN character in the check-digit computation; `None` for characters a VIN cannot
/// hold (`I`, `O`, `Q`, anything not alphanumeric).
fn transliterate(c: char) -> Option<u32> {
    let value = match c {
        '0'..='9' => c.to_digit(10)?,
        'A' | 'J' => 1,
        'B' | 'K' | 'S' => 2,
        'C' | 'L' | 'T' => 3,
        'D' | 'M' | 'U' => 4,
        'E' | 'N' | 'V' => 5,
        'F' | 'W' => 6,
        'G' | 'P' | 'X' => 7,
        'H' | 'Y' => 8,
        'R' | 'Z' => 9,
        _ => return None,
    };
    Some(value)
}

/// The check digit a 17-character VIN should carry in position 9 (`0`–`9` or `X`), or `None`
/// if `vin` is not 17 valid VIN characters (uppercase, no `I`, `O`, `Q`).
///
/// This is the North-American scheme that ISO 3779 makes optional; many Brazilian
/// manufacturers do not follow it, so a mismatch is only ever a warning.
pub fn vin_check_digit(vin: &str) -> Option<char> {
    if vin.chars().count() != VIN_LEN {
        return None;
    }
    let mut sum = 0;
    for (c, weight) in vin.chars().zip(WEIGHTS) {
        sum += transliterate(c)? * weight;
    }
    match sum % 11 {
        10 => Some('X'),
        d => char::from_digit(d, 10),
    }
}

/// Why a chassis number was rejected. Positions are 1-based and ignore spaces and `-`/`.`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChassisError {
    /// Nothing left after removing spaces and separators.
    #[error("informe o chassi")]
    Empty,
    /// Something that is not an ASCII letter or digit.
    #[error("posição {position}: o caractere «{found}» não é permitido no chassi")]
    InvalidChar {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// `I`, `O` or `Q` in a 17-character VIN, which never uses them (usually a typed `1` or `0`).
    #[error(
        "posição {position}: a letra «{found}» não existe em chassis de 17 caracteres; verifique se é o número {}",
        if *found == 'I' { '1' } else { '0' }
    )]
    ForbiddenLetter {
        /// 1-based position.
        position: usize,
        /// `I`, `O` or `Q`.
        found: char,
    },
    /// Fewer characters than any chassis has.
    #[error(
        "o chassi deve ter 17 caracteres (ou ao menos 5 nos veículos anteriores a 1986); foram informados {len}"
    )]
    TooShort {
        /// How many characters were given.
        len: usize,
    },
    /// More than 17 characters.
    #[error("o chassi deve ter 17 caracteres; foram informados {len}")]
    TooLong {
        /// How many characters were given.
        len: usize,
    },
}

/// Something odd about an accepted chassis number, for the operator to double-check against the
/// document and the engraving; never a reason to refuse the inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ChassisWarning {
    /// Position 9 is not the computed check digit (common on Brazilian VINs).
    CheckDigitMismatch {
        /// What the computation gives.
        expected: char,
        /// What position 9 holds.
        found: char,
    },
    /// A pre-1986 chassis number shorter than a VIN.
    ShortLegacy {
        /// Its length.
        len: usize,
    },
}

impl fmt::Display for ChassisWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChassisWarning::CheckDigitMismatch { expected, found } => write!(
                f,
                "o dígito verificador do chassi (posição 9) é «{found}», o cálculo indica «{expected}»; \
                 é comum em veículos nacionais, confira com o documento"
            ),
            ChassisWarning::ShortLegacy { len } => write!(
                f,
                "chassi com {len} caracteres, padrão anterior a 1986; confira com o documento"
            ),
        }
    }
}

/// An accepted chassis number: a 17-character VIN, or a shorter pre-1986 number, in uppercase
/// without separators, with the warnings found while parsing it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Chassis {
    value: String,
    warnings: Vec<ChassisWarning>,
}

impl Chassis {
    /// Parses typed input, ignoring whitespace, `-` and `.` and upper-casing letters.
    ///
    /// A 17-character number must be a VIN (no `I`, `O`, `Q`); a wrong check digit only adds a
    /// warning. 5 to 16 alphanumeric characters are a legacy chassis, accepted with a warning.
    pub fn parse(input: &str) -> Result<Chassis, ChassisError> {
        let mut value = String::with_capacity(VIN_LEN);
        let mut len = 0;
        for c in input.chars() {
            if c.is_whitespace() || c == '-' || c == '.' {
                continue;
            }
            len += 1;
            if !c.is_ascii_alphanumeric() {
                return Err(ChassisError::InvalidChar {
                    position: len,
                    found: c,
                });
            }
            value.push(c.to_ascii_uppercase());
        }
        let mut warnings = Vec::new();
        match len {
            0 => return Err(ChassisError::Empty),
            VIN_LEN => {
                if let Some((index, found)) = value
                    .chars()
                    .enumerate()
                    .find(|&(_, c)| matches!(c, 'I' | 'O' | 'Q'))
                {
                    return Err(ChassisError::ForbiddenLetter {
                        position: index + 1,
                        found,
                    });
                }
                let found = char::from(value.as_bytes()[8]);
                if let Some(expected) = vin_check_digit(&value)
                    && expected != found
                {
                    warnings.push(ChassisWarning::CheckDigitMismatch { expected, found });
                }
            }
            n if n > VIN_LEN => return Err(ChassisError::TooLong { len }),
            n if n < LEGACY_MIN_LEN => return Err(ChassisError::TooShort { len }),
            _ => warnings.push(ChassisWarning::ShortLegacy { len }),
        }
        Ok(Chassis { value, warnings })
    }

    /// The normalised chassis number.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// What the operator should double-check; empty for a clean VIN.
    pub fn warnings(&self) -> &[ChassisWarning] {
        &self.warnings
    }

    /// Whether this is a 17-character VIN (as opposed to a pre-1986 number).
    pub fn is_vin(&self) -> bool {
        self.value.len() == VIN_LEN
    }
}

impl fmt::Display for Chassis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl FromStr for Chassis {
    type Err = ChassisError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Chassis::parse(s)
    }
}

impl AsRef<str> for Chassis {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl TryFrom<String> for Chassis {
    type Error = ChassisError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Chassis::parse(&value)
    }
}

impl From<Chassis> for String {
    fn from(chassis: Chassis) -> Self {
        chassis.value
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn check_digit_of_known_vins() {
        // 1M8GDM9AXKP042788 is the textbook example: the weighted sum is 351, 351 mod 11 = 10 → X.
        assert_eq!(vin_check_digit("1M8GDM9AXKP042788"), Some('X'));
        // 1HGCM82633A004352: sum 311, 311 mod 11 = 3, and position 9 is 3.
        assert_eq!(vin_check_digit("1HGCM82633A004352"), Some('3'));
        // Seventeen 1s: sum of the weights is 89, 89 mod 11 = 1.
        assert_eq!(vin_check_digit("11111111111111111"), Some('1'));
        assert_eq!(vin_check_digit("1HGCM82633A00435"), None);
        assert_eq!(vin_check_digit("1HGCM82633A00435O"), None);
    }

    #[test]
    fn clean_vin_has_no_warnings() {
        let c = Chassis::parse(" 1hgcm8-2633a 004352 ").unwrap();
        assert_eq!(c.as_str(), "1HGCM82633A004352");
        assert!(c.warnings().is_empty());
        assert!(c.is_vin());
    }

    #[test]
    fn wrong_check_digit_is_a_warning_not_an_error() {
        // A typical Brazilian VIN (WMI 9BW) whose position 9 does not follow the computation.
        let c = Chassis::parse("9BWZZZ377VT004251").unwrap();
        let expected = vin_check_digit("9BWZZZ377VT004251").unwrap();
        assert_ne!(expected, '7');
        assert_eq!(
            c.warnings(),
            &[ChassisWarning::CheckDigitMismatch {
                expected,
                found: '7'
            }]
        );
        let message = c.warnings()[0].to_string();
        assert!(
            message.contains("posição 9") && message.contains("«7»"),
            "{message}"
        );
    }

    #[test]
    fn legacy_chassis_accepted_with_warning() {
        let c = Chassis::parse("ba-123456").unwrap();
        assert_eq!(c.as_str(), "BA123456");
        assert_eq!(c.warnings(), &[ChassisWarning::ShortLegacy { len: 8 }]);
        assert!(!c.is_vin());
        assert_eq!(
            c.warnings()[0].to_string(),
            "chassi com 8 caracteres, padrão anterior a 1986; confira com o documento"
        );
        // Old numbering may use letters a VIN excludes.
        assert!(Chassis::parse("OQI12").is_ok());
    }

    #[test]
    fn errors_and_messages() {
        let cases = [
            ("  ", ChassisError::Empty, "informe o chassi".to_owned()),
            (
                "9BW*ZZ377VT004251",
                ChassisError::InvalidChar { position: 4, found: '*' },
                "posição 4: o caractere «*» não é permitido no chassi".to_owned(),
            ),
            (
                "9BWZZZ377VT0O4251",
                ChassisError::ForbiddenLetter { position: 13, found: 'O' },
                "posição 13: a letra «O» não existe em chassis de 17 caracteres; verifique se é o número 0"
                    .to_owned(),
            ),
            (
                "IBWZZZ377VT004251",
                ChassisError::ForbiddenLetter { position: 1, found: 'I' },
                "posição 1: a letra «I» não existe em chassis de 17 caracteres; verifique se é o número 1"
                    .to_owned(),
            ),
            (
                "AB12",
                ChassisError::TooShort { len: 4 },
                "o chassi deve ter 17 caracteres (ou ao menos 5 nos veículos anteriores a 1986); foram informados 4"
                    .to_owned(),
            ),
            (
                "9BWZZZ377VT0042511",
                ChassisError::TooLong { len: 18 },
                "o chassi deve ter 17 caracteres; foram informados 18".to_owned(),
            ),
        ];
        for (input, error, message) in cases {
            let got = Chassis::parse(input).unwrap_err();
            assert_eq!(got, error, "{input:?}");
            assert_eq!(got.to_string(), message);
        }
    }

    #[test]
    fn serde_recomputes_warnings() {
        let c = Chassis::parse("9BWZZZ377VT004251").unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"9BWZZZ377VT004251\"");
        let back: Chassis = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.warnings().len(), 1);
        assert!(serde_json::from_str::<Chassis>("\"9BWZZZ377VT0O4251\"").is_err());
        assert_eq!(
            "1hgcm82633a004352".parse::<Chassis>().unwrap().to_string(),
            "1HGCM82633A004352"
        );
    }

    /// Seventeen VIN characters (no I, O, Q).
    const VIN: &str = "[A-HJ-NPR-Z0-9]{17}";

    proptest! {
        #[test]
        fn vin_round_trips(s in VIN) {
            let c = Chassis::parse(&s).unwrap();
            prop_assert_eq!(c.as_str(), s.as_str());
            let shown = c.to_string();
            prop_assert_eq!(Chassis::parse(&shown).unwrap(), c.clone());
            let expected = vin_check_digit(&s).unwrap();
            let found = s.chars().nth(8).unwrap();
            prop_assert_eq!(c.warnings().is_empty(), expected == found);
        }

        #[test]
        fn fixing_position_9_clears_the_warning(s in VIN) {
            let expected = vin_check_digit(&s).unwrap();
            let fixed = format!("{}{}{}", &s[..8], expected, &s[9..]);
            prop_assert!(Chassis::parse(&fixed).unwrap().warnings().is_empty());
        }

        #[test]
        fn case_and_separators_do_not_matter(s in VIN, cut in 1usize..16) {
            let typed = format!("  {}-{} ", s[..cut].to_ascii_lowercase(), &s[cut..]);
            prop_assert_eq!(Chassis::parse(&typed).unwrap(), Chassis::parse(&s).unwrap());
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,24}") {
            if let Ok(c) = Chassis::parse(&s) {
                prop_assert!((LEGACY_MIN_LEN..=VIN_LEN).contains(&c.as_str().len()));
                prop_assert_eq!(c.is_vin(), !c.warnings().contains(&ChassisWarning::ShortLegacy { len: c.as_str().len() }));
            }
        }
    }
}
