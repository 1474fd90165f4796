//! The film of an inspection in the portal (issue 22; §4, §7): an auditor's inspection page
//! draws the recorder's timeline (segments, the gap with its cause, the bay's presence, the
//! moment of each photo, linked to the segment and second that show it), and the segments are
//! served with byte ranges as a browser's player asks for them; a manager of another station
//! sees nothing of it; a viewing is logged once, not at every range the player asks for.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use common::evidence::{Delivery, INSPECTOR_CPF, SoftSigner, pki_tools_missing};
use common::{BIN, Server, browser, vehicle_with};
use reqwest::blocking::{Client, Response};
use reqwest::header;
use serde_json::json;
use vistoria_core::hashing::Digests;

const AUDITOR: &str = "auditora.film@detran.mt.gov.br";
const AUDITOR_PASSWORD: &str = "frase longa da auditora 2026";
const MANAGER: &str = "gestor@ecv09.com.br";
const MANAGER_PASSWORD: &str = "frase longa do gestor 2026";

fn set_password(data: &Path, name: &str, role: &str, station: Option<&str>, password: &str) {
    let mut command = Command::new(BIN);
    command
        .args(["user", "password", name, "--role", role])
        .args(["--password-env", "SENHA_PORTAL", "--data"])
        .arg(data)
        .env("SENHA_PORTAL", password);
    if let Some(station) = station {
        command.args(["--station", station]);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Bytes that differ per seed (the player is not run here: the ranges are what is tested).
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A session of the portal over plain HTTP requests: the login form's double-submit token, the
/// session cookie, no redirects followed (their cookies are read here).
struct Portal {
    client: Client,
    base: String,
    cookie: String,
}

fn cookies_of(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect()
}

impl Portal {
    fn log_in(server: &Server, name: &str, password: &str) -> Portal {
        let client = Client::builder()
            .danger_accept_invalid_certs(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = server.url.clone();
        let form = client.get(format!("{base}/portal/entrar")).send().unwrap();
        let login_cookie = cookies_of(&form).join("; ");
        let html = form.text().unwrap();
        let token = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        let answer = client
            .post(format!("{base}/portal/entrar"))
            .header(header::COOKIE, login_cookie)
            .form(&[
                ("csrf", token.as_str()),
                ("usuario", name),
                ("senha", password),
                ("volta", "/portal/"),
            ])
            .send()
            .unwrap();
        assert_eq!(answer.status(), 303, "login of {name}");
        let cookie = cookies_of(&answer)
            .into_iter()
            .find(|c| c.starts_with("__Host-vistoria_sessao="))
            .unwrap();
        Portal {
            client,
            base,
            cookie,
        }
    }

    fn get(&self, path: &str, range: Option<&str>) -> Response {
        let mut request = self
            .client
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, &self.cookie);
        if let Some(range) = range {
            request = request.header(header::RANGE, range);
        }
        request.send().unwrap()
    }
}

/// The recorder's manifest as `drivers::panoramic::Manifest` writes it.
fn recorder_manifest(start: DateTime<Utc>, first: &[u8], second: &[u8]) -> Vec<u8> {
    let segment = |name: &str, b: &[u8], from: f64, to: f64| {
        let d = Digests::of(b);
        json!({"file": name, "digests": {"md5": d.md5, "sha256": d.sha256, "size": d.size},
               "start_s": from, "end_s": to, "start_at": null, "end_at": null})
    };
    serde_json::to_vec(&json!({
        "url": "rtsp://camera/panoramica",
        "started_at": {"at": start, "sync_age_ms": 0},
        "stopped_at": {"at": start + Duration::seconds(90), "sync_age_ms": 0},
        "seconds": 90.0,
        "format": null,
        "segments": [segment("segment-00000.mp4", first, 0.0, 40.0),
                     segment("segment-00001.mp4", second, 52.0, 90.0)],
        "gaps": [{"start_s": 40.0, "end_s": 52.0, "cause": "connection_lost",
                  "open_at_stop": false}],
        "presence": [{"start_s": 0.0, "end_s": 30.0, "state": "present"},
                     {"start_s": 30.0, "end_s": 90.0, "state": "absent"}],
        "presence_basis": {"reference_sha256": "00", "region": [0, 0, 10, 10],
                           "vehicle_share": 0.2},
        "complete": true,
        "stopped_during_loss": false
    }))
    .unwrap()
}

/// A central with an auditor and another station's manager, and one verified inspection of
/// ECV-01 whose film is `first` (0–40 s) and `second` (52–90 s) with a gap between them, the
/// front photo taken at 10 s and the rear one at 60 s. Returns the inspection page's path and
/// the photos' names.
fn deliver_filmed(
    dir: &Path,
    first: &[u8],
    second: &[u8],
) -> (Server, SoftSigner, String, Vec<String>) {
    let mut signer = SoftSigner::make(INSPECTOR_CPF, &dir.join("pki"));
    let server = signer.trusting_server();
    common::add_station(&server.data, "ECV-09");
    set_password(&server.data, AUDITOR, "detran", None, AUDITOR_PASSWORD);
    set_password(
        &server.data,
        MANAGER,
        "gestor",
        Some("ECV-09"),
        MANAGER_PASSWORD,
    );
    let car = vehicle_with(|v| v["class"] == "passenger_car");
    let query = server.query_vehicle(&car);
    let mut delivery = Delivery::concluded(&query, &car, "ECV-01");
    let start: DateTime<Utc> = serde_json::from_value(query["queried_at"].clone()).unwrap();
    let mut files = delivery.files(&mut signer);
    files.push(("video_segment-a.mp4".into(), first.to_vec()));
    files.push(("video_segment-b.mp4".into(), second.to_vec()));
    files.push((
        "panoramic_manifest-a.json".into(),
        recorder_manifest(start, first, second),
    ));
    delivery.relist(&files);
    // The front photo 10 s into the film (first segment), the rear one at 60 s (the second
    // segment, 8 s in), as the package's `media` list carries capture times.
    let photo_names: Vec<String> = delivery.photos.iter().map(|(n, _)| n.clone()).collect();
    delivery.manifest.metadata.insert(
        "media".into(),
        json!([
            {"name": photo_names[0], "kind": "photo_front",
             "captured_at": {"at": start + Duration::seconds(10), "sync_age_ms": 0}},
            {"name": photo_names[1], "kind": "photo_rear",
             "captured_at": {"at": start + Duration::seconds(60), "sync_age_ms": 0}},
        ]),
    );
    let response = server.deliver(&delivery.manifest, &files);
    assert_eq!(response.status(), 200, "{:?}", response.text());
    let id = delivery.manifest.inspection_id.as_uuid().to_string();
    (
        server,
        signer,
        format!("/portal/vistorias/ECV-01/{id}"),
        photo_names,
    )
}

#[test]
fn the_film_is_drawn_on_its_timeline_and_served_by_ranges() {
    if pki_tools_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let first = bytes(300_000, 1);
    let second = bytes(200_000, 2);
    let (server, _signer, page, photo_names) = deliver_filmed(dir.path(), &first, &second);

    let auditor = Portal::log_in(&server, AUDITOR, AUDITOR_PASSWORD);
    let html = auditor.get(&page, None).text().unwrap();
    let film = html
        .split("id=\"filmagem\"")
        .nth(1)
        .expect("the film section")
        .to_owned();
    let seg_a = format!("{page}/filme/video_segment-a.mp4");
    let seg_b = format!("{page}/filme/video_segment-b.mp4");
    assert!(
        film.contains(&format!(
            "<video id=\"filme\" controls preload=\"metadata\" src=\"{seg_a}\""
        )),
        "{film}"
    );
    // The gap with its cause, and the way to what came back after it.
    assert!(film.contains("00:40–00:52"), "{film}");
    assert!(film.contains("perda de conexão com a câmera"), "{film}");
    // Each photo at its moment, linked to the segment and the second inside it.
    assert!(
        film.contains(&format!("data-segmento=\"{seg_a}\" data-t=\"10.0\"")),
        "{film}"
    );
    assert!(
        film.contains(&format!("data-segmento=\"{seg_b}\" data-t=\"8.0\"")),
        "{film}"
    );
    assert!(film.contains(">01:00</a>"), "{film}");
    // Presence: a vehicle, then the empty bay.
    assert!(film.contains("class=\"tl-presente\""), "{film}");
    assert!(film.contains("class=\"tl-vazio\""), "{film}");
    assert!(film.contains("src=\"/portal/filme.js\""), "{film}");
    let script = auditor.get("/portal/filme.js", None);
    assert_eq!(script.status(), 200);
    assert!(script.text().unwrap().contains("data-segmento"));

    // The whole segment, then ranges as a player asks for them.
    let whole = auditor.get(&seg_a, None);
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()[header::ACCEPT_RANGES], "bytes");
    assert_eq!(whole.headers()[header::CONTENT_TYPE], "video/mp4");
    assert_eq!(whole.bytes().unwrap().as_ref(), first.as_slice());
    let part = auditor.get(&seg_a, Some("bytes=1000-1999"));
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()[header::CONTENT_RANGE],
        format!("bytes 1000-1999/{}", first.len())
    );
    assert_eq!(part.bytes().unwrap().as_ref(), &first[1000..2000]);
    let tail = auditor.get(&seg_b, Some("bytes=199990-"));
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().unwrap().as_ref(), &second[199_990..]);
    let beyond = auditor.get(&seg_b, Some("bytes=200000-"));
    assert_eq!(beyond.status(), 416);
    assert_eq!(
        beyond.headers()[header::CONTENT_RANGE],
        format!("bytes */{}", second.len())
    );
    // Only film segments are served here (a photo is not a segment).
    assert_eq!(
        auditor
            .get(&format!("{page}/filme/{}", photo_names[0]), None)
            .status(),
        404
    );

    // The viewing from the start is logged; the ranges a player asks for while seeking are not.
    let accesses = auditor.get(&page, None).text().unwrap();
    let log = accesses.split("id=\"acessos\"").nth(1).unwrap();
    assert_eq!(
        log.matches("arquivo video_segment-a.mp4").count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("arquivo video_segment-b.mp4").count(),
        0,
        "{log}"
    );

    // A manager of another station: neither the page nor the film.
    let manager = Portal::log_in(&server, MANAGER, MANAGER_PASSWORD);
    assert_eq!(manager.get(&page, None).status(), 404);
    assert_eq!(manager.get(&seg_a, Some("bytes=0-99")).status(), 404);
}

