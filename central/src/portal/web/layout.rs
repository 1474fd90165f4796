//! The look shared by every portal page: one HTML shell (header with the person and the logout
//! form, navigation, main) and one stylesheet, no script. Works from 1366×768 down to a
//! tablet held upright (the tables scroll sideways inside their box, nothing else does).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

pub use crate::api::verify::escape;

use super::Viewer;
use super::session::CSRF_FIELD;

/// Where the stylesheet is served.
pub const STYLE_PATH: &str = "/portal/estilo.css";

/// The stylesheet.
pub const STYLE: &str = r#"
:root { --azul: #0b3d6b; --cinza: #f3f5f8; --borda: #d5dbe3; --ok: #17663a; --erro: #a4161a;
        --alerta: #8a5a00; font-family: "DejaVu Sans", Arial, sans-serif; font-size: 15px; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--cinza); color: #1b1f24; }
header { background: var(--azul); color: #fff; display: flex; align-items: center;
         gap: 1.5rem; padding: .6rem 1.2rem; flex-wrap: wrap; }
header .marca { font-weight: bold; font-size: 1.1rem; }
header nav { display: flex; gap: 1rem; flex: 1; }
header a { color: #fff; text-decoration: none; padding: .3rem .1rem; }
header a.ativo { border-bottom: 2px solid #fff; }
header .pessoa { display: flex; align-items: center; gap: .8rem; }
header form { margin: 0; }
header button { background: transparent; color: #fff; border: 1px solid #fff; border-radius: 4px;
                padding: .3rem .7rem; cursor: pointer; }
main { padding: 1.2rem; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; color: var(--azul); }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; color: var(--azul); }
.caixa { background: #fff; border: 1px solid var(--borda); border-radius: 6px; padding: 1rem;
         margin-bottom: 1rem; overflow-x: auto; }
.cartoes { display: grid; grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr)); gap: 1rem;
           margin-bottom: 1rem; }
.cartao { background: #fff; border: 1px solid var(--borda); border-radius: 6px; padding: .8rem 1rem; }
.cartao .numero { font-size: 1.8rem; font-weight: bold; color: var(--azul); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--borda);
         vertical-align: top; }
