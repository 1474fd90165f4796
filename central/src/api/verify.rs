//! `GET /v/{number}`: the public page the laudo's QR code points to (§10, issue 21). No token:
//! anyone holding a laudo — a buyer, a police officer, the Detran — learns whether the central
//! knows that number, which station made the inspection, when, its result, the SHA-256 of the
//! signed laudo and of its `.p7s`, and whether the signature verified when the central received
//! it. Plain server-rendered HTML in Portuguese, every value escaped, no external assets.
//!
//! Nothing personal beyond the printed laudo, and less: no CPF, no RENAVAM, no chassis, no
//! inspector. The plate is masked ([`masked_plate`]): numbers are a sequential counter, so
//! anyone can walk them, and whole plates with station and time would let a stranger list
//! where and when each vehicle was inspected; the person holding the paper sees the whole plate
//! there and the masked one here is enough to see that the page speaks of the same vehicle.
//! The page is rate-limited per client address like the API, in the same bucket.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use vistoria_core::clock::station_time;
use vistoria_core::domain::Outcome;
use vistoria_core::wire::{MediaKind, PackageStatus};

use super::{AppState, blocking};
use crate::storage::PackageRecord;
use crate::storage::laudos::{AllocationOf, LaudoAllocation};

/// Longest text taken as a laudo number (`MT-2026-000001` is 14); longer is not looked up.
const MAX_NUMBER_LEN: usize = 40;

/// What the central knows of a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Nothing: never allocated, or removed after the five years (§9).
    Unknown,
    /// Allocated at a vehicle query; the package has not been received and verified yet.
    Pending {
        /// Station code.
        station: String,
        /// When the number was allocated.
        allocated_at: DateTime<Utc>,
    },
    /// Received and verified.
    Received(Box<Received>),
}

/// The facts of a received laudo, as the page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Station code.
    pub station: String,
    /// Station name as its laudo prints it, when known.
    pub station_name: Option<String>,
    /// Concluded or interrupted at (central time).
    pub ended_at: DateTime<Utc>,
    /// Received and verified at.
    pub received_at: DateTime<Utc>,
    /// "Conforme", "Não conforme", "Interrompida — cause".
    pub outcome: String,
    /// The masked plate.
    pub plate: String,
    /// SHA-256 of the signed laudo (the canonical JSON), if the package carried one.
    pub laudo_sha256: Option<String>,
    /// SHA-256 of its `.p7s`, if the package carried one.
    pub p7s_sha256: Option<String>,
    /// Whether the signature verified at commit (`None`: not recorded, received before the
    /// central kept it).
    pub signature_verified: Option<bool>,
}

/// What the page says about `number`, from its allocation and its package.
pub fn finding(allocation: Option<LaudoAllocation>, package: Option<PackageRecord>) -> Finding {
    let Some(allocation) = allocation else {
        return Finding::Unknown;
    };
    let received = package.filter(|p| {
        p.status == PackageStatus::Verified
            && p.receipt
                .as_ref()
                .is_some_and(|r| r.laudo_number == allocation.number)
    });
    let Some(package) = received else {
        return Finding::Pending {
            station: allocation.station,
            allocated_at: allocation.allocated_at,
        };
    };
    let digest = |kind: MediaKind| {
        package
            .files
            .iter()
            .find(|f| f.kind == kind)
            .map(|f| f.sha256.clone())
    };
    let outcome = match &package.manifest.outcome {
        Outcome::Interrupted(interruption) => {
            format!("Interrompida — {}", interruption.cause.label_pt())
        }
        verdict => verdict.label_pt().to_owned(),
    };
    let facts = allocation.facts;
    Finding::Received(Box::new(Received {
        station: package.station.clone(),
        station_name: facts.as_ref().and_then(|f| f.station_name.clone()),
        ended_at: package.manifest.concluded_at,
        received_at: package
            .receipt
            .as_ref()
            .map_or(package.first_seen_at, |r| r.received_at),
        outcome,
        plate: masked_plate(&package.plate),
        laudo_sha256: digest(MediaKind::Laudo),
        p7s_sha256: digest(MediaKind::Signature),
        signature_verified: facts.map(|f| f.signature_verified),
    }))
}

