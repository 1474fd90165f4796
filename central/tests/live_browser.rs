//! The live view (§7) in a real browser: Debian's headless Chromium through `chromedriver`
//! against a real `vistoria-central serve` (the harness of `portal_browser.rs`), with a station
//! sending frames through the real API (`POST /stations/self/live/frames`, its token) at 3 fps:
//!
//! - an auditor sees the live grid with the station "ao vivo" and its picture changing (two
//!   screenshots of the `<img>` a second and a half apart differ), another station "fora do
//!   expediente"; the station page with its details, camera and the inspection delivered (a link
//!   to its page); the view in the access log;
//! - the frames stop: the grid says "sem sinal desde HH:MM";
//! - a manager of another station sees only their own tile, and the first station's page, its
//!   picture stream and its newest frame answer "not found".
//!
//! With `PORTAL_SCREENSHOTS=DIR` the grid and the station page are saved there as `live.png` and
//! `estacao.png` (1366×768):
//! `PORTAL_SCREENSHOTS=$PWD/docs/portal cargo test -p vistoria-central --test live_browser`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{Datelike, Utc};
use common::browser::{Driver, click_and_wait, log_in, screenshot_dirs, set_password, text};
use common::evidence::{Delivery, INSPECTOR_CPF, SoftSigner, pki_tools_missing};
use common::{Server, add_station, run, vehicle_with};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use uuid::Uuid;
use vistoria_central::storage::live::DAY_NAMES;
use vistoria_central::storage::portal::PortalStore;
use vistoria_central::storage::sqlite::SqliteMetadata;

const AUDITOR: &str = "auditora.lima@detran.mt.gov.br";
const AUDITOR_PASSWORD: &str = "frase longa da auditora 2026";
const MANAGER: &str = "gestor@ecv02.com.br";
const MANAGER_PASSWORD: &str = "frase longa do gestor 2026";

fn hours(data: &Path, code: &str, days: &str) {
    run(&[
        "station",
        "hours",
        code,
        "--days",
        days,
        "--periods",
        "00:00-24:00",
        "--data",
        data.to_str().unwrap(),
    ]);
}

