//! The film of an inspection in the portal (§4 "sem cortes", §7, 2m; issue 22): the panoramic
//! camera's segments playable in the browser, on one timeline with the gaps (and their cause),
//! the bay's presence and the moments each photo was taken, so an auditor sees what the camera
//! saw when the photo was made.
//!
//! Everything comes from what the station sent and the central verified: the recorder's
//! manifest (a file of the package; its segments name their SHA-256, which finds them among the
//! package's files) and the capture time of each photo in the package manifest. Times on the
//! timeline are seconds from the start of the recording; a photo's moment is its central
//! capture time less the recording's central start time.
//!
//! The segments are served with byte ranges (a browser seeks by asking for one); the player is
//! a `<video>` and a few lines of script of our own (`/portal/filme.js`; the pages allow no
//! inline script).

use std::io::Read as _;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use vistoria_core::wire::{MediaKind, PackageStatus};

use super::evidence::Stored;
use super::web::layout::{badge, escape, problem};
use super::web::{Viewer, log_access};
use super::{blocking, visible_package};
use crate::api::AppState;
use crate::storage::PackageRecord;

/// Where the player's script is served.
pub const SCRIPT_PATH: &str = "/portal/filme.js";

/// The player's script: a click on a segment, a gap or a photo moment loads that segment in
/// the player and seeks to the moment.
const SCRIPT: &str = r#"'use strict';
document.addEventListener('click', function (event) {
  var target = event.target.closest('[data-segmento]');
  if (!target) { return; }
  var video = document.getElementById('filme');
  if (!video) { return; }
  event.preventDefault();
  var src = target.getAttribute('data-segmento');
  var at = parseFloat(target.getAttribute('data-t') || '0');
  var seek = function () { video.currentTime = at; video.play().catch(function () {}); };
  if (video.getAttribute('src') !== src) {
    video.setAttribute('src', src);
    video.addEventListener('loadedmetadata', seek, { once: true });
    video.load();
  } else {
    seek();
  }
  var label = document.getElementById('filme-trecho');
  if (label) { label.textContent = target.getAttribute('data-rotulo') || ''; }
});
"#;

/// `GET /portal/filme.js`.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The parts of the recorder's manifest (`drivers::panoramic::Manifest`) the page shows. The
/// central does not link the device code: this reads the document as the station wrote it.
#[derive(Debug, Deserialize)]
struct Recorder {
    #[serde(default)]
    started_at: Option<Stamp>,
    #[serde(default)]
    seconds: f64,
    #[serde(default)]
    segments: Vec<RecorderSegment>,
    #[serde(default)]
    gaps: Vec<RecorderGap>,
    #[serde(default)]
    presence: Vec<RecorderPresence>,
    #[serde(default)]
    presence_basis: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Stamp {
    at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct RecorderSegment {
    digests: SegmentDigests,
    start_s: f64,
    end_s: f64,
    #[serde(default)]
    recovered: bool,
}

#[derive(Debug, Deserialize)]
struct SegmentDigests {
    sha256: String,
}

#[derive(Debug, Deserialize)]
struct RecorderGap {
    start_s: f64,
    end_s: f64,
    cause: String,
    #[serde(default)]
    open_at_stop: bool,
}

#[derive(Debug, Deserialize)]
struct RecorderPresence {
    start_s: f64,
    end_s: f64,
    state: String,
}

/// One segment on the timeline, with the package file that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The package's file name (`None`: the manifest names bytes the package does not carry).
    pub file: Option<String>,
    /// Start and end, seconds from the start of the recording.
    pub start_s: f64,
    /// End.
    pub end_s: f64,
    /// Recovered after a kiosk crash (plays up to the muxer's last index).
    pub recovered: bool,
}

/// A stretch without film.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Cause in Portuguese.
    pub cause: String,
    /// Still open when the recording stopped.
    pub open_at_stop: bool,
}

/// A stretch of the bay's presence.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// A vehicle was seen.
    pub present: bool,
}

/// The moment a photo was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    /// Seconds from the start of the recording.
    pub at_s: f64,
    /// What the photo is (the laudo's caption, else its file name).
    pub label: String,
}

