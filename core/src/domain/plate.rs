//! Brazilian licence plates: the old grey `LLL9999` and the Mercosul `LLL9L99`.
//!
//! The plate is what the operator types for the vehicle query and what OCR reads from the rear
//! photo (§5, §6, 2f); both must agree, so both go through [`Plate::parse`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Number of characters of a plate, in both formats.
pub const PLATE_LEN: usize = 7;

/// The two plate layouts in use in Brazil.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateFormat {
    /// Grey plate, three letters and four digits: `ABC1234` (often written `ABC-1234`).
    Old,
    /// Mercosul plate, `LLL9L99`: the fifth character is a letter.
    Mercosul,
}

impl PlateFormat {
    /// Both formats, old first.
    pub const ALL: [PlateFormat; 2] = [PlateFormat::Old, PlateFormat::Mercosul];

    /// Name shown to users.
    pub fn label_pt(self) -> &'static str {
        match self {
            PlateFormat::Old => "placa cinza (modelo antigo)",
            PlateFormat::Mercosul => "placa Mercosul",
        }
    }
}

/// What kind of character a plate position holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CharClass {
    /// An uppercase ASCII letter `A`–`Z`.
    Letter,
    /// A digit `0`–`9`.
    Digit,
    /// Either: position 5 when the format is not known yet.
    LetterOrDigit,
}

impl CharClass {
    /// Whether `c` (already uppercase) fits this class.
    pub fn allows(self, c: char) -> bool {
        match self {
            CharClass::Letter => c.is_ascii_uppercase(),
            CharClass::Digit => c.is_ascii_digit(),
            CharClass::LetterOrDigit => c.is_ascii_uppercase() || c.is_ascii_digit(),
        }
    }
}

/// The class of each of the seven positions for a known format.
pub fn char_classes(format: PlateFormat) -> [CharClass; PLATE_LEN] {
    use CharClass::{Digit, Letter};
    let fifth = match format {
        PlateFormat::Old => Digit,
        PlateFormat::Mercosul => Letter,
    };
    [Letter, Letter, Letter, Digit, fifth, Digit, Digit]
}

/// The class of position `index` (0-based) when the format may be unknown (`None`): then the
/// fifth position is [`CharClass::LetterOrDigit`]. `None` past the seventh position.
///
/// OCR uses this to constrain each character it decodes.
pub fn char_class_at(index: usize, format: Option<PlateFormat>) -> Option<CharClass> {
    if index >= PLATE_LEN {
        return None;
    }
    Some(match format {
        Some(format) => char_classes(format)[index],
        None if index == 4 => CharClass::LetterOrDigit,
        None => char_classes(PlateFormat::Old)[index],
    })
}

/// Which formats accept the (uppercase) character `c` at position `index` (0-based).
///
/// Empty when no format does, e.g. a letter in position 4 or anything past position 7.
pub fn formats_allowing(index: usize, c: char) -> &'static [PlateFormat] {
    const BOTH: &[PlateFormat] = &PlateFormat::ALL;
    let old = index < PLATE_LEN && char_classes(PlateFormat::Old)[index].allows(c);
    let mercosul = index < PLATE_LEN && char_classes(PlateFormat::Mercosul)[index].allows(c);
    match (old, mercosul) {
        (true, true) => BOTH,
        (true, false) => &[PlateFormat::Old],
        (false, true) => &[PlateFormat::Mercosul],
        (false, false) => &[],
    }
}

/// Why a typed or decoded plate was rejected. Positions are 1-based and count only the plate's
/// own characters (spaces, `-` and `.` are ignored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlateError {
    /// Nothing left after removing spaces and separators.
    #[error("informe a placa")]
    Empty,
    /// A character that is neither an ASCII letter nor a digit.
    #[error("posição {position}: o caractere «{found}» não é permitido em placas")]
    InvalidChar {
        /// 1-based position.
        position: usize,
        /// The offending character as typed.
        found: char,
    },
    /// Not seven characters.
    #[error("a placa deve ter 7 caracteres; foram informados {found}")]
    Length {
        /// How many letters and digits were given.
        found: usize,
    },
    /// A digit where both formats require a letter (positions 1–3).
    #[error("posição {position} deve ser uma letra")]
    ExpectedLetter {
        /// 1-based position.
        position: usize,
    },
    /// A letter where both formats require a digit (positions 4, 6 and 7).
    #[error("posição {position} deve ser um número")]
    ExpectedDigit {
        /// 1-based position.
        position: usize,
    },
}

