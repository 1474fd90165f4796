//! Keeps open console tabs current (several conversations in several tabs at once): a few lines
//! of script, served from here (the portal's CSP runs no inline script), fetch the page again
//! every few seconds and replace only the parts marked `data-atualiza` — a reply being typed
//! and the files chosen stay where they are, which a `<meta http-equiv=refresh>` would lose.
//! Without script the pages work the same; they just need a reload.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Where the script is served.
pub const PATH: &str = "/portal/chamados/atualiza.js";

/// Seconds between refreshes.
pub const SECONDS: u32 = 4;

const SCRIPT: &str = r#""use strict";
(function () {
  const parts = Array.from(document.querySelectorAll("[data-atualiza]"));
  if (parts.length === 0) { return; }
  async function tick() {
    try {
      const answer = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
      if (answer.ok && answer.redirected === false) {
        const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
        for (const part of parts) {
          const now = fresh.getElementById(part.id);
          if (now !== null && now.innerHTML !== part.innerHTML) {
            part.innerHTML = now.innerHTML;
            document.body.dataset.atualizadoEm = String(Date.now());
          }
        }
      }
    } catch (e) {
      // Offline for a moment: the next tick tries again.
    }
    setTimeout(tick, SECONDS * 1000);
  }
  setTimeout(tick, SECONDS * 1000);
})();
"#;

/// `GET /portal/chamados/atualiza.js`.
pub async fn script() -> Response {
    let text = SCRIPT.replace("SECONDS", &SECONDS.to_string());
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=600"),
        ],
        text,
    )
        .into_response()
}
