//! The inspector's signature of the laudo (§14, 2j), checked at commit: every `.p7s` of a
//! package must be a valid CAdES-BES signature (contentType, messageDigest, signingTime,
//! signingCertificateV2, AD-RB policy, the signature itself) over the package's laudo, by
//! the e-CPF of the inspector the laudo names; that e-CPF must chain to a configured
//! ICP-Brasil root (basicConstraints, keyCertSign, pathLen, validity at the signing time,
//! digitalSignature or nonRepudiation), not be revoked by its CA's LCR, and belong to an
//! inspector the station registered (§11). The signing time lies between the vehicle query
//! and the arrival. A package that says it was signed with a certificate must carry its `.p7s`.

use std::io::Read;

use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound as _, Utc};
use vistoria_core::laudo::Laudo;
use vistoria_core::signing::{mask_cpf, verify_p7s};
use vistoria_core::wire::{ErrorCode, MediaKind};

use super::AppState;
use super::error::ApiError;
use crate::storage::{PackageKey, PackageRecord};
use crate::trust::TrustError;

/// How long the central waits before a station should retry when an LCR is unreachable.
const RETRY_AFTER_LCR_SECONDS: u64 = 300;

/// Slack for the station's clock: it signs with central time (2d), synced over the network.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::minutes(2);

/// Why a package's signature was not accepted.
#[derive(Debug)]
pub enum Refusal {
    /// For good (422 `invalid_signature`): the reason, in Portuguese.
    Invalid(String),
    /// The signer is not a registered inspector of the station (422 `unregistered_inspector`).
    Unregistered(String),
    /// Cannot be judged now (503 `revocation_unavailable`).
    Unavailable(String),
    /// The central failed.
    Internal(ApiError),
}

impl Refusal {
    /// The answer to the station; a refusal for good is recorded on the package (the station
    /// sees it in `GET /inspections/{id}`), a temporary one is not: the package just waits.
    pub fn into_api_error(self, state: &AppState, key: &PackageKey) -> ApiError {
        let (station, id) = (&key.station, key.inspection_id);
        let (status, code, reason) = match self {
            Refusal::Internal(e) => return e,
            // 503 and not 422: the package is not at fault, the CA's publication server is.
            // A 422 would be final for the station (the outbox stops on it); a 503 with
            // Retry-After is a transient failure it retries on its schedule, losing nothing,
            // and the package stays "receiving" here until the LCR can be had.
            Refusal::Unavailable(reason) => {
                tracing::warn!(%station, inspection_id = %id, %reason, "assinatura não pôde ser julgada agora");
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::RevocationUnavailable,
                    format!(
                        "{reason}; a assinatura não pôde ser verificada agora. O pacote fica guardado \
                         e a estação tentará de novo"
                    ),
                );
                e.retry_after = Some(RETRY_AFTER_LCR_SECONDS);
                return e;
            }
            Refusal::Invalid(reason) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidSignature,
                reason,
            ),
            Refusal::Unregistered(reason) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::UnregisteredInspector,
                reason,
            ),
        };
        tracing::warn!(%station, inspection_id = %id, %reason, "assinatura do laudo recusada");
        if let Err(e) = state.meta.set_rejected(key, &reason) {
            return ApiError::internal(e);
        }
        ApiError::new(status, code, reason)
    }
}