/// The plate with all but its first and last two characters hidden: `ABC1D23` → `A••••23`.
pub fn masked_plate(plate: &str) -> String {
    let chars: Vec<char> = plate.chars().collect();
    if chars.len() < 4 {
        return "•".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 || i + 2 >= chars.len() {
                *c
            } else {
                '•'
            }
        })
        .collect()
}

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn when(t: DateTime<Utc>) -> String {
    format!("{} (horário de Mato Grosso)", station_time(t))
}

fn row(label: &str, value_html: &str) -> String {
    format!("<dt>{}</dt><dd>{value_html}</dd>\n", escape(label))
}

fn hash_or(value: Option<&str>, missing: &str) -> String {
    value.map_or_else(
        || escape(missing),
        |h| format!("<code>{}</code>", escape(h)),
    )
}

/// The page for `number`: its status code and HTML.
pub fn render(number: &str, finding: &Finding) -> (StatusCode, String) {
    let n = escape(number);
    let (status, verdict, body) = match finding {
        Finding::Unknown => (
            StatusCode::NOT_FOUND,
            "<p class=\"no\">Laudo não encontrado.</p>".to_owned(),
            format!(
                "<p>A central não conhece um laudo com o número <strong>{n}</strong>. Confira o \
                 número impresso no laudo (ou leia de novo o código QR). Laudos são guardados por \
                 cinco anos.</p>\n"
            ),
        ),
        Finding::Pending {
            station,
            allocated_at,
        } => (
            StatusCode::OK,
            "<p class=\"wait\">Número emitido; laudo ainda não recebido.</p>".to_owned(),
            format!(
                "<p>A central emitiu este número em {} para uma vistoria da estação \
                 <strong>{}</strong>, mas ainda não recebeu e conferiu o laudo. A estação envia \
                 o pacote da vistoria assim que tiver conexão; consulte de novo mais tarde.</p>\n",
                escape(&when(*allocated_at)),
                escape(station)
            ),
        ),
        Finding::Received(r) => {
            let station = match &r.station_name {
                Some(name) => format!("{} — {}", r.station, name),
                None => r.station.clone(),
            };
            let signature = match r.signature_verified {
                Some(true) => {
                    "Verificada pela central ao receber o laudo: assinatura CAdES \
                               válida sobre este laudo, feita com o e-CPF do vistoriador, \
                               com cadeia ICP-Brasil"
                }
                Some(false) => {
                    "O pacote não trouxe assinatura digital (vistoria interrompida \
                                sem laudo assinado)"
                }
                None => "Não registrada (laudo recebido antes de a central guardar este dado)",
            };
            let mut dl = String::new();
            dl.push_str(&row("Estação", &escape(&station)));
            dl.push_str(&row("Data da vistoria", &escape(&when(r.ended_at))));
            dl.push_str(&row("Recebido pela central", &escape(&when(r.received_at))));
            dl.push_str(&row("Resultado", &escape(&r.outcome)));
            dl.push_str(&row("Placa", &escape(&r.plate)));
            dl.push_str(&row(
                "SHA-256 do laudo assinado (.json)",
                &hash_or(r.laudo_sha256.as_deref(), "o pacote não trouxe laudo"),
            ));
            dl.push_str(&row(
                "SHA-256 da assinatura (.p7s)",
                &hash_or(r.p7s_sha256.as_deref(), "o pacote não trouxe assinatura"),
            ));
            dl.push_str(&row("Assinatura digital", &escape(signature)));
            (
                StatusCode::OK,
                "<p class=\"ok\">Laudo recebido e conferido pela central.</p>".to_owned(),
                format!(
                    "<dl>\n{dl}</dl>\n<p class=\"note\">Para conferir um laudo baixado: o \
                     SHA-256 do arquivo do laudo (.json) deve ser o de cima \
                     (<code>sha256sum laudo.json</code>), e a assinatura se confere sem a \
                     central com <code>openssl cms -verify -binary -inform DER -in \
                     laudo.p7s -content laudo.json -CAfile icp-brasil.pem -out /dev/null</code>, \
                     sendo <code>icp-brasil.pem</code> a raiz ICP-Brasil e as ACs intermediárias \
                     (repositório do ITI).</p>\n"
                ),
            )
        }
    };
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"pt-BR\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <title>Laudo nº {n} — verificação</title>\n<style>\n\
         body{{font-family:sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;color:#111}}\n\
         dt{{font-weight:bold;margin-top:.6rem}} dd{{margin:0}} code{{word-break:break-all}}\n\
         .ok{{color:#064}} .no{{color:#a00}} .wait{{color:#850}} .ok,.no,.wait{{font-size:1.2rem;font-weight:bold}}\n\
         .note{{font-size:.9rem;color:#444;margin-top:1.5rem}}\n\
         </style>\n</head>\n<body>\n<main>\n<h1>Laudo de vistoria nº {n}</h1>\n{verdict}\n{body}</main>\n</body>\n</html>\n"
    );
    (status, html)
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        // A pending number becomes a received laudo: never serve an old answer.
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Whether `text` can be a laudo number at all (not looked up otherwise).
fn plausible(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_NUMBER_LEN
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `GET /v/{number}`.
pub async fn page(State(state): State<Arc<AppState>>, Path(number): Path<String>) -> Response {
    let finding = if plausible(&number) {
        let meta = Arc::clone(&state.meta);
        let wanted = number.clone();
        let looked_up = blocking(move || {
            let allocation = meta.laudo_allocation(&AllocationOf::Number(wanted))?;
            let package = match &allocation {
                Some(a) => meta.package(&a.key())?,
                None => None,
            };
            Ok(finding(allocation, package))
        })
        .await;
        match looked_up {
            Ok(finding) => finding,
            Err(_) => {
                return html_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!DOCTYPE html>\n<html lang=\"pt-BR\"><head><meta charset=\"utf-8\">\
                     <title>Erro</title></head><body><p>A central não conseguiu consultar o \
                     laudo agora. Tente novamente em alguns minutos.</p></body></html>\n"
                        .to_owned(),
                );
            }
        }
    } else {
        Finding::Unknown
    };
    let (status, html) = render(&number, &finding);
    html_response(status, html)
}

