//! Format-aware decoding: turns what the recogniser saw at each position into a valid plate,
//! using the character class of each position (§5, 2f: `LLL9999` or Mercosul `LLL9L99`).

use crate::domain::plate::{CharClass, PLATE_LEN, Plate, PlateFormat, char_classes};

/// What the recogniser proposes for one position: candidate characters with a score in 0…1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Position {
    /// Alternatives, best first.
    pub options: Vec<(char, f32)>,
}

impl Position {
    /// A position with a single reading.
    pub fn single(c: char, score: f32) -> Position {
        Position {
            options: vec![(c.to_ascii_uppercase(), score)],
        }
    }
}

/// A plate decoded from positions, with the confidence of its weakest link.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The plate.
    pub plate: Plate,
    /// Mean score of the chosen characters, lowered for every forced substitution.
    pub confidence: f32,
    /// The lowest score among the chosen characters.
    pub weakest: f32,
}

/// The letter a digit is most often mistaken for, and back (O↔0, I↔1, B↔8, S↔5, Z↔2, G↔6, …).
pub fn as_letter(c: char) -> Option<char> {
    Some(match c {
        'A'..='Z' => c,
        '0' => 'O',
        '1' => 'I',
        '2' => 'Z',
        '3' => 'B',
        '4' => 'A',
        '5' => 'S',
        '6' => 'G',
        '7' => 'T',
        '8' => 'B',
        '9' => 'G',
        _ => return None,
    })
}

/// The digit a letter is most often mistaken for.
pub fn as_digit(c: char) -> Option<char> {
    Some(match c {
        '0'..='9' => c,
        'O' | 'D' | 'Q' | 'U' | 'C' => '0',
        'I' | 'L' | 'J' | 'T' => '1',
        'Z' => '2',
        'E' => '3',
        'A' | 'H' => '4',
        'S' => '5',
        'G' | 'b' => '6',
        'Y' => '7',
        'B' | 'R' => '8',
        'P' => '9',
        _ => return None,
    })
}

/// What a reading keeps of its score when it is replaced by its look-alike of another class.
pub const SUBSTITUTION: f32 = 0.6;

/// What a reading of `c` is worth as `fitted`, its look-alike of the position's class: the
/// whole score where the plate typeface draws both alike (O and 0, I and 1), otherwise
/// [`SUBSTITUTION`] of it (a 4 is some evidence of an A, never as much as an A).
pub fn substitution_weight(c: char, fitted: char) -> f32 {
    match (c, fitted) {
        _ if c == fitted => 1.0,
        ('0', 'O') | ('O', '0') | ('1', 'I') | ('I', '1') => 1.0,
        _ => SUBSTITUTION,
    }
}

/// `c` as the class allows it: itself, or its look-alike of that class.
pub fn fit(class: CharClass, c: char) -> Option<char> {
    if class.allows(c) {
        return Some(c);
    }
    match class {
        CharClass::Letter => as_letter(c),
        CharClass::Digit => as_digit(c),
        CharClass::LetterOrDigit => None,
    }
}

/// `c` folded into the class: its fit, or itself when the class has no look-alike for it.
pub fn fold(class: CharClass, c: char) -> char {
    fit(class, c).unwrap_or(c)
}

