//! Small durable-file helpers for the server's own files (keys, certificate).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Creates `dir` (and parents) and makes its entry durable.
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

/// fsync of a directory, so a new entry or a rename in it survives a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `dir/name` readable by the owner only: temp file, fsync, rename, fsync dir.
pub fn write_private(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    create_dir_durable(dir)?;
    let temp = dir.join(format!(".tmp-{name}"));
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&temp, dir.join(name))?;
    sync_dir(dir)
}