/// The per-address request limit of the API, answered in HTML.
pub async fn limit(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>();
    if let Some(ConnectInfo(peer)) = peer
        && let Err(seconds) = state.take_address_token(peer)
    {
        tracing::warn!(%peer, "limite de requisições por endereço excedido na página de laudos");
        let mut response = html_response(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "<!DOCTYPE html>\n<html lang=\"pt-BR\"><head><meta charset=\"utf-8\">\
                 <title>Muitas consultas</title></head><body><p>Muitas consultas deste endereço. \
                 Tente novamente em {seconds} s.</p></body></html>\n"
            ),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    next.run(req).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plates_keep_their_first_and_last_two_characters() {
        assert_eq!(masked_plate("ABC1D23"), "A••••23");
        assert_eq!(masked_plate("ABC1234"), "A••••34");
        assert_eq!(masked_plate("AB"), "••");
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let (status, html) = render("<script>", &Finding::Unknown);
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        let received = Finding::Received(Box::new(Received {
            station: "ECV-01".into(),
            station_name: Some("<b>Vistoria</b>".into()),
            ended_at: Utc::now(),
            received_at: Utc::now(),
            outcome: "Conforme".into(),
            plate: masked_plate("ABC1D23"),
            laudo_sha256: Some("ab".repeat(32)),
            p7s_sha256: None,
            signature_verified: Some(true),
        }));
        let (status, html) = render("MT-2026-000001", &received);
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("ECV-01 — &lt;b&gt;Vistoria&lt;/b&gt;"),
            "{html}"
        );
        assert!(html.contains("o pacote não trouxe assinatura"));
    }

    #[test]
    fn only_plausible_numbers_are_looked_up() {
        assert!(plausible("MT-2026-000001"));
        assert!(!plausible(""));
        assert!(!plausible("MT 2026"));
        assert!(!plausible("../x"));
        assert!(!plausible(&"9".repeat(MAX_NUMBER_LEN + 1)));
    }
}
