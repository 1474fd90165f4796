//! CPF, the person's tax number: the inspector who signs the laudo (§11, §14) is named by it,
//! and the e-CPF certificate must carry the same one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Number of digits of a CPF.
pub const CPF_LEN: usize = 11;

/// The two check digits of a CPF from its first nine digits (each `0..=9`): for the first,
/// `Σ digitᵢ × (10 − i)`; for the second, `Σ digitᵢ × (11 − i)` over the nine and the first
/// check digit; each is `(Σ × 10) mod 11`, where 10 becomes 0.
pub fn check_digits(first9: &[u8; 9]) -> [u8; 2] {
    let digit = |digits: &[u8]| {
        let top = digits.len() as u32 + 1;
        let sum: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, &d)| u32::from(d) * (top - i as u32))
            .sum();
        match (sum * 10) % 11 {
            10 => 0,
            // Below 10 here, so it fits.
            dv => dv as u8,
        }
    };
    let first = digit(first9);
    let mut ten = [0u8; 10];
    ten[..9].copy_from_slice(first9);
    ten[9] = first;
    [first, digit(&ten)]
}

/// Why a CPF was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpfError {
    /// Nothing left after removing spaces and separators.
    #[error("informe o CPF")]
    Empty,
    /// Something other than a digit (1-based position, separators not counted).
    #[error("posição {position}: o CPF só tem números (encontrado «{found}»)")]
    NonDigit {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Not 11 digits.
    #[error("o CPF deve ter 11 dígitos; foram informados {found}")]
    Length {
        /// How many digits were given.
        found: usize,
    },
    /// Eleven equal digits pass the check-digit arithmetic but are not issued.
    #[error("CPF inválido: todos os dígitos iguais")]
    Repeated,
    /// The last two digits do not match the other nine.
    #[error("os dígitos verificadores do CPF não conferem")]
    CheckDigits,
}

/// A valid CPF: eleven digits whose last two are the [`check_digits`] of the first nine.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cpf(String);

impl Cpf {
    /// Parses typed input, ignoring whitespace, `.` and `-` (`390.533.447-05`).
    pub fn parse(input: &str) -> Result<Cpf, CpfError> {
        let mut digits = Vec::with_capacity(CPF_LEN);
        for c in input.chars() {
            if c.is_whitespace() || c == '.' || c == '-' {
                continue;
            }
            match c.to_digit(10) {
                // `to_digit(10)` only accepts ASCII digits and returns values below 10.
                Some(d) => digits.push(d as u8),
                None => {
                    return Err(CpfError::NonDigit {
                        position: digits.len() + 1,
                        found: c,
                    });
                }
            }
        }
        if digits.is_empty() {
            return Err(CpfError::Empty);
        }
        if digits.len() != CPF_LEN {
            return Err(CpfError::Length {
                found: digits.len(),
            });
        }
        if digits.iter().all(|&d| d == digits[0]) {
            return Err(CpfError::Repeated);
        }
        let mut first9 = [0u8; 9];
        first9.copy_from_slice(&digits[..9]);
        if check_digits(&first9) != [digits[9], digits[10]] {
            return Err(CpfError::CheckDigits);
        }
        Ok(Cpf(digits.iter().map(|d| char::from(b'0' + d)).collect()))
    }

    /// The eleven digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `390.533.447-05`.
    pub fn pretty(&self) -> String {
        let d = &self.0;
        format!("{}.{}.{}-{}", &d[..3], &d[3..6], &d[6..9], &d[9..])
    }

    /// `***.533.447-**`: what a printed laudo or a log may show (LGPD).
    pub fn masked(&self) -> String {
        let d = &self.0;
        format!("***.{}.{}-**", &d[3..6], &d[6..9])
    }
}

impl fmt::Display for Cpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Cpf {
    type Err = CpfError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cpf::parse(s)
    }
}

impl TryFrom<String> for Cpf {
    type Error = CpfError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Cpf::parse(&s)
    }
}

impl From<Cpf> for String {
    fn from(c: Cpf) -> String {
        c.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_numbers_pass_and_their_neighbours_fail() {
        // The demo inspector's CPF and a textbook example.
        for good in ["390.533.447-05", "52998224725"] {
            let cpf = Cpf::parse(good).unwrap();
            assert_eq!(cpf.as_str().len(), 11);
        }
        assert_eq!(
            Cpf::parse("390.533.447-05").unwrap().pretty(),
            "390.533.447-05"
        );
        assert_eq!(
            Cpf::parse("39053344705").unwrap().masked(),
            "***.533.447-**"
        );
        assert_eq!(Cpf::parse("39053344706"), Err(CpfError::CheckDigits));
        assert_eq!(Cpf::parse("11111111111"), Err(CpfError::Repeated));
        assert_eq!(
            Cpf::parse("3905334470"),
            Err(CpfError::Length { found: 10 })
        );
        assert_eq!(Cpf::parse(" "), Err(CpfError::Empty));
        assert!(matches!(
            Cpf::parse("390.533.447-0x"),
            Err(CpfError::NonDigit { position: 11, .. })
        ));
    }

    #[test]
    fn serde_refuses_a_bad_cpf() {
        assert!(serde_json::from_str::<Cpf>("\"39053344705\"").is_ok());
        assert!(serde_json::from_str::<Cpf>("\"39053344704\"").is_err());
    }

    proptest! {
        /// Any nine digits with their check digits form a CPF; another check digit never does.
        /// (A changed body digit is caught too, except where the "10 becomes 0" rule folds two
        /// sums together, so the property holds only for the check digits.)
        #[test]
        fn a_changed_check_digit_is_always_caught(
            first9 in proptest::array::uniform9(0u8..10),
            position in 9usize..11,
            delta in 1u8..10,
        ) {
            prop_assume!(first9.iter().any(|&d| d != first9[0]));
            let dv = check_digits(&first9);
            let mut digits: Vec<u8> = first9.to_vec();
            digits.extend(dv);
            let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert!(Cpf::parse(&text).is_ok());
            digits[position] = (digits[position] + delta) % 10;
            let changed: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert!(Cpf::parse(&changed).is_err());
        }
    }
}
