//! The help desk's console (issue 23) against a real central: the central's own router and
//! listener with TLS, run in this process so that a real help desk (SQLite, and the GLPI
//! stand-in, down and then back) can be attached to its state, as `serve --helpdesk` does.
//!
//! In headless Chromium (one test, so `chromedriver` starts once): a Detran auditor gets 403
//! at the console and a technician 403 at the inspection pages; a technician sees a kiosk's
//! ticket in the queue, takes it, replies with a photo (shown inline, served as image/jpeg),
//! sees the requester's answer arrive without reloading (auto-refresh), sees GLPI down with its
//! error and then the GLPI number, and solves the ticket; forms without the session's CSRF token
//! (plain and multipart) are refused; a technician cannot take another's ticket, an
//! administrator can; the administrator creates, locks and unlocks an account. Then five
//! technicians at once, each with their own HTTP session and CSRF token, take and answer five
//! tickets with a file: every reply stored exactly once.
//!
//! With `PORTAL_SCREENSHOTS=DIR` the console's pages are saved there (1366×768):
//! `PORTAL_SCREENSHOTS=$PWD/docs/portal cargo test -p vistoria-central --test console_browser`.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "console_browser/concurrent.rs"]
mod concurrent;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::browser::{
    Driver, click_and_wait, fetch, fill, loaded_images, log_in, log_out, retype, screenshot, text,
    type_into, wait_for_url,
};
use fantoccini::Locator;
use serde_json::json;
use vistoria_central::api::{self, AppState, Limits};
use vistoria_central::keys::ServerKey;
use vistoria_central::registry::Registry;
use vistoria_central::server::{StorageFlags, open_storage};
use vistoria_central::storage::portal::PortalRole;
use vistoria_central::tls::TlsIdentity;
use vistoria_central::trust::{Trust, TrustOptions};
use vistoria_helpdesk::config::{GlpiSettings, HelpdeskConfig, SyncSettings};
use vistoria_helpdesk::model::{Channel, ContactInput, NewAttachment, TicketId};
use vistoria_helpdesk::service::{Helpdesk, OpenRequest, Role, Staff};
use vistoria_helpdesk::standin::glpi::GlpiStandin;
use vistoria_helpdesk::store::sqlite::SqliteHelpdesk;
use vistoria_helpdesk::worker::Workers;

const PASSWORD: &str = "frase longa do suporte 2026";
const AUDITOR: &str = "auditor@detran.mt.gov.br";
const ADMIN: &str = "admin@empresa.com.br";
const APP_TOKEN: &str = "f7g3csp8mgatg5ebc5elnazakw20i9fyev1qopya7";
const USER_TOKEN: &str = "q56hqkniwot8wntb3z1qarka5atf365taaa2uyjrn";

fn technician(n: usize) -> String {
    format!("tecnico{n}@empresa.com.br")
}

/// The central in this process, with a help desk attached.
struct Central {
    url: String,
    pin: String,
    state: Arc<AppState>,
    helpdesk: Arc<Helpdesk>,
    _dir: tempfile::TempDir,
}

