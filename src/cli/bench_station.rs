//! `vistoria bench capture --while-delivering`: a photo through the station, as the window
//! takes it (camera, checks, tarja, JPEG at 96 dpi, hashes, perceptual hash, store), timed
//! idle and again while a 50 MB package uploads to the central. The central is the embedded
//! one on loopback behind a relay capped at 80 Mbit/s, so the upload lasts seconds as on a
//! station's uplink. The station sends with no lock held, so a capture should barely notice.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::json;
use vistoria_core::accounts::Role;
use vistoria_core::domain::{InterruptionCause, PhotoKind};
use vistoria_core::store::{AuditAction, NewMedia, Store};
use vistoria_core::{outbox, workflow};
use vistoria_station::embedded_central::demo_opening;
use vistoria_station::link_proxy::LinkProxy;
use vistoria_station::{Session, Station, demo, startup};

const STATION: &str = "ECV-BENCH-01";
/// The package's size.
const PACKAGE_BYTES: usize = 50 * 1024 * 1024;
/// The relay's cap: 80 Mbit/s.
const LINK_BYTES_PER_SECOND: u64 = 10 * 1000 * 1000;

/// Runs the benchmark in `data` (created).
pub fn capture_while_delivering(data: &Path, iterations: u32) -> anyhow::Result<ExitCode> {
    ensure!(iterations > 0, "--iterations deve ser maior que zero");
    let mut opening = demo_opening(data, STATION, None)?;
    let link = LinkProxy::start(&opening.endpoint.url).context("relay para a central")?;
    opening.endpoint.url = link.url.clone();
    let operator = session(demo::OPERATOR, Role::Operator);
    let inspector = session(demo::INSPECTOR, Role::Inspector);

    // The inspection to be interrupted with a 50 MB film.
    let big = {
        let station = Station::open(opening.clone()).map_err(anyhow::Error::msg)?;
        station.sync_clock().map_err(anyhow::Error::msg)?;
        let big = station
            .open_inspection(&operator, "QTK3308", "43787047302", "")
            .map_err(anyhow::Error::msg)?;
        station.shutdown();
        big
    };
    // The film goes in through the store, as the recorder's segments do, then the package
    // is queued (the station is closed meanwhile: one process per data folder).
    {
        let (mut store, _) = Store::open(&opening.data)?;
        let clock = startup::restore_clock(&store)?;
        let now = clock.now()?;
        let film: Vec<u8> = (0..PACKAGE_BYTES)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        store.store_media(
            NewMedia {
                inspection_id: big.id,
                kind: "video_segment",
                extension: "mp4",
                captured_at: now,
                bytes: &film,
            },
            "bench",
        )?;
        let mut inspection = store.inspection(big.id)?.context("vistoria sumiu")?;
        workflow::apply(
            &mut store,
            &mut inspection,
            now,
            "bench",
            AuditAction::InspectionInterrupted,
            json!({ "cause": "customer_gave_up" }),
            |i, at| i.interrupt(InterruptionCause::CustomerGaveUp, "bench", at),
        )?;
        outbox::queue(&mut store, &opening.station, &mut inspection, now)?;
        store.close()?;
    }

    // The inspection photographed while the package goes.
    let station = Station::open(opening).map_err(anyhow::Error::msg)?;
    station.sync_clock().map_err(anyhow::Error::msg)?;
    let open = station
        .open_inspection(&operator, "ZAI9738", "53075421217", "")
        .map_err(anyhow::Error::msg)?;
    station
        .start_capture(&inspector, open.id)
        .map_err(anyhow::Error::msg)?;
    let capture = || -> anyhow::Result<Duration> {
        let started = Instant::now();
        station
            .capture_photo(&inspector, open.id, PhotoKind::Additional, None)
            .map_err(anyhow::Error::msg)?;
        Ok(started.elapsed())
    };
    // Warm-up (first JPEG, first phash index load), then idle.
    capture()?;
    let idle: Vec<Duration> = (0..iterations)
        .map(|_| capture())
        .collect::<anyhow::Result<_>>()?;

    link.limit(LINK_BYTES_PER_SECOND);
    let before = link.sent();
    let delivering = {
        let station = station.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            (station.deliver_due(), started.elapsed())
        })
    };
    // Captures while the bytes flow: from the first megabyte to the end of the upload.
    while link.sent() - before < 1_000_000 && !delivering.is_finished() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut busy = Vec::new();
    while !delivering.is_finished() {
        busy.push(capture()?);
    }
    let (delivery, upload) = delivering
        .join()
        .map_err(|_| anyhow::anyhow!("a entrega terminou em pânico"))?;
    let delivery = delivery.map_err(anyhow::Error::msg)?;
    ensure!(
        delivery.delivered.iter().any(|(id, _)| *id == big.id),
        "o pacote de 50 MB não foi entregue: {delivery:?}"
    );
    ensure!(!busy.is_empty(), "nenhuma captura durante o envio");
    let (idle_p50, busy_p50) = (p50(idle.clone()), p50(busy.clone()));
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    println!(
        "{}",
        json!({
            "bench": "capture_while_delivering",
            "package_mb": PACKAGE_BYTES / (1024 * 1024),
            "link_mbit_s": LINK_BYTES_PER_SECOND * 8 / 1_000_000,
            "upload_s": (upload.as_secs_f64() * 100.0).round() / 100.0,
            "idle_captures": idle.len(),
            "idle_p50_ms": ms(idle_p50),
            "delivering_captures": busy.len(),
            "delivering_p50_ms": ms(busy_p50),
            "ratio": (busy_p50.as_secs_f64() / idle_p50.as_secs_f64() * 100.0).round() / 100.0,
        })
    );
    station.shutdown();
    Ok(ExitCode::SUCCESS)
}

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn session(login: &str, role: Role) -> Session {
    Session {
        login: login.into(),
        name: login.into(),
        role,
        cpf: String::new(),
    }
}