/// The film of one inspection as the page draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct Film {
    /// Length, start to stop, seconds.
    pub seconds: f64,
    /// Segments, in order.
    pub segments: Vec<Segment>,
    /// Gaps, in order.
    pub gaps: Vec<Gap>,
    /// Presence (empty when the bay was not calibrated).
    pub presence: Vec<Presence>,
    /// Whether presence was judged at all.
    pub presence_calibrated: bool,
    /// Photo moments (empty when the recording has no central start time).
    pub photos: Vec<Moment>,
}

/// The label of a recorder's gap cause (the codes of `drivers::panoramic::GapCause`).
fn cause_label(code: &str) -> String {
    match code {
        "connection_lost" => "perda de conexão com a câmera".into(),
        "no_frames" => "câmera sem imagem".into(),
        "system_failure" => "falha do sistema de gravação".into(),
        "kiosk_interrupted" => "falha do sistema: interrupção do quiosque".into(),
        other => format!("causa «{other}»"),
    }
}

/// The film of `package`, from its newest recorder manifest (`manifest` is its bytes) and the
/// package manifest's capture times; `photo_labels` maps a photo's SHA-256 to its caption.
pub fn film_of(
    package: &PackageRecord,
    manifest: &[u8],
    photo_labels: &[(String, String)],
) -> Result<Film, String> {
    let recorder: Recorder = serde_json::from_slice(manifest)
        .map_err(|e| format!("manifesto da filmagem ilegível: {e}"))?;
    let by_sha = |sha: &str| {
        package
            .files
            .iter()
            .find(|f| f.kind == MediaKind::VideoSegment && f.sha256 == sha)
            .map(|f| f.name.clone())
    };
    let segments = recorder
        .segments
        .iter()
        .map(|s| Segment {
            file: by_sha(&s.digests.sha256),
            start_s: s.start_s,
            end_s: s.end_s.max(s.start_s),
            recovered: s.recovered,
        })
        .collect();
    let gaps = recorder
        .gaps
        .iter()
        .map(|g| Gap {
            start_s: g.start_s,
            end_s: g.end_s.max(g.start_s),
            cause: cause_label(&g.cause),
            open_at_stop: g.open_at_stop,
        })
        .collect();
    let presence = recorder
        .presence
        .iter()
        .map(|p| Presence {
            start_s: p.start_s,
            end_s: p.end_s.max(p.start_s),
            present: p.state.eq_ignore_ascii_case("present"),
        })
        .collect();
    let photos = match &recorder.started_at {
        Some(start) => photo_moments(package, start.at, photo_labels),
        None => Vec::new(),
    };
    Ok(Film {
        seconds: recorder.seconds.max(0.0),
        segments,
        gaps,
        presence,
        presence_calibrated: recorder.presence_basis.is_some(),
        photos,
    })
}

/// Each photo's capture moment, from the package manifest's `media` list.
fn photo_moments(
    package: &PackageRecord,
    start: DateTime<Utc>,
    photo_labels: &[(String, String)],
) -> Vec<Moment> {
    let Some(media) = package
        .manifest
        .metadata
        .get("media")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let mut moments: Vec<Moment> = media
        .iter()
        .filter_map(|entry| {
            let name = entry.get("name")?.as_str()?;
            let file = package
                .files
                .iter()
                .find(|f| f.name == name && f.kind == MediaKind::Photo)?;
            let at: DateTime<Utc> = entry
                .get("captured_at")?
                .get("at")?
                .as_str()?
                .parse()
                .ok()?;
            let label = photo_labels
                .iter()
                .find(|(sha, _)| *sha == file.sha256)
                .map_or_else(|| name.to_owned(), |(_, l)| l.clone());
            Some(Moment {
                at_s: (at - start).num_milliseconds() as f64 / 1000.0,
                label,
            })
        })
        .collect();
    moments.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    moments
}

/// The recorder manifest to show: of the package's recorder manifests (a recording resumed
/// after a crash writes a new one that repeats the earlier timeline), the one that reaches
/// furthest.
pub fn newest_manifest(stored: &Stored<'_>) -> Option<Vec<u8>> {
    stored
        .named(MediaKind::Other)
        .filter(|f| f.name.starts_with(vistoria_core::film::MANIFEST_KIND))
        .filter_map(|f| stored.bytes(&f.name).ok())
        .max_by(|a, b| seconds_of(a).total_cmp(&seconds_of(b)))
        .map(|bytes| bytes.into_owned())
}

fn seconds_of(bytes: &[u8]) -> f64 {
    serde_json::from_slice::<Recorder>(bytes).map_or(-1.0, |r| r.seconds)
}

fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The segment that holds `at_s`, with the offset inside it.
fn locate(film: &Film, at_s: f64) -> Option<(&str, f64)> {
    film.segments
        .iter()
        .filter_map(|s| s.file.as_deref().map(|f| (s, f)))
        .find(|(s, _)| at_s >= s.start_s && at_s <= s.end_s)
        .map(|(s, f)| (f, at_s - s.start_s))
}

/// The section of the inspection page: the player, the timeline, the lists.
pub fn section(base: &str, package: &PackageRecord, film: Option<&Result<Film, String>>) -> String {
    let Some(film) = film else {
        let why = if package
            .files
            .iter()
            .any(|f| f.kind == MediaKind::VideoSegment)
        {
            "A filmagem não traz o manifesto do gravador; os segmentos estão na lista de arquivos."
        } else {
            "O pacote não traz filmagem (estação sem câmera panorâmica, ou vistoria encerrada \
             antes de filmar)."
        };
        return format!("<h2>Filmagem (§4, §7)</h2><div class=\"caixa\"><p>{why}</p></div>");
    };
    let film = match film {
        Ok(f) => f,
        Err(why) => {
            return format!(
                "<h2>Filmagem (§4, §7)</h2><div class=\"caixa\">{}</div>",
                badge("erro", why)
            );
        }
    };
    if package.status != PackageStatus::Verified {
        return "<h2>Filmagem (§4, §7)</h2><div class=\"caixa\"><p>A filmagem fica disponível \
                quando a central terminar de verificar o pacote.</p></div>"
            .into();
    }
    let href = |file: &str| format!("{base}/filme/{}", escape(file));
    let first = film.segments.iter().find_map(|s| s.file.as_deref());
    let player = match first {
        Some(file) => format!(
            "<video id=\"filme\" controls preload=\"metadata\" src=\"{}\"></video>\
             <p class=\"nota\" id=\"filme-trecho\">Segmento 1</p>",
            href(file)
        ),
        None => badge("erro", "os segmentos do manifesto não estão no pacote"),
    };
    format!(
        "<h2>Filmagem (§4, §7)</h2><div class=\"caixa\" id=\"filmagem\">{player}{}{}{}\
         <script src=\"{SCRIPT_PATH}\"></script></div>",
        timeline(film, &href),
        segment_list(film, &href),
        gap_list(film, &href),
    )
}

/// The timeline as SVG: video, gaps, presence and photo moments on one time axis.
fn timeline(film: &Film, href: &dyn Fn(&str) -> String) -> String {
    const W: f64 = 1000.0;
    let total = film
        .seconds
        .max(film.segments.iter().map(|s| s.end_s).fold(0.0, f64::max))
        .max(1.0);
    let x = |s: f64| (s.clamp(0.0, total) / total * W * 10.0).round() / 10.0;
    let width = |a: f64, b: f64| (x(b) - x(a)).max(1.0);
    let mut parts = Vec::new();
    for (i, s) in film.segments.iter().enumerate() {
        let rect = format!(
            "<rect x=\"{}\" y=\"4\" width=\"{}\" height=\"18\" class=\"tl-video\"><title>Segmento {} \
             ({}–{})</title></rect>",
            x(s.start_s),
            width(s.start_s, s.end_s),
            i + 1,
            clock(s.start_s),
            clock(s.end_s)
        );
        parts.push(match &s.file {
            Some(f) => format!(
                "<a href=\"#filme\" data-segmento=\"{}\" data-t=\"0\" data-rotulo=\"Segmento {}\">{rect}</a>",
                href(f),
                i + 1
            ),
            None => rect,
        });
    }
    for g in &film.gaps {
        parts.push(format!(
            "<rect x=\"{}\" y=\"4\" width=\"{}\" height=\"18\" class=\"tl-lacuna\"><title>Sem \
             filmagem {}–{}: {}</title></rect>",
            x(g.start_s),
            width(g.start_s, g.end_s),
            clock(g.start_s),
            clock(g.end_s),
            escape(&g.cause)
        ));
    }
    for p in &film.presence {
        parts.push(format!(
            "<rect x=\"{}\" y=\"28\" width=\"{}\" height=\"10\" class=\"{}\"><title>{} {}–{}\
             </title></rect>",
            x(p.start_s),
            width(p.start_s, p.end_s),
            if p.present { "tl-presente" } else { "tl-vazio" },
            if p.present {
                "Veículo no box"
            } else {
                "Box vazio"
            },
            clock(p.start_s),
            clock(p.end_s)
        ));
    }
    for m in &film.photos {
        let mark = format!(
            "<rect x=\"{}\" y=\"0\" width=\"3\" height=\"44\" class=\"tl-foto\"><title>{} às {}\
             </title></rect>",
            x(m.at_s) - 1.0,
            escape(&m.label),
            clock(m.at_s)
        );
        parts.push(match locate(film, m.at_s) {
            Some((file, offset)) => format!(
                "<a href=\"#filme\" data-segmento=\"{}\" data-t=\"{offset:.1}\" data-rotulo=\"{} \
                 ({})\">{mark}</a>",
                href(file),
                escape(&m.label),
                clock(m.at_s)
            ),
            None => mark,
        });
    }
    let presence_note = if film.presence_calibrated {
        "faixa de baixo: presença no box (verde: veículo; cinza: vazio)"
    } else {
        "presença no box não avaliada (box sem calibração)"
    };
    format!(
        "<figure class=\"linha-tempo\"><svg id=\"linha-tempo\" viewBox=\"0 0 {W} 44\" \
         preserveAspectRatio=\"none\" role=\"img\" aria-label=\"Linha do tempo da filmagem\">{}\
         </svg><figcaption class=\"nota\">00:00 a {}: segmentos em azul, sem filmagem em vermelho, \
         fotos em amarelo (clique para ver o momento); {presence_note}.</figcaption></figure>",
        parts.join(""),
        clock(total)
    )
}

