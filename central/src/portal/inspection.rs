//! `GET /portal/vistorias/{station}/{id}`: one inspection with its evidence — the data and the
//! §13 checklist, every photo at full size with its MD5 and SHA-256 recomputed from the stored
//! bytes (2e, §8), the other files, the laudo PDF, the signature's state (§14), the flags, the
//! station's audit rows about it, and who opened it (the access log, LGPD). Each view is
//! written to the access log before the page is sent.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use vistoria_core::domain::Plate;
use vistoria_core::signing::mask_cpf;
use vistoria_core::wire::{MediaKind, PackageStatus};

use super::evidence::{self, Recheck, SignatureState};
use super::overview::outcome_badge;
use super::web::layout::{badge, escape, html, page, when};
use super::web::{Viewer, log_access};
use super::{blocking, visible_package};
use crate::api::AppState;
use crate::api::detran::inspections::outcome_code;
use crate::inspection_flags::{self, Flag};
use crate::storage::portal::AccessEntry;
use crate::storage::{FileRecord, PackageRecord};
use vistoria_core::store::AuditRow;

/// Everything the page shows, read off the async threads.
struct Loaded {
    trail: Vec<AuditRow>,
    holes: Vec<(u64, u64)>,
    flags: Vec<Flag>,
    rechecks: Vec<Recheck>,
    signature: SignatureState,
    photo_labels: Vec<(String, String)>,
    film: Option<Result<super::film::Film, String>>,
    accesses: Vec<AccessEntry>,
}

