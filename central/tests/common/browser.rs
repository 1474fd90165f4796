//! A real browser for the web pages' tests: Debian's headless Chromium driven through
//! `chromedriver` (WebDriver, fantoccini), at 1366×768, trusting the central's self-signed
//! certificate. Shared by every browser test (portal, reports, live view, console), with the
//! helpers they all need: log in/out, click and wait for the next page, screenshots, in-page
//! requests, and portal accounts made through the real `user password` command.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use super::BIN;

/// `chromedriver` on a free loopback port; killed when dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver não pôde ser iniciado ({e}); instale com installer/setup-dev.sh"
                )
            });
        // Owned at once, so that it is killed and reaped whatever happens next.
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        // Ready when it accepts connections (bounded: a broken install fails the test).
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return driver;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("chromedriver não abriu a porta {port}");
    }

    /// A new browser session (its own cookies).
    pub async fn browser(&self) -> Client {
        let capabilities = json!({
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--ignore-certificate-errors",
                    "--window-size=1366,768",
                    "--hide-scrollbars",
                    "--lang=pt-BR",
                    "--autoplay-policy=no-user-gesture-required",
                ],
                // The viewport itself at 1366×768 (the window size includes the browser's
                // frame, even headless), a desktop, not a phone.
                "mobileEmulation": {
                    "deviceMetrics": {"width": 1366, "height": 768, "pixelRatio": 1.0,
                                      "mobile": false, "touch": false}
                }
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

/// Where screenshots go: under the target folder, and to `PORTAL_SCREENSHOTS` if set.
pub fn screenshot_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots")];
    if let Some(dir) = std::env::var_os("PORTAL_SCREENSHOTS") {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

pub async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let decoded = image::load_from_memory(&png).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1366, 768), "{name}");
    for dir in screenshot_dirs() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    }
}

/// Waits until the browser is at a URL containing `part` (a navigation after a click or a
/// submit); bounded, so a page that never comes fails the test.
pub async fn wait_for_url(client: &Client, part: &str) -> String {
    for _ in 0..200 {
        let url = client.current_url().await.unwrap().to_string();
        if url.contains(part) {
            return url;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "a página não chegou a {part}; está em {}",
        client.current_url().await.unwrap()
    );
}

/// Clicks what `css` finds and waits until the browser has left the page (its root element
/// goes stale) and the next one is loaded: a click does not wait for the navigation it starts.
pub async fn click_and_wait(client: &Client, css: &str) {
    let root = client.find(Locator::Css("html")).await.unwrap();
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..400 {
        if root.tag_name().await.is_err() {
            let state = client.execute("return document.readyState", vec![]).await;
            if state.is_ok_and(|s| s == "complete") {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("o clique em {css} não levou a outra página");
}

pub async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Types `value` into the field whose id is `id`.
pub async fn type_into(client: &Client, id: &str, value: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(value)
        .await
        .unwrap();
}

/// Types each value into the field of its id.
pub async fn fill(client: &Client, fields: &[(&str, &str)]) {
    for (id, value) in fields {
        type_into(client, id, value).await;
    }
}

/// Replaces what the field whose id is `id` holds with `value`.
pub async fn retype(client: &Client, id: &str, value: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

pub async fn log_in(client: &Client, base: &str, name: &str, password: &str) {
    client.goto(&format!("{base}/portal/entrar")).await.unwrap();
    fill(client, &[("usuario", name), ("senha", password)]).await;
    click_and_wait(client, "#entrar").await;
}

pub async fn log_out(client: &Client) {
    click_and_wait(client, "header form button").await;
    assert_eq!(client.current_url().await.unwrap().path(), "/portal/entrar");
}

/// Every image of the page once loaded: `(src, naturalWidth)`.
pub async fn loaded_images(client: &Client) -> Vec<(String, u64)> {
    let script = "const done = arguments[arguments.length - 1];
        Promise.all(Array.from(document.images).map(i => i.decode().then(() => 0, () => 0)))
          .then(() => done(Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth])));";
    let value = client.execute_async(script, vec![]).await.unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The HTTP status, Content-Type and body of a same-origin request made by the page (with its
/// cookies).
pub async fn fetch(client: &Client, path: &str, init: Value) -> (u64, String, String) {
    let script = "const done = arguments[arguments.length - 1];
        fetch(arguments[0], arguments[1]).then(r => r.text().then(
            t => done([r.status, r.headers.get('content-type') || '', t])),
          e => done([0, '', String(e)]));";
    let value = client
        .execute_async(script, vec![json!(path), init])
        .await
        .unwrap();
    (
        value[0].as_u64().unwrap(),
        value[1].as_str().unwrap().to_owned(),
        value[2].as_str().unwrap().to_owned(),
    )
}

/// Status, Content-Type and body of a same-origin GET made by the page: the text, or for a PDF
/// its bytes as Latin-1 (so that its binary parts survive as one char each).
pub async fn fetch_document(client: &Client, path: &str) -> (u64, String, String) {
    let script = "const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done([r.status,
          r.headers.get('content-type') || '', new TextDecoder(
            (r.headers.get('content-type') || '').includes('pdf') ? 'latin1' : 'utf-8').decode(b)])),
          e => done([0, '', String(e)]));";
    let value = client
        .execute_async(script, vec![json!(path)])
        .await
        .unwrap();
    (
        value[0].as_u64().unwrap(),
        value[1].as_str().unwrap().to_owned(),
        value[2].as_str().unwrap().to_owned(),
    )
}

/// `user password NAME --role ROLE [--station S]` of the real binary on the server's data
/// folder, with the password from the environment (as an operator would, never on the command
/// line).
pub fn set_password(data: &Path, name: &str, role: &str, station: Option<&str>, password: &str) {
    let mut command = Command::new(BIN);
    command
        .args([
            "user",
            "password",
            name,
            "--role",
            role,
            "--password-env",
            "SENHA_PORTAL",
        ])
        .args(["--data", data.to_str().unwrap()])
        .env("SENHA_PORTAL", password);
    if let Some(station) = station {
        command.args(["--station", station]);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
