//! Media blobs as plain files: `ROOT/<inspection_id>/.partial/<name>` while arriving,
//! `ROOT/<inspection_id>/<name>` once sealed. The partial file is the "temporary" of an atomic
//! write: it is fsynced after every upload request and renamed into place (then the directory
//! fsynced) only when the package is verified, so a sealed name always holds whole, verified bytes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::{BlobAppender, BlobStore, StorageResult};
use crate::fsutil::{create_dir_durable, sync_dir};
use crate::names::check_file_name;

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

    fn inspection_dir(&self, id: Uuid) -> PathBuf {
        self.root.join(id.to_string())
    }

    fn partial_path(&self, id: Uuid, name: &str) -> StorageResult<PathBuf> {
        Ok(self.inspection_dir(id).join(PARTIAL_DIR).join(safe(name)?))
    }

    fn sealed_path(&self, id: Uuid, name: &str) -> StorageResult<PathBuf> {
        Ok(self.inspection_dir(id).join(safe(name)?))
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
    fn len(&self, inspection_id: Uuid, name: &str) -> StorageResult<u64> {
        if let Some(len) = len_of(&self.sealed_path(inspection_id, name)?)? {
            return Ok(len);
        }
        Ok(len_of(&self.partial_path(inspection_id, name)?)?.unwrap_or(0))
    }

    fn append(
        &self,
        inspection_id: Uuid,
        name: &str,
        offset: u64,
    ) -> StorageResult<Box<dyn BlobAppender>> {
        if len_of(&self.sealed_path(inspection_id, name)?)?.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{name} já verificado; não pode ser alterado"),
            )
            .into());
        }
        let path = self.partial_path(inspection_id, name)?;
        // One level at a time, so each new directory entry is made durable in its parent.
        create_dir_durable(&self.inspection_dir(inspection_id))?;
        let dir = self.inspection_dir(inspection_id).join(PARTIAL_DIR);
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

    fn open(&self, inspection_id: Uuid, name: &str) -> StorageResult<Box<dyn Read + Send>> {
        let sealed = self.sealed_path(inspection_id, name)?;
        let file = match File::open(&sealed) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                File::open(self.partial_path(inspection_id, name)?)?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Box::new(file))
    }

    fn discard(&self, inspection_id: Uuid, name: &str) -> StorageResult<()> {
        let partial = remove_if_present(&self.partial_path(inspection_id, name)?)?;
        let sealed = remove_if_present(&self.sealed_path(inspection_id, name)?)?;
        if partial {
            sync_dir(&self.inspection_dir(inspection_id).join(PARTIAL_DIR))?;
        }
        if sealed {
            sync_dir(&self.inspection_dir(inspection_id))?;
        }
        Ok(())
    }

    fn seal(&self, inspection_id: Uuid, name: &str) -> StorageResult<()> {
        let partial = self.partial_path(inspection_id, name)?;
        let sealed = self.sealed_path(inspection_id, name)?;
        if len_of(&sealed)?.is_some() {
            // Already sealed (a commit retried after a crash): a sealed file is never replaced.
            if remove_if_present(&partial)? {
                sync_dir(&self.inspection_dir(inspection_id).join(PARTIAL_DIR))?;
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
        sync_dir(&self.inspection_dir(inspection_id))?;
        sync_dir(&self.inspection_dir(inspection_id).join(PARTIAL_DIR))?;
        Ok(())
    }

    fn sealed(&self, inspection_id: Uuid) -> StorageResult<Vec<String>> {
        let dir = self.inspection_dir(inspection_id);
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

    fn delete_inspection(&self, inspection_id: Uuid) -> StorageResult<()> {
        let dir = self.inspection_dir(inspection_id);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        sync_dir(&self.root)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read_all(store: &FileBlobs, id: Uuid, name: &str) -> Vec<u8> {
        let mut out = Vec::new();
        store.open(id, name).unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn append_resume_seal() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobs::open(dir.path()).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(store.len(id, "a.jpg").unwrap(), 0);
        let mut w = store.append(id, "a.jpg", 0).unwrap();
        w.write(b"hello ").unwrap();
        w.finish().unwrap();
        assert_eq!(store.len(id, "a.jpg").unwrap(), 6);
        // A resume at an earlier offset cuts off what came after it.
        let mut w = store.append(id, "a.jpg", 5).unwrap();
        w.write(b" world").unwrap();
        w.finish().unwrap();
        assert_eq!(read_all(&store, id, "a.jpg"), b"hello world");
        assert!(store.sealed(id).unwrap().is_empty());
        store.seal(id, "a.jpg").unwrap();
        store.seal(id, "a.jpg").unwrap();
        assert_eq!(store.sealed(id).unwrap(), vec!["a.jpg".to_owned()]);
        // Sealed evidence cannot be appended to or replaced.
        assert!(store.append(id, "a.jpg", 0).is_err());
        assert_eq!(read_all(&store, id, "a.jpg"), b"hello world");
        assert_eq!(store.len(id, "a.jpg").unwrap(), 11);
    }

    #[test]
    fn offset_past_the_end_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobs::open(dir.path()).unwrap();
        let id = Uuid::new_v4();
        assert!(store.append(id, "a.jpg", 3).is_err());
    }

    #[test]
    fn discard_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobs::open(dir.path()).unwrap();
        let id = Uuid::new_v4();
        let mut w = store.append(id, "a.jpg", 0).unwrap();
        w.write(b"x").unwrap();
        w.finish().unwrap();
        store.discard(id, "a.jpg").unwrap();
        assert_eq!(store.len(id, "a.jpg").unwrap(), 0);
        let mut w = store.append(id, "b.jpg", 0).unwrap();
        w.write(b"y").unwrap();
        w.finish().unwrap();
        store.seal(id, "b.jpg").unwrap();
        store.delete_inspection(id).unwrap();
        assert!(store.sealed(id).unwrap().is_empty());
        assert!(!dir.path().join(id.to_string()).exists());
    }

    #[test]
    fn unsafe_names_never_reach_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobs::open(dir.path()).unwrap();
        let id = Uuid::new_v4();
        for name in ["../x", "a/b", ".partial", "", "a\0b"] {
            assert!(store.append(id, name, 0).is_err(), "{name:?}");
        }
    }
}