/// `GET /portal/vistorias/{station}/{id}`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path((station, id)): Path<(String, String)>,
) -> Response {
    let package = match visible_package(&state, &viewer, &station, &id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let worker = Arc::clone(&state);
    let who = viewer.clone();
    let record = package.clone();
    let loaded = blocking(move || {
        let key = record.key();
        // Logged first: a view that cannot be logged is not shown.
        log_access(&worker, &who, &key.station, key.inspection_id, "inspection")?;
        let trail = worker
            .meta
            .inspection_trail(&key.station, key.inspection_id)?;
        let holes = worker.meta.trail_holes(&key.station)?;
        let mut flags = inspection_flags::flags(&trail, &record.manifest);
        flags.extend(
            worker
                .meta
                .cross_flags_of(&key)?
                .iter()
                .map(inspection_flags::of_cross),
        );
        // Each stored file read once: rechecked, and the documents kept for the sections below.
        let (rechecks, stored) = evidence::Stored::rechecked(&worker, &record);
        let signature = evidence::signature(&worker, &stored);
        // The laudo names each photo's kind by its hash: the caption a person reads.
        let photo_labels = match evidence::laudo(&stored) {
            Ok(Some((laudo, _))) => laudo
                .photos
                .iter()
                .map(|p| (p.sha256.clone(), p.label.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let film = super::film::newest_manifest(&stored)
            .map(|bytes| super::film::film_of(&record, &bytes, &photo_labels));
        let accesses = worker.meta.access_log(&key.station, key.inspection_id)?;
        Ok(Loaded {
            trail,
            holes,
            flags,
            rechecks,
            signature,
            photo_labels,
            film,
            accesses,
        })
    })
    .await;
    let loaded = match loaded {
        Ok(l) => l,
        Err(page) => return page,
    };
    let body = render(&state, &viewer, &package, &loaded);
    let title = format!("Vistoria {}", package.plate);
    html(StatusCode::OK, page(&title, Some(&viewer), "", &body))
}

fn base_href(package: &PackageRecord) -> String {
    format!(
        "/portal/vistorias/{}/{}",
        package.station, package.inspection_id
    )
}

fn data_section(state: &AppState, package: &PackageRecord) -> String {
    let mut rows = Vec::new();
    let mut row = |label: &str, value: String| {
        rows.push(format!("<dt>{}</dt><dd>{value}</dd>", escape(label)));
    };
    row("Estação", escape(&package.station));
    row("Placa", escape(&package.plate));
    if let Some(vehicle) = Plate::parse(&package.plate)
        .ok()
        .and_then(|p| state.registry.lookup(&p))
    {
        row("RENAVAM", escape(&vehicle.renavam));
        row(
            "Veículo",
            escape(&format!(
                "{} {} · {} · {}",
                vehicle.data.make_model,
                vehicle.data.year,
                vehicle.data.colour,
                vehicle.data.class.label_pt()
            )),
        );
    }
    row(
        "Laudo",
        escape(
            package
                .receipt
                .as_ref()
                .map_or("—", |r| r.laudo_number.as_str()),
        ),
    );
    let outcome = &package.manifest.outcome;
    let mut result = outcome_badge(outcome_code(outcome), outcome.label_pt());
    if let Some(i) = outcome.interruption() {
        result.push_str(&format!(
            " {} — {}",
            escape(i.cause.label_pt()),
            escape(&i.note)
        ));
    }
    row("Resultado", result);
    row("Concluída em", escape(&when(package.manifest.concluded_at)));
    row("Recebida em", escape(&when(package.first_seen_at)));
    row("Prazo da consulta (§9)", escape(&when(package.deadline)));
    if package.late {
        row(
            "Atraso",
            badge("erro", "concluída após o prazo de 4 h (§9)"),
        );
    }
    let status = match package.status {
        PackageStatus::Verified => badge("ok", "verificado pela central"),
        PackageStatus::Rejected => badge("erro", "recusado pela central"),
        _ => badge("alerta", "ainda em recepção"),
    };
    row("Pacote", status);
    if let Some(reason) = &package.rejection {
        row("Motivo da recusa", escape(reason));
    }
    row("Identificador", escape(&package.inspection_id.to_string()));
    row(
        "SHA-256 do manifesto",
        format!(
            "<span class=\"hash\">{}</span>",
            escape(&package.manifest_sha256)
        ),
    );
    format!(
        "<h2>Dados</h2><div class=\"caixa\"><dl class=\"dados\" id=\"dados\">{}</dl></div>",
        rows.join("")
    )
}

fn checklist_section(package: &PackageRecord) -> String {
    let checklist = &package.manifest.checklist;
    let mut lines: Vec<String> = checklist
        .entries()
        .iter()
        .map(|entry| {
            let condition = match entry.condition {
                vistoria_core::domain::Condition::Conforming => {
                    badge("ok", entry.condition.label_pt())
                }
                vistoria_core::domain::Condition::NonConforming => {
                    badge("erro", entry.condition.label_pt())
                }
            };
            format!(
                "<tr><td>{}</td><td>{condition}</td><td>{}</td></tr>",
                escape(entry.item.label_pt()),
                escape(entry.note.as_deref().unwrap_or(""))
            )
        })
        .collect();
    lines.extend(checklist.missing().into_iter().map(|item| {
        format!(
            "<tr><td>{}</td><td>{}</td><td></td></tr>",
            escape(item.label_pt()),
            badge("neutro", "não avaliado")
        )
    }));
    format!(
        "<h2>Checklist (§13)</h2><div class=\"caixa\"><table id=\"checklist\"><thead><tr><th>Item</th>\
         <th>Condição</th><th>Observação</th></tr></thead><tbody>{}</tbody></table></div>",
        lines.join("")
    )
}

/// A digest line: declared, recomputed, and whether they match.
fn digest_line(name: &str, declared: &str, now: Option<(&str, bool)>) -> String {
    let verdict = match now {
        Some((_, true)) => badge("ok", "confere"),
        Some((actual, false)) => format!(
            "{} <span class=\"hash\">armazenado: {}</span>",
            badge("erro", "NÃO confere"),
            escape(actual)
        ),
        None => badge("neutro", "não reconferido"),
    };
    format!(
        "<div><strong>{name}</strong> <span class=\"hash\">{}</span> {verdict}</div>",
        escape(declared)
    )
}

fn file_digests(file: &FileRecord, recheck: &Recheck) -> (String, Option<bool>) {
    match recheck {
        Recheck::Done {
            md5,
            sha256,
            md5_ok,
            sha256_ok,
        } => (
            format!(
                "{}{}",
                digest_line("MD5", &file.md5, Some((md5, *md5_ok))),
                digest_line("SHA-256", &file.sha256, Some((sha256, *sha256_ok)))
            ),
            Some(*md5_ok && *sha256_ok),
        ),
        Recheck::Unreadable(why) => (
            format!(
                "{}{}<div>{}</div>",
                digest_line("MD5", &file.md5, None),
                digest_line("SHA-256", &file.sha256, None),
                badge("erro", &format!("bytes ilegíveis: {why}"))
            ),
            Some(false),
        ),
        Recheck::Pending => (
            format!(
                "{}{}<div class=\"nota\">Pacote ainda em recepção: bytes não definitivos.</div>",
                digest_line("MD5", &file.md5, None),
                digest_line("SHA-256", &file.sha256, None),
            ),
            None,
        ),
        Recheck::Skipped => (
            format!(
                "{}{}<div class=\"nota\">Arquivo grande: conferido na recepção ({}).</div>",
                digest_line("MD5", &file.md5, None),
                digest_line("SHA-256", &file.sha256, None),
                match file.digests_match {
                    Some(true) => "conferia",
                    Some(false) => "NÃO conferia",
                    None => "incompleto",
                }
            ),
            None,
        ),
    }
}

/// The manifest's note about a file (§8: `device`, `reason`).
fn media_note(package: &PackageRecord, name: &str, key: &str) -> Option<String> {
    package
        .manifest
        .metadata
        .get("media")
        .and_then(Value::as_array)
        .and_then(|media| media.iter().find(|m| m["name"] == name))
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn photos_section(package: &PackageRecord, loaded: &Loaded) -> String {
    let base = base_href(package);
    let figures: Vec<String> = package
        .files
        .iter()
        .zip(&loaded.rechecks)
        .filter(|(f, _)| f.kind == MediaKind::Photo)
        .map(|(file, recheck)| {
            let (digests, ok) = file_digests(file, recheck);
            let label = loaded
                .photo_labels
                .iter()
                .find(|(sha, _)| sha.eq_ignore_ascii_case(&file.sha256))
                .map_or_else(|| file.name.clone(), |(_, l)| l.clone());
            let mut notes = String::new();
            if let Some(device) = media_note(package, &file.name, "device") {
                notes.push_str(&format!("<div>Dispositivo: {}</div>", escape(&device)));
            }
            if let Some(reason) = media_note(package, &file.name, "reason") {
                notes.push_str(&format!("<div>Motivo da foto adicional: {}</div>", escape(&reason)));
            }
            let (class, data) = match ok {
                Some(true) => ("", "sim"),
                Some(false) => (" class=\"erro\"", "nao"),
                None => ("", "nao-reconferido"),
            };
            format!(
                "<figure{class} data-arquivo=\"{name}\" data-confere=\"{data}\">\
                 <img src=\"{base}/arquivos/{name}\" alt=\"{label}\">\
                 <figcaption><div><strong>{label}</strong>{name_note} · {size} bytes</div>{notes}{digests}</figcaption></figure>",
                name = escape(&file.name),
                label = escape(&label),
                name_note = if label == file.name {
                    String::new()
                } else {
                    format!(" · {}", escape(&file.name))
                },
                size = file.size,
            )
        })
        .collect();
    if figures.is_empty() {
        return "<h2>Fotos</h2><div class=\"caixa\"><p>O pacote não traz fotos.</p></div>".into();
    }
    format!(
        "<h2>Fotos ({})</h2><p class=\"nota\">Cada foto em tamanho original, com a tarja gravada \
         pela estação. MD5 e SHA-256 recalculados agora sobre os bytes armazenados e comparados \
         com os do manifesto.</p><div class=\"fotos\" id=\"fotos\">{}</div>",
        figures.len(),
        figures.join("")
    )
}

fn files_section(package: &PackageRecord, loaded: &Loaded) -> String {
    let base = base_href(package);
    let rows: String = package
        .files
        .iter()
        .zip(&loaded.rechecks)
        .filter(|(f, _)| f.kind != MediaKind::Photo)
        .map(|(file, recheck)| {
            let (digests, _) = file_digests(file, recheck);
            let kind = match file.kind {
                MediaKind::Laudo => "Laudo (JSON canônico)",
                MediaKind::Signature => "Assinatura do laudo (.p7s)",
                MediaKind::VideoSegment => "Filmagem panorâmica",
                _ => "Outro",
            };
            format!(
                "<tr><td><a href=\"{base}/arquivos/{name}\">{name}</a></td><td>{kind}</td>\
                 <td>{}</td><td class=\"hash\">{digests}</td></tr>",
                file.size,
                name = escape(&file.name),
            )
        })
        .collect();
    let pdf = if package.status == PackageStatus::Verified
        && package.files.iter().any(|f| f.kind == MediaKind::Laudo)
    {
        format!(
            "<p><a class=\"botao\" id=\"laudo-pdf\" href=\"{base}/laudo.pdf\">Laudo em PDF</a> \
             <span class=\"nota\">gerado do laudo armazenado, com as fotos e o bloco de \
             assinatura</span></p>"
        )
    } else {
        String::new()
    };
    format!(
        "<h2>Laudo e demais arquivos</h2><div class=\"caixa\">{pdf}<table id=\"arquivos\"><thead><tr>\
         <th>Arquivo</th><th>Tipo</th><th>Bytes</th><th>Resumos</th></tr></thead><tbody>{}</tbody></table></div>",
        if rows.is_empty() {
            "<tr><td colspan=\"4\">Nenhum.</td></tr>".to_owned()
        } else {
            rows
        }
    )
}

fn signature_section(signature: &SignatureState) -> String {
    let body = match signature {
        SignatureState::Absent => format!(
            "{} <span class=\"nota\">O pacote não traz assinatura do laudo (vistoria interrompida \
             ou sem e-CPF).</span>",
            badge("neutro", "sem assinatura")
        ),
        SignatureState::Valid(v) => format!(
            "<dl class=\"dados\"><dt>Situação</dt><dd>{}</dd><dt>Signatário</dt><dd>{}</dd>\
             <dt>CPF</dt><dd>{}</dd><dt>Certificado (série)</dt><dd class=\"hash\">{}</dd>\
             <dt>Assinado em</dt><dd>{}</dd><dt>Política</dt><dd>{}</dd></dl>\
             <p class=\"nota\">Conferida agora sobre o laudo armazenado: estrutura CAdES, CPF do \
             vistoriador e cadeia até uma raiz ICP-Brasil configurada na data da assinatura. A \
             revogação (LCR) foi verificada na recepção.</p>",
            badge("ok", "válida"),
            escape(&v.signer_name),
            escape(&mask_cpf(&v.cpf)),
            escape(&v.certificate_serial),
            escape(&when(v.signing_time)),
            escape(&v.policy_oid),
        ),
        SignatureState::Invalid(why) => {
            format!("{} {}", badge("erro", "inválida"), escape(why))
        }
    };
    format!("<h2>Assinatura do laudo (§14)</h2><div class=\"caixa\" id=\"assinatura\">{body}</div>")
}

/// The evidence of a flag: its text (cross-station flags) or its details, and the link to the
/// other inspection and its photo when the person may see that station (a manager is told
/// another station is involved, not which).
fn flag_evidence(viewer: &Viewer, package: &PackageRecord, flag: &Flag) -> String {
    let Some(text) = flag.detail.get("texto").and_then(Value::as_str) else {
        return format!(
            "<span class=\"hash\">{}</span>",
            escape(&flag.detail.to_string())
        );
    };
    let mut out = escape(text);
    if let Some(photo) = flag.other.as_ref().and_then(|o| o.photo.as_ref()) {
        out.push_str(&format!(
            " <a href=\"{}/arquivos/{}\">Esta foto</a>",
            base_href(package),
            escape(photo)
        ));
    }
    if let Some(other) = &flag.other {
        if viewer.account.role.may_see(&other.station) {
            let href = format!(
                "/portal/vistorias/{}/{}",
                escape(&other.station),
                other.inspection_id
            );
            out.push_str(&format!(
                " · <a class=\"outra-vistoria\" href=\"{href}\">Outra vistoria ({})</a>",
                escape(&other.station)
            ));
            if let Some(photo) = &other.other_photo {
                out.push_str(&format!(
                    " · <a href=\"{href}/arquivos/{}\">Foto da outra vistoria</a>",
                    escape(photo)
                ));
            }
        } else {
            out.push_str(" · <span class=\"nota\">A outra vistoria é de outra estação (visível ao Detran).</span>");
        }
    }
    out
}

fn flags_section(viewer: &Viewer, package: &PackageRecord, flags: &[Flag]) -> String {
    if flags.is_empty() {
        return "<h2>Sinais</h2><div class=\"caixa\" id=\"sinais\"><p>Nenhum sinal nesta vistoria.</p></div>".into();
    }
    let rows: String = flags
        .iter()
        .map(|f| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                badge("alerta", f.kind.label_pt()),
                match (f.seq, f.detail.get("texto")) {
                    (Some(s), _) => format!("registro {s}"),
                    (None, Some(_)) => "central (entre estações)".to_owned(),
                    (None, None) => "filmagem".to_owned(),
                },
                escape(f.at.as_deref().unwrap_or("")),
                flag_evidence(viewer, package, f)
            )
        })
        .collect();
    format!(
        "<h2>Sinais</h2><div class=\"caixa\" id=\"sinais\"><p class=\"nota\">Sinais apontam o que \
         conferir primeiro; não são um julgamento.</p><table><thead><tr><th>Sinal</th><th>Origem</th>\
         <th>Quando</th><th>Evidência</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
}

fn trail_section(trail: &[AuditRow], holes: &[(u64, u64)]) -> String {
    let rows: String = trail
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"hash\">{}</td></tr>",
                r.seq,
                escape(r.at.as_deref().unwrap_or("sem hora central")),
                escape(&r.actor),
                escape(&r.action),
                escape(&r.detail)
            )
        })
        .collect();
    let holes_note = if holes.is_empty() {
        String::new()
    } else {
        let list = holes
            .iter()
            .map(|(a, b)| format!("{a}–{b}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "<p class=\"nota\">Registros da estação ainda não recebidos pela central: {}.</p>",
            escape(&list)
        )
    };
    format!(
        "<h2>Trilha de auditoria</h2><div class=\"caixa\"><table id=\"trilha\"><thead><tr><th>Nº</th>\
         <th>Hora central</th><th>Quem</th><th>Ação</th><th>Detalhe</th></tr></thead><tbody>{}</tbody>\
         </table>{holes_note}</div>",
        if rows.is_empty() {
            "<tr><td colspan=\"5\">O pacote não trouxe registros de auditoria (estação anterior à trilha).</td></tr>".to_owned()
        } else {
            rows
        }
    )
}

fn access_section(accesses: &[AccessEntry]) -> String {
    let rows: String = accesses
        .iter()
        .rev()
        .take(50)
        .map(|a| {
            let what = if a.what == "inspection" {
                "abriu a vistoria".to_owned()
            } else {
                format!("arquivo {}", a.what)
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&when(a.at)),
                escape(&a.account),
                escape(&what),
                escape(&a.address)
            )
        })
        .collect();
    format!(
        "<h2>Acessos a esta vistoria (LGPD)</h2><div class=\"caixa\"><table id=\"acessos\"><thead><tr>\
         <th>Quando</th><th>Quem</th><th>O quê</th><th>De onde</th></tr></thead><tbody>{rows}</tbody>\
         </table><p class=\"nota\">Os 50 mais recentes; todos ficam guardados.</p></div>"
    )
}

fn render(state: &AppState, viewer: &Viewer, package: &PackageRecord, loaded: &Loaded) -> String {
    let mismatches = package
        .files
        .iter()
        .zip(&loaded.rechecks)
        .filter(|(f, r)| !matches!(file_digests(f, r).1, Some(true) | None))
        .count();
    let warning = if mismatches > 0 {
        format!(
            "<div class=\"aviso\" role=\"alert\" id=\"alerta-integridade\">{mismatches} arquivo(s) \
             desta vistoria NÃO conferem com os resumos do manifesto: os bytes armazenados foram \
             alterados ou estão ilegíveis. Avise o suporte da empresa de sistema.</div>"
        )
    } else {
        String::new()
    };
    format!(
        "<h1>Vistoria {} · {}</h1>{warning}{}{}{}{}{}{}{}{}{}",
        escape(&package.plate),
        escape(&package.station),
        data_section(state, package),
        flags_section(viewer, package, &loaded.flags),
        photos_section(package, loaded),
        super::film::section(&base_href(package), package, loaded.film.as_ref()),
        signature_section(&loaded.signature),
        files_section(package, loaded),
        checklist_section(package),
        trail_section(&loaded.trail, &loaded.holes),
        access_section(&loaded.accesses),
    )
}
