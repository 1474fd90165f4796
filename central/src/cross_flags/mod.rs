//! Cross-station flags (issue 22): what only the central can see, because it has every
//! station's inspections. Computed when a package is committed ([`after_commit`]) and by a
//! resumable pass over verified packages not analysed yet ([`catch_up`]): a commit answers the
//! station first and its analysis may still fail or be cut by a kill, so the analysis is
//! idempotent and a package counts as analysed only once its flags are stored.
//!
//! - a photo within [`phash::MAX_DISTANCE`] bits (dHash) of a photo of another inspection,
//!   any station (the index is in the database: [`crate::storage::cross_flags`]);
//! - the same vehicle (either plate form) inspected the same Mato Grosso day at two stations;
//! - the same inspector (the laudo's CPF, which the commit checked against the signing e-CPF,
//!   else the inspector the package names) with inspections at two stations overlapping in time;
//! - an inspection under a third of the median of the last [`DURATION_SAMPLE`] concluded
//!   inspections of its vehicle class, when at least [`MIN_SAMPLE`] are known.
//!
//! Flags point, they do not judge: each says what was compared and links the other inspection.
//! A flag between two inspections is stored on both.

pub mod phash;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use vistoria_core::clock::in_station_zone;
use vistoria_core::domain::{Outcome, Plate};
use vistoria_core::laudo::Laudo;
use vistoria_core::signing::mask_cpf;
use vistoria_core::wire::MediaKind;

use crate::api::AppState;
use crate::storage::cross_flags::{CrossFlagRecord, CrossKind, InspectionProfile, PhotoHash};
use crate::storage::{BlobStore, MetadataStore, PackageKey, PackageRecord, StorageResult};

/// Inspections of a class whose median is the usual time.
pub const DURATION_SAMPLE: usize = 50;
/// Fewer known inspections of the class than this: no usual time, no flag.
pub const MIN_SAMPLE: usize = 10;
/// An inspection under the median divided by this is flagged.
pub const SHORT_DIVISOR: i64 = 3;
/// Packages a catch-up pass analyses at most.
pub const CATCH_UP_BATCH: usize = 20;

/// The plate in its Mercosul form (an old plate and its conversion are one vehicle, §5).
fn vehicle_plate(plate: &str) -> String {
    Plate::parse(plate).map_or_else(
        |_| plate.to_owned(),
        |p| p.to_mercosul().as_str().to_owned(),
    )
}

/// Reads a whole blob.
fn read_blob(blobs: &dyn BlobStore, key: &PackageKey, name: &str) -> StorageResult<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut blobs.open(key, name)?, &mut bytes)?;
    Ok(bytes)
}

/// Who did the inspection, and how the central knows.
fn inspector(blobs: &dyn BlobStore, package: &PackageRecord) -> Option<(String, &'static str)> {
    let key = package.key();
    let laudo = package
        .files
        .iter()
        .find(|f| f.kind == MediaKind::Laudo)
        .and_then(|f| read_blob(blobs, &key, &f.name).ok())
        .and_then(|bytes| Laudo::from_canonical(&bytes).ok());
    if let Some(laudo) = laudo {
        // A signed package was committed only if the e-CPF's CPF is the laudo's (§14).
        let signed = package.files.iter().any(|f| f.kind == MediaKind::Signature);
        return Some((
            format!("cpf:{}", laudo.inspector.cpf),
            if signed {
                "e-CPF que assinou o laudo"
            } else {
                "CPF do laudo"
            },
        ));
    }
    match package.manifest.metadata.get("inspector") {
        Some(Value::String(id)) if !id.trim().is_empty() => Some((
            format!("id:{}", id.trim()),
            "vistoriador informado pela estação",
        )),
        Some(Value::Object(o)) => o
            .get("cpf")
            .and_then(Value::as_str)
            .map(|cpf| (format!("cpf:{cpf}"), "CPF informado pela estação")),
        _ => None,
    }
}

/// How an inspector identity reads on the page (a CPF masked, LGPD).
fn inspector_label(id: &str) -> String {
    match id.split_once(':') {
        Some(("cpf", cpf)) => format!("CPF {}", mask_cpf(cpf)),
        Some((_, name)) => format!("«{name}»"),
        None => id.to_owned(),
    }
}

/// The profile of a verified package.
pub fn profile(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    package: &PackageRecord,
) -> StorageResult<(InspectionProfile, Option<&'static str>)> {
    // The inspection starts at its vehicle query (§5, central time); the deadline is 4 h after.
    let started_at = match meta.query(package.query_id)? {
        Some(q) => q.queried_at,
        None => package.deadline - Duration::hours(4),
    };
    let concluded_at = package.manifest.concluded_at;
    let who = inspector(blobs, package);
    Ok((
        InspectionProfile {
            key: package.key(),
            plate: vehicle_plate(&package.plate),
            local_day: in_station_zone(concluded_at).format("%Y-%m-%d").to_string(),
            started_at,
            concluded_at,
            class: crate::storage::code_of(&package.manifest.checklist.class())?,
            inspector: who.as_ref().map(|(id, _)| id.clone()),
            timed: !matches!(package.manifest.outcome, Outcome::Interrupted(_)),
        },
        who.map(|(_, how)| how),
    ))
}

