//! The audit trail a package carries (issue 21): the station's audit rows since its previous
//! package, ending at the package's anchor. Checked at `POST /packages` before anything is
//! stored: each row's hash is its content's, the rows follow one another and link, the last is
//! the anchor the manifest names, and none contradicts a row another package brought. A
//! contradiction means the station's log was rewritten: the package is refused (422
//! `inconsistent_package`, field `metadata.audit_trail`) and the station's support is called.
//! Packages from stations older than the trail carry none and are taken as before.

use serde::Deserialize as _;
use vistoria_core::store::{AuditRow, check_segment};
use vistoria_core::wire::{AUDIT_TRAIL_KEY, PackageManifest};

use super::error::ApiError;
use super::evidence::refused;
use crate::storage::MetadataStore;

/// The field a refusal names.
const FIELD: &str = "metadata.audit_trail";

/// The package's trail, checked; `None` when it carries none.
pub fn parse(manifest: &PackageManifest) -> Result<Option<Vec<AuditRow>>, ApiError> {
    let Some(value) = manifest.metadata.get(AUDIT_TRAIL_KEY) else {
        return Ok(None);
    };
    let rows = Vec::<AuditRow>::deserialize(value)
        .map_err(|e| refused(FIELD, format!("a trilha de auditoria está ilegível: {e}")))?;
    check_segment(&rows)
        .map_err(|e| refused(FIELD, format!("a trilha de auditoria não confere: {e}")))?;
    if let Some(last) = rows.last()
        && (manifest.audit_sequence != Some(last.seq) || manifest.audit_head != last.hash)
    {
        return Err(refused(
            FIELD,
            format!(
                "a trilha de auditoria termina no registro {}, mas o pacote aponta outro \
                 (audit_sequence/audit_head)",
                last.seq
            ),
        ));
    }
    Ok(Some(rows))
}

/// Checks the trail and keeps its rows with the station's others.
pub fn check_and_record(
    meta: &dyn MetadataStore,
    station: &str,
    manifest: &PackageManifest,
) -> Result<(), ApiError> {
    let Some(rows) = parse(manifest)? else {
        return Ok(());
    };
    if let Some(seq) = meta.record_trail(station, &rows)? {
        tracing::warn!(%station, inspection_id = %manifest.inspection_id, seq, "trilha de auditoria contradiz a recebida antes");
        return Err(refused(
            FIELD,
            format!(
                "o registro {seq} do registro de auditoria já chegou com outro conteúdo: o \
                 registro da estação foi reescrito; chame o suporte antes de continuar"
            ),
        ));
    }
    Ok(())
}
