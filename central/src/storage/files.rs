//! Media blobs as plain files: `ROOT/<station>/<inspection_id>/.partial/<name>` while arriving,
//! `ROOT/<station>/<inspection_id>/<name>` once sealed. The partial file is the "temporary" of an atomic
//! write: it is fsynced after every upload request and renamed into place (then the directory
//! fsynced) only when the package is verified, so a sealed name always holds whole, verified bytes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::{BlobAppender, BlobStore, PackageKey, StorageResult};
use crate::fsutil::{create_dir_durable, sync_dir};
use crate::names::{check_file_name, check_station_code};

/// Folder of partial files inside an inspection's folder. File names cannot start with `.`.
const PARTIAL_DIR: &str = ".partial";

/// Blob store on a local file system.
pub struct FileBlobs {
    root: PathBuf,
}

impl FileBlobs {
    /// Uses (and creates) `root`.
    pub fn open(root: &Path) -> StorageResult<FileBlobs> {
        create_dir_durable(root)?;
        Ok(FileBlobs {
            root: root.to_owned(),
        })
    }

    fn station_dir(&self, key: &PackageKey) -> StorageResult<PathBuf> {
        // Codes are checked when a station is added; checked again so that nothing but a
        // valid code ever becomes a folder name.
        check_station_code(&key.station)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        Ok(self.root.join(&key.station))
    }

    fn inspection_dir(&self, key: &PackageKey) -> StorageResult<PathBuf> {
        Ok(self.station_dir(key)?.join(key.inspection_id.to_string()))
    }

    fn partial_path(&self, key: &PackageKey, name: &str) -> StorageResult<PathBuf> {
        Ok(self
            .inspection_dir(key)?
            .join(PARTIAL_DIR)
            .join(safe(name)?))
    }

    fn sealed_path(&self, key: &PackageKey, name: &str) -> StorageResult<PathBuf> {
        Ok(self.inspection_dir(key)?.join(safe(name)?))
    }

    /// Moves the folders of the first layout (`ROOT/<inspection_id>`, before packages were
    /// scoped by station) to `ROOT/<station>/<inspection_id>`; `owner` names the station of a
    /// recorded inspection id. A folder no record owns is left where it is and reported.
    /// Returns how many folders moved.
    pub fn adopt_unscoped(&self, owner: &dyn Fn(Uuid) -> Option<String>) -> StorageResult<usize> {
        let mut moved = 0;
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| Uuid::parse_str(n).ok()) else {
                continue;
            };
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let Some(station) = owner(id) else {
                tracing::warn!(%id, "pasta de mídia sem pacote registrado; deixada como está");
                continue;
            };
            let key = PackageKey::new(&station, id);
            create_dir_durable(&self.station_dir(&key)?)?;
            fs::rename(entry.path(), self.inspection_dir(&key)?)?;
            sync_dir(&self.station_dir(&key)?)?;
            moved += 1;
        }
        if moved > 0 {
            sync_dir(&self.root)?;
        }
        Ok(moved)
    }
}

/// Names reaching this layer were validated by the API; checking again costs nothing and keeps
/// a bug elsewhere from ever writing outside the root.
fn safe(name: &str) -> StorageResult<&str> {
    check_file_name(name)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    Ok(name)
}