/// Checks the signatures of `package` from `station`, reading each file's bytes with `read`.
pub fn check(
    state: &AppState,
    station: &str,
    package: &PackageRecord,
    read: &dyn Fn(&str) -> std::io::Result<Vec<u8>>,
) -> Result<(), Refusal> {
    let manifest = &package.manifest;
    let named = |kind: MediaKind| super::evidence::files_of(manifest, kind);
    let signatures = named(MediaKind::Signature);
    let claims_certificate = manifest
        .metadata
        .get("signature")
        .and_then(|s| s.get("certificate"))
        .is_some_and(|c| !c.is_null());
    if signatures.is_empty() {
        return if claims_certificate {
            Err(Refusal::Invalid("a vistoria consta como assinada com e-CPF, mas o pacote não traz a assinatura (.p7s) do laudo".into()))
        } else {
            Ok(())
        };
    }
    let laudos = named(MediaKind::Laudo);
    let [laudo_name] = laudos.as_slice() else {
        return Err(Refusal::Invalid(format!(
            "o pacote traz assinatura (.p7s) e {} laudos; deveria trazer exatamente um",
            laudos.len()
        )));
    };
    let bytes = read(laudo_name)
        .map_err(|e| Refusal::Invalid(format!("laudo «{laudo_name}» ilegível: {e}")))?;
    let laudo = Laudo::from_canonical(&bytes).map_err(|e| {
        Refusal::Invalid(format!("laudo «{laudo_name}» não é um laudo canônico: {e}"))
    })?;
    if laudo.inspection_id != manifest.inspection_id.to_string() {
        return Err(Refusal::Invalid(format!(
            "o laudo «{laudo_name}» é de outra vistoria ({})",
            laudo.inspection_id
        )));
    }
    let queried_at = state
        .meta
        .query(package.query_id)
        .map_err(|e| Refusal::Internal(e.into()))?
        .map(|q| q.queried_at);
    let masked = mask_cpf(&laudo.inspector.cpf);
    for name in signatures {
        let refused = |why: String| {
            Refusal::Invalid(format!(
                "assinatura «{name}» do laudo recusada (vistoriador CPF {masked}): {why}"
            ))
        };
        let p7s = read(name).map_err(|e| refused(format!("ilegível: {e}")))?;
        let verified =
            verify_p7s(&bytes, &p7s, &laudo.inspector.cpf).map_err(|e| refused(e.to_string()))?;
        if let Some(queried_at) = queried_at
            && verified.signing_time + CLOCK_SLACK < queried_at
        {
            return Err(refused(format!(
                "a hora da assinatura ({}) é anterior à consulta do veículo ({})",
                fmt(verified.signing_time),
                fmt(queried_at)
            )));
        }
        // The path first (no network), then the station's staff, then the LCRs (network).
        let arrival = Utc::now() + CLOCK_SLACK;
        let roots = state.trust.roots();
        if roots.is_empty() {
            return Err(Refusal::Unavailable(
                "a central não tem raízes ICP-Brasil configuradas para verificar o e-CPF".into(),
            ));
        }
        let path = verified
            .check_path(&roots, &[], arrival)
            .map_err(|e| refused(e.to_string()))?;
        check_registered(state, station, &verified.cpf, verified.signing_time)?;
        match state.trust.check_revocation(&path, Utc::now()) {
            Ok(()) => {}
            Err(TrustError::Refused(why)) => return Err(refused(why)),
            Err(TrustError::Unavailable(why)) => return Err(Refusal::Unavailable(why)),
        }
    }
    Ok(())
}

/// §11: the signer must be an inspector the station registered, still on its list when the
/// laudo was signed.
fn check_registered(
    state: &AppState,
    station: &str,
    cpf: &str,
    signed_at: DateTime<Utc>,
) -> Result<(), Refusal> {
    let inspector = state
        .meta
        .inspector(station, cpf)
        .map_err(|e| Refusal::Internal(e.into()))?;
    let masked = mask_cpf(cpf);
    match inspector {
        // signingTime has whole seconds: a removal within the signing's second counts as before.
        Some(i)
            if i.removed_at
                .is_none_or(|removed| signed_at < removed.trunc_subsecs(0)) =>
        {
            Ok(())
        }
        Some(i) => Err(Refusal::Unregistered(format!(
            "o laudo foi assinado pelo CPF {masked} em {}, mas esse vistoriador saiu da lista da estação {station} em {}",
            fmt(signed_at),
            i.removed_at.map(fmt).unwrap_or_default()
        ))),
        None => Err(Refusal::Unregistered(format!(
            "o CPF {masked} que assinou o laudo não é de um vistoriador cadastrado na central para a estação {station}; \
             a estação envia sua lista de vistoriadores (PUT /stations/self/inspectors) e confirma o pacote de novo"
        ))),
    }
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%d/%m/%Y %H:%M:%S UTC").to_string()
}

/// Reads a whole blob.
pub fn read_all(mut reader: Box<dyn Read + Send>) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}
