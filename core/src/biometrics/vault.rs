//! Templates at rest: one file per inspector under `<data>/biometrics/`, sealed with AES-256-GCM
//! under the station key (`<data>/biometrics/station.key`, 32 random bytes, created on first
//! use with owner-only permissions). The inspector id is the associated data, so a file copied
//! onto another inspector's name does not open. Raw images are never written.
//!
//! File layout: `b"VFE1"`, 12-byte nonce, ciphertext of: count `u8`, then per template its length
//! `u16` and its bytes ([`Template::to_bytes`]).

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use super::BiometricError;
use super::template::Template;

const MAGIC: &[u8; 4] = b"VFE1";
const KEY_FILE: &str = "station.key";

/// The station's template key.
#[derive(Clone)]
pub struct StationKey([u8; 32]);

impl std::fmt::Debug for StationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StationKey(…)")
    }
}

impl StationKey {
    /// A key from its bytes (tests, or a key provisioned by the central server).
    pub fn from_bytes(bytes: [u8; 32]) -> StationKey {
        StationKey(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> StationKey {
        StationKey(Aes256Gcm::generate_key(&mut OsRng).into())
    }
}

/// Encrypted template files of one station.
#[derive(Debug)]
pub struct Vault {
    dir: PathBuf,
    key: StationKey,
}

fn io(e: std::io::Error) -> BiometricError {
    BiometricError::Io(e.to_string())
}

impl Vault {
    /// Opens `<data_dir>/biometrics`, creating it and the station key if missing.
    pub fn open(data_dir: &Path) -> Result<Vault, BiometricError> {
        let dir = data_dir.join("biometrics");
        std::fs::create_dir_all(&dir).map_err(io)?;
        let key_path = dir.join(KEY_FILE);
        let key = match std::fs::read(&key_path) {
            Ok(bytes) => {
                let arr: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| BiometricError::Io("chave da estação corrompida".into()))?;
                StationKey(arr)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = StationKey::generate();
                write_private(&key_path, &key.0)?;
                key
            }
            Err(e) => return Err(io(e)),
        };
        Ok(Vault { dir, key })
    }

    /// A vault in `dir` with a given key.
    pub fn with_key(dir: &Path, key: StationKey) -> Result<Vault, BiometricError> {
        std::fs::create_dir_all(dir).map_err(io)?;
        Ok(Vault {
            dir: dir.to_owned(),
            key,
        })
    }

    fn path_of(&self, user: &str) -> PathBuf {
        self.dir
            .join(format!("{}.vfe", hex::encode(user.as_bytes())))
    }

    /// Seals templates for `user` (replacing any earlier enrolment).
    pub fn save(&self, user: &str, templates: &[Template]) -> Result<(), BiometricError> {
        let sealed = seal(&self.key, user, templates)?;
        let path = self.path_of(user);
        let tmp = path.with_extension("tmp");
        write_private(&tmp, &sealed)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Opens the templates of `user`.
    pub fn load(&self, user: &str) -> Result<Vec<Template>, BiometricError> {
        let bytes = match std::fs::read(self.path_of(user)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BiometricError::NotEnrolled(user.to_owned()));
            }
            Err(e) => return Err(io(e)),
        };
        open_sealed(&self.key, user, &bytes)
    }

    /// Removes the templates of `user`; `false` if there were none.
    pub fn remove(&self, user: &str) -> Result<bool, BiometricError> {
        match std::fs::remove_file(self.path_of(user)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(e)),
        }
    }

    /// Enrolled inspector ids, sorted.
    pub fn users(&self) -> Result<Vec<String>, BiometricError> {
        let mut users = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "vfe")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                && let Ok(raw) = hex::decode(stem)
                && let Ok(user) = String::from_utf8(raw)
            {
                users.push(user);
            }
        }
        users.sort();
        Ok(users)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BiometricError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Encrypts templates for `user`.