/// A valid Brazilian plate: seven uppercase characters in the old or the Mercosul layout.
///
/// Any letter may appear in either format; there are no excluded letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plate(String);

impl Plate {
    /// Parses user or OCR input: surrounding and inner whitespace, `-` and `.` are dropped and
    /// letters are upper-cased; the rest must be exactly an old or a Mercosul plate.
    pub fn parse(input: &str) -> Result<Plate, PlateError> {
        let mut chars = Vec::with_capacity(PLATE_LEN);
        for c in input.chars() {
            if c.is_whitespace() || c == '-' || c == '.' {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(PlateError::InvalidChar {
                    position: chars.len() + 1,
                    found: c,
                });
            }
            chars.push(c.to_ascii_uppercase());
        }
        if chars.is_empty() {
            return Err(PlateError::Empty);
        }
        if chars.len() != PLATE_LEN {
            return Err(PlateError::Length { found: chars.len() });
        }
        for (index, &c) in chars.iter().enumerate() {
            let class = char_class_at(index, None).unwrap_or(CharClass::LetterOrDigit);
            if !class.allows(c) {
                let position = index + 1;
                return Err(match class {
                    CharClass::Letter => PlateError::ExpectedLetter { position },
                    _ => PlateError::ExpectedDigit { position },
                });
            }
        }
        Ok(Plate(chars.into_iter().collect()))
    }

    /// The canonical seven characters, e.g. `ABC1234` or `ABC1D23`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Which layout this plate uses, decided by its fifth character.
    pub fn format(&self) -> PlateFormat {
        if self.fifth().is_ascii_digit() {
            PlateFormat::Old
        } else {
            PlateFormat::Mercosul
        }
    }

    /// The Mercosul plate of the same vehicle: the official conversion replaces the fifth
    /// character, a digit `d`, with the letter at index `d` of `A`…`J` (0→A, 1→B, …, 9→J).
    /// A Mercosul plate is returned as is.
    pub fn to_mercosul(&self) -> Plate {
        let fifth = self.fifth();
        match fifth.to_digit(10) {
            Some(d) => {
                let letter = char::from(b'A' + d as u8);
                self.with_fifth(letter)
            }
            None => self.clone(),
        }
    }

    /// The old plate this Mercosul plate was converted from, if it can be one (fifth letter
    /// `A`…`J`). An old plate is returned as is.
    pub fn to_old(&self) -> Option<Plate> {
        let fifth = self.fifth();
        if fifth.is_ascii_digit() {
            return Some(self.clone());
        }
        let offset = u32::from(fifth).checked_sub(u32::from('A'))?;
        let digit = char::from_digit(offset, 10)?;
        Some(self.with_fifth(digit))
    }

    /// Whether both plates identify the same vehicle, i.e. are equal after converting both to
    /// Mercosul (`ABC1234` and `ABC1C34` are the same vehicle).
    pub fn same_vehicle(&self, other: &Plate) -> bool {
        self.to_mercosul() == other.to_mercosul()
    }

    /// The plate as printed on documents: `ABC-1234` for old plates, `ABC1D23` for Mercosul.
    pub fn pretty(&self) -> String {
        match self.format() {
            PlateFormat::Old => format!("{}-{}", &self.0[..3], &self.0[3..]),
            PlateFormat::Mercosul => self.0.clone(),
        }
    }

    fn fifth(&self) -> char {
        // Parsing guarantees seven ASCII characters.
        char::from(self.0.as_bytes()[4])
    }