/// A real H.264 MP4 of `seconds` at 15 fps, made with GStreamer as the recorder makes them.
fn mp4(dir: &Path, name: &str, seconds: u32) -> Vec<u8> {
    let path = dir.join(name);
    let out = Command::new("gst-launch-1.0")
        .arg("-q")
        .args([
            "videotestsrc",
            &format!("num-buffers={}", seconds * 15),
            "pattern=ball",
        ])
        .args(["!", "video/x-raw,width=640,height=360,framerate=15/1"])
        .args([
            "!",
            "x264enc",
            "!",
            "h264parse",
            "!",
            "mp4mux",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", path.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::read(path).unwrap()
}

/// The player in a real browser: the first segment loads and plays; a click on the rear
/// photo's moment loads the second segment and seeks 8 s into it.
#[test]
fn the_film_plays_in_a_real_browser_and_a_photo_moment_seeks_there() {
    if pki_tools_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let first = mp4(dir.path(), "a.mp4", 12);
    let second = mp4(dir.path(), "b.mp4", 12);
    let (server, _signer, page, _) = deliver_filmed(dir.path(), &first, &second);
    let driver = browser::Driver::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = driver.browser().await;
        browser::log_in(&client, &server.url, AUDITOR, AUDITOR_PASSWORD).await;
        client.goto(&format!("{}{page}", server.url)).await.unwrap();
        let state = |script: &'static str| {
            let client = client.clone();
            async move { client.execute(script, vec![]).await.unwrap() }
        };
        // Loaded: the browser read the MP4's header through the portal (ranges included).
        let mut loaded = serde_json::Value::Null;
        for _ in 0..100 {
            loaded = state(
                "const v = document.getElementById('filme'); \
                 return {ready: v.readyState, duration: v.duration, error: v.error && v.error.code};",
            )
            .await;
            if loaded["ready"].as_u64().unwrap_or(0) >= 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(loaded["ready"].as_u64().unwrap_or(0) >= 1, "{loaded}");
        let duration = loaded["duration"].as_f64().unwrap();
        assert!((11.0..13.0).contains(&duration), "{loaded}");

        // The rear photo's moment: the second segment, 8 s in.
        client
            .find(fantoccini::Locator::Css("#momentos a[data-t='8.0']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let mut seeked = serde_json::Value::Null;
        for _ in 0..100 {
            seeked = state(
                "const v = document.getElementById('filme'); \
                 return {src: v.getAttribute('src'), t: v.currentTime, ready: v.readyState};",
            )
            .await;
            if seeked["src"].as_str().is_some_and(|s| s.ends_with("video_segment-b.mp4"))
                && seeked["t"].as_f64().unwrap_or(0.0) >= 7.9
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            seeked["src"].as_str().unwrap().ends_with("video_segment-b.mp4"),
            "{seeked}"
        );
        assert!(seeked["t"].as_f64().unwrap() >= 7.9, "{seeked}");
        let label = browser::text(&client, "#filme-trecho").await;
        assert!(label.contains("01:00"), "{label}");
        browser::screenshot(&client, "filme").await;
        client.close().await.unwrap();
    });
}
