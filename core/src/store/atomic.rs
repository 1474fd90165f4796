//! Files that are either whole or absent: write to a temporary name, fsync, rename, fsync the
//! directory. A crash at any point leaves the old state (no file) or the new one (whole file).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
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

/// Creates `dir` (and parents) and makes its entry durable in the parent.
pub fn create_dir_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// fsync of a directory, so a rename or a new entry in it survives a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

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