async fn start(glpi_url: String) -> Central {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let (meta, blobs) = open_storage(&data, &StorageFlags::default()).unwrap();
    let key = ServerKey::load_or_create(&data.join("keys")).unwrap();
    let registry = Registry::load(None).unwrap();
    std::fs::create_dir_all(data.join("roots")).unwrap();
    let trust = Trust::new(TrustOptions::new(&data.join("roots")), &data.join("lcr"));
    let state =
        AppState::with_data_folder(meta, blobs, registry, key, Limits::default(), trust, &data);
    let config = HelpdeskConfig {
        glpi: Some(GlpiSettings {
            url: glpi_url,
            app_token: Some(APP_TOKEN.into()),
            user_token: USER_TOKEN.into(),
            default_requester_id: Some(2),
            locations: BTreeMap::new(),
            timeout_seconds: 2,
        }),
        sync: SyncSettings {
            poll_seconds: 0,
            retry_base_seconds: 0,
            retry_max_seconds: 0,
        },
        ..HelpdeskConfig::default()
    };
    let store = SqliteHelpdesk::open(&data.join("helpdesk.sqlite")).unwrap();
    let helpdesk = Arc::new(Helpdesk::new(Arc::new(store), config));
    assert!(state.attach_helpdesk(Arc::clone(&helpdesk)).is_ok());

    let accounts: Vec<(String, PortalRole)> = (1..=5)
        .map(|n| (technician(n), PortalRole::Tecnico))
        .chain([
            (ADMIN.to_owned(), PortalRole::Admin),
            (AUDITOR.to_owned(), PortalRole::Detran),
        ])
        .collect();
    for (name, role) in accounts {
        vistoria_central::users::set_password(state.meta.as_ref(), &name, &role, PASSWORD).unwrap();
    }

    let identity = TlsIdentity::load_or_create(&data.join("tls")).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(identity.server_config().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(vistoria_central::listener::run(
        listener,
        Some(acceptor),
        api::router(Arc::clone(&state)),
        Limits::default(),
        state.stopping(),
    ));
    Central {
        url,
        pin: identity.fingerprint(),
        state,
        helpdesk,
        _dir: dir,
    }
}

/// A kiosk's ticket from a person at `station`.
fn kiosk_ticket(helpdesk: &Helpdesk, name: &str, station: &str, description: &str) -> TicketId {
    let contact = helpdesk
        .add_contact(&ContactInput {
            name: name.into(),
            email: Some(format!(
                "{}@ecv.com.br",
                name.to_lowercase().replace(' ', ".")
            )),
            phone: None,
            station: Some(station.into()),
            glpi_user_id: None,
        })
        .unwrap();
    helpdesk
        .open_ticket(OpenRequest {
            channel: Channel::Kiosk,
            contact_id: contact.id,
            station: None,
            category: "equipamento".into(),
            title: None,
            description: description.into(),
            attachments: Vec::new(),
        })
        .unwrap()
        .id
}

/// A real JPEG the browser must decode.
fn jpeg(seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 256) as u8 ^ seed, (y % 256) as u8, seed])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&image)
        .unwrap();
    out
}

/// The value of the first `name="csrf"` field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

