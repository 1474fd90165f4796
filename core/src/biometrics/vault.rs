//! Templates at rest: one file per inspector under `<data>/biometrics/`, sealed with AES-256-GCM
//! under the station's template key. The inspector id is the associated data, so a file copied
//! onto another inspector's name does not open. Raw images are never written.
//!
//! The key is not in the data directory (issue 19, LGPD): a copy of `/var/lib/vistoria` (a
//! backup, a support technician's disk image) must not carry what opens the templates. It is a
//! file of 32 random bytes readable only by the service user, by default beside the
//! configuration ([`default_key_file`]); a station whose key was still in
//! `<data>/biometrics/station.key` (before issue 19) has it moved out at the next start.
//!
//! File layout: `b"VFE2"`, 12-byte nonce, ciphertext of: count `u8`, then per template its
//! finger position `u8` (ISO/IEC 19794-2, 0 = not recorded), its length `u16` and its bytes
//! ([`Template::to_bytes`]). `b"VFE1"` files (no finger byte) are still read.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use super::BiometricError;
use super::finger::Finger;
use super::template::Template;

const MAGIC: &[u8; 4] = b"VFE2";
const MAGIC_V1: &[u8; 4] = b"VFE1";
/// Where the key was kept before issue 19, inside the data directory.
const LEGACY_KEY_FILE: &str = "station.key";
/// Name of the key file beside the configuration.
pub const KEY_FILE_NAME: &str = "biometria.key";

/// The default key file of a station whose configuration is `config_file`: beside it.
pub fn default_key_file(config_file: &Path) -> PathBuf {
    config_file
        .parent()
        .unwrap_or(Path::new("/etc/vistoria"))
        .join(KEY_FILE_NAME)
}

