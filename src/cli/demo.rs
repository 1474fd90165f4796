//! `vistoria demo`: the kiosk with simulated devices and nothing to configure.
//!
//! Until the kiosk window lands, demo mode runs whole inspections headlessly through the core —
//! open after the vehicle query, photograph what the class requires, fill the checklist,
//! conclude or interrupt, sign, queue — and prints what it did, then checks the audit chain and
//! every stored photo's hashes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use vistoria_core::clock::CentralClock;
use vistoria_core::domain::{Inspection, InterruptionCause, SignatureInfo, Verdict};
use vistoria_core::fixtures;
use vistoria_core::store::{AuditEvent, NewMedia, Store};

use super::{startup, synthetic};

/// Demo-mode options.
#[derive(Args)]
pub struct DemoArgs {
    /// How many inspections to run.
    #[arg(long, default_value_t = 6)]
    inspections: u64,
    /// Keep the data here (default: a temporary folder, removed at the end).
    #[arg(long)]
    data: Option<PathBuf>,
}

const OPERATOR: &str = "operador.demo";
const INSPECTOR: &str = "vistoriador.demo";

/// Runs the demo and prints one line per inspection and a JSON summary.
pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let (data_dir, temporary) = match &args.data {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("vistoria-demo-{}", std::process::id())),
            true,
        ),
    };
    let result = run_in(&data_dir, args.inspections);
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    result
}

fn run_in(data_dir: &std::path::Path, count: u64) -> anyhow::Result<ExitCode> {
    let _log =
        crate::logging::init(&data_dir.join("logs")).context("iniciando o registro (log)")?;
    let (mut store, report) = Store::open(data_dir)?;
    let clock = startup::restore_clock(&store)?;
    sync_with_demo_central(&clock)?;
    startup::save_clock(&mut store, &clock)?;
    println!("Vistoria — modo demonstração (dispositivos simulados)");
    println!("dados em {}", data_dir.display());
    println!("{}", startup::recover(&mut store, &report, &clock)?);

    // Continue numbering after earlier runs on the same data, so plates do not repeat.
    let first = store.inspections()?.len() as u64;
    for n in first..first + count {
        let inspection = run_one(&mut store, &clock, n)?;
        let photos = store.media_of(inspection.id())?.len();
        println!(
            "{}  {:<8} {:<26} {:>2} fotos  {}  → {}",
            inspection.id(),
            inspection.vehicle().plate(),
            inspection.data().make_model,
            photos,
            inspection
                .outcome()
                .map(|o| o.label_pt().to_owned())
                .unwrap_or_default(),
            inspection.state_kind().label_pt(),
        );
    }

    let audit = store.verify_audit()?;
    let media_problems = store.verify_media()?;
    let summary = serde_json::json!({
        "inspections": store.inspections()?.len(),
        "audit_rows": audit.rows,
        "audit_ok": audit.problem.is_none(),
        "media_problems": media_problems.len(),
    });
    println!("{summary}");
    store.close()?;
    Ok(if audit.problem.is_none() && media_problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// In demo mode the "central server" is this machine; a real station syncs with the server.
fn sync_with_demo_central(clock: &CentralClock) -> anyhow::Result<()> {
    let sent = clock.mono_now();
    let central = chrono::Utc::now();
    let received = clock.mono_now();
    clock.record_sync(central, &sent, &received)?;
    Ok(())
}

/// One whole inspection; the result cycles through conforming, non-conforming, interrupted.
fn run_one(store: &mut Store, clock: &CentralClock, n: u64) -> anyhow::Result<Inspection> {
    let (identity, data) = fixtures::sample_vehicle(n);
    let now = clock.now()?;
    let mut inspection = Inspection::open(identity, data, now.at);
    store.save_inspection(
        &inspection,
        AuditEvent::new(Some(now), OPERATOR, "inspection.opened"),
    )?;

    let now = clock.now()?;
    inspection.start_capture(now.at)?;
    store.save_inspection(
        &inspection,
        AuditEvent::new(Some(now), INSPECTOR, "inspection.capture_started"),
    )?;
    let required = inspection.data().class.required_photos();
    let photos = if n % 3 == 2 {
        &required[..3]
    } else {
        &required[..]
    };
    for (i, kind) in photos.iter().enumerate() {
        let bytes = synthetic::photo_jpeg(1600, 1024, n * 100 + i as u64)?;
        store.store_media(
            NewMedia {
                inspection_id: inspection.id(),
                kind: kind.code(),
                extension: "jpg",
                captured_at: clock.now()?,
                bytes: &bytes,
            },
            INSPECTOR,
        )?;
    }

    let now = clock.now()?;
    if n % 3 == 2 {
        inspection.interrupt(
            InterruptionCause::CustomerGaveUp,
            "cliente desistiu durante a vistoria",
            now.at,
        )?;
        store.save_inspection(
            &inspection,
            AuditEvent::new(Some(now), INSPECTOR, "inspection.interrupted"),
        )?;
    } else {
        fixtures::fill_checklist(&mut inspection, n, now.at);
        let verdict = inspection
            .checklist()
            .verdict()
            .unwrap_or(Verdict::Conforming);
        inspection.conclude(verdict, now.at)?;
        store.save_inspection(
            &inspection,
            AuditEvent::new(Some(now), INSPECTOR, "inspection.concluded"),
        )?;
        let now = clock.now()?;
        inspection.sign(SignatureInfo {
            signer: "Vistoriador Demonstração".to_owned(),
            at: now.at,
            certificate: None,
        })?;
        store.save_inspection(
            &inspection,
            AuditEvent::new(Some(now), INSPECTOR, "inspection.signed")
                .detail(serde_json::json!({ "biometric_confirmation": "simulated" })),
        )?;
    }
    let now = clock.now()?;
    inspection.queue(now.at)?;
    store.save_inspection(
        &inspection,
        AuditEvent::new(Some(now), "system", "inspection.queued"),
    )?;
    Ok(inspection)
}
