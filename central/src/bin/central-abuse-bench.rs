//! `cargo xtask bench abuse`: the attacks of issue 17 against a spawned `vistoria-central`, and
//! how long a well-behaved station waits meanwhile. Station A opens `--slow-uploads` uploads
//! that send one byte a second; a stranger keeps `--idle-connections` connections open that
//! complete TLS and send nothing (reopening each one the server closes). Station B, from its own
//! address, sends `GET /time` on a fresh TLS connection each time (the worst case: a handshake
//! per request). Prints one JSON line per phase: B's p50/p99/max, before and under attack.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use rustls::pki_types::ServerName;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use vistoria_core::domain::{
    Checklist, InspectionId, Interruption, InterruptionCause, Outcome, Plate, VehicleClass,
};
use vistoria_core::hashing::Digests;
use vistoria_core::wire::{ManifestFile, MediaKind, PackageManifest};

const STATION_A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const STATION_B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const STRANGER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 9);
const FILES_PER_PACKAGE: usize = 100;

/// Slow-upload and idle-connection attacks; a well-behaved station's latency meanwhile.
#[derive(Parser)]
struct Args {
    /// The `vistoria-central` binary.
    #[arg(long)]
    central: PathBuf,
    /// Scratch data folder (created).
    #[arg(long)]
    data: PathBuf,
    /// One-byte-per-second uploads of station A.
    #[arg(long, default_value_t = 530)]
    slow_uploads: usize,
    /// Connections of the stranger that complete TLS and send nothing.
    #[arg(long, default_value_t = 1000)]
    idle_connections: usize,
    /// `GET /time` of station B per phase.
    #[arg(long, default_value_t = 150)]
    requests: usize,
}

struct Central {
    addr: SocketAddr,
    tls: tokio_rustls::TlsConnector,
}

impl Central {
    async fn connect(&self, local: Ipv4Addr) -> std::io::Result<TlsStream<TcpStream>> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(local), 0))?;
        let tcp = socket.connect(self.addr).await?;
        let name = ServerName::IpAddress(self.addr.ip().into());
        self.tls.connect(name, tcp).await
    }

    /// One request on a fresh connection: status and JSON body.
    async fn request(
        &self,
        local: Ipv4Addr,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut tls = self.connect(local).await?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} /api/v1{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        tls.write_all(head.as_bytes()).await?;
        tls.write_all(body.as_bytes()).await?;
        tls.flush().await?;
        let mut out = Vec::new();
        // A close without TLS close_notify is fine here: the body is complete by then.
        let _ = tls.read_to_end(&mut out).await;
        let text = String::from_utf8_lossy(&out);
        let status = text
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("resposta inválida: {text:?}"))?;
        let json = text
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        Ok((status, json))
    }
}

