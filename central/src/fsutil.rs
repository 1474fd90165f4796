//! Small durable-file helpers for the server's own files (keys, certificate).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

pub use vistoria_core::store::atomic::{create_dir_durable, restrict_to_owner, sync_dir};

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