#[test]
fn the_console_in_a_real_browser_and_five_technicians_at_once() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let glpi = runtime
        .block_on(GlpiStandin::start(Some(APP_TOKEN), USER_TOKEN))
        .unwrap();
    // GLPI is down from the start: tickets live in our store and the console says so.
    runtime.block_on(glpi.go_down());
    let central = runtime.block_on(start(glpi.url()));
    let workers = Workers::from_config(&central.helpdesk).unwrap();
    let hd = Arc::clone(&central.helpdesk);

    let printer = kiosk_ticket(
        &hd,
        "Joana Prado",
        "ECV-01",
        "A impressora do laudo não puxa o papel desde a manhã.",
    );
    let other = kiosk_ticket(
        &hd,
        "Rui Campos",
        "ECV-02",
        "O leitor biométrico não acende.",
    );
    // The second ticket is technician 2's.
    let staff = |n: usize| Staff {
        login: technician(n),
        name: technician(n),
        role: Role::Technician,
    };
    hd.assign(&staff(2), other, &technician(2)).unwrap();
    runtime.block_on(workers.run_once()).unwrap();

    let driver = Driver::start();
    let base = central.url.clone();
    runtime.block_on(async {
        let client = driver.browser().await;

        // An auditor has no place in the console: 403, on the server.
        log_in(&client, &base, AUDITOR, PASSWORD).await;
        let (status, _, body) = fetch(&client, "/portal/chamados/", json!({})).await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body.contains("Acesso restrito à equipe de suporte"),
            "{body}"
        );
        let (status, _, _) = fetch(
            &client,
            &format!("/portal/chamados/{}", printer.0),
            json!({}),
        )
        .await;
        assert_eq!(status, 403);
        assert!(!text(&client, "header nav").await.contains("Chamados"));
        log_out(&client).await;

        // A technician: the overview leads to the console; inspection pages are refused.
        log_in(&client, &base, &technician(1), PASSWORD).await;
        wait_for_url(&client, "/portal/chamados/").await;
        let (status, _, _) = fetch(&client, "/portal/pesquisa", json!({})).await;
        assert_eq!(status, 403);
        let nav = text(&client, "header nav").await;
        assert!(
            nav.contains("Chamados") && !nav.contains("Pesquisa"),
            "{nav}"
        );
        let waiting = text(&client, "#novos").await;
        assert!(waiting.contains(&printer.reference()), "{waiting}");
        assert!(waiting.contains("Joana Prado"), "{waiting}");
        assert!(
            text(&client, "#andamento")
                .await
                .contains(&other.reference())
        );
        screenshot(&client, "console-fila").await;

        // Open it, take it.
        click_and_wait(&client, &format!("tr[data-chamado='{}'] a", printer.0)).await;
        wait_for_url(&client, &format!("/portal/chamados/{}", printer.0)).await;
        assert!(text(&client, "#glpi").await.contains("GLPI indisponível"));
        click_and_wait(&client, "#assumir").await;
        assert_eq!(
            text(&client, "#tecnico-atual").await,
            technician(1),
            "assumido"
        );

        // Reply with a photo: stored, shown inline, served as image/jpeg.
        let photos = tempfile::tempdir().unwrap();
        let photo = photos.path().join("alavanca-da-impressora.jpg");
        std::fs::write(&photo, jpeg(7)).unwrap();
        type_into(
            &client,
            "texto",
            "Veja na foto onde fica a alavanca de tração do papel.",
        )
        .await;
        type_into(&client, "arquivo", photo.to_str().unwrap()).await;
        click_and_wait(&client, "#responder").await;
        let conversation = text(&client, "#conversa").await;
        assert!(
            conversation.contains("alavanca de tração"),
            "{conversation}"
        );
        let images = loaded_images(&client).await;
        assert_eq!(images.len(), 1, "{images:?}");
        assert_eq!(images[0].1, 320, "a foto não carregou: {images:?}");
        let (status, kind, _) = fetch(&client, &images[0].0, json!({})).await;
        assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
        let view = hd.ticket_view(printer).unwrap();
        assert_eq!(view.attachments.len(), 1);
        assert_eq!(
            hd.store().attachment_bytes(view.attachments[0].id).unwrap(),
            Some(jpeg(7))
        );

        // The requester answers from the kiosk: the open page shows it by itself.
        hd.requester_message(
            printer,
            "Funcionou, obrigada! Vou testar mais um laudo.",
            Vec::new(),
        )
        .unwrap();
        let mut seen = false;
        for _ in 0..100 {
            if text(&client, "#conversa")
                .await
                .contains("Vou testar mais um laudo")
            {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            seen,
            "a resposta do solicitante não apareceu sem recarregar"
        );

        // GLPI's state: its error while down; its number once back.
        workers.run_once().await.unwrap();
        for _ in 0..100 {
            if text(&client, "#glpi").await.contains("último erro") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(text(&client, "#glpi").await.contains("último erro"));
        screenshot(&client, "console-chamado").await;
        glpi.come_back().await.unwrap();
        for _ in 0..5 {
            workers.run_once().await.unwrap();
        }
        let glpi_id = hd.ticket_view(printer).unwrap().ticket.glpi_id.unwrap();
        client
            .goto(&format!("{base}/portal/chamados/{}", printer.0))
            .await
            .unwrap();
        assert!(
            text(&client, "#glpi")
                .await
                .contains(&format!("nº {glpi_id}")),
            "{}",
            text(&client, "#glpi").await
        );

        // Forms without the session's token are refused, plain and multipart.
        let (status, _, body) = fetch(
            &client,
            &format!("/portal/chamados/{}/fechar", printer.0),
            json!({"method": "POST", "body": "",
                   "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("Formulário recusado"));
        let forged = "const done = arguments[arguments.length - 1];
            const form = new FormData(); form.append('texto', 'forjado');
            fetch(arguments[0], {method: 'POST', body: form}).then(r => done(r.status));";
        let status = client
            .execute_async(
                forged,
                vec![json!(format!("/portal/chamados/{}/responder", printer.0))],
            )
            .await
            .unwrap();
        assert_eq!(status, 403);
        assert!(
            !hd.ticket_view(printer)
                .unwrap()
                .messages
                .iter()
                .any(|m| m.text == "forjado")
        );

        // Solve: the requester's feedback is asked.
        type_into(
            &client,
            "solucao",
            "Alavanca de tração recolocada; impressão normal.",
        )
        .await;
        click_and_wait(&client, "#solucionar").await;
        let state = client
            .find(Locator::Id("situacao"))
            .await
            .unwrap()
            .attr("data-estado")
            .await
            .unwrap();
        assert_eq!(state.as_deref(), Some("solved"));

        // A technician cannot take another's ticket, even by a hand-made POST.
        client
            .goto(&format!("{base}/portal/chamados/{}", other.0))
            .await
            .unwrap();
        let button = client.find(Locator::Id("assumir")).await.unwrap();
        assert!(button.attr("disabled").await.unwrap().is_some());
        let csrf = client
            .find(Locator::Css("input[name='csrf']"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        let (status, _, body) = fetch(
            &client,
            &format!("/portal/chamados/{}/assumir", other.0),
            json!({"method": "POST", "body": format!("csrf={csrf}"),
                   "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        )
        .await;
        assert_eq!(status, 409, "{body}");
        assert!(
            body.contains("só um administrador pode assumi-lo"),
            "{body}"
        );
        assert_eq!(
            hd.ticket_view(other).unwrap().ticket.technician,
            Some(technician(2))
        );
        // Nor edit the messages, which are an administrator's.
        let (status, _, _) = fetch(&client, "/portal/chamados/mensagens", json!({})).await;
        assert_eq!(status, 403);
        // Nor the menu of ticket types.
        let (status, _, body) = fetch(&client, "/portal/chamados/tipos", json!({})).await;
        assert_eq!(status, 403, "{body}");
        log_out(&client).await;

        // The administrator takes it over.
        log_in(&client, &base, ADMIN, PASSWORD).await;
        client
            .goto(&format!("{base}/portal/chamados/{}", other.0))
            .await
            .unwrap();
        assert!(text(&client, "#assumir").await.contains("tirar de"));
        click_and_wait(&client, "#assumir").await;
        assert_eq!(text(&client, "#tecnico-atual").await, ADMIN);
        assert_eq!(
            hd.ticket_view(other).unwrap().ticket.technician.as_deref(),
            Some(ADMIN)
        );

        // Files from outside: audio plays inline, a page is only ever a download.
        hd.requester_message(
            other,
            "Mandei um áudio e a página de erro.",
            vec![
                NewAttachment {
                    filename: "nota.ogg".into(),
                    mime: "audio/ogg".into(),
                    bytes: Some(b"OggS\0not really audio".to_vec()),
                    wa_media_id: None,
                },
                NewAttachment {
                    filename: "erro.html".into(),
                    mime: "text/html".into(),
                    bytes: Some(b"<script>alert(1)</script>".to_vec()),
                    wa_media_id: None,
                },
            ],
        )
        .unwrap();
        client
            .goto(&format!("{base}/portal/chamados/{}", other.0))
            .await
            .unwrap();
        let audio = client
            .find(Locator::Css("#conversa audio"))
            .await
            .unwrap()
            .attr("src")
            .await
            .unwrap()
            .unwrap();
        let (status, kind, _) = fetch(&client, &audio, json!({})).await;
        assert_eq!((status, kind.as_str()), (200, "audio/ogg"));
        let page = client
            .find(Locator::Css("div[data-tipo='text/html'] a"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let (status, kind, _) = fetch(&client, &page, json!({})).await;
        assert_eq!((status, kind.as_str()), (200, "application/octet-stream"));

        // The administrator edits the confirmation message, adds a caller to the contacts,
        // opens a ticket on their behalf (web channel), gives it to a technician, closes it,
        // and removes the contact: the ticket stays archived with its conversation.
        client
            .goto(&format!("{base}/portal/chamados/mensagens"))
            .await
            .unwrap();
        let area = client.find(Locator::Id("texto-confirmacao")).await.unwrap();
        area.clear().await.unwrap();
        area.send_keys("Chamado {chamado} registrado pelo suporte por telefone.")
            .await
            .unwrap();
        click_and_wait(&client, "#salvar-confirmacao").await;
        assert_eq!(
            hd.texts().unwrap().get("confirmacao"),
            "Chamado {chamado} registrado pelo suporte por telefone."
        );

        // The administrator adds a ticket type: a wrong urgency is refused in Portuguese with
        // what was typed kept; corrected, the type is in the console's open-ticket form.
        client
            .goto(&format!("{base}/portal/chamados/tipos"))
            .await
            .unwrap();
        fill(
            &client,
            &[
                ("chave-novo", "balanca"),
                ("titulo-novo", "Balança de frenagem"),
                ("glpi-novo", "31"),
            ],
        )
        .await;
        retype(&client, "urgencia-novo", "9").await;
        click_and_wait(&client, "#adicionar").await;
        let alert = text(&client, "[role='alert']").await;
        assert!(
            alert.contains("Tipo 'balanca', urgência: de 1 a 5"),
            "{alert}"
        );
        let kept = client
            .find(Locator::Id("titulo-novo"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some("Balança de frenagem"));
        retype(&client, "urgencia-novo", "5").await;
        click_and_wait(&client, "#adicionar").await;
        let added = hd.category("balanca").unwrap().unwrap();
        assert_eq!(
            (added.title.as_str(), added.urgency, added.glpi_category_id),
            ("Balança de frenagem", 5, Some(31))
        );
        client
            .goto(&format!("{base}/portal/chamados/novo"))
            .await
            .unwrap();
        let option = text(&client, "#categoria option[value='balanca']").await;
        assert_eq!(option, "Balança de frenagem");
        client
            .goto(&format!("{base}/portal/chamados/contatos"))
            .await
            .unwrap();
        fill(
            &client,
            &[
                ("novo-nome", "Carla Telefone"),
                ("novo-telefone", "+55 (65) 99999-0001"),
                ("novo-estacao", "ecv-03"),
            ],
        )
        .await;
        click_and_wait(&client, "#adicionar").await;
        let carla = hd
            .contacts()
            .unwrap()
            .into_iter()
            .find(|c| c.name == "Carla Telefone")
            .unwrap();
        assert_eq!(carla.phone.as_deref(), Some("5565999990001"));
        assert_eq!(carla.station.as_deref(), Some("ECV-03"));
        client
            .goto(&format!("{base}/portal/chamados/novo"))
            .await
            .unwrap();
        client
            .find(Locator::Id("contato"))
            .await
            .unwrap()
            .select_by_value(&carla.id.0.to_string())
            .await
            .unwrap();
        type_into(&client, "descricao", "Sem internet na estação desde cedo.").await;
        click_and_wait(&client, "#abrir").await;
        let url = wait_for_url(&client, "/portal/chamados/").await;
        let phoned = TicketId(url.rsplit('/').next().unwrap().parse().unwrap());
        let view = hd.ticket_view(phoned).unwrap();
        assert_eq!(view.ticket.channel, Channel::Web);
        assert_eq!(view.ticket.station.as_deref(), Some("ECV-03"));
        assert!(
            view.outbound[0]
                .body
                .display_text()
                .contains("registrado pelo suporte por telefone"),
            "{:?}",
            view.outbound
        );
        client
            .find(Locator::Id("para"))
            .await
            .unwrap()
            .select_by_value(&technician(3))
            .await
            .unwrap();
        click_and_wait(&client, "#atribuir").await;
        assert_eq!(text(&client, "#tecnico-atual").await, technician(3));
        click_and_wait(&client, "#fechar").await;
        assert_eq!(
            client
                .find(Locator::Id("situacao"))
                .await
                .unwrap()
                .attr("data-estado")
                .await
                .unwrap()
                .as_deref(),
            Some("closed")
        );
        assert!(client.find(Locator::Id("arquivado")).await.is_ok());
        client
            .goto(&format!("{base}/portal/chamados/contatos"))
            .await
            .unwrap();
        click_and_wait(&client, &format!("#excluir-{}", carla.id.0)).await;
        assert!(hd.contacts().unwrap().iter().all(|c| c.id != carla.id));
        client
            .goto(&format!("{base}/portal/chamados/{}", phoned.0))
            .await
            .unwrap();
        assert!(text(&client, "#conversa").await.contains("Sem internet"));

        // The stages report.
        client
            .goto(&format!("{base}/portal/chamados/relatorio"))
            .await
            .unwrap();
        let by_station = text(&client, "#por-estacao").await;
        assert!(
            by_station.contains("ECV-01") && by_station.contains("ECV-02"),
            "{by_station}"
        );
        assert!(text(&client, "#por-tecnico").await.contains(&technician(1)));
        screenshot(&client, "console-relatorio").await;

        // Accounts: create a technician, lock and unlock it.
        client
            .goto(&format!("{base}/portal/admin/usuarios"))
            .await
            .unwrap();
        type_into(&client, "novo-usuario", "novo.tecnico@empresa.com.br").await;
        type_into(&client, "nova-senha", PASSWORD).await;
        click_and_wait(&client, "#criar").await;
        let stored = central
            .state
            .meta
            .portal_account("novo.tecnico@empresa.com.br")
            .unwrap()
            .unwrap();
        assert_eq!(stored.role, PortalRole::Tecnico);
        let row = text(&client, "tr[data-usuario='novo.tecnico@empresa.com.br']").await;
        assert!(
            row.contains("Técnico do suporte") && row.contains("ativa"),
            "{row}"
        );
        click_and_wait(
            &client,
            "button[data-bloquear='novo.tecnico@empresa.com.br']",
        )
        .await;
        assert!(
            text(&client, "tr[data-usuario='novo.tecnico@empresa.com.br']")
                .await
                .contains("bloqueada")
        );
        click_and_wait(
            &client,
            "button[data-desbloquear='novo.tecnico@empresa.com.br']",
        )
        .await;
        assert!(
            text(&client, "tr[data-usuario='novo.tecnico@empresa.com.br']")
                .await
                .contains("ativa")
        );
        // A name already taken is refused with the reason.
        type_into(&client, "novo-usuario", &technician(1)).await;
        type_into(&client, "nova-senha", PASSWORD).await;
        click_and_wait(&client, "#criar").await;
        assert!(
            text(&client, ".aviso")
                .await
                .contains("Já existe uma conta")
        );
        log_out(&client).await;
        client.close().await.unwrap();
    });

    concurrent::five_technicians_at_once(&central);
}
