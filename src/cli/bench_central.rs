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
use vistoria_core::domain::{Inspection, SignatureInfo, Verdict};
use vistoria_core::laudo::{BiometricCheck, InspectorInfo, LaudoInputs, StationInfo, stored};
use vistoria_core::outbox::{self, AttemptResult, DeliveryPolicy};
use vistoria_core::signing::test_pki::{self, SoftwareSigner};
use vistoria_core::store::Store;
use vistoria_core::wire::Vehicle;
use vistoria_core::{fixtures, workflow};

use super::{embedded_central, simulate};

const STATION: &str = "ECV-BENCH-01";
const PHOTOS: usize = 12;
/// CPF of the benchmark's inspector (valid check digits).
const INSPECTOR_CPF: &str = "39053344705";
const PHOTO_BYTES: usize = 500_000;

/// Runs the benchmark with `packages` packages in the scratch folder `data`.
pub fn run(data: &Path, packages: u32) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(packages > 0, "--packages deve ser maior que zero");
    let central_data = data.join("central");
    let token = embedded_central::station_token(&central_data, STATION)?;
    let central = embedded_central::start(&central_data)?;
    let (mut store, _) = Store::open(&data.join("kiosk"))?;
    let client = CentralClient::new(&Endpoint {
        url: central.url.clone(),
        token,
        cert_sha256: central.cert_sha256.clone(),
    })?;
    let clock = CentralClock::new(Arc::new(BootClock::new()), None);
    let (_, server_key) = client.sync_clock(&clock)?;
    let station = simulate::simulated_station(STATION);
    let registry: Vec<Vehicle> = serde_json::from_str(include_str!("../../assets/vehicles.json"))
        .context("cadastro de veículos embutido")?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let policy = DeliveryPolicy::default();
    // Every verdict carries its signed laudo (§14): a software e-CPF from the openssl test PKI.
    let pki = test_pki::make(
        &data.join("pki"),
        INSPECTOR_CPF,
        &test_pki::Options::default(),
    )
    .map_err(|e| anyhow::anyhow!("PKI de teste: {e}"))?;
    let mut signer =
        SoftwareSigner::of(&pki).map_err(|e| anyhow::anyhow!("e-CPF de teste: {e}"))?;

    let mut latencies = Vec::new();
    let mut busy = Duration::ZERO;
    for n in 0..packages as usize {
        // Untimed: the inspection up to its conclusion and signature, photos stored with hashes.
        let mut inspection = concluded(
            &mut store,
            &client,
            &clock,
            &registry[n % registry.len()],
            &mut rng,
            &mut signer,
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
    client: &CentralClient,
    clock: &CentralClock,
    vehicle: &Vehicle,
    rng: &mut impl RngCore,
    signer: &mut SoftwareSigner,
) -> anyhow::Result<Inspection> {
    let (query, identity) = simulate::counter_input(vehicle)?;
    let answer = client.query_vehicle(&query)?;
    let mut inspection = workflow::open(store, None, identity, &answer, clock.now()?, "bench")?;
    workflow::apply(
        store,
        &mut inspection,
        clock.now()?,
        "bench",
        "inspection.capture_started",
        json!(null),
        |i, at| i.start_capture(at),
    )?;
    let mut photo = vec![0u8; PHOTO_BYTES];
    for _ in 0..PHOTOS {
        // Incompressible bytes, as a JPEG's are.
        rng.fill_bytes(&mut photo);
        workflow::store_photo(
            store,
            &inspection,
            "additional",
            &photo,
            clock.now()?,
            "bench",
        )?;
    }
    workflow::apply(
        store,
        &mut inspection,
        clock.now()?,
        "bench",
        "inspection.concluded",
        json!(null),
        |i, at| {
            fixtures::fill_checklist(i, 0, at);
            i.conclude(Verdict::Conforming, at)
        },
    )?;
    // The inspector's signature is a person's step (fingerprint, PIN): not part of the timing.
    let now = clock.now()?;
    let station = simulate::simulated_station(STATION);
    stored::sign_and_store(
        store,
        &inspection,
        LaudoInputs {
            number: format!("{STATION}-{}", inspection.id()),
            station: StationInfo {
                code: station.code,
                name: station.name,
                city: station.city,
            },
            inspector: InspectorInfo {
                name: "Vistoriador de benchmark".to_owned(),
                cpf: INSPECTOR_CPF.to_owned(),
            },
            photos: Vec::new(),
            panoramic_segments: Vec::new(),
            biometric_check: BiometricCheck {
                matched: true,
                at: now.at,
            },
            issued_at: now.at,
            verify_base_url: "https://central.example/laudos/".to_owned(),
        },
        signer,
        now,
        "bench",
    )?;
    workflow::apply(
        store,
        &mut inspection,
        clock.now()?,
        "bench",
        "inspection.signed",
        json!(null),
        |i, at| {
            i.sign(SignatureInfo {
                signer: "Vistoriador de benchmark".to_owned(),
                at,
                certificate: Some("e-CPF de teste".to_owned()),
            })
        },
    )?;
    Ok(inspection)
}
