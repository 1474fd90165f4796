//! Building the upload state and inspection view of a stored package.

use vistoria_core::wire::{FileProgress, InspectionView, UploadState};

use crate::storage::{BlobStore, PackageRecord, StorageResult};

/// Progress of every file of `package`, measured in the blob store.
pub fn upload_state(package: &PackageRecord, blobs: &dyn BlobStore) -> StorageResult<UploadState> {
    let mut files = Vec::with_capacity(package.files.len());
    let mut missing = Vec::new();
    for file in &package.files {
        let received = blobs.len(&package.key(), &file.name)?;
        let complete = received == file.size;
        if !complete {
            missing.push(file.name.clone());
        }
        files.push(FileProgress {
            name: file.name.clone(),
            size: file.size,
            received,
            complete,
            digests_match: if complete { file.digests_match } else { None },
        });
    }
    Ok(UploadState {
        inspection_id: package.manifest.inspection_id,
        status: package.status,
        manifest_sha256: package.manifest_sha256.clone(),
        files,
        missing,
        receipt: package.receipt.clone(),
    })
}

/// What `GET /inspections/{id}` shows.
pub fn inspection_view(
    package: &PackageRecord,
    blobs: &dyn BlobStore,
) -> StorageResult<InspectionView> {
    Ok(InspectionView {
        station: package.station.clone(),
        plate: package.plate.clone(),
        query_id: package.query_id,
        first_seen_at: package.first_seen_at,
        deadline: package.deadline,
        late: package.late,
        outcome: package.manifest.outcome.clone(),
        rejection: package.rejection.clone(),
        upload: upload_state(package, blobs)?,
    })
}
