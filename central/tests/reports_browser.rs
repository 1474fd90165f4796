//! The reports page and the cross-station flags (issue 22) in a real browser: Debian's headless
//! Chromium through `chromedriver` against a real `vistoria-central serve`. Two stations
//! deliver packages over the station API, two of them with the same photo; an auditor sees the
//! report of both stations (exact totals), downloads its CSV and PDF, and sees the flag on the
//! inspection page with a link to the other station's inspection; a manager sees their
//! station's figures only — even asking for the other station by URL — and is told another
//! station is involved in the flag, without a link.
//!
//! `PORTAL_SCREENSHOTS=DIR` also saves the reports page there as `reports.png` (1366×768):
//! `PORTAL_SCREENSHOTS=$PWD/docs/portal cargo test -p vistoria-central --test reports_browser`.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;
use std::time::{Duration, Instant};

use common::browser::{
    Driver, click_and_wait, fetch_document, log_in, screenshot_dirs, set_password, text,
};
use common::{Server, add_station, manifest, registry};
use fantoccini::Locator;
use uuid::Uuid;
use vistoria_central::storage::cross_flags::CrossFlags;
use vistoria_central::storage::sqlite::SqliteMetadata;

const AUDITOR: &str = "auditora@detran.mt.gov.br";
const AUDITOR_PASSWORD: &str = "frase longa da auditora 2026";
const MANAGER: &str = "gestor@ecv02.com.br";
const MANAGER_PASSWORD: &str = "frase longa do gestor 2026";

/// A real JPEG with soft shapes of its own (`seed`), `w` wide, at `quality`.
fn picture(seed: u32, w: u32, quality: u8) -> Vec<u8> {
    let h = w * 3 / 4;
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy, s) = (x as f32 / w as f32, y as f32 / h as f32, seed as f32);
        let v = ((fx * (3.0 + s)).sin() * (fy * (2.0 + s * 0.7)).cos() * 0.5 + 0.5) * 255.0;
        let u = ((fx * fy * (5.0 + s)).sin() * 0.5 + 0.5) * 255.0;
        image::Rgb([v as u8, u as u8, (255.0 - v) as u8])
    });
    let mut out = Vec::new();
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), quality);
    image.write_with_encoder(encoder).unwrap();
    out
}

fn deliver(server: &Server, station: &str, pick: usize, photo: Vec<u8>) -> Uuid {
    let query = server.query_vehicle(&registry()[pick]);
    let m = manifest(&query, station, &[("traseira.jpg", &photo)]);
    let response = server.deliver(&m, &[("traseira.jpg".to_owned(), photo)]);
    assert!(response.status().is_success(), "{:?}", response.text());
    let id = m.inspection_id.as_uuid();
    let response = server.commit(id);
    assert!(response.status().is_success(), "{:?}", response.text());
    id
}

#[test]
fn reports_and_cross_station_flags_in_a_real_browser() {
    let mut server = Server::start();
    let ecv02 = add_station(&server.data, "ECV-02");
    set_password(&server.data, AUDITOR, "detran", None, AUDITOR_PASSWORD);
    set_password(
        &server.data,
        MANAGER,
        "gestor",
        Some("ECV-02"),
        MANAGER_PASSWORD,
    );
    let first = deliver(&server, "ECV-01", 0, picture(1, 800, 90));
    deliver(&server, "ECV-01", 1, picture(5, 800, 90));
    server.token = ecv02;
    let copy = deliver(&server, "ECV-02", 2, picture(1, 480, 60));
    // The flags are computed after the commit's answer: wait until they are stored.
    let store = SqliteMetadata::open(&server.data.join("central.sqlite")).unwrap();
    let key = vistoria_central::storage::PackageKey::new("ECV-02", copy);
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.cross_flags_of(&key).unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(store.cross_flags_of(&key).unwrap().len(), 1);

    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = server.url.clone();
    runtime.block_on(async {
        let client = driver.browser().await;
        log_in(&client, &base, AUDITOR, AUDITOR_PASSWORD).await;
        // The overview counts the open cross-station flags (one on each inspection).
        assert_eq!(text(&client, "#sinais-abertos").await, "2");
        client
            .goto(&format!("{base}/portal/relatorios"))
            .await
            .unwrap();
        assert_eq!(text(&client, "#total-vistorias").await, "3");
        let rows = text(&client, "#por-periodo").await;
        assert!(rows.contains("ECV-01") && rows.contains("ECV-02"), "{rows}");
        let people = text(&client, "#por-vistoriador").await;
        assert!(people.contains("Maria Souza"), "{people}");
        for dir in screenshot_dirs() {
            std::fs::create_dir_all(&dir).unwrap();
            let png = client.screenshot().await.unwrap();
            std::fs::write(dir.join("reports.png"), &png).unwrap();
        }
        let csv_href = client
            .find(Locator::Id("baixar-csv"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let (status, kind, body) = fetch_document(&client, &csv_href).await;
        assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
        let lines: Vec<&str> = body.trim_start_matches('\u{feff}').lines().collect();
        assert!(lines[0].starts_with("tipo;estacao;"), "{body}");
        let total: u64 = lines
            .iter()
            .filter(|l| l.starts_with("periodo;"))
            .map(|l| l.split(';').nth(3).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, 3, "{body}");
        let pdf_href = client
            .find(Locator::Id("baixar-pdf"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let (status, kind, body) = fetch_document(&client, &pdf_href).await;
        assert_eq!((status, kind.as_str()), (200, "application/pdf"));
        assert!(body.starts_with("%PDF-"));

        // The flag on the inspection page, with the other station's inspection one click away.
        client
            .goto(&format!("{base}/portal/vistorias/ECV-02/{copy}"))
            .await
            .unwrap();
        let flags = text(&client, "#sinais").await;
        assert!(
            flags.contains("Foto quase igual à de outra vistoria"),
            "{flags}"
        );
        click_and_wait(&client, "#sinais a.outra-vistoria").await;
        assert_eq!(
            client.current_url().await.unwrap().path(),
            format!("/portal/vistorias/ECV-01/{first}")
        );
        // Log out (the header's button), without `log_out`'s check of the page it lands on,
        // which this test never made.
        click_and_wait(&client, "header form button").await;

        // A manager: their station only, whatever the URL asks.
        log_in(&client, &base, MANAGER, MANAGER_PASSWORD).await;
        assert_eq!(text(&client, "#sinais-abertos").await, "1");
        client
            .goto(&format!("{base}/portal/relatorios?estacao=ECV-01"))
            .await
            .unwrap();
        assert_eq!(text(&client, "#total-vistorias").await, "1");
        let rows = text(&client, "#por-periodo").await;
        assert!(
            rows.contains("ECV-02") && !rows.contains("ECV-01"),
            "{rows}"
        );
        let (status, _, body) =
            fetch_document(&client, "/portal/relatorios?estacao=ECV-01&formato=csv").await;
        assert_eq!(status, 200);
        assert!(!body.contains("ECV-01"), "{body}");
        client
            .goto(&format!("{base}/portal/vistorias/ECV-02/{copy}"))
            .await
            .unwrap();
        let flags = text(&client, "#sinais").await;
        assert!(flags.contains("outra estação"), "{flags}");
        assert!(
            client
                .find(Locator::Css("#sinais a.outra-vistoria"))
                .await
                .is_err()
        );
        client.close().await.unwrap();
    });
}