fn len_of(path: &Path) -> io::Result<Option<u64>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(meta.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn remove_if_present(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

struct FileAppender {
    out: BufWriter<File>,
}

impl BlobAppender for FileAppender {
    fn write(&mut self, bytes: &[u8]) -> StorageResult<()> {
        Ok(self.out.write_all(bytes)?)
    }

    fn finish(self: Box<Self>) -> StorageResult<()> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    }
}

impl BlobStore for FileBlobs {
    fn len(&self, key: &PackageKey, name: &str) -> StorageResult<u64> {
        if let Some(len) = len_of(&self.sealed_path(key, name)?)? {
            return Ok(len);
        }
        Ok(len_of(&self.partial_path(key, name)?)?.unwrap_or(0))
    }

    fn append(
        &self,
        key: &PackageKey,
        name: &str,
        offset: u64,
    ) -> StorageResult<Box<dyn BlobAppender>> {
        if len_of(&self.sealed_path(key, name)?)?.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{name} já verificado; não pode ser alterado"),
            )
            .into());
        }
        let path = self.partial_path(key, name)?;
        // One level at a time, so each new directory entry is made durable in its parent.
        create_dir_durable(&self.station_dir(key)?)?;
        create_dir_durable(&self.inspection_dir(key)?)?;
        let dir = self.inspection_dir(key)?.join(PARTIAL_DIR);
        create_dir_durable(&dir)?;
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)?;
        let len = file.metadata()?.len();
        if offset > len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("offset {offset} além dos {len} bytes recebidos"),
            )
            .into());
        }
        if offset < len {
            file.set_len(offset)?;
        }
        if !existed {
            sync_dir(&dir)?;
        }
        let mut file = file;
        io::Seek::seek(&mut file, io::SeekFrom::Start(offset))?;
        Ok(Box::new(FileAppender {
            out: BufWriter::with_capacity(256 * 1024, file),
        }))
    }

    fn open(&self, key: &PackageKey, name: &str) -> StorageResult<Box<dyn Read + Send>> {
        let sealed = self.sealed_path(key, name)?;
        let file = match File::open(&sealed) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                File::open(self.partial_path(key, name)?)?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Box::new(file))
    }

    fn discard(&self, key: &PackageKey, name: &str) -> StorageResult<()> {
        let partial = remove_if_present(&self.partial_path(key, name)?)?;
        let sealed = remove_if_present(&self.sealed_path(key, name)?)?;
        if partial {
            sync_dir(&self.inspection_dir(key)?.join(PARTIAL_DIR))?;
        }
        if sealed {
            sync_dir(&self.inspection_dir(key)?)?;
        }
        Ok(())
    }

    fn seal(&self, key: &PackageKey, name: &str) -> StorageResult<()> {
        let partial = self.partial_path(key, name)?;
        let sealed = self.sealed_path(key, name)?;
        if len_of(&sealed)?.is_some() {
            // Already sealed (a commit retried after a crash): a sealed file is never replaced.
            if remove_if_present(&partial)? {
                sync_dir(&self.inspection_dir(key)?.join(PARTIAL_DIR))?;
            }
            return Ok(());
        }
        if len_of(&partial)?.is_none() {
            return Err(
                io::Error::new(io::ErrorKind::NotFound, format!("{name} não recebido")).into(),
            );
        }
        File::open(&partial)?.sync_all()?;
        fs::rename(&partial, &sealed)?;
        sync_dir(&self.inspection_dir(key)?)?;
        sync_dir(&self.inspection_dir(key)?.join(PARTIAL_DIR))?;
        Ok(())
    }

    fn sealed(&self, key: &PackageKey) -> StorageResult<Vec<String>> {
        let dir = self.inspection_dir(key)?;
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn delete_inspection(&self, key: &PackageKey) -> StorageResult<()> {
        let dir = self.inspection_dir(key)?;
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        sync_dir(&self.station_dir(key)?)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! What only the file layout has; what every blob store must do is in
    //! `central/tests/storage_contract.rs`.
    use super::*;

    #[test]
    fn unsafe_station_codes_make_no_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobs::open(dir.path()).unwrap();
        for station in ["..", "a/b", "", "ECV 01"] {
            let key = PackageKey::new(station, Uuid::new_v4());
            assert!(store.append(&key, "a.jpg", 0).is_err(), "{station:?}");
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn folders_of_the_unscoped_layout_move_under_their_station() {
        let dir = tempfile::tempdir().unwrap();
        let (owned, orphan) = (Uuid::new_v4(), Uuid::new_v4());
        for id in [owned, orphan] {
            fs::create_dir_all(dir.path().join(id.to_string())).unwrap();
            fs::write(dir.path().join(id.to_string()).join("a.jpg"), b"x").unwrap();
        }
        let store = FileBlobs::open(dir.path()).unwrap();
        let owner = |id: Uuid| (id == owned).then(|| "ECV-07".to_owned());
        assert_eq!(store.adopt_unscoped(&owner).unwrap(), 1);
        let key = PackageKey::new("ECV-07", owned);
        assert_eq!(store.sealed(&key).unwrap(), vec!["a.jpg".to_owned()]);
        assert!(dir.path().join(orphan.to_string()).join("a.jpg").exists());
        assert_eq!(store.adopt_unscoped(&owner).unwrap(), 0);
    }
}
