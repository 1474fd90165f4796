//! The Detran portal (issue 22) in a real browser: Debian's headless Chromium driven through
//! `chromedriver` (WebDriver) against a real `vistoria-central serve` on loopback, with TLS and
//! the central's self-signed certificate (Chromium runs with `--ignore-certificate-errors`,
//! since the certificate is made at the server's first start).
//!
//! One test, so that `chromedriver` starts once for the binary: an auditor logs in, searches a
//! plate, opens the inspection and sees every photo loaded with its MD5 and SHA-256 matching
//! and the signature valid; a photo changed on the disk shows as NOT matching; a form without
//! its CSRF token is refused; a manager of another station gets the same "not found" as for
//! an unknown inspection, by link or by direct URL, for the page and for a photo; wrong
//! passwords lock the account with the time it ends.
//!
//! With `PORTAL_SCREENSHOTS=DIR` the pages are also saved there as PNG (1366×768):
//! `PORTAL_SCREENSHOTS=$PWD/docs/portal cargo test -p vistoria-central --test portal_browser`.

#![allow(clippy::unwrap_used)]

mod common;

use common::browser::{
    Driver, click_and_wait, fetch, loaded_images, log_in, log_out, screenshot, set_password, text,
    type_into, wait_for_url,
};
use common::evidence::{Delivery, INSPECTOR_CPF, SoftSigner, pki_tools_missing};
use common::{Server, registry, vehicle_with};
use fantoccini::Locator;
use serde_json::{Value, json};
use vistoria_core::hashing::sha256_hex;

const AUDITOR: &str = "auditor.silva@detran.mt.gov.br";
const AUDITOR_PASSWORD: &str = "frase longa do auditor 2026";
const MANAGER: &str = "gestora@ecv02.com.br";
const MANAGER_PASSWORD: &str = "frase longa da gestora 2026";