/// The perceptual hashes of the package's photos, from the stored bytes.
fn photo_hashes(blobs: &dyn BlobStore, package: &PackageRecord) -> Vec<PhotoHash> {
    let key = package.key();
    let mut out = Vec::new();
    for file in package.files.iter().filter(|f| f.kind == MediaKind::Photo) {
        // A photo that cannot be read or decoded stays out of the index, said in the log; it
        // must not keep the package's other flags from being computed.
        let bytes = match read_blob(blobs, &key, &file.name) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(%key, file = %file.name, error = %e, "foto ilegível no armazenamento; fica fora do índice de fotos parecidas");
                continue;
            }
        };
        match phash::dhash(&bytes) {
            Some(hash) => out.push(PhotoHash {
                key: key.clone(),
                name: file.name.clone(),
                hash,
            }),
            None => {
                tracing::warn!(%key, file = %file.name, "foto não decodificável; fica fora do índice de fotos parecidas")
            }
        }
    }
    out
}

fn minutes(ms: i64) -> String {
    let total = ms / 1000;
    if total < 120 {
        format!("{total} s")
    } else {
        format!("{} min", total / 60)
    }
}

fn hhmm(t: DateTime<Utc>) -> String {
    in_station_zone(t).format("%d/%m %H:%M").to_string()
}

/// A flag on `key` and its mirror on `other`.
fn both_ways(
    key: &PackageKey,
    other: &PackageKey,
    kind: CrossKind,
    photos: Option<(&str, &str)>,
    detail: Value,
    detail_other: Value,
    now: DateTime<Utc>,
) -> [CrossFlagRecord; 2] {
    [
        CrossFlagRecord {
            key: key.clone(),
            kind,
            other: Some(other.clone()),
            photo: photos.map(|(a, _)| a.to_owned()),
            other_photo: photos.map(|(_, b)| b.to_owned()),
            detail,
            raised_at: now,
        },
        CrossFlagRecord {
            key: other.clone(),
            kind,
            other: Some(key.clone()),
            photo: photos.map(|(_, b)| b.to_owned()),
            other_photo: photos.map(|(a, _)| a.to_owned()),
            detail: detail_other,
            raised_at: now,
        },
    ]
}

/// The median of some lengths.
fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    })
}

