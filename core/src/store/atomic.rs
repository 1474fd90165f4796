//! Files that are either whole or absent: write to a temporary name, fsync, rename, fsync the
//! directory. A crash at any point leaves the old state (no file) or the new one (whole file).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

/// Prefix of temporary files; anything with it left in a media folder is debris of a crash.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Writes `bytes` to `dir/name` atomically and durably. Refuses to replace an existing file:
/// evidence is never overwritten.
pub fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let target = dir.join(name);
    let temp = dir.join(format!("{TEMP_PREFIX}{name}"));
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    // `hard_link` fails if the target exists, unlike `rename`: no evidence is ever replaced.
    let linked = fs::hard_link(&temp, &target);
    let removed = fs::remove_file(&temp);
    linked?;
    removed?;
    sync_dir(dir)
}

/// Creates `dir` (and missing parents) readable by the owner only (0700: the media, the
/// database and the keys are the inspected citizens' data) and makes its entry durable in the
/// parent. An existing folder is left as it is (see [`restrict_to_owner`]).
pub fn create_dir_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Takes group and other permissions off an existing folder (a data folder made by an older
/// build, or by hand, world-readable). Returns whether it changed anything.
pub fn restrict_to_owner(dir: &Path) -> io::Result<bool> {
    let mode = fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(mode & 0o700))?;
    Ok(true)
}

/// fsync of a directory, so a rename or a new entry in it survives a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17: data folders were world-readable (0755 under the usual umask).
    #[test]
    fn folders_are_created_and_restricted_to_the_owner() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nested = dir.path().join("data/media/inspection");
        create_dir_durable(&nested).expect("create");
        for d in [
            dir.path().join("data"),
            dir.path().join("data/media"),
            nested,
        ] {
            let mode = fs::metadata(&d).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        let old = dir.path().join("old");
        fs::create_dir(&old).expect("mkdir");
        fs::set_permissions(&old, fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(restrict_to_owner(&old).expect("restrict"));
        assert_eq!(
            fs::metadata(&old).expect("stat").permissions().mode() & 0o777,
            0o700
        );
        assert!(!restrict_to_owner(&old).expect("again"));
    }

    #[test]
    fn writes_whole_files_and_never_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_new(dir.path(), "a.jpg", b"first").expect("write");
        assert_eq!(fs::read(dir.path().join("a.jpg")).expect("read"), b"first");
        let err = write_new(dir.path(), "a.jpg", b"second").expect_err("exists");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(dir.path().join("a.jpg")).expect("read"), b"first");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .collect();
        assert!(leftovers.is_empty());
    }
}