/// A real JPEG (the browser must decode it), different for each seed.
fn jpeg(seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(640, 480, |x, y| {
        let band = ((x / 40 + y / 40) % 2) as u8;
        image::Rgb([
            (x % 256) as u8 ^ seed,
            (y % 256) as u8,
            (band * 200).wrapping_add(seed / 2),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&image)
        .unwrap();
    out
}

/// Delivers a concluded, signed inspection of `vehicle` whose photos are real JPEGs; returns
/// its inspection id.
fn deliver(server: &Server, signer: &mut SoftSigner, vehicle: &Value, seed: u8) -> String {
    let query = server.query_vehicle(vehicle);
    let mut delivery = Delivery::concluded(&query, vehicle, "ECV-01");
    for (i, (_, bytes)) in delivery.photos.iter_mut().enumerate() {
        *bytes = jpeg(seed.wrapping_add(i as u8 * 50));
        delivery.laudo.photos[i].sha256 = sha256_hex(bytes);
    }
    let files = delivery.files(signer);
    let response = server.deliver(&delivery.manifest, &files);
    assert_eq!(response.status(), 200, "{:?}", response.text());
    delivery.manifest.inspection_id.as_uuid().to_string()
}

#[test]
fn the_portal_in_a_real_browser() {
    if pki_tools_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut signer = SoftSigner::make(INSPECTOR_CPF, &dir.path().join("pki"));
    let server = signer.trusting_server();
    common::add_station(&server.data, "ECV-02");
    set_password(&server.data, AUDITOR, "detran", None, AUDITOR_PASSWORD);
    set_password(
        &server.data,
        MANAGER,
        "gestor",
        Some("ECV-02"),
        MANAGER_PASSWORD,
    );

    let car = vehicle_with(|v| v["class"] == "passenger_car");
    let other = registry()
        .into_iter()
        .find(|v| v["class"] == "passenger_car" && v["plate"] != car["plate"])
        .unwrap();
    let (car, other) = (&car, &other);
    let plate = car["plate"].as_str().unwrap().to_owned();
    let other_plate = other["plate"].as_str().unwrap().to_owned();
    let good = deliver(&server, &mut signer, car, 10);
    let tampered = deliver(&server, &mut signer, other, 90);
    // The stored front photo of the second inspection is replaced by another valid JPEG, as a
    // disk-level tampering would: it still displays, but its digests no longer match.
    let stored = server
        .data
        .join("media/ECV-01")
        .join(&tampered)
        .join("front.jpg");
    assert!(stored.exists(), "{}", stored.display());
    std::fs::write(&stored, jpeg(200)).unwrap();

    let driver = Driver::start();
    let base = server.url.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = driver.browser().await;

        // Without a session every page leads to the login, which comes back to it.
        client.goto(&format!("{base}/portal/")).await.unwrap();
        wait_for_url(&client, "/portal/entrar?volta=%2Fportal%2F").await;
        screenshot(&client, "entrar").await;

        // A login POST without the form's token is refused, whatever the password.
        let form = format!(
            "usuario={}&senha={}",
            AUDITOR.replace('@', "%40"),
            AUDITOR_PASSWORD.replace(' ', "+")
        );
        let (status, _, body) = fetch(
            &client,
            "/portal/entrar",
            json!({"method": "POST", "body": form,
                   "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("CSRF"), "{body}");

        // The auditor logs in and lands on the overview with today's inspections.
        log_in(&client, &base, AUDITOR, AUDITOR_PASSWORD).await;
        assert_eq!(client.current_url().await.unwrap().path(), "/portal/");
        let today = text(&client, "#hoje").await;
        assert!(
            today.contains(&plate) && today.contains(&other_plate),
            "{today}"
        );
        assert_eq!(text(&client, "#vistorias-hoje").await, "2");
        let stations = text(&client, "#estacoes").await;
        assert!(
            stations.contains("ECV-01") && stations.contains("ECV-02"),
            "{stations}"
        );
        screenshot(&client, "visao-geral").await;

        // Search by plate: exactly that inspection.
        client
            .goto(&format!("{base}/portal/pesquisa"))
            .await
            .unwrap();
        type_into(&client, "placa", &plate).await;
        click_and_wait(&client, "#pesquisar").await;
        wait_for_url(&client, &format!("placa={plate}")).await;
        let rows = client
            .find_all(Locator::Css("#resultados tbody tr"))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].text().await.unwrap().contains(&plate));
        screenshot(&client, "pesquisa").await;
        // The same search as CSV.
        let (status, _, csv) = fetch(
            &client,
            &format!("/portal/pesquisa?placa={plate}&formato=csv"),
            json!({}),
        )
        .await;
        assert_eq!(status, 200);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "{csv}");
        assert!(
            lines[1].contains(&plate) && lines[1].contains(&good),
            "{csv}"
        );

        // The inspection: every photo loaded, digests matching, signature valid.
        click_and_wait(&client, "#resultados tbody tr a").await;
        wait_for_url(&client, &format!("/portal/vistorias/ECV-01/{good}")).await;
        let images = loaded_images(&client).await;
        assert_eq!(images.len(), 2, "{images:?}");
        for (src, width) in &images {
            assert_eq!(*width, 640, "{src} não carregou");
        }
        let verdicts: Vec<String> = {
            let mut out = Vec::new();
            for figure in client.find_all(Locator::Css("figure")).await.unwrap() {
                out.push(figure.attr("data-confere").await.unwrap().unwrap());
            }
            out
        };
        assert_eq!(verdicts, ["sim", "sim"]);
        let signature = text(&client, "#assinatura").await;
        assert!(
            signature.contains("válida") && signature.contains("Assinado em"),
            "{signature}"
        );
        assert!(
            client
                .find(Locator::Id("alerta-integridade"))
                .await
                .is_err()
        );
        screenshot(&client, "vistoria").await;
        // The laudo PDF is served from the stored laudo.
        let (status, _, pdf) = fetch(
            &client,
            &format!("/portal/vistorias/ECV-01/{good}/laudo.pdf"),
            json!({}),
        )
        .await;
        assert_eq!(status, 200);
        assert!(pdf.starts_with("%PDF"), "{}", &pdf[..pdf.len().min(40)]);

        // The tampered one: its front photo shows as NOT matching, with a warning on top.
        client
            .goto(&format!("{base}/portal/vistorias/ECV-01/{tampered}"))
            .await
            .unwrap();
        let front = client
            .find(Locator::Css("figure[data-arquivo='front.jpg']"))
            .await
            .unwrap();
        assert_eq!(
            front.attr("data-confere").await.unwrap().as_deref(),
            Some("nao")
        );
        assert!(front.text().await.unwrap().contains("NÃO confere"));
        let rear = client
            .find(Locator::Css("figure[data-arquivo='rear.jpg']"))
            .await
            .unwrap();
        assert_eq!(
            rear.attr("data-confere").await.unwrap().as_deref(),
            Some("sim")
        );
        assert!(
            text(&client, "#alerta-integridade")
                .await
                .contains("NÃO conferem")
        );
        // Shown as stored all the same: the auditor sees what is on the disk.
        for (src, width) in loaded_images(&client).await {
            assert_eq!(width, 640, "{src} não carregou");
        }
        client
            .execute(
                "document.querySelector(\"figure[data-arquivo='front.jpg']\").scrollIntoView()",
                vec![],
            )
            .await
            .unwrap();
        screenshot(&client, "vistoria-adulterada").await;

        // Every view and every photo served is in the access log (LGPD).
        client
            .goto(&format!("{base}/portal/vistorias/ECV-01/{good}"))
            .await
            .unwrap();
        let accesses = text(&client, "#acessos").await;
        assert!(accesses.contains(AUDITOR), "{accesses}");
        assert!(accesses.contains("arquivo front.jpg"), "{accesses}");
        assert!(accesses.contains("abriu a vistoria"), "{accesses}");

        // A POST without the session's CSRF token is refused, and the session stays.
        let (status, _, body) = fetch(
            &client,
            "/portal/sair",
            json!({"method": "POST", "body": "",
                   "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        )
        .await;
        assert_eq!(status, 403);
        assert!(body.contains("Formulário recusado"), "{body}");
        client.goto(&format!("{base}/portal/")).await.unwrap();
        assert!(client.current_url().await.unwrap().path() == "/portal/");

        // Logout ends the session: the overview leads to the login again.
        log_out(&client).await;
        client.goto(&format!("{base}/portal/")).await.unwrap();
        wait_for_url(&client, "/portal/entrar").await;

        // A manager of ECV-02 sees their station only; ECV-01's inspection, its photo and an
        // unknown one get the same answer.
        log_in(&client, &base, MANAGER, MANAGER_PASSWORD).await;
        assert_eq!(client.current_url().await.unwrap().path(), "/portal/");
        let stations = text(&client, "#estacoes").await;
        assert!(
            stations.contains("ECV-02") && !stations.contains("ECV-01"),
            "{stations}"
        );
        assert!(!text(&client, "#hoje").await.contains(&plate));
        let (status, _, other_station) = fetch(
            &client,
            &format!("/portal/vistorias/ECV-01/{good}"),
            json!({}),
        )
        .await;
        let (unknown_status, _, unknown) = fetch(
            &client,
            &format!("/portal/vistorias/ECV-01/{}", uuid::Uuid::new_v4()),
            json!({}),
        )
        .await;
        assert_eq!((status, unknown_status), (404, 404));
        assert!(!other_station.contains(&plate));
        let title = |html: &str| {
            html.split("<h1>")
                .nth(1)
                .map(|t| t.split("</h1>").next().unwrap_or("").to_owned())
        };
        assert_eq!(title(&other_station), title(&unknown));
        let (status, _, _) = fetch(
            &client,
            &format!("/portal/vistorias/ECV-01/{good}/arquivos/front.jpg"),
            json!({}),
        )
        .await;
        assert_eq!(status, 404);
        // By direct URL in the address bar, too.
        client
            .goto(&format!("{base}/portal/vistorias/ECV-01/{good}"))
            .await
            .unwrap();
        assert_eq!(text(&client, "h1").await, "Vistoria não encontrada");
        // Asking for ECV-01 in the search gives nothing either.
        client
            .goto(&format!(
                "{base}/portal/pesquisa?placa={plate}&estacao=ECV-01"
            ))
            .await
            .unwrap();
        assert!(
            client
                .find_all(Locator::Css("#resultados tbody tr"))
                .await
                .unwrap()
                .is_empty()
        );
        log_out(&client).await;

        // Lock-out: the fifth wrong password locks the account and says until when; then even
        // the right password is refused.
        for attempt in 1..=5 {
            log_in(&client, &base, MANAGER, "senha errada demais").await;
            let alert = text(&client, ".aviso").await;
            if attempt < 5 {
                assert!(
                    alert.contains("Usuário ou senha incorretos"),
                    "{attempt}: {alert}"
                );
            } else {
                assert!(
                    alert.contains("Conta bloqueada") && alert.contains(" até "),
                    "{alert}"
                );
            }
        }
        screenshot(&client, "bloqueio").await;
        log_in(&client, &base, MANAGER, MANAGER_PASSWORD).await;
        assert!(text(&client, ".aviso").await.contains("Conta bloqueada"));
        assert!(
            client
                .current_url()
                .await
                .unwrap()
                .path()
                .ends_with("/portal/entrar")
        );

        client.close().await.unwrap();
    });
}
