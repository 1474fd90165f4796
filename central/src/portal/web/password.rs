//! Portal passwords: Argon2id (the `argon2` crate's recommended parameters, a random salt per
//! password), as the station's accounts (`core::accounts`).

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Shortest password accepted: a portal faces a network, not a kiosk's keyboard.
pub const MIN_LENGTH: usize = 12;

/// The PHC string of `password`'s Argon2id hash, or why the password is refused.
pub fn hash(password: &str) -> anyhow::Result<String> {
    if password.chars().count() < MIN_LENGTH {
        anyhow::bail!(
            "senha curta demais: use ao menos {MIN_LENGTH} caracteres (uma frase de várias \
             palavras serve)"
        );
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("não foi possível calcular o hash da senha: {e}"))
}

/// Whether `password` matches the stored hash (a malformed hash matches nothing).
pub fn verify(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash no password matches, with the same parameters: an unknown login is checked against
/// it, so the answer takes as long as for a wrong password and timing does not tell which
/// logins exist.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"\0 no portal account has this password \0", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Spends an Argon2id verification for an unknown login.
pub fn verify_dummy(password: &str) {
    let _ = verify(&DUMMY, password);
}

#[cfg(test)]
mod tests {
    use super::{hash, verify};

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").unwrap_or_default();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify(&stored, "correct horse battery"));
        assert!(!verify(&stored, "correct horse batterY"));
        assert!(hash("curta").is_err());
    }
}