th { background: #e8edf3; font-weight: 600; white-space: nowrap; }
td.hash { font-family: "DejaVu Sans Mono", monospace; font-size: .8rem; word-break: break-all; }
dl.dados { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1.2rem; margin: 0; }
dl.dados dt { font-weight: 600; color: #44505c; }
dl.dados dd { margin: 0; }
form.pesquisa { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
                gap: .7rem 1rem; align-items: end; }
label { display: flex; flex-direction: column; gap: .25rem; font-weight: 600; color: #44505c; }
input, select { font: inherit; padding: .45rem .5rem; border: 1px solid #aab4c0; border-radius: 4px;
                background: #fff; }
button.principal, a.botao { background: var(--azul); color: #fff; border: 0; border-radius: 4px;
                 padding: .55rem 1rem; font: inherit; cursor: pointer; text-decoration: none;
                 display: inline-block; text-align: center; }
a.botao.secundario { background: #fff; color: var(--azul); border: 1px solid var(--azul); }
.selo { display: inline-block; padding: .1rem .5rem; border-radius: 999px; font-size: .85rem;
        font-weight: 600; white-space: nowrap; }
.selo.ok { background: #dff3e6; color: var(--ok); }
.selo.erro { background: #fbe3e4; color: var(--erro); }
.selo.alerta { background: #fdf0d5; color: var(--alerta); }
.selo.neutro { background: #e8edf3; color: #44505c; }
.aviso { border-left: 4px solid var(--erro); background: #fbe3e4; padding: .7rem 1rem;
         margin-bottom: 1rem; border-radius: 4px; }
.nota { color: #5b6673; font-size: .9rem; }
.fotos { display: grid; grid-template-columns: 1fr; gap: 1.2rem; }
figure { margin: 0; background: #fff; border: 1px solid var(--borda); border-radius: 6px;
         padding: .8rem; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto .6rem; }
figure.erro { border: 2px solid var(--erro); }
figcaption { display: grid; gap: .3rem; }
.paginas { display: flex; gap: .8rem; margin-top: .8rem; align-items: center; }
.entrada { max-width: 26rem; margin: 4rem auto; background: #fff; border: 1px solid var(--borda);
           border-radius: 8px; padding: 1.6rem 1.8rem; }
.entrada form { display: grid; gap: 1rem; }
.entrada h1 { margin-top: 0; }
#filme { display: block; width: 100%; max-height: 60vh; background: #000; border-radius: 4px; }
figure.linha-tempo { padding: .4rem .6rem; margin: .8rem 0; }
figure.linha-tempo svg { display: block; width: 100%; height: 3.2rem; background: #eef1f5; }
.tl-video { fill: #3b6ea5; cursor: pointer; } .tl-lacuna { fill: var(--erro); }
.tl-presente { fill: #3e9a5c; } .tl-vazio { fill: #a9b2bd; }
.tl-foto { fill: #e0a800; cursor: pointer; }
#segmentos, #momentos, table#lacunas { margin-top: .8rem; }
@media (max-width: 820px) {
  main { padding: .7rem; }
  dl.dados { grid-template-columns: 1fr; }
  header nav { order: 3; flex-basis: 100%; }
}
"#;

/// A navigation entry: (path, label).
pub const NAV: &[(&str, &str)] = &[
    ("/portal/", "Visão geral"),
    ("/portal/pesquisa", "Pesquisa"),
    ("/portal/relatorios", "Relatórios"),
    ("/portal/ao-vivo", "Ao vivo"),
    ("/portal/chamados/", "Chamados"),
];

/// A full page. `active` is the path of the navigation entry to mark.
pub fn page(title: &str, viewer: Option<&Viewer>, active: &str, body: &str) -> String {
    let header = match viewer {
        Some(viewer) => {
            let nav: String = NAV
                .iter()
                .filter(|(path, _)| {
                    crate::portal::console::access::in_nav(&viewer.account.role, path)
                })
                .map(|(path, label)| {
                    let class = if *path == active {
                        " class=\"ativo\""
                    } else {
                        ""
                    };
                    format!("<a href=\"{path}\"{class}>{}</a>", escape(label))
                })
                .collect();
            format!(
                "<nav>{nav}</nav><div class=\"pessoa\"><span>{} · {}</span>\
                 <form method=\"post\" action=\"/portal/sair\">{}\
                 <button type=\"submit\">Sair</button></form></div>",
                escape(&viewer.account.name),
                escape(&viewer.account.role.label_pt()),
                csrf_input(viewer)
            )
        }
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"pt-BR\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Portal Vistoria</title>\
         <link rel=\"stylesheet\" href=\"{STYLE_PATH}\"></head>\
         <body><header><span class=\"marca\">Portal Vistoria · Detran-MT</span>{header}</header>\
         <main>{body}</main></body></html>",
        escape(title)
    )
}

/// The hidden field every form of a session carries.
pub fn csrf_input(viewer: &Viewer) -> String {
    format!(
        "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
        escape(&viewer.session.csrf_token)
    )
}

/// An HTML response that no cache keeps (pages show personal data).
pub fn html(status: StatusCode, text: String) -> Response {
    let mut response = (status, text).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A page saying what went wrong and what to do.
pub fn problem(status: StatusCode, viewer: Option<&Viewer>, title: &str, advice: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><div class=\"caixa\"><p>{}</p><p><a class=\"botao\" href=\"/portal/\">\
         Voltar à visão geral</a></p></div>",
        escape(title),
        escape(advice)
    );
    html(status, page(title, viewer, "", &body))
}

/// A time as Mato Grosso's clock shows it (the stations' and the laudo's time).
pub fn when(t: DateTime<Utc>) -> String {
    vistoria_core::clock::station_time(t)
}

/// A badge: `class` is `ok`, `erro`, `alerta` or `neutro`.
pub fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"selo {class}\">{}</span>", escape(text))
}