pub fn seal(
    key: &StationKey,
    user: &str,
    templates: &[Template],
) -> Result<Vec<u8>, BiometricError> {
    let mut plain = vec![u8::try_from(templates.len()).map_err(|_| BiometricError::Crypto)?];
    for t in templates {
        let bytes = t.to_bytes();
        let len = u16::try_from(bytes.len()).map_err(|_| BiometricError::Crypto)?;
        plain.extend_from_slice(&len.to_le_bytes());
        plain.extend_from_slice(&bytes);
    }
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.0));
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: &plain,
                aad: user.as_bytes(),
            },
        )
        .map_err(|_| BiometricError::Crypto)?;
    let mut out = Vec::with_capacity(4 + 12 + sealed.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts templates sealed for `user`.
pub fn open_sealed(
    key: &StationKey,
    user: &str,
    bytes: &[u8],
) -> Result<Vec<Template>, BiometricError> {
    if bytes.len() < 16 || &bytes[..4] != MAGIC {
        return Err(BiometricError::BadTemplate(
            "arquivo cifrado inválido".into(),
        ));
    }
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.0));
    let plain = cipher
        .decrypt(
            Nonce::from_slice(&bytes[4..16]),
            Payload {
                msg: &bytes[16..],
                aad: user.as_bytes(),
            },
        )
        .map_err(|_| BiometricError::Crypto)?;
    let bad = || BiometricError::BadTemplate("conteúdo inconsistente".into());
    let count = *plain.first().ok_or_else(bad)? as usize;
    let mut at = 1;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let len_bytes = plain.get(at..at + 2).ok_or_else(bad)?;
        let len = u16::from_le_bytes([len_bytes[0], len_bytes[1]]) as usize;
        at += 2;
        out.push(Template::from_bytes(
            plain.get(at..at + len).ok_or_else(bad)?,
        )?);
        at += len;
    }
    if at != plain.len() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::biometrics::minutiae::{Minutia, MinutiaKind};

    fn sample() -> Template {
        Template::new(
            300,
            400,
            &[Minutia {
                x: 12.0,
                y: 34.0,
                angle: 1.0,
                kind: MinutiaKind::Ending,
                quality: 70,
            }],
        )
    }

    #[test]
    fn templates_are_encrypted_and_bound_to_key_and_user() {
        let key = StationKey::from_bytes([7; 32]);
        let t = sample();
        let sealed = seal(&key, "insp-1", std::slice::from_ref(&t)).unwrap();
        // The plaintext template does not appear in the sealed bytes.
        let plain = t.to_bytes();
        assert!(!sealed.windows(plain.len()).any(|w| w == plain.as_slice()));
        assert_eq!(open_sealed(&key, "insp-1", &sealed).unwrap(), vec![t]);
        assert_eq!(
            open_sealed(&key, "insp-2", &sealed),
            Err(BiometricError::Crypto)
        );
        let other = StationKey::from_bytes([8; 32]);
        assert_eq!(
            open_sealed(&other, "insp-1", &sealed),
            Err(BiometricError::Crypto)
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            open_sealed(&key, "insp-1", &tampered),
            Err(BiometricError::Crypto)
        );
    }

    #[test]
    fn vault_saves_loads_lists_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path()).unwrap();
        assert!(matches!(
            vault.load("ana"),
            Err(BiometricError::NotEnrolled(_))
        ));
        vault.save("ana", &[sample(), sample()]).unwrap();
        assert_eq!(vault.load("ana").unwrap().len(), 2);
        assert_eq!(vault.users().unwrap(), vec!["ana".to_owned()]);
        // Reopening reads the same station key.
        let again = Vault::open(dir.path()).unwrap();
        assert_eq!(again.load("ana").unwrap().len(), 2);
        assert!(again.remove("ana").unwrap());
        assert!(!again.remove("ana").unwrap());
        assert!(again.users().unwrap().is_empty());
    }
}