fn segment_list(film: &Film, href: &dyn Fn(&str) -> String) -> String {
    let rows: String = film
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let link = match &s.file {
                Some(f) => format!(
                    "<a href=\"#filme\" data-segmento=\"{}\" data-t=\"0\" \
                     data-rotulo=\"Segmento {n}\">Segmento {n}</a>",
                    href(f),
                    n = i + 1
                ),
                None => format!("Segmento {} {}", i + 1, badge("erro", "ausente do pacote")),
            };
            let recovered = if s.recovered {
                format!(" {}", badge("alerta", "recuperado após queda do quiosque"))
            } else {
                String::new()
            };
            format!(
                "<tr><td>{link}{recovered}</td><td>{}–{}</td></tr>",
                clock(s.start_s),
                clock(s.end_s)
            )
        })
        .collect();
    let photos: String = film
        .photos
        .iter()
        .map(|m| {
            let at = match locate(film, m.at_s) {
                Some((file, offset)) => format!(
                    "<a href=\"#filme\" data-segmento=\"{}\" data-t=\"{offset:.1}\" \
                     data-rotulo=\"{label} ({t})\">{t}</a>",
                    href(file),
                    label = escape(&m.label),
                    t = clock(m.at_s)
                ),
                None => format!("{} {}", clock(m.at_s), badge("erro", "fora da filmagem")),
            };
            format!("<tr><td>{}</td><td>{at}</td></tr>", escape(&m.label))
        })
        .collect();
    format!(
        "<table id=\"segmentos\"><thead><tr><th>Segmento</th><th>Trecho</th></tr></thead>\
         <tbody>{rows}</tbody></table>{}",
        if photos.is_empty() {
            String::new()
        } else {
            format!(
                "<table id=\"momentos\"><thead><tr><th>Foto</th><th>Momento na filmagem</th></tr>\
                 </thead><tbody>{photos}</tbody></table>"
            )
        }
    )
}

fn gap_list(film: &Film, href: &dyn Fn(&str) -> String) -> String {
    if film.gaps.is_empty() {
        return format!(
            "<p id=\"lacunas\">{}</p>",
            badge("ok", "filmagem sem interrupções")
        );
    }
    let rows: String = film
        .gaps
        .iter()
        .map(|g| {
            // The segment that resumes after the gap shows what came back.
            let after = locate(film, g.end_s).map_or_else(String::new, |(file, offset)| {
                format!(
                    " <a href=\"#filme\" data-segmento=\"{}\" data-t=\"{offset:.1}\" \
                     data-rotulo=\"Retomada às {t}\">ver a retomada</a>",
                    href(file),
                    t = clock(g.end_s)
                )
            });
            format!(
                "<tr><td>{}–{}{}</td><td>{}</td><td>{after}</td></tr>",
                clock(g.start_s),
                clock(g.end_s),
                if g.open_at_stop { " (até o fim)" } else { "" },
                escape(&g.cause)
            )
        })
        .collect();
    format!(
        "<table id=\"lacunas\"><thead><tr><th>Sem filmagem</th><th>Causa</th><th></th></tr></thead>\
         <tbody>{rows}</tbody></table>"
    )
}