fn station_add(central: &Path, data: &Path, code: &str) -> anyhow::Result<String> {
    let out = Command::new(central)
        .args(["station", "add", code, "--data"])
        .arg(data)
        .output()?;
    if !out.status.success() {
        bail!("station add: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// Packages of station A whose files the slow uploads target: (inspection id, file name).
async fn targets(c: &Central, token: &str, count: usize) -> anyhow::Result<Vec<(String, String)>> {
    let registry: Vec<Value> = serde_json::from_str(vistoria_central::registry::DEMO_REGISTRY)?;
    let data = vec![7u8; 1000];
    let d = Digests::of(&data);
    let mut out = Vec::new();
    for p in 0..count.div_ceil(FILES_PER_PACKAGE) {
        let vehicle = &registry[p % registry.len()];
        let query = json!({"plate": vehicle["plate"], "renavam": vehicle["renavam"]});
        let (status, answer) = c
            .request(STATION_A, "POST", "/vehicles/query", token, Some(&query))
            .await?;
        anyhow::ensure!(status == 200, "consulta: {status} {answer}");
        let files: Vec<ManifestFile> = (0..FILES_PER_PACKAGE)
            .map(|i| ManifestFile {
                name: format!("slow-{i}.jpg"),
                kind: MediaKind::Photo,
                size: d.size,
                md5: d.md5.clone(),
                sha256: d.sha256.clone(),
            })
            .collect();
        let manifest = PackageManifest {
            inspection_id: InspectionId::new(),
            station: "ECV-A".into(),
            query_id: serde_json::from_value(answer["query_id"].clone())?,
            plate: Plate::parse(vehicle["plate"].as_str().unwrap_or_default())?,
            concluded_at: serde_json::from_value(answer["queried_at"].clone())?,
            // An interruption (§12) needs no laudo: the attack is about uploads, not evidence.
            outcome: Outcome::Interrupted(Interruption {
                cause: InterruptionCause::CustomerGaveUp,
                note: String::new(),
                at: serde_json::from_value(answer["queried_at"].clone())?,
                unsigned_verdict: None,
            }),
            checklist: Checklist::new(serde_json::from_value::<VehicleClass>(
                vehicle["class"].clone(),
            )?),
            metadata: Default::default(),
            audit_head: "0".repeat(64),
            audit_sequence: None,
            files,
        };
        let (status, answer) = c
            .request(
                STATION_A,
                "POST",
                "/packages",
                token,
                Some(&manifest.to_json()?),
            )
            .await?;
        anyhow::ensure!(status == 201, "manifesto: {status} {answer}");
        let id = manifest.inspection_id.to_string();
        out.extend(manifest.files.into_iter().map(|f| (id.clone(), f.name)));
    }
    out.truncate(count);
    Ok(out)
}

/// One upload that sends a byte a second, reopened whenever the server cuts or refuses it.
async fn slow_upload(c: Arc<Central>, token: String, id: String, name: String) {
    loop {
        if let Ok(mut tls) = c.connect(STATION_A).await {
            let head = format!(
                "PUT /api/v1/packages/{id}/files/{name}?offset=0 HTTP/1.1\r\nHost: {}\r\n\
                 Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n\
                 Content-Length: 1000\r\n\r\n",
                c.addr
            );
            if tls.write_all(head.as_bytes()).await.is_ok() {
                while tls.write_all(&[7]).await.is_ok() && tls.flush().await.is_ok() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One stranger's connection that completes TLS and sends nothing, reopened when closed.
async fn idle_connection(c: Arc<Central>) {
    loop {
        if let Ok(mut tls) = c.connect(STRANGER).await {
            let mut buf = [0u8; 16];
            let _ = tls.read(&mut buf).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Station B's `GET /time`, `n` times, 100 ms apart: seconds each (a failure counts as 60 s).
async fn latencies(c: &Central, token: &str, n: usize) -> (Vec<f64>, usize) {
    let mut out = Vec::with_capacity(n);
    let mut failures = 0;
    for _ in 0..n {
        let started = Instant::now();
        let ok = tokio::time::timeout(
            Duration::from_secs(60),
            c.request(STATION_B, "GET", "/time", token, None),
        )
        .await;
        match ok {
            Ok(Ok((200, _))) => out.push(started.elapsed().as_secs_f64()),
            _ => {
                failures += 1;
                out.push(60.0);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (out, failures)
}

fn summary(phase: &str, mut seconds: Vec<f64>, failures: usize) -> Value {
    seconds.sort_by(f64::total_cmp);
    let at = |q: f64| seconds[((seconds.len() as f64 - 1.0) * q).round() as usize];
    json!({
        "bench": "abuse",
        "phase": phase,
        "requests": seconds.len(),
        "failures": failures,
        "p50_ms": (at(0.5) * 1000.0).round(),
        "p99_ms": (at(0.99) * 1000.0).round(),
        "max_ms": (at(1.0) * 1000.0).round(),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.data)?;
    let token_a = station_add(&args.central, &args.data, "ECV-A")?;
    let token_b = station_add(&args.central, &args.data, "ECV-B")?;
    // `serve` insists on the ICP-Brasil roots laudo signatures chain to; this load signs
    // nothing, so a throwaway test PKI's root does.
    let pki = args.data.join("test-pki");
    vistoria_core::signing::test_pki::make(&pki, "52998224725", &Default::default())
        .map_err(anyhow::Error::msg)?;
    let mut child = Command::new(&args.central)
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(&args.data)
        .arg("--icp-roots")
        .arg(pki.join("roots"))
        .arg("--lcr-optional")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("vistoria-central não iniciou")?;
    let mut line = String::new();
    let stdout = child.stdout.take().context("sem stdout")?;
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
    let announced: Value = serde_json::from_str(&line)?;
    let url = announced["url"].as_str().context("sem url")?;
    let pin = announced["cert_sha256"]
        .as_str()
        .context("sem cert_sha256")?;
    let config = vistoria_core::central_client::tls_config(Some(pin))?;
    let central = Arc::new(Central {
        addr: url.trim_start_matches("https://").parse()?,
        tls: tokio_rustls::TlsConnector::from(config),
    });

    let result = async {
        let (before, failures) = latencies(&central, &token_b, args.requests).await;
        println!("{}", summary("baseline", before, failures));
        for (id, name) in targets(&central, &token_a, args.slow_uploads).await? {
            tokio::spawn(slow_upload(Arc::clone(&central), token_a.clone(), id, name));
        }
        for _ in 0..args.idle_connections {
            tokio::spawn(idle_connection(Arc::clone(&central)));
        }
        // Let the attack settle in: station A's request budget (20/s after a burst of 200)
        // lets all its uploads be attempted within about 20 s.
        tokio::time::sleep(Duration::from_secs(25)).await;
        let (during, failures) = latencies(&central, &token_b, args.requests).await;
        let line = summary("attack", during, failures);
        println!(
            "{}",
            json!({
                "slow_uploads": args.slow_uploads,
                "idle_connections": args.idle_connections,
                "result": line,
            })
        );
        anyhow::Ok(line)
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let line = result?;
    if line["p99_ms"].as_f64().unwrap_or(f64::MAX) >= 1000.0 {
        bail!(
            "p99 de {} ms sob ataque: acima da meta de 1 s",
            line["p99_ms"]
        );
    }
    Ok(())
}
