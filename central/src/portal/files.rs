//! `GET /portal/vistorias/{station}/{id}/arquivos/{name}` (a file's stored bytes, shown in the
//! browser) and `GET …/laudo.pdf` (the laudo rendered from the stored laudo, its photos and
//! its signature). Each is an access to evidence: written to the access log first.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vistoria_core::laudo::{PdfPhoto, SignatureBlock, render};
use vistoria_core::signing::mask_cpf;
use vistoria_core::wire::{MediaKind, PackageStatus};

use super::evidence::{self, SignatureState};
use super::web::layout::problem;
use super::web::{Viewer, log_access};
use super::{blocking, visible_package};
use crate::api::AppState;
use crate::api::detran::inspections::{content_type, stream_file};

fn not_ready(viewer: &Viewer) -> Response {
    problem(
        StatusCode::CONFLICT,
        Some(viewer),
        "Vistoria ainda em recepção",
        "Os arquivos desta vistoria ficam disponíveis depois que a central a confirma \
         (verificação dos resumos e da assinatura). Tente de novo mais tarde.",
    )
}

/// `GET /portal/vistorias/{station}/{id}/arquivos/{name}`.
pub async fn file(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path((station, id, name)): Path<(String, String, String)>,
) -> Response {
    let package = match visible_package(&state, &viewer, &station, &id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let Some(file) = package.files.iter().find(|f| f.name == name).cloned() else {
        return problem(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "Arquivo não encontrado",
            "Esta vistoria não tem um arquivo com este nome; abra a vistoria e use os links dela.",
        );
    };
    if package.status != PackageStatus::Verified {
        return not_ready(&viewer);
    }
    let worker = Arc::clone(&state);
    let who = viewer.clone();
    let key = package.key();
    let what = file.name.clone();
    if let Err(page) =
        blocking(move || log_access(&worker, &who, &key.station, key.inspection_id, &what)).await
    {
        return page;
    }
    // A photo is served as stored, whatever it became: a photo changed on the disk must still
    // show (the page marks it as not matching), so its length is the stored bytes', not the
    // manifest's. Photos are small; films stream.
    if file.kind == MediaKind::Photo && file.size <= evidence::RECHECK_MAX_BYTES {
        let worker = Arc::clone(&state);
        let record = package.clone();
        let name = file.name.clone();
        let bytes = match blocking(move || Ok(evidence::read(&worker, &record, &name))).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(why)) => return crate::portal::web::internal(&why),
            Err(page) => return page,
        };
        let mut response = bytes.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(&file.name)),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{}\"", file.name)) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        return response;
    }
    let disposition = format!("attachment; filename=\"{}\"", file.name);
    match stream_file(&state, &package, &file, &disposition).await {
        Ok(mut response) => {
            // Evidence is personal data: never kept by a cache.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /portal/vistorias/{station}/{id}/laudo.pdf`.
pub async fn laudo_pdf(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path((station, id)): Path<(String, String)>,
) -> Response {
    let package = match visible_package(&state, &viewer, &station, &id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    if package.status != PackageStatus::Verified {
        return not_ready(&viewer);
    }
    let worker = Arc::clone(&state);
    let who = viewer.clone();
    let built = blocking(move || {
        let key = package.key();
        log_access(&worker, &who, &key.station, key.inspection_id, "laudo.pdf")?;
        let documents = evidence::Stored::new(&worker, &package);
        let laudo = match evidence::laudo(&documents) {
            Ok(Some((laudo, _))) => laudo,
            Ok(None) => {
                return Ok(Err(
                    "esta vistoria não tem laudo (foi interrompida)".to_owned()
                ));
            }
            Err(e) => return Ok(Err(e)),
        };
        // Each photo the laudo names, by its hash, from the stored bytes.
        let mut photos = Vec::new();
        for reference in &laudo.photos {
            let stored = package.files.iter().find(|f| {
                f.kind == MediaKind::Photo && f.sha256.eq_ignore_ascii_case(&reference.sha256)
            });
            let Some(stored) = stored else { continue };
            match evidence::read(&worker, &package, &stored.name) {
                Ok(jpeg) => photos.push(PdfPhoto {
                    label: reference.label.clone(),
                    captured_at: reference.captured_at,
                    jpeg,
                }),
                Err(e) => return Ok(Err(format!("foto {} ilegível: {e}", stored.name))),
            }
        }
        let block = match evidence::signature(&worker, &documents) {
            SignatureState::Valid(v) => {
                let p7s = package
                    .files
                    .iter()
                    .find(|f| f.kind == MediaKind::Signature)
                    .map(|f| f.sha256.clone())
                    .unwrap_or_default();
                Some(SignatureBlock {
                    signer_name: v.signer_name.clone(),
                    masked_cpf: mask_cpf(&v.cpf),
                    certificate_serial: v.certificate_serial.clone(),
                    signed_at: v.signing_time,
                    p7s_sha256: p7s,
                })
            }
            _ => None,
        };
        Ok(render(&laudo, &photos, block.as_ref()).map_err(|e| e.to_string()))
    })
    .await;
    match built {
        Ok(Ok(pdf)) => {
            let mut response = pdf.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("inline; filename=\"laudo.pdf\""),
            );
            response
        }
        Ok(Err(why)) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&viewer),
            "Laudo em PDF indisponível",
            &format!(
                "Não foi possível gerar o PDF: {why}. Os arquivos da vistoria continuam na página dela."
            ),
        ),
        Err(page) => page,
    }
}