/// One enrolled impression: its template and the finger it is of.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerTemplate {
    /// The finger; `None` for templates enrolled before fingers were recorded.
    pub finger: Option<Finger>,
    /// The template.
    pub template: Template,
}

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
    /// Opens `<data_dir>/biometrics` with the key in `key_file`, creating the key (owner-only)
    /// if there is none. The key file must be outside `data_dir` and readable by its owner
    /// only; a key left in the data directory by an older version is moved to `key_file`.
    pub fn open(data_dir: &Path, key_file: &Path) -> Result<Vault, BiometricError> {
        let dir = data_dir.join("biometrics");
        std::fs::create_dir_all(&dir).map_err(io)?;
        if inside(key_file, data_dir) {
            return Err(BiometricError::Io(format!(
                "a chave dos modelos biométricos ({}) não pode ficar na pasta de dados ({}): \
                 configure [biometrics] key_file fora dela",
                key_file.display(),
                data_dir.display()
            )));
        }
        let legacy = dir.join(LEGACY_KEY_FILE);
        if !key_file.exists() && legacy.exists() {
            move_key(&legacy, key_file)?;
        }
        let key = match std::fs::read(key_file) {
            Ok(bytes) => {
                check_private(key_file)?;
                let arr: [u8; 32] = bytes.try_into().map_err(|_| {
                    BiometricError::Io(format!(
                        "chave dos modelos biométricos corrompida: {}",
                        key_file.display()
                    ))
                })?;
                StationKey(arr)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = StationKey::generate();
                if let Some(parent) = key_file.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| key_io(key_file, e))?;
                }
                write_private(key_file, &key.0)?;
                key
            }
            Err(e) => return Err(key_io(key_file, e)),
        };
        if legacy.exists() {
            // Moved above, or copied by hand: the data directory must not keep a copy.
            std::fs::remove_file(&legacy).map_err(io)?;
        }
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
    pub fn save(&self, user: &str, templates: &[FingerTemplate]) -> Result<(), BiometricError> {
        let sealed = seal(&self.key, user, templates)?;
        let path = self.path_of(user);
        let tmp = path.with_extension("tmp");
        write_private(&tmp, &sealed)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Opens the templates of `user`, every finger.
    pub fn load(&self, user: &str) -> Result<Vec<Template>, BiometricError> {
        Ok(self
            .load_fingers(user)?
            .into_iter()
            .map(|t| t.template)
            .collect())
    }

    /// The fingers `user` has enrolled, each once, in position order (empty when none).
    pub fn fingers(&self, user: &str) -> Result<Vec<Finger>, BiometricError> {
        let mut fingers: Vec<Finger> = match self.load_fingers(user) {
            Ok(t) => t.into_iter().filter_map(|t| t.finger).collect(),
            Err(BiometricError::NotEnrolled(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        fingers.sort();
        fingers.dedup();
        Ok(fingers)
    }

    /// Opens the templates of `user` with their fingers.
    pub fn load_fingers(&self, user: &str) -> Result<Vec<FingerTemplate>, BiometricError> {
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

fn key_io(path: &Path, e: std::io::Error) -> BiometricError {
    BiometricError::Io(format!(
        "chave dos modelos biométricos {}: {e}",
        path.display()
    ))
}

/// Whether `path` is `dir` or under it (compared on the canonical forms where they exist).
fn inside(path: &Path, dir: &Path) -> bool {
    let canonical = |p: &Path| {
        // The key file may not exist yet: canonicalise its folder.
        p.canonicalize().ok().or_else(|| {
            let parent = p.parent()?.canonicalize().ok()?;
            Some(parent.join(p.file_name()?))
        })
    };
    match (canonical(path), dir.canonicalize().ok()) {
        (Some(p), Some(d)) => p.starts_with(d),
        _ => path.starts_with(dir),
    }
}

/// Refuses a key file others can read: it opens every inspector's templates.
fn check_private(path: &Path) -> Result<(), BiometricError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| key_io(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(BiometricError::Io(format!(
                "a chave dos modelos biométricos {} pode ser lida por outros usuários \
                 (permissões {:o}); corrija com: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    Ok(())
}

/// Moves the legacy key out of the data directory: written to its new place first (synced),
/// removed from the old one after, so a crash in between leaves a key in both, never none.
fn move_key(from: &Path, to: &Path) -> Result<(), BiometricError> {
    let bytes = std::fs::read(from).map_err(io)?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| key_io(to, e))?;
    }
    let tmp = to.with_extension("tmp");
    write_private(&tmp, &bytes)?;
    std::fs::rename(&tmp, to).map_err(|e| key_io(to, e))?;
    std::fs::remove_file(from).map_err(io)
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
    templates: &[FingerTemplate],
) -> Result<Vec<u8>, BiometricError> {
    let mut plain = vec![u8::try_from(templates.len()).map_err(|_| BiometricError::Crypto)?];
    for t in templates {
        plain.push(t.finger.map_or(0, Finger::position));
        let bytes = t.template.to_bytes();
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
) -> Result<Vec<FingerTemplate>, BiometricError> {
    let with_fingers = bytes.get(..4) == Some(MAGIC.as_slice());
    if bytes.len() < 16 || !(with_fingers || bytes.get(..4) == Some(MAGIC_V1.as_slice())) {
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
        let finger = if with_fingers {
            let position = *plain.get(at).ok_or_else(bad)?;
            at += 1;
            match position {
                0 => None,
                p => Some(Finger::from_position(p).ok_or_else(bad)?),
            }
        } else {
            None
        };
        let len_bytes = plain.get(at..at + 2).ok_or_else(bad)?;
        let len = u16::from_le_bytes([len_bytes[0], len_bytes[1]]) as usize;
        at += 2;
        let template = Template::from_bytes(plain.get(at..at + len).ok_or_else(bad)?)?;
        out.push(FingerTemplate { finger, template });
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

    fn index(t: Template) -> FingerTemplate {
        FingerTemplate {
            finger: Some(Finger::RightIndex),
            template: t,
        }
    }

    #[test]
    fn templates_are_encrypted_and_bound_to_key_and_user() {
        let key = StationKey::from_bytes([7; 32]);
        let t = index(sample());
        let sealed = seal(&key, "insp-1", std::slice::from_ref(&t)).unwrap();
        // The plaintext template does not appear in the sealed bytes.
        let plain = t.template.to_bytes();
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
    fn files_without_fingers_are_still_read() {
        // A VFE1 file as the version before issue 19 wrote it: no finger byte.
        let key = StationKey::from_bytes([7; 32]);
        let t = sample();
        let bytes = t.to_bytes();
        let mut plain = vec![1u8];
        plain.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        plain.extend_from_slice(&bytes);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.0));
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: &plain,
            aad: b"ana",
        };
        let mut file = MAGIC_V1.to_vec();
        file.extend_from_slice(&nonce);
        file.extend_from_slice(&cipher.encrypt(&nonce, payload).unwrap());
        let read = open_sealed(&key, "ana", &file).unwrap();
        assert_eq!(
            read,
            vec![FingerTemplate {
                finger: None,
                template: t
            }]
        );
    }

    #[test]
    fn vault_saves_loads_lists_and_removes() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let key = root.path().join("etc/biometria.key");
        let vault = Vault::open(&data, &key).unwrap();
        assert!(matches!(
            vault.load("ana"),
            Err(BiometricError::NotEnrolled(_))
        ));
        assert!(vault.fingers("ana").unwrap().is_empty());
        let left = FingerTemplate {
            finger: Some(Finger::LeftIndex),
            template: sample(),
        };
        vault
            .save("ana", &[index(sample()), left.clone(), left])
            .unwrap();
        assert_eq!(vault.load("ana").unwrap().len(), 3);
        assert_eq!(
            vault.fingers("ana").unwrap(),
            [Finger::RightIndex, Finger::LeftIndex]
        );
        assert_eq!(vault.users().unwrap(), vec!["ana".to_owned()]);
        // Reopening reads the same station key.
        let again = Vault::open(&data, &key).unwrap();
        assert_eq!(again.load("ana").unwrap().len(), 3);
        assert!(again.remove("ana").unwrap());
        assert!(!again.remove("ana").unwrap());
        assert!(again.users().unwrap().is_empty());
    }

    #[test]
    fn the_key_lives_outside_the_data_directory_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        // Inside the data directory: refused, with the way out.
        let err = Vault::open(&data, &data.join("k.key")).unwrap_err();
        assert!(err.to_string().contains("key_file fora dela"), "{err}");
        // A key from before issue 19 in the data directory is moved out, templates still open.
        let legacy_dir = data.join("biometrics");
        std::fs::create_dir_all(&legacy_dir).unwrap();
        std::fs::write(legacy_dir.join(LEGACY_KEY_FILE), [9u8; 32]).unwrap();
        let old = Vault::with_key(&legacy_dir, StationKey::from_bytes([9; 32])).unwrap();
        old.save("ana", &[index(sample())]).unwrap();
        let key = root.path().join("biometria.key");
        let vault = Vault::open(&data, &key).unwrap();
        assert_eq!(vault.load("ana").unwrap().len(), 1);
        assert!(!legacy_dir.join(LEGACY_KEY_FILE).exists());
        assert_eq!(std::fs::read(&key).unwrap(), [9u8; 32]);
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // No key material anywhere under the data directory.
        for entry in walk(&data) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(!bytes.windows(32).any(|w| w == [9u8; 32]), "{entry:?}");
        }
        // A key others can read is refused, saying how to fix it.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Vault::open(&data, &key).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
