//! Which finger a template is of. An inspector enrols two (issue 19): a cut or a bandage on one
//! must not keep them from logging in. Codes are the finger positions of ISO/IEC 19794-2 and
//! ANSI/NIST-ITL (1 right thumb … 10 left little), so a template keeps its meaning outside us.

use serde::{Deserialize, Serialize};

/// One of the ten fingers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Finger {
    /// Position 1.
    RightThumb,
    /// Position 2.
    RightIndex,
    /// Position 3.
    RightMiddle,
    /// Position 4.
    RightRing,
    /// Position 5.
    RightLittle,
    /// Position 6.
    LeftThumb,
    /// Position 7.
    LeftIndex,
    /// Position 8.
    LeftMiddle,
    /// Position 9.
    LeftRing,
    /// Position 10.
    LeftLittle,
}

impl Finger {
    /// Every finger, in position order.
    pub const ALL: [Finger; 10] = [
        Finger::RightThumb,
        Finger::RightIndex,
        Finger::RightMiddle,
        Finger::RightRing,
        Finger::RightLittle,
        Finger::LeftThumb,
        Finger::LeftIndex,
        Finger::LeftMiddle,
        Finger::LeftRing,
        Finger::LeftLittle,
    ];

    /// The ISO/IEC 19794-2 finger position (1…10).
    pub fn position(self) -> u8 {
        Finger::ALL
            .iter()
            .position(|f| *f == self)
            .map_or(0, |i| i as u8 + 1)
    }

    /// The finger of a position (1…10).
    pub fn from_position(position: u8) -> Option<Finger> {
        Finger::ALL
            .get(usize::from(position).checked_sub(1)?)
            .copied()
    }

    /// Name on the command line and in JSON (`right-index`).
    pub fn code(self) -> &'static str {
        match self {
            Finger::RightThumb => "right-thumb",
            Finger::RightIndex => "right-index",
            Finger::RightMiddle => "right-middle",
            Finger::RightRing => "right-ring",
            Finger::RightLittle => "right-little",
            Finger::LeftThumb => "left-thumb",
            Finger::LeftIndex => "left-index",
            Finger::LeftMiddle => "left-middle",
            Finger::LeftRing => "left-ring",
            Finger::LeftLittle => "left-little",
        }
    }

    /// The finger of a code.
    pub fn from_code(code: &str) -> Option<Finger> {
        Finger::ALL.into_iter().find(|f| f.code() == code)
    }

    /// Name shown to people.
    pub fn label_pt(self) -> &'static str {
        match self {
            Finger::RightThumb => "polegar direito",
            Finger::RightIndex => "indicador direito",
            Finger::RightMiddle => "médio direito",
            Finger::RightRing => "anelar direito",
            Finger::RightLittle => "mínimo direito",
            Finger::LeftThumb => "polegar esquerdo",
            Finger::LeftIndex => "indicador esquerdo",
            Finger::LeftMiddle => "médio esquerdo",
            Finger::LeftRing => "anelar esquerdo",
            Finger::LeftLittle => "mínimo esquerdo",
        }
    }
}

impl std::fmt::Display for Finger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label_pt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_codes_round_trip() {
        for (i, finger) in Finger::ALL.into_iter().enumerate() {
            assert_eq!(finger.position(), i as u8 + 1);
            assert_eq!(Finger::from_position(finger.position()), Some(finger));
            assert_eq!(Finger::from_code(finger.code()), Some(finger));
        }
        assert_eq!(Finger::from_position(0), None);
        assert_eq!(Finger::from_position(11), None);
        assert_eq!(Finger::from_code("thumb"), None);
    }
}
