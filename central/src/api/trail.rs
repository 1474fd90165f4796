//! The audit trail a package carries (issue 21): the station's audit rows since its previous
//! package, ending at the package's anchor. Checked at `POST /packages` before anything is
//! stored: each row's hash is its content's, the rows follow one another and link, the last is
//! the anchor the manifest names, and none contradicts a row another package brought. A
//! contradiction means the station's log was rewritten: the package is refused (422
//! `inconsistent_package`, field `metadata.audit_trail`) and the station's support is called.
//! Rows from the position the station's key was issued at must carry the MAC that key's ratchet
//! gives (issue 17): a row rewritten at the station, even with its hashes re-chained, is refused
//! on arrival, not only when someone runs `audit verify --central`.
//! Packages from stations older than the trail carry none and are taken as before.

use serde::Deserialize as _;
use vistoria_core::store::{AuditRow, check_macs_on, check_segment, ratchet};
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
    let checked = check_macs(meta, station, &rows)?;
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
    if let Some((seq, key)) = checked {
        meta.save_mac_checkpoint(station, seq, &key)?;
    }
    Ok(())
}

/// Checks the MACs of the keyed rows among `rows` (none before the station's key was issued,
/// or while it is not confirmed, i.e. no package showed the station holds it). Starts from the
/// newest checkpoint at or before the first keyed row, else from the first key. Returns the
/// checkpoint to keep: the position after the last row and its key.
fn check_macs(
    meta: &dyn MetadataStore,
    station: &str,
    rows: &[AuditRow],
) -> Result<Option<(u64, [u8; 32])>, ApiError> {
    let Some(key) = meta.audit_key(station)?.filter(|k| k.confirmed) else {
        return Ok(None);
    };
    let Some(first) = rows.iter().map(|r| r.seq).find(|seq| *seq >= key.start_seq) else {
        return Ok(None);
    };
    let (mut at, mut run_key) = meta
        .mac_checkpoint(station, first)?
        .unwrap_or((key.start_seq, key.key));
    if first - at > super::audit::MAX_RATCHET {
        return Err(refused(
            FIELD,
            format!("o registro {first} está além do que esta estação pode ter escrito"),
        ));
    }
    while at < first {
        run_key = ratchet(&run_key);
        at += 1;
    }
    let keyed = rows
        .iter()
        .map(|r| (r.seq, r.hash.as_str(), r.mac.as_deref()));
    match check_macs_on(first, &run_key, keyed) {
        Ok((checked, next)) => Ok(Some((first + checked, next))),
        Err(seq) => {
            tracing::warn!(%station, seq, "registro de auditoria sem o MAC da chave da estação");
            Err(refused(
                FIELD,
                format!(
                    "o registro {seq} do registro de auditoria não tem o selo (MAC) que a chave \
                     da estação dá: foi alterado ou reescrito fora do sistema; chame o suporte \
                     antes de continuar"
                ),
            ))
        }
    }
}
