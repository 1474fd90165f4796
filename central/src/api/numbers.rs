//! The laudo number a package must carry (§10, issue 21): the one the central allocated to the
//! inspection when it answered its vehicle query (`vehicles.rs`, `storage/laudos.rs`), so the
//! paper, the PDF, the `.p7s` and the receipt agree. An allocation never changes once made,
//! so checking it before the commit's transaction is as good as inside it.
//!
//! A package whose inspection has no allocation (a station older than central-allocated
//! numbers, or an inspection opened before the update) is still taken: its number is given at
//! commit, as before, and its laudo keeps the station's own number.

use uuid::Uuid;
use vistoria_core::laudo::Laudo;
use vistoria_core::wire::{MediaKind, PackageManifest};

use super::error::ApiError;
use super::evidence::{files_of, refused};
use crate::storage::laudos::{AllocationOf, LaudoFacts};
use crate::storage::{MetadataStore, PackageKey};

/// When the manifest arrives: the query it names allocated its number to this inspection, and
/// this inspection's number was allocated by that query. Either way round, two inspections
/// would end up claiming one number.
pub fn check_query(
    meta: &dyn MetadataStore,
    key: &PackageKey,
    query_id: Uuid,
) -> Result<(), ApiError> {
    if let Some(allocated) = meta.laudo_allocation(&AllocationOf::Query(query_id))?
        && allocated.key() != *key
    {
        return Err(refused(
            "query_id",
            format!(
                "a consulta {query_id} foi feita para a vistoria {}, que recebeu o laudo nº {}; \
                 cada vistoria parte de uma consulta própria",
                allocated.inspection_id, allocated.number
            ),
        ));
    }
    if let Some(allocated) = meta.laudo_allocation(&AllocationOf::Inspection(key.clone()))?
        && allocated.query_id != query_id
    {
        return Err(refused(
            "query_id",
            format!(
                "a vistoria {} foi aberta com a consulta {} (laudo nº {}), não com a consulta {query_id}",
                key.inspection_id, allocated.query_id, allocated.number
            ),
        ));
    }
    Ok(())
}

/// At commit: the laudo carries the number allocated to its inspection.
pub fn check_laudo(
    meta: &dyn MetadataStore,
    key: &PackageKey,
    laudo: &Laudo,
) -> Result<(), ApiError> {
    match meta.laudo_allocation(&AllocationOf::Inspection(key.clone()))? {
        Some(allocated) if allocated.number != laudo.number => Err(refused(
            "laudo.number",
            format!(
                "o laudo traz o número «{}», mas a central atribuiu a esta vistoria o número {} \
                 na consulta do veículo; um laudo com outro número não é aceito. O pacote fica \
                 recusado: chame o suporte da estação",
                laudo.number, allocated.number
            ),
        )),
        _ => Ok(()),
    }
}

/// What a verified package tells the public check page about its laudo: the station's name as
/// the laudo (`None`: no laudo) prints it, and whether a signature came with it — the commit
/// verifies every signature a package carries before it numbers the package.
pub fn facts(manifest: &PackageManifest, laudo: Option<&Laudo>) -> LaudoFacts {
    LaudoFacts {
        station_name: laudo.map(|l| l.station.name.clone()),
        signature_verified: !files_of(manifest, MediaKind::Signature).is_empty(),
    }
}
