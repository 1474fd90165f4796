//! `vistoria bench central`: packages of 12 × 500 KB photos through the kiosk's outbox to the
//! reference central server on loopback (embedded), which re-hashes every byte and signs the
//! receipt. Prints two JSON lines: throughput (with the time the central's default request
//! limit made the outbox wait), and the time from "concluded" to receipt.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{RngCore, SeedableRng};
use serde_json::json;
use vistoria_core::central_client::{CentralClient, Endpoint};
use vistoria_core::clock::{BootClock, CentralClock};
use vistoria_core::domain::{Inspection, InspectionId, PhotoKind, SignatureInfo, Verdict};
use vistoria_core::film::FilmState;
use vistoria_core::outbox::{self, AttemptResult, DeliveryPolicy};
use vistoria_core::store::{AuditAction, Store};
use vistoria_core::wire::Vehicle;
use vistoria_core::{fixtures, workflow};

use super::simulate;
use super::simulate_sign::{self, SimCard};
use vistoria_station::embedded_central;

const STATION: &str = "ECV-BENCH-01";
const PHOTOS: usize = 12;
const PHOTO_BYTES: usize = 500_000;

/// Runs the benchmark with `packages` packages in the scratch folder `data`.
pub fn run(data: &Path, packages: u32) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(packages > 0, "--packages deve ser maior que zero");
    let central_data = data.join("central");
    let token = embedded_central::station_token(&central_data, STATION)?;
    let pki = simulate_sign::ensure_pki(&data.join("ecpf-sim"))?;
    let mut card = SimCard::open(&pki)?;
    let central = embedded_central::start(&central_data, &pki.roots_dir())?;
    let (mut store, _) = Store::open(&data.join("kiosk"))?;
    let client = CentralClient::new(&Endpoint {
        url: central.url.clone(),
        token,
        cert_sha256: central.cert_sha256.clone(),
    })?;
    let clock = CentralClock::new(Arc::new(BootClock::new()), None);
    let (_, server_key) = client.sync_clock(&clock)?;
    simulate_sign::register_inspector(&client)?;
    let station = vistoria_station::demo::simulated_station(STATION);
    let registry: Vec<Vehicle> = serde_json::from_str(include_str!("../../assets/vehicles.json"))
        .context("cadastro de veículos embutido")?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let policy = DeliveryPolicy::default();

    let mut latencies = Vec::new();
    let mut busy = Duration::ZERO;
    for n in 0..packages as usize {
        // Untimed: the inspection up to its conclusion and signature, photos stored with hashes.
        let mut inspection = concluded(
            &mut store,
            (&client, central.url.as_str()),
            &clock,
            &registry[n % registry.len()],
            &mut rng,
            &mut card,
        )?;
        // Timed: queue (manifest) and delivery until the verified receipt.
        let started = Instant::now();
        let entry = outbox::queue(&mut store, &station, &mut inspection, clock.now()?)?;
        let result = outbox::attempt(&mut store, &client, &clock, &policy, &server_key, entry)?;
        let took = started.elapsed();
        anyhow::ensure!(
            matches!(result, AttemptResult::Delivered(_)),
            "pacote {n} não foi entregue: {result:?}"
        );
        latencies.push(took);
        busy += took;
    }
    let pacing = client.pacing();
    latencies.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let bytes = (packages as usize * PHOTOS * PHOTO_BYTES) as f64;
    println!(
        "{}",
        json!({
            "bench": "central_throughput",
            "packages": packages,
            "photos_per_package": PHOTOS,
            "photo_bytes": PHOTO_BYTES,
            "packages_per_s": (packages as f64 / busy.as_secs_f64() * 100.0).round() / 100.0,
            "mb_per_s": (bytes / 1e6 / busy.as_secs_f64() * 10.0).round() / 10.0,
            "limiter_paced_s": (pacing.paced.as_secs_f64() * 100.0).round() / 100.0,
            "limiter_throttled": pacing.throttled,
            "limiter_throttled_wait_s": pacing.throttled_wait.as_secs(),
        })
    );
    println!(
        "{}",
        json!({
            "bench": "concluded_to_receipt",
            "p50_ms": ms(pct(0.5)),
            "p95_ms": ms(pct(0.95)),
            "max_ms": ms(*latencies.last().unwrap_or(&Duration::ZERO)),
        })
    );
    store.close()?;
    Ok(ExitCode::SUCCESS)
}

fn concluded(
    store: &mut Store,
    (client, central_url): (&CentralClient, &str),
    clock: &CentralClock,
    vehicle: &Vehicle,
    rng: &mut impl RngCore,
    card: &mut SimCard,
) -> anyhow::Result<Inspection> {
    let (mut query, identity) = simulate::counter_input(vehicle)?;
    // As the kiosk does: the inspection's id goes with the query, which allocates its number.
    query.inspection_id = Some(InspectionId::new());
    let answer = client.query_vehicle(&query)?;
    let mut inspection = workflow::open(store, None, identity, &answer, clock.now()?, "bench")?;
    workflow::apply(
        store,
        &mut inspection,
        clock.now()?,
        "bench",
        AuditAction::InspectionCaptureStarted,
        json!(null),
        |i, at| i.start_capture(at),
    )?;
    let mut photo = vec![0u8; PHOTO_BYTES];
    // The photos the class requires (§7; core refuses the conclusion without them), then
    // additional ones up to a full inspection's count.
    let mut kinds = inspection.data().class.required_photos();
    while kinds.len() < PHOTOS {
        kinds.push(PhotoKind::Additional);
    }
    for kind in kinds {
        // Incompressible bytes, as a JPEG's are.
        rng.fill_bytes(&mut photo);
        let record = workflow::store_photo(
            store,
            &inspection,
            workflow::photos::Request {
                kind,
                retake_reason: None,
                film: &FilmState::NoPanoramicCamera,
            },
            &photo,
            clock.now()?,
            "bench",
        )?;
        if kind == PhotoKind::RearWithPlate {
            simulate::unread_rear_corrected(store, &inspection, &record, clock.now()?, "bench")?;
        }
    }
    workflow::apply(
        store,
        &mut inspection,
        clock.now()?,
        "bench",
        AuditAction::InspectionConcluded,
        json!(null),
        |i, at| {
            fixtures::fill_checklist(i, 0, at);
            i.conclude(Verdict::Conforming, at)
        },
    )?;
    // The inspector's signature is a person's step (fingerprint, PIN): not part of the timing.
    let station = vistoria_station::demo::simulated_station(STATION);
    let check = fixtures::keep_simulated_check(store, inspection.id(), "bench", clock.now()?)?;
    let signed = card.sign(
        store,
        &station,
        &inspection,
        check,
        clock.now()?,
        central_url,
        "bench",
    )?;
    workflow::apply(
        store,
        &mut inspection,
        clock.now()?,
        "bench",
        AuditAction::InspectionSigned,
        json!(null),
        |i, at| {
            i.sign(SignatureInfo {
                signer: simulate_sign::INSPECTOR_NAME.to_owned(),
                at,
                certificate: Some(format!(
                    "{} · série {}",
                    signed.signer_name, signed.certificate_serial
                )),
            })
        },
    )?;
    Ok(inspection)
}
