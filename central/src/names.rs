//! Media file names that are safe to use as a file name on any backend.

use vistoria_core::wire::MAX_FILE_NAME_LEN;

/// Why a file name was refused; the text is shown to people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty.
    #[error("nome de arquivo vazio")]
    Empty,
    /// Longer than [`MAX_FILE_NAME_LEN`] bytes.
    #[error("nome de arquivo com {0} bytes; o máximo é {MAX_FILE_NAME_LEN}")]
    TooLong(usize),
    /// Starts with `.` (hidden files, `.` and `..`).
    #[error("nome de arquivo não pode começar com ponto")]
    LeadingDot,
    /// Contains something other than `A–Z a–z 0–9 . _ -` (a `/`, NUL, space…).
    #[error(
        "nome de arquivo com caractere não permitido ({0:?}); use apenas letras, números, '.', '_' e '-'"
    )]
    BadChar(char),
    /// Contains `..`.
    #[error("nome de arquivo não pode conter '..'")]
    DotDot,
}

/// Checks a media file name: 1–128 bytes of `A–Z a–z 0–9 . _ -`, not starting with `.` and
/// without `..`. Anything else could escape the package's folder or collide with the store's
/// own files.
pub fn check_file_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_FILE_NAME_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(NameError::BadChar(c));
    }
    if name.starts_with('.') {
        return Err(NameError::LeadingDot);
    }
    if name.contains("..") {
        return Err(NameError::DotDot);
    }
    Ok(())
}

/// Why a station code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "código de estação «{0}» inválido: use de 1 a 32 letras maiúsculas, números e '-' (ex.: ECV-01)"
)]
pub struct BadStationCode(pub String);

/// Checks a station code: 1–32 bytes of `A–Z 0–9 -`. Codes name folders of the media store, so
/// nothing else is ever accepted.
pub fn check_station_code(code: &str) -> Result<(), BadStationCode> {
    let valid = !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(BadStationCode(code.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in [
            "rear.jpg",
            "seg-0001.mp4",
            "laudo_v1.p7s",
            "A",
            &"x".repeat(128),
        ] {
            assert_eq!(check_file_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_path_tricks() {
        assert_eq!(check_file_name(""), Err(NameError::Empty));
        assert_eq!(check_file_name(".."), Err(NameError::LeadingDot));
        assert_eq!(check_file_name(".partial"), Err(NameError::LeadingDot));
        assert_eq!(check_file_name("a..b"), Err(NameError::DotDot));
        assert_eq!(check_file_name("../etc"), Err(NameError::BadChar('/')));
        assert_eq!(check_file_name("a\\b"), Err(NameError::BadChar('\\')));
        assert_eq!(check_file_name("a\0b"), Err(NameError::BadChar('\0')));
        assert_eq!(check_file_name("foto é.jpg"), Err(NameError::BadChar(' ')));
        assert_eq!(
            check_file_name(&"x".repeat(129)),
            Err(NameError::TooLong(129))
        );
    }
}