/// Analyses one verified package: stores its profile and photo hashes, then the flags it
/// raises (on it and on the inspections it points at), then marks it analysed. Running it
/// again stores nothing twice. Returns the flags raised.
pub fn analyze(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    package: &PackageRecord,
    now: DateTime<Utc>,
) -> StorageResult<Vec<CrossFlagRecord>> {
    let key = package.key();
    let (profile, how) = profile(meta, blobs, package)?;
    let photos = photo_hashes(blobs, package);
    meta.put_profile(&profile, &photos)?;
    let mut flags = Vec::new();

    for photo in &photos {
        let mut near: Vec<(u32, PhotoHash)> = meta
            .photos_by_bands(&phash::probe_keys(photo.hash), &key)?
            .into_iter()
            .map(|other| (phash::distance(photo.hash, other.hash), other))
            .filter(|(d, _)| *d <= phash::MAX_DISTANCE)
            .collect();
        near.sort_by(|a, b| (a.0, &a.1.key, &a.1.name).cmp(&(b.0, &b.1.key, &b.1.name)));
        for (d, other) in near {
            let text = |mine: &str, theirs: &str| {
                format!(
                    "A foto «{mine}» difere em {d} de 64 bits (dHash) da foto «{theirs}» de outra \
                     vistoria; cópias reenviadas, redimensionadas ou pouco recortadas ficam até \
                     {} bits, carros diferentes bem acima.",
                    phash::MAX_DISTANCE
                )
            };
            flags.extend(both_ways(
                &key,
                &other.key,
                CrossKind::PhotoNearDuplicate,
                Some((photo.name.as_str(), other.name.as_str())),
                json!({ "texto": text(&photo.name, &other.name), "bits": d }),
                json!({ "texto": text(&other.name, &photo.name), "bits": d }),
                now,
            ));
        }
    }

    for other in meta.same_day_plate(&profile.plate, &profile.local_day, &key.station)? {
        let text = format!(
            "O veículo de placa {} foi vistoriado no mesmo dia ({}, horário de Mato Grosso) em \
             outra estação.",
            profile.plate, profile.local_day
        );
        let detail = json!({ "texto": text, "dia": profile.local_day });
        flags.extend(both_ways(
            &key,
            &other.key,
            CrossKind::PlateTwiceSameDay,
            None,
            detail.clone(),
            detail,
            now,
        ));
    }

    if let Some(who) = &profile.inspector {
        for other in
            meta.inspector_between(who, profile.started_at, profile.concluded_at, &key.station)?
        {
            let text = |a: &InspectionProfile, b: &InspectionProfile| {
                format!(
                    "O mesmo vistoriador ({}, {}) tinha outra vistoria em outra estação de {} a {}, \
                     sobreposta a esta ({} a {}), horário de Mato Grosso.",
                    inspector_label(who),
                    how.unwrap_or("identificação do pacote"),
                    hhmm(b.started_at),
                    hhmm(b.concluded_at),
                    hhmm(a.started_at),
                    hhmm(a.concluded_at)
                )
            };
            flags.extend(both_ways(
                &key,
                &other.key,
                CrossKind::InspectorOverlap,
                None,
                json!({ "texto": text(&profile, &other) }),
                json!({ "texto": text(&other, &profile) }),
                now,
            ));
        }
    }

    if profile.timed {
        let sample = meta.class_durations(&profile.class, profile.concluded_at, DURATION_SAMPLE)?;
        let n = sample.len();
        if n >= MIN_SAMPLE
            && let Some(median) = median(sample)
            && profile.duration_ms() * SHORT_DIVISOR < median
        {
            flags.push(CrossFlagRecord {
                key: key.clone(),
                kind: CrossKind::ShortInspection,
                other: None,
                photo: None,
                other_photo: None,
                detail: json!({
                    "texto": format!(
                        "Durou {} da consulta à conclusão; a mediana das últimas {n} vistorias \
                         concluídas desta classe ({}) em todas as estações é {}. O sinal aparece \
                         abaixo de um terço da mediana, com ao menos {MIN_SAMPLE} vistorias para \
                         comparar.",
                        minutes(profile.duration_ms()),
                        profile.class,
                        minutes(median)
                    ),
                    "duracao_ms": profile.duration_ms(),
                    "mediana_ms": median,
                    "amostra": n,
                }),
                raised_at: now,
            });
        }
    }

    meta.add_cross_flags(&flags)?;
    meta.mark_analyzed(&key, now)?;
    Ok(flags.into_iter().filter(|f| f.key == key).collect())
}

/// Analyses up to [`CATCH_UP_BATCH`] verified packages not analysed yet (a kill between a
/// commit and its analysis, a central older than the flags); returns how many.
pub fn catch_up(meta: &dyn MetadataStore, blobs: &dyn BlobStore) -> StorageResult<usize> {
    let mut done = 0;
    for key in meta.unanalyzed(CATCH_UP_BATCH)? {
        // One package failing (the database away a moment) does not stop the others.
        match meta
            .package(&key)
            .and_then(|p| p.map(|p| analyze(meta, blobs, &p, Utc::now())).transpose())
        {
            Ok(Some(_)) => done += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(%key, error = %e, "sinais entre estações não calculados; a próxima passada retoma")
            }
        }
    }
    Ok(done)
}

/// Runs after a commit stored its receipt: analyses the package, then catches up on older
/// ones. Its failure is logged and does not touch the receipt; [`catch_up`] retries it.
pub fn after_commit(state: &AppState, key: &PackageKey) {
    let result = (|| {
        if let Some(package) = state.meta.package(key)? {
            let flags = analyze(
                state.meta.as_ref(),
                state.blobs.as_ref(),
                &package,
                Utc::now(),
            )?;
            if !flags.is_empty() {
                tracing::info!(%key, flags = flags.len(), "sinais entre estações levantados");
            }
        }
        catch_up(state.meta.as_ref(), state.blobs.as_ref())
    })();
    if let Err(e) = result {
        tracing::warn!(%key, error = %e, "sinais entre estações não calculados agora; a próxima passada retoma");
    }
}

/// How often an instance looks for packages left without analysis (a kill between a commit
/// and its analysis, packages received before this version) when no commit comes to do it.
pub const CATCH_UP_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// The background pass of every instance: at start and every [`CATCH_UP_EVERY`], batches of
/// [`catch_up`] until nothing is left. Analysis is idempotent, so instances doing it at once
/// repeat work, never flags.
pub async fn run(state: std::sync::Arc<AppState>) {
    let mut stopping = state.stopping();
    loop {
        loop {
            let worker = std::sync::Arc::clone(&state);
            let done = tokio::task::spawn_blocking(move || {
                catch_up(worker.meta.as_ref(), worker.blobs.as_ref())
            })
            .await;
            match done {
                Ok(Ok(n)) if n > 0 && !*stopping.borrow() => continue,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "sinais entre estações: passada de recuperação falhou");
                }
                _ => {}
            }
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(CATCH_UP_EVERY) => {}
            _ = stopping.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
        assert_eq!(median(Vec::new()), None);
    }
}