/// Frame `n`: a bay-like picture with a bright bar that moves with `n`.
fn frame(n: u32) -> Vec<u8> {
    let bar = (n * 37) % 480;
    let image = image::RgbImage::from_fn(480, 270, |x, y| {
        if x.abs_diff(bar) < 24 {
            image::Rgb([230, 200, 40])
        } else if (120..360).contains(&x) && (60..220).contains(&y) {
            image::Rgb([130, 30, 30])
        } else {
            image::Rgb([70, 110, 140])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 60)
        .encode_image(&image)
        .unwrap();
    out
}

/// Sends frames as station ECV-01 at 3 fps until `stop`.
fn feed(server: &Server, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u32> {
    let (client, url, token) = (
        server.client.clone(),
        server.api("/stations/self/live/frames"),
        server.token.clone(),
    );
    std::thread::spawn(move || {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let response = client
                .post(&url)
                .query(&[("captured_at", Utc::now().timestamp_millis())])
                .bearer_auth(&token)
                .header("Content-Type", "image/jpeg")
                .body(frame(n))
                .send()
                .unwrap();
            assert_eq!(response.status(), 200);
            let answer: Value = response.json().unwrap();
            assert_eq!(answer["stream"], true, "{answer}");
            n += 1;
            std::thread::sleep(Duration::from_millis(333));
        }
        n
    })
}

/// The HTTP status of a same-origin GET made by the page (with its cookies).
async fn status_of(client: &Client, path: &str) -> u64 {
    let script = "const done = arguments[arguments.length - 1];
        const c = new AbortController();
        fetch(arguments[0], {signal: c.signal}).then(r => { done(r.status); c.abort(); },
          e => done(0));";
    client
        .execute_async(script, vec![json!(path)])
        .await
        .unwrap()
        .as_u64()
        .unwrap()
}

/// A screenshot of the live picture of `code`, once it has decoded a frame.
async fn picture(client: &Client, code: &str) -> Vec<u8> {
    let css = format!("figure[data-estacao=\"{code}\"] img");
    for _ in 0..100 {
        let width = client
            .execute(
                "const i = document.querySelector(arguments[0]); return i ? i.naturalWidth : 0;",
                vec![json!(css)],
            )
            .await
            .unwrap();
        if width.as_u64() == Some(480) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client
        .find(Locator::Css(&css))
        .await
        .unwrap()
        .screenshot()
        .await
        .unwrap()
}

#[test]
fn the_live_view_in_a_real_browser() {
    if pki_tools_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut signer = SoftSigner::make(INSPECTOR_CPF, &dir.path().join("pki"));
    let server = signer.trusting_server();
    let data = server.data.clone();
    add_station(&data, "ECV-02");
    // ECV-01 open all week, all day; ECV-02 open only tomorrow (Cuiabá's day): closed now.
    hours(&data, "ECV-01", "seg-dom");
    let today = (Utc::now() - chrono::Duration::hours(4))
        .weekday()
        .num_days_from_monday() as usize;
    hours(&data, "ECV-02", DAY_NAMES[(today + 1) % 7]);
    set_password(&data, AUDITOR, "detran", None, AUDITOR_PASSWORD);
    set_password(&data, MANAGER, "gestor", Some("ECV-02"), MANAGER_PASSWORD);
    // One inspection delivered, for the station page's list.
    let car = vehicle_with(|v| v["class"] == "passenger_car");
    let query = server.query_vehicle(&car);
    let mut delivery = Delivery::concluded(&query, &car, "ECV-01");
    let files = delivery.files(&mut signer);
    let response = server.deliver(&delivery.manifest, &files);
    assert_eq!(response.status(), 200, "{:?}", response.text());
    let inspection = delivery.manifest.inspection_id.as_uuid().to_string();
    let plate = car["plate"].as_str().unwrap().to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(&server, Arc::clone(&stop));
    let base = server.url.clone();
    let driver = Driver::start();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = driver.browser().await;
        log_in(&client, &base, AUDITOR, AUDITOR_PASSWORD).await;
        click_and_wait(&client, "header nav a[href=\"/portal/ao-vivo\"]").await;
        assert_eq!(text(&client, "h1").await, "Câmeras ao vivo");
        let state = |code: &str| format!("figure[data-estacao=\"{code}\"] .estado-ao-vivo");
        assert_eq!(text(&client, &state("ECV-01")).await, "ao vivo");
        assert_eq!(text(&client, &state("ECV-02")).await, "fora do expediente");

        // The picture changes as frames come.
        let first = picture(&client, "ECV-01").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let second = picture(&client, "ECV-01").await;
        assert_ne!(first, second, "a imagem ao vivo não mudou");
        let shot = image::load_from_memory(&second).unwrap().to_rgb8();
        let colours: std::collections::HashSet<[u8; 3]> =
            shot.pixels().step_by(7).map(|p| p.0).collect();
        assert!(colours.len() > 3, "imagem sem conteúdo");
        let png = client.screenshot().await.unwrap();
        for dir in screenshot_dirs() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("live.png"), &png).unwrap();
        }

        // The station page: details, hours, the camera.
        click_and_wait(&client, "figure[data-estacao=\"ECV-01\"] figcaption a").await;
        assert_eq!(text(&client, "h1").await, "Estação ECV-01");
        let details = text(&client, "#dados-estacao").await;
        assert!(
            details.contains("seg,ter,qua,qui,sex,sab,dom 00:00-24:00"),
            "{details}"
        );
        assert!(details.contains("credenciada"), "{details}");
        assert!(text(&client, "#recentes").await.contains(&plate));
        let link = format!("#recentes a[href=\"/portal/vistorias/ECV-01/{inspection}\"]");
        assert!(client.find(Locator::Css(&link)).await.is_ok(), "{link}");
        assert_eq!(text(&client, &state("ECV-01")).await, "ao vivo");
        assert!(!picture(&client, "ECV-01").await.is_empty());
        let png = client.screenshot().await.unwrap();
        for dir in screenshot_dirs() {
            std::fs::write(dir.join("estacao.png"), &png).unwrap();
        }

        // The frames stop: the grid says since when.
        stop.store(true, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(11)).await;
        client
            .goto(&format!("{base}/portal/ao-vivo"))
            .await
            .unwrap();
        let lost = text(&client, &state("ECV-01")).await;
        assert!(lost.starts_with("sem sinal desde "), "{lost}");

        // A manager of ECV-02: their own tile only; ECV-01 is "not found" everywhere.
        click_and_wait(&client, "header form button").await;
        log_in(&client, &base, MANAGER, MANAGER_PASSWORD).await;
        client
            .goto(&format!("{base}/portal/ao-vivo"))
            .await
            .unwrap();
        let tiles = client
            .find_all(Locator::Css("figure.camera"))
            .await
            .unwrap();
        assert_eq!(tiles.len(), 1);
        assert_eq!(text(&client, &state("ECV-02")).await, "fora do expediente");
        client
            .goto(&format!("{base}/portal/estacoes/ECV-01"))
            .await
            .unwrap();
        assert_eq!(text(&client, "h1").await, "Estação não encontrada");
        assert_eq!(status_of(&client, "/portal/estacoes/ECV-01").await, 404);
        assert_eq!(
            status_of(&client, "/portal/ao-vivo/ECV-01/mjpeg").await,
            404
        );
        assert_eq!(
            status_of(&client, "/portal/ao-vivo/ECV-01/quadro.jpg").await,
            404
        );
        assert_eq!(status_of(&client, "/portal/estacoes/ECV-02").await, 200);
        client.close().await.unwrap();
    });
    let sent = feeder.join().unwrap();
    assert!(sent >= 9, "{sent}");

    // Every picture opened is in the access log, with who watched.
    let store = SqliteMetadata::open(&data.join("central.sqlite")).unwrap();
    let views = store.access_log("ECV-01", Uuid::nil()).unwrap();
    assert!(
        views
            .iter()
            .any(|v| v.account == AUDITOR && v.what == "live camera"),
        "{views:?}"
    );
    assert!(views.iter().all(|v| v.account != MANAGER), "{views:?}");
}