    fn with_fifth(&self, c: char) -> Plate {
        let mut s = String::with_capacity(PLATE_LEN);
        s.push_str(&self.0[..4]);
        s.push(c);
        s.push_str(&self.0[5..]);
        Plate(s)
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Plate {
    type Err = PlateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plate::parse(s)
    }
}

impl AsRef<str> for Plate {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Plate {
    type Error = PlateError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Plate::parse(&value)
    }
}

impl From<Plate> for String {
    fn from(plate: Plate) -> Self {
        plate.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_both_formats() {
        let old = Plate::parse("ABC1234").unwrap();
        assert_eq!(old.format(), PlateFormat::Old);
        assert_eq!(old.as_str(), "ABC1234");
        let mercosul = Plate::parse("BRA2E19").unwrap();
        assert_eq!(mercosul.format(), PlateFormat::Mercosul);
    }

    #[test]
    fn normalises_spaces_separators_and_case() {
        for input in ["abc-1234", "  ABC 1234 ", "a.b.c-1.2.3.4", "aBc\t1234\n"] {
            assert_eq!(
                Plate::parse(input).unwrap().as_str(),
                "ABC1234",
                "{input:?}"
            );
        }
        assert_eq!(Plate::parse("bra 2e19").unwrap().as_str(), "BRA2E19");
    }

    #[test]
    fn any_letter_is_allowed() {
        // No letter exclusions in either format (unlike the VIN's I, O, Q).
        assert!(Plate::parse("IOQ1234").is_ok());
        assert!(Plate::parse("QIO1Z99").is_ok());
    }

    #[test]
    fn errors_name_position_and_rule() {
        let cases = [
            ("", PlateError::Empty, "informe a placa"),
            (" - ", PlateError::Empty, "informe a placa"),
            (
                "AB1234",
                PlateError::Length { found: 6 },
                "a placa deve ter 7 caracteres; foram informados 6",
            ),
            (
                "ABCD1234",
                PlateError::Length { found: 8 },
                "a placa deve ter 7 caracteres; foram informados 8",
            ),
            (
                "AB@1234",
                PlateError::InvalidChar {
                    position: 3,
                    found: '@',
                },
                "posição 3: o caractere «@» não é permitido em placas",
            ),
            (
                "ABÇ1234",
                PlateError::InvalidChar {
                    position: 3,
                    found: 'Ç',
                },
                "posição 3: o caractere «Ç» não é permitido em placas",
            ),
            (
                "AB11234",
                PlateError::ExpectedLetter { position: 3 },
                "posição 3 deve ser uma letra",
            ),
            (
                "ABCD234",
                PlateError::ExpectedDigit { position: 4 },
                "posição 4 deve ser um número",
            ),
            (
                "ABC1D2E",
                PlateError::ExpectedDigit { position: 7 },
                "posição 7 deve ser um número",
            ),
            (
                "ABC12E4",
                PlateError::ExpectedDigit { position: 6 },
                "posição 6 deve ser um número",
            ),
        ];
        for (input, error, message) in cases {
            let got = Plate::parse(input).unwrap_err();
            assert_eq!(got, error, "{input:?}");
            assert_eq!(got.to_string(), message, "{input:?}");
        }
    }

    #[test]
    fn mercosul_conversion_of_fifth_character() {
        let pairs = [
            ("ABC1034", "ABC1A34"),
            ("ABC1134", "ABC1B34"),
            ("ABC1234", "ABC1C34"),
            ("ABC1934", "ABC1J34"),
        ];
        for (old, new) in pairs {
            let old = Plate::parse(old).unwrap();
            let new = Plate::parse(new).unwrap();
            assert_eq!(old.to_mercosul(), new);
            assert_eq!(new.to_old(), Some(old.clone()));
            assert!(old.same_vehicle(&new) && new.same_vehicle(&old));
        }
        let k = Plate::parse("ABC1K34").unwrap();
        assert_eq!(k.to_old(), None);
        assert_eq!(k.to_mercosul(), k);
        assert!(
            !Plate::parse("ABC1234")
                .unwrap()
                .same_vehicle(&Plate::parse("ABC1D34").unwrap())
        );
    }

    #[test]
    fn pretty_and_display() {
        let old = Plate::parse("abc1234").unwrap();
        assert_eq!(old.pretty(), "ABC-1234");
        assert_eq!(old.to_string(), "ABC1234");
        assert_eq!(Plate::parse("BRA2E19").unwrap().pretty(), "BRA2E19");
        assert_eq!("abc-1234".parse::<Plate>().unwrap(), old);
        let s: &str = old.as_ref();
        assert_eq!(s, "ABC1234");
    }

    #[test]
    fn serde_is_a_validated_string() {
        let plate = Plate::parse("BRA2E19").unwrap();
        assert_eq!(serde_json::to_string(&plate).unwrap(), "\"BRA2E19\"");
        assert_eq!(
            serde_json::from_str::<Plate>("\"bra-2e19\"").unwrap(),
            plate
        );
        assert!(serde_json::from_str::<Plate>("\"BRA2E1\"").is_err());
    }

    #[test]
    fn char_class_helpers_for_ocr() {
        assert_eq!(char_class_at(4, None), Some(CharClass::LetterOrDigit));
        assert_eq!(
            char_class_at(4, Some(PlateFormat::Old)),
            Some(CharClass::Digit)
        );
        assert_eq!(
            char_class_at(4, Some(PlateFormat::Mercosul)),
            Some(CharClass::Letter)
        );
        assert_eq!(char_class_at(0, None), Some(CharClass::Letter));
        assert_eq!(char_class_at(7, None), None);
        assert_eq!(formats_allowing(4, '7'), &[PlateFormat::Old]);
        assert_eq!(formats_allowing(4, 'D'), &[PlateFormat::Mercosul]);
        assert_eq!(formats_allowing(3, '7'), &PlateFormat::ALL);
        assert!(formats_allowing(3, 'D').is_empty());
        assert!(formats_allowing(9, '1').is_empty());
    }

    fn any_plate() -> impl Strategy<Value = Plate> {
        ("[A-Z]{3}[0-9][A-Z0-9][0-9]{2}").prop_map(|s| Plate::parse(&s).unwrap())
    }

    proptest! {
        #[test]
        fn display_round_trips(plate in any_plate()) {
            let shown = plate.to_string();
            prop_assert_eq!(Plate::parse(&shown).unwrap(), plate.clone());
            prop_assert_eq!(Plate::parse(&plate.pretty()).unwrap(), plate);
        }

        #[test]
        fn noise_does_not_change_the_plate(
            plate in any_plate(),
            noise in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("."), Just("\t")], 8),
            lower in proptest::collection::vec(any::<bool>(), 7),
        ) {
            let mut typed = String::new();
            for (i, c) in plate.as_str().chars().enumerate() {
                typed.push_str(noise[i]);
                typed.push(if lower[i] { c.to_ascii_lowercase() } else { c });
            }
            typed.push_str(noise[7]);
            prop_assert_eq!(Plate::parse(&typed).unwrap(), plate);
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,20}") {
            if let Ok(plate) = Plate::parse(&s) {
                prop_assert_eq!(plate.as_str().len(), PLATE_LEN);
                prop_assert!(plate.as_str().chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
            }
        }

        #[test]
        fn conversion_is_consistent(plate in any_plate()) {
            let mercosul = plate.to_mercosul();
            prop_assert_eq!(mercosul.format(), PlateFormat::Mercosul);
            prop_assert!(plate.same_vehicle(&mercosul));
            if plate.format() == PlateFormat::Old {
                prop_assert_eq!(mercosul.to_old(), Some(plate.clone()));
            }
            for (i, c) in plate.as_str().chars().enumerate() {
                prop_assert!(formats_allowing(i, c).contains(&plate.format()));
            }
        }
    }
}
