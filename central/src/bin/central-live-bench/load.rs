//! The load generator: stations posting live frames as the kiosk's streamer does (one request
//! per frame on a kept-alive TLS connection, each station from its own loopback address, as
//! real stations come from their own addresses and the central limits per address), and portal
//! viewers watching the live pictures as the grid's `<img>` tiles do (one
//! `multipart/x-mixed-replace` stream per tile).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use vistoria_central::portal::web::session::{CSRF_FIELD, LOGIN_COOKIE, SESSION_COOKIE};
use vistoria_core::central_client::live::LIVE_FRAMES_PATH;

/// The central under test.
pub struct Central {
    /// Its address.
    pub addr: SocketAddr,
    /// TLS pinned to its certificate.
    pub tls: tokio_rustls::TlsConnector,
}

type Conn = TlsStream<TcpStream>;

impl Central {
    /// A TLS connection from `local` (a loopback address of our own).
    pub async fn connect(&self, local: Ipv4Addr) -> std::io::Result<Conn> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(local), 0))?;
        let tcp = socket.connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::IpAddress(self.addr.ip().into());
        self.tls.connect(name, tcp).await
    }
}

/// The loopback address of station `i` (127.10.x.y) or viewer `i` (127.20.x.y).
pub fn address(base: u8, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, base, (i / 250) as u8, (i % 250 + 1) as u8)
}

/// Counters of the stations and viewers, taken and reset by the ramp at each step.
#[derive(Default)]
pub struct Counters {
    /// Frames the central took (200, `stream: true`).
    pub delivered: AtomicU64,
    /// Their JPEG bytes.
    pub bytes: AtomicU64,
    /// Posts that failed.
    pub errors: AtomicU64,
    /// Frames a station skipped because its previous post was still running when they fell due.
    pub skipped: AtomicU64,
    /// Each delivered frame's post time, µs.
    pub latencies_us: Mutex<Vec<u32>>,
    /// JPEG parts the viewers received.
    pub viewer_frames: AtomicU64,
    /// Viewer streams refused or cut before their natural end.
    pub viewer_errors: AtomicU64,
    /// The last failure, for the report.
    pub last_error: Mutex<Option<String>>,
}

impl Counters {
    fn failed(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(what);
    }