/// A byte range asked by the browser (`Range: bytes=a-b` or `bytes=a-`); `None` for the whole
/// file, `Err` for one that cannot be served.
fn range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let spec = value.to_str().map_err(|_| ())?.trim();
    let spec = spec.strip_prefix("bytes=").ok_or(())?;
    // One range only: that is what media elements ask for.
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (a, "") => (a.parse().map_err(|_| ())?, size.saturating_sub(1)),
        (a, b) => (
            a.parse().map_err(|_| ())?,
            b.parse::<u64>()
                .map_err(|_| ())?
                .min(size.saturating_sub(1)),
        ),
    };
    if size == 0 || start > end || start >= size {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// `GET /portal/vistorias/{station}/{id}/filme/{name}`: a film segment, with byte ranges.
/// Written to the access log once per viewing (the request from the start), not at every
/// range the player asks for while seeking.
pub async fn segment(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path((station, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let package = match visible_package(&state, &viewer, &station, &id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let Some(file) = package
        .files
        .iter()
        .find(|f| f.name == name && f.kind == MediaKind::VideoSegment)
        .cloned()
    else {
        return problem(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "Segmento não encontrado",
            "Esta vistoria não tem um segmento de filmagem com este nome; abra a vistoria e use \
             o player dela.",
        );
    };
    if package.status != PackageStatus::Verified {
        return problem(
            StatusCode::CONFLICT,
            Some(&viewer),
            "Pacote ainda em recepção",
            "A filmagem fica disponível quando a central terminar de verificar o pacote.",
        );
    }
    let Ok(wanted) = range(&headers, file.size) else {
        let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", file.size)) {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
        return response;
    };
    if wanted.is_none_or(|(start, _)| start == 0) {
        let worker = Arc::clone(&state);
        let who = viewer.clone();
        let key = package.key();
        let what = file.name.clone();
        if let Err(page) =
            blocking(move || log_access(&worker, &who, &key.station, key.inspection_id, &what))
                .await
        {
            return page;
        }
    }
    let (start, end) = wanted.unwrap_or((0, file.size.saturating_sub(1)));
    let length = if file.size == 0 { 0 } else { end - start + 1 };
    let worker = Arc::clone(&state);
    let key = package.key();
    let opened = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let mut reader = worker.blobs.open(&key, &name).map_err(|e| e.to_string())?;
        // The blob store reads from the start; what comes before the range is skipped.
        std::io::copy(&mut (&mut reader).take(start), &mut std::io::sink())
            .map_err(|e| e.to_string())?;
        Ok(reader.take(length))
    })
    .await;
    let reader = match opened {
        Ok(Ok(reader)) => reader,
        Ok(Err(why)) => return super::web::internal(&why),
        Err(e) => return super::web::internal(&e),
    };
    let mut response = crate::api::streaming::body_of(reader).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&length.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if wanted.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", file.size)) {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(range: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
        h
    }

    #[test]
    fn byte_ranges_are_read_as_media_elements_send_them() {
        assert_eq!(range(&HeaderMap::new(), 100), Ok(None));
        assert_eq!(range(&headers("bytes=0-"), 100), Ok(Some((0, 99))));
        assert_eq!(range(&headers("bytes=10-19"), 100), Ok(Some((10, 19))));
        assert_eq!(range(&headers("bytes=90-500"), 100), Ok(Some((90, 99))));
        assert_eq!(range(&headers("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(range(&headers("bytes=100-"), 100), Err(()));
        assert_eq!(range(&headers("bytes=20-10"), 100), Err(()));
        assert_eq!(range(&headers("items=0-1"), 100), Err(()));
        assert_eq!(range(&headers("bytes=0-"), 0), Err(()));
    }

    #[test]
    fn clock_reads_minutes_and_seconds() {
        assert_eq!(clock(0.0), "00:00");
        assert_eq!(clock(61.4), "01:01");
        assert_eq!(clock(-3.0), "00:00");
    }
}