/// Decodes seven positions in one format: for each position the best option that fits the
/// class, directly or through the confusion tables. Every substitution costs confidence.
pub fn decode_as(positions: &[Position], format: PlateFormat) -> Option<Decoded> {
    if positions.len() != PLATE_LEN {
        return None;
    }
    let classes = char_classes(format);
    let mut text = String::with_capacity(PLATE_LEN);
    let mut total = 0.0f32;
    let mut weakest = f32::INFINITY;
    for (position, class) in positions.iter().zip(classes) {
        // The best option as the class takes it: as is, or as its look-alike at the cost
        // the pair carries (none for O/0 and I/1, which the plate typeface draws alike).
        let chosen = position
            .options
            .iter()
            .filter_map(|&(c, s)| {
                let fitted = fit(class, c)?;
                Some((fitted, s * substitution_weight(c, fitted)))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        text.push(chosen.0);
        total += chosen.1;
        weakest = weakest.min(chosen.1);
    }
    let plate = Plate::parse(&text).ok()?;
    Some(Decoded {
        plate,
        confidence: total / PLATE_LEN as f32,
        weakest,
    })
}

/// Decodes in whichever format fits better. With no hint, the fifth position decides: a letter
/// read there means Mercosul unless it maps cheaply to a digit and the digit reading is better.
pub fn decode(positions: &[Position]) -> Option<Decoded> {
    let old = decode_as(positions, PlateFormat::Old);
    let mercosul = decode_as(positions, PlateFormat::Mercosul);
    match (old, mercosul) {
        (Some(a), Some(b)) => Some(if b.confidence > a.confidence { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Decodes in the format the plate's colours showed, when they showed one (a Mercosul band):
/// then the fifth place is a letter even where it looks like a digit (O and 0, I and 1).
pub fn decode_hinted(positions: &[Position], hint: Option<PlateFormat>) -> Option<Decoded> {
    match hint {
        Some(format) => decode_as(positions, format).or_else(|| decode(positions)),
        None => decode(positions),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn positions(s: &str) -> Vec<Position> {
        s.chars().map(|c| Position::single(c, 0.9)).collect()
    }

    #[test]
    fn exact_readings_decode_as_is() {
        assert_eq!(
            decode(&positions("ABC1234")).unwrap().plate.as_str(),
            "ABC1234"
        );
        assert_eq!(
            decode(&positions("BRA2E19")).unwrap().plate.as_str(),
            "BRA2E19"
        );
    }

    #[test]
    fn a_shape_both_formats_share_at_the_fifth_place_keeps_the_old_format() {
        // I and 1 are one shape on the plate: read as I, the fifth place fits both formats
        // at the same cost and the old format stands; a B there is a Mercosul letter.
        assert_eq!(
            decode(&positions("ABC1I34")).unwrap().plate.as_str(),
            "ABC1134"
        );
        assert_eq!(
            decode(&positions("ABC1O34")).unwrap().plate.as_str(),
            "ABC1034"
        );
        assert_eq!(
            decode(&positions("ABC1B34")).unwrap().plate.as_str(),
            "ABC1B34"
        );
        assert_eq!(substitution_weight('0', 'O'), 1.0);
        assert_eq!(substitution_weight('4', 'A'), SUBSTITUTION);
    }

    #[test]
    fn confusions_follow_position_classes() {
        // 0 in a letter slot is O; O and I in digit slots are 0 and 1; B→8, S→5, Z→2, G→6.
        let d = decode(&positions("0B5I2O8")).unwrap();
        assert_eq!(d.plate.as_str(), "OBS1208");
        assert!(d.confidence < 0.9);
        let d = decode_as(&positions("8S6ZSBG"), PlateFormat::Old).unwrap();
        assert_eq!(d.plate.as_str(), "BSG2586");
    }

    #[test]
    fn the_weakest_character_is_kept_beside_the_mean() {
        let mut p = positions("ABC1234");
        p[6] = Position::single('4', 0.2);
        let d = decode(&p).unwrap();
        assert!((d.weakest - 0.2).abs() < 1e-6);
        assert!((d.confidence - (6.0 * 0.9 + 0.2) / 7.0).abs() < 1e-6);
    }

    #[test]
    fn fifth_position_chooses_the_format() {
        let d = decode(&positions("ABC1D23")).unwrap();
        assert_eq!(d.plate.format(), PlateFormat::Mercosul);
        let d = decode(&positions("ABC1723")).unwrap();
        assert_eq!(d.plate.format(), PlateFormat::Old);
    }

    #[test]
    fn a_mercosul_hint_reads_the_fifth_place_as_a_letter() {
        // "ABC1023" is a valid grey plate, but the band said Mercosul: the 0 is an O.
        let p = positions("ABC1023");
        assert_eq!(decode(&p).unwrap().plate.as_str(), "ABC1023");
        let d = decode_hinted(&p, Some(PlateFormat::Mercosul)).unwrap();
        assert_eq!(d.plate.as_str(), "ABC1O23");
        assert_eq!(decode_hinted(&p, None).unwrap().plate.as_str(), "ABC1023");
    }

    #[test]
    fn alternatives_are_used_before_substitution() {
        let mut p = positions("ABC1234");
        p[1] = Position {
            options: vec![('8', 0.5), ('B', 0.45)],
        };
        let d = decode(&p).unwrap();
        assert_eq!(d.plate.as_str(), "ABC1234");
    }

    #[test]
    fn wrong_length_or_unmappable_is_none() {
        assert!(decode(&positions("ABC123")).is_none());
        assert!(decode(&positions("AB#1234")).is_none());
    }
}