    /// The latencies so far, emptied.
    pub fn take_latencies(&self) -> Vec<u32> {
        std::mem::take(&mut *self.latencies_us.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Where an HTTP/1.1 response's head ends, its status, `Content-Length` and whether the server
/// closes the connection after it; `None` while the head is incomplete.
pub fn parse_head(buf: &[u8]) -> Option<(usize, u16, Option<usize>, bool)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.get(9..12)?.parse().ok()?;
    let mut length = None;
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().ok();
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    Some((end, status, length, close))
}

/// Reads one response with a `Content-Length` body: status, body, and whether the connection
/// is to be closed.
async fn read_response(conn: &mut Conn) -> anyhow::Result<(u16, Vec<u8>, bool)> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((end, status, length, close)) = parse_head(&buf) {
            let length = length.context("resposta sem Content-Length")?;
            while buf.len() < end + length {
                let n = conn.read(&mut chunk).await?;
                if n == 0 {
                    bail!("conexão fechada no meio da resposta");
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok((status, buf[end..end + length].to_vec(), close));
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            bail!("conexão fechada antes da resposta");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One streaming station.
pub struct Station {
    /// Its bearer token.
    pub token: String,
    /// Its loopback address.
    pub local: Ipv4Addr,
    /// Which frame of the set it starts at.
    pub first_frame: usize,
    /// When its first frame falls due (stations spread over one interval, as real ones are).
    pub phase: Duration,
}

/// Posts a frame every `interval`, forever, counting into `counters`.
pub async fn station(
    central: Arc<Central>,
    me: Station,
    frames: Arc<Vec<Vec<u8>>>,
    interval: Duration,
    counters: Arc<Counters>,
) {
    let mut conn: Option<Conn> = None;
    let mut next = Instant::now() + me.phase;
    let mut at = me.first_frame;
    loop {
        tokio::time::sleep_until(next).await;
        let jpeg = &frames[at % frames.len()];
        at += 1;
        let started = Instant::now();
        let posted = tokio::time::timeout(
            Duration::from_secs(10),
            post(&central, &mut conn, &me, jpeg),
        )
        .await;
        match posted {
            Ok(Ok(())) => {
                let us = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                counters
                    .bytes
                    .fetch_add(jpeg.len() as u64, Ordering::Relaxed);
                counters
                    .latencies_us
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(us);
            }
            Ok(Err(e)) => {
                conn = None;
                counters.failed(format!("{e:#}"));
            }
            Err(_) => {
                conn = None;
                counters.failed("post sem resposta em 10 s".into());
            }
        }
        next += interval;
        let now = Instant::now();
        while next + interval <= now {
            next += interval;
            counters.skipped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `POST /api/v1/stations/self/live/frames` on the station's kept-alive connection (opened
/// when there is none).
async fn post(
    central: &Central,
    conn: &mut Option<Conn>,
    me: &Station,
    jpeg: &[u8],
) -> anyhow::Result<()> {
    if conn.is_none() {
        *conn = Some(central.connect(me.local).await?);
    }
    let Some(tls) = conn.as_mut() else {
        bail!("sem conexão");
    };
    let captured_at = chrono::Utc::now().timestamp_millis();
    let mut request = format!(
        "POST /api/v1{LIVE_FRAMES_PATH}?captured_at={captured_at} HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        central.addr,
        me.token,
        jpeg.len()
    )
    .into_bytes();
    request.extend_from_slice(jpeg);
    tls.write_all(&request).await?;
    tls.flush().await?;
    let (status, body, close) = read_response(tls).await?;
    if close {
        *conn = None;
    }
    if status != 200 {
        bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
    }
    // The answer says whether to keep streaming; `false` would mean the frame was dropped.
    if !body.windows(13).any(|w| w == b"\"stream\":true") {
        bail!("a central mandou parar: {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

/// One request on a fresh connection (`Connection: close`): status and raw head + body.
async fn once(
    central: &Central,
    local: Ipv4Addr,
    request: String,
) -> anyhow::Result<(u16, String)> {
    let mut tls = central.connect(local).await?;
    tls.write_all(request.as_bytes()).await?;
    tls.flush().await?;
    let mut out = Vec::new();
    // A close without TLS close_notify is fine: the response is complete by then.
    let _ = tls.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("resposta inválida: {text:?}"))?;
    Ok((status, text))
}

/// The value of cookie `name` set by a response.
pub fn set_cookie(response: &str, name: &str) -> Option<String> {
    let head = response.split("\r\n\r\n").next()?;
    head.split("\r\n").find_map(|line| {
        let (header, value) = line.split_once(':')?;
        if !header.eq_ignore_ascii_case("set-cookie") {
            return None;
        }
        let pair = value.trim().split(';').next()?;
        let (cookie, value) = pair.split_once('=')?;
        (cookie == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// Logs in to the portal as a browser does (the login form's double-submit token, then the
/// form); the session cookie's value.
pub async fn log_in(
    central: &Central,
    local: Ipv4Addr,
    name: &str,
    password: &str,
) -> anyhow::Result<String> {
    let host = central.addr;
    let (status, form) = once(
        central,
        local,
        format!("GET /portal/entrar HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
    .await?;
    anyhow::ensure!(status == 200, "formulário de entrada: HTTP {status}");
    let csrf = set_cookie(&form, LOGIN_COOKIE).context("formulário sem cookie de entrada")?;
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(CSRF_FIELD, &csrf)
        .append_pair("usuario", name)
        .append_pair("senha", password)
        .append_pair("volta", "/portal/ao-vivo")
        .finish();
    let (status, answer) = once(
        central,
        local,
        format!(
            "POST /portal/entrar HTTP/1.1\r\nHost: {host}\r\nCookie: {LOGIN_COOKIE}={csrf}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await?;
    anyhow::ensure!(status == 303, "entrada no portal: HTTP {status}");
    set_cookie(&answer, SESSION_COOKIE).context("entrada sem cookie de sessão")
}

/// Counts `needle` in a stream read in pieces (`carry` keeps the tail of the last piece, so a
/// needle split across two reads is counted once).
pub fn count_across(carry: &mut Vec<u8>, piece: &[u8], needle: &[u8]) -> u64 {
    carry.extend_from_slice(piece);
    let found = carry.windows(needle.len()).filter(|w| *w == needle).count() as u64;
    let keep = carry.len().min(needle.len() - 1);
    carry.drain(..carry.len() - keep);
    found
}

/// One tile of a viewer's live grid: the station's picture stream, reopened when it ends (the
/// central ends each after a few minutes).
pub async fn viewer(
    central: Arc<Central>,
    local: Ipv4Addr,
    session: String,
    station: String,
    counters: Arc<Counters>,
) {
    const BOUNDARY: &[u8] = b"--quadro-ao-vivo\r\n";
    loop {
        let watched = async {
            let mut tls = central.connect(local).await?;
            let request = format!(
                "GET /portal/ao-vivo/{station}/mjpeg HTTP/1.1\r\nHost: {}\r\n\
                 Cookie: {SESSION_COOKIE}={session}\r\nConnection: close\r\n\r\n",
                central.addr
            );
            tls.write_all(request.as_bytes()).await?;
            tls.flush().await?;
            let mut buf = vec![0u8; 64 * 1024];
            let mut carry = Vec::new();
            let mut first = true;
            loop {
                // The central ends each stream after a few minutes and, asked to, closes the
                // connection (maybe without TLS close_notify): an end, not a failure.
                let n = match tls.read(&mut buf).await {
                    Ok(0) => return anyhow::Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                    Ok(n) => n,
                    Err(e) => return Err(e.into()),
                };
                if first {
                    first = false;
                    if !buf[..n].starts_with(b"HTTP/1.1 200") {
                        bail!("{}", String::from_utf8_lossy(&buf[..n.min(200)]));
                    }
                }
                let parts = count_across(&mut carry, &buf[..n], BOUNDARY);
                counters.viewer_frames.fetch_add(parts, Ordering::Relaxed);
            }
        };
        if watched.await.is_err() {
            counters.viewer_errors.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_head_gives_status_length_and_close() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"stream\":true}";
        assert_eq!(parse_head(ok), Some((ok.len() - 15, 200, Some(15), false)));
        let closing =
            b"HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            parse_head(closing),
            Some((closing.len(), 429, Some(0), true))
        );
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n"),
            None
        );
    }

    #[test]
    fn the_cookie_asked_for_is_found_among_several() {
        let response = "HTTP/1.1 303 See Other\r\nlocation: /portal/\r\n\
                        set-cookie: __Host-vistoria_sessao=abc123; Path=/; Secure; HttpOnly\r\n\
                        set-cookie: __Host-vistoria_entrada=; Max-Age=0\r\n\r\n<html>";
        assert_eq!(
            set_cookie(response, "__Host-vistoria_sessao").as_deref(),
            Some("abc123")
        );
        assert_eq!(set_cookie(response, "__Host-vistoria_entrada"), None);
        assert_eq!(set_cookie(response, "outro"), None);
    }

    #[test]
    fn a_boundary_split_across_reads_is_counted_once() {
        let needle = b"--b\r\n";
        let mut carry = Vec::new();
        assert_eq!(count_across(&mut carry, b"xx--b\r\nyy--", needle), 1);
        assert_eq!(count_across(&mut carry, b"b\r\nzz", needle), 1);
        assert_eq!(count_across(&mut carry, b"--b\r\n--b\r\n", needle), 2);
        assert_eq!(count_across(&mut carry, b"", needle), 0);
    }
}
