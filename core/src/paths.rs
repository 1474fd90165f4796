//! Every path the kiosk uses comes from here, so tests and technicians can point it elsewhere.
//!
//! Overrides: `VISTORIA_CONFIG` (the config file) and `VISTORIA_DATA` (the data directory).

use std::env;
use std::path::{Path, PathBuf};

use crate::domain::InspectionId;

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "VISTORIA_CONFIG";
/// Environment variable naming the data directory.
pub const DATA_ENV: &str = "VISTORIA_DATA";

const SYSTEM_CONFIG: &str = "/etc/vistoria/vistoria.toml";
const SYSTEM_DATA: &str = "/var/lib/vistoria";

/// Where the kiosk reads its configuration and keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    config_file: PathBuf,
    data_dir: PathBuf,
}

impl Paths {
    /// Resolves the paths: an explicit argument wins, then the environment, then the defaults
    /// (`/etc/vistoria/vistoria.toml`; `/var/lib/vistoria` when it exists, else the user's data dir).
    pub fn resolve(config: Option<&Path>, data: Option<&Path>) -> Paths {
        let config_file = config
            .map(Path::to_path_buf)
            .or_else(|| env::var_os(CONFIG_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(SYSTEM_CONFIG));
        let data_dir = data
            .map(Path::to_path_buf)
            .or_else(|| env::var_os(DATA_ENV).map(PathBuf::from))
            .unwrap_or_else(default_data_dir);
        Paths {
            config_file,
            data_dir,
        }
    }

    /// Paths rooted in one directory (tests, demo): config and data both under `root`.
    pub fn under(root: &Path) -> Paths {
        Paths {
            config_file: root.join("vistoria.toml"),
            data_dir: root.join("data"),
        }
    }

    /// The TOML configuration file.
    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    /// The data directory: database, media, logs.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        database_in(&self.data_dir)
    }

    /// Captured photos and video segments, one folder per inspection.
    pub fn media_dir(&self) -> PathBuf {
        media_dir_in(&self.data_dir)
    }

    /// Rotating log files a technician can export.
    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
}

/// The SQLite database inside a data directory.
pub fn database_in(data_dir: &Path) -> PathBuf {
    data_dir.join("vistoria.db")
}

/// The media folder inside a data directory.
pub fn media_dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("media")
}

/// The laudo PDFs kept for printing until their inspection is delivered (§9, §10).
pub fn laudos_dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("laudos")
}

/// The laudo PDF of inspection `id` (every photo at full size: evidence until delivered).
pub fn laudo_pdf_in(data_dir: &Path, id: InspectionId) -> PathBuf {
    laudos_dir_in(data_dir).join(format!("{id}.pdf"))
}

/// The panoramic recorder's folders, one per inspection, until the film is stored as media.
pub fn film_dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("panoramica")
}

fn default_data_dir() -> PathBuf {
    let system = Path::new(SYSTEM_DATA);
    if system.is_dir() {
        return system.to_path_buf();
    }
    if let Some(xdg) = env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("vistoria");
    }
    match env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/vistoria"),
        None => PathBuf::from("vistoria-data"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_arguments_win() {
        let p = Paths::resolve(Some(Path::new("/x/c.toml")), Some(Path::new("/y")));
        assert_eq!(p.config_file(), Path::new("/x/c.toml"));
        assert_eq!(p.database(), Path::new("/y/vistoria.db"));
        assert_eq!(p.media_dir(), Path::new("/y/media"));
        assert_eq!(p.logs_dir(), Path::new("/y/logs"));
    }

    #[test]
    fn under_keeps_everything_in_one_root() {
        let p = Paths::under(Path::new("/tmp/t"));
        assert!(p.config_file().starts_with("/tmp/t"));
        assert!(p.data_dir().starts_with("/tmp/t"));
    }
}
