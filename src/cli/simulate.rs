//! `vistoria simulate`: whole inspections, headless, through the same core pipeline the kiosk
//! window uses, against a real central server, with simulated devices.
//!
//! Each run is identified by its seed: inspection `n` of seed `s` always gets the same id, so
//! re-running with the same data directory and seed resumes the run. An inspection a kill cut
//! short is closed as interrupted (system failure) by the startup recovery and delivered like
//! any other, and the run still ends with exactly N inspections at the central (§12).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use sha2::{Digest, Sha256};
use vistoria_core::central_client::{CentralClient, ClientError, Endpoint};
use vistoria_core::clock::{CentralClock, CentralStamp};
use vistoria_core::config::Station;
use vistoria_core::domain::{
    Chassis, Inspection, InspectionId, InterruptionCause, PhotoKind, Plate, Renavam, SignatureInfo,
    StateKind, VehicleIdentity, Verdict,
};
use vistoria_core::film::FilmState;
use vistoria_core::ocr::correction::{self, CorrectionForm};
use vistoria_core::outbox::{self, AttemptResult, DeliveryPolicy};
use vistoria_core::store::{AuditAction, MediaRecord, OutboxState, Store};
use vistoria_core::wire::{Vehicle, VehicleQuery};
use vistoria_core::{fixtures, workflow};

use super::simulate_sign::{self, SimCard};
use super::synthetic;
use vistoria_station::demo::simulated_station;
use vistoria_station::startup;

/// The fictitious registry the reference central server ships (§5).
const REGISTRY: &str = include_str!("../../assets/vehicles.json");
const OPERATOR: &str = "operador.simulado";
const INSPECTOR: &str = "vistoriador.simulado";

/// Options of `vistoria simulate`.
#[derive(Args, Clone)]
pub struct SimulateArgs {
    /// Base URL of the central server.
    #[arg(long)]
    pub central: String,
    /// SHA-256 of the central's certificate (pinned).
    #[arg(long)]
    pub cert_sha256: Option<String>,
    /// The station's token.
    #[arg(long)]
    pub token: String,
    /// Station code the token belongs to.
    #[arg(long, default_value = "ECV-SIM-01")]
    pub station: String,
    /// Data directory of the simulated kiosk.
    #[arg(long)]
    pub data: PathBuf,
    /// How many inspections the run has.
    #[arg(long)]
    pub inspections: u64,
    /// Identifies the run; the same seed on the same data resumes it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Size of the simulated camera's frames.
    #[arg(long, default_value = "1600x1024", value_parser = parse_size)]
    pub frame: (u32, u32),
    /// Delivery attempt offsets in seconds (default: the station's 5 attempts in 4 h).
    #[arg(long, value_delimiter = ',', hide = true)]
    pub retry_schedule: Option<Vec<f64>>,
    /// Exit once no attempt is due within this many seconds (the rest stays queued).
    #[arg(long, default_value_t = 10.0)]
    pub max_wait: f64,
    /// Test PKI of the simulated inspector's e-CPF (made there when missing; default
    /// DATA/ecpf-sim). The central must trust its `roots/` folder (`--icp-roots`).
    #[arg(long)]
    pub pki: Option<PathBuf>,
}

impl SimulateArgs {
    /// Where the simulated inspector's test PKI is.
    pub fn pki_dir(&self) -> PathBuf {
        self.pki
            .clone()
            .unwrap_or_else(|| self.data.join("ecpf-sim"))
    }
}

/// `LARGURAxALTURA` (a frame or window size) from the command line.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or("use LARGURAxALTURA, ex.: 1600x1024")?;
    let parse = |v: &str| v.parse::<u32>().map_err(|e| e.to_string());
    Ok((parse(w)?, parse(h)?))
}

/// Runs (or resumes) the simulation and prints one JSON line per inspection and a summary.
pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    check(args)?;
    let _log =
        crate::logging::init(&args.data.join("logs")).context("iniciando o registro (log)")?;
    let (mut store, report) = Store::open(&args.data)?;
    let mut card = SimCard::open(&simulate_sign::ensure_pki(&args.pki_dir())?)?;
    let client = CentralClient::new(&Endpoint {
        url: args.central.clone(),
        token: args.token.clone(),
        cert_sha256: args.cert_sha256.clone(),
    })?;
    let clock = startup::restore_clock(&store)?;
    let server_key = sync(&mut store, &client, &clock)?;
    let recovered = startup::recover(&mut store, &report, &clock)?;
    tracing::info!(%recovered, "simulation starting");
    let station = simulated_station(&args.station);
    let policy = match &args.retry_schedule {
        Some(secs) => DeliveryPolicy::with_schedule(
            secs.iter().map(|s| Duration::from_secs_f64(*s)).collect(),
        ),
        None => DeliveryPolicy::default(),
    };
    let registry: Vec<Vehicle> =
        serde_json::from_str(REGISTRY).context("cadastro de veículos embutido")?;

    for n in 0..args.inspections {
        let id = run_id(args.seed, n);
        if store.inspection(id)?.is_none() {
            let vehicle =
                &registry[((args.seed.wrapping_mul(7919) + n) % registry.len() as u64) as usize];
            let mut ctx = Ctx {
                client: &client,
                clock: &clock,
                station: &station,
                args,
                card: &mut card,
            };
            let inspection = inspect(&mut store, &mut ctx, id, n, vehicle)?;
            println!("{}", line(&inspection));
        }
        deliver(&mut store, &client, &clock, &policy, &server_key)?;
    }
    // What earlier, killed runs left concluded-but-unqueued (recovered as interrupted) goes too.
    for mut inspection in store.inspections()? {
        if matches!(
            inspection.state_kind(),
            StateKind::Interrupted | StateKind::Signed
        ) {
            outbox::queue(&mut store, &station, &mut inspection, clock.now()?)?;
        }
    }
    drain(
        &mut store,
        &client,
        &clock,
        &policy,
        &server_key,
        args.max_wait,
    )?;

    let entries = store.outbox()?;
    let count = |state| entries.iter().filter(|e| e.state == state).count();
    let summary = json!({
        "inspections": store.inspections()?.len(),
        "delivered": count(OutboxState::Delivered),
        "queued": count(OutboxState::Pending),
        "stuck": count(OutboxState::Stuck),
    });
    println!("{summary}");
    store.close()?;
    Ok(ExitCode::SUCCESS)
}

/// The run's `n`th inspection id: the same for the same seed, so a resumed run finds its own.
fn run_id(seed: u64, n: u64) -> InspectionId {
    let digest = Sha256::new()
        .chain_update(b"vistoria-simulate")
        .chain_update(seed.to_le_bytes())
        .chain_update(n.to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    InspectionId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// Syncs the clock (retrying while the central is unreachable, unless a saved sync from this
/// boot lets the run go on offline) and returns the central's receipt-signing key.
fn sync(store: &mut Store, client: &CentralClient, clock: &CentralClock) -> anyhow::Result<String> {
    let started = Instant::now();
    loop {
        match startup::exchange(client, clock) {
            Ok((_, key)) => {
                startup::record_sync(store, client, clock, &key)?;
                // §11: the central accepts laudos signed by registered inspectors only.
                with_retries(|| simulate_sign::register_inspector(client))
                    .context("registrando o vistoriador simulado na central")?;
                return Ok(key);
            }
            Err(e) if e.is_transient() && started.elapsed() < Duration::from_secs(120) => {
                if clock.now().is_ok()
                    && let Some(key) = store.meta(startup::SERVER_KEY)?
                {
                    tracing::warn!(%e, "central unreachable; going on with the saved sync (2c)");
                    return Ok(key);
                }
                sleep(Duration::from_millis(300));
            }
            Err(e) => return Err(e).context("sincronizando a hora com o servidor central"),
        }
    }
}

/// What every inspection of the run uses besides the store.
struct Ctx<'a> {
    client: &'a CentralClient,
    clock: &'a CentralClock,
    station: &'a Station,
    args: &'a SimulateArgs,
    card: &'a mut SimCard,
}

/// One whole inspection; the result cycles: conforming, non-conforming, interrupted.
fn inspect(
    store: &mut Store,
    ctx: &mut Ctx<'_>,
    id: InspectionId,
    n: u64,
    vehicle: &Vehicle,
) -> anyhow::Result<Inspection> {
    let (client, clock, station, args) = (ctx.client, ctx.clock, ctx.station, ctx.args);
    let (mut query, identity) = counter_input(vehicle)?;
    query.inspection_id = Some(id);
    let answer = with_retries(|| client.query_vehicle(&query)).context("consulta do veículo")?;
    let mut inspection =
        workflow::open(store, Some(id), identity, &answer, clock.now()?, OPERATOR)?;
    workflow::apply(
        store,
        &mut inspection,
        clock.now()?,
        INSPECTOR,
        AuditAction::InspectionCaptureStarted,
        json!(null),
        |i, at| i.start_capture(at),
    )?;
    let interrupted = n % 3 == 2;
    let required = inspection.data().class.required_photos();
    let photos = if interrupted {
        &required[..required.len().min(3)]
    } else {
        &required[..]
    };
    let (width, height) = args.frame;
    for (i, kind) in photos.iter().enumerate() {
        let jpeg =
            synthetic::photo_jpeg(width, height, n * 100 + i as u64 + args.seed * 1_000_000)?;
        let record = workflow::store_photo(
            store,
            &inspection,
            workflow::photos::Request {
                kind: *kind,
                retake_reason: None,
                film: &FilmState::NoPanoramicCamera,
            },
            &jpeg,
            clock.now()?,
            INSPECTOR,
        )?;
        if *kind == PhotoKind::RearWithPlate {
            unread_rear_corrected(store, &inspection, &record, clock.now()?, INSPECTOR)?;
        }
    }
    if interrupted {
        workflow::apply(
            store,
            &mut inspection,
            clock.now()?,
            INSPECTOR,
            AuditAction::InspectionInterrupted,
            json!({ "cause": "customer_gave_up" }),
            |i, at| {
                i.interrupt(
                    InterruptionCause::CustomerGaveUp,
                    "cliente desistiu durante a vistoria",
                    at,
                )
            },
        )?;
    } else {
        workflow::apply(
            store,
            &mut inspection,
            clock.now()?,
            INSPECTOR,
            AuditAction::InspectionConcluded,
            json!(null),
            |i, at| {
                fixtures::fill_checklist(i, n, at);
                let verdict = i.checklist().verdict().unwrap_or(Verdict::Conforming);
                i.conclude(verdict, at)
            },
        )?;
        // §14: the simulated reader's finger matched for real, then a real laudo and `.p7s`,
        // signed with the simulated inspector's test e-CPF.
        let check = fixtures::keep_simulated_check(store, id, INSPECTOR, clock.now()?)?;
        let signed = ctx.card.sign(
            store,
            station,
            &inspection,
            check,
            clock.now()?,
            &args.central,
            INSPECTOR,
        )?;
        let signer = SignatureInfo {
            signer: simulate_sign::INSPECTOR_NAME.to_owned(),
            at: clock.now()?.at,
            certificate: Some(format!(
                "{} · série {}",
                signed.signer_name, signed.certificate_serial
            )),
        };
        workflow::apply(
            store,
            &mut inspection,
            clock.now()?,
            INSPECTOR,
            AuditAction::InspectionSigned,
            json!({
                "biometric_confirmation": "simulated",
                "certificate": { "holder": signed.signer_name, "serial": signed.certificate_serial },
                "p7s_sha256": signed.p7s_sha256,
            }),
            |i, at| i.sign(SignatureInfo { at, ..signer }),
        )?;
    }
    outbox::queue(store, station, &mut inspection, clock.now()?)?;
    Ok(inspection)
}

/// §6 on a path without OCR: the synthetic rear photo shows no plate, so its reading is stored
/// as nothing read and the simulated inspector records the correction, as the rule requires
/// before the conclusion.
pub fn unread_rear_corrected(
    store: &mut Store,
    inspection: &Inspection,
    rear: &MediaRecord,
    now: CentralStamp,
    actor: &str,
) -> anyhow::Result<()> {
    correction::record_reading(
        store,
        inspection,
        rear,
        None,
        0.0,
        Some("foto sintética da simulação: sem placa para ler".to_owned()),
        now,
        actor,
    )?;
    let vehicle = inspection.vehicle();
    let renavam = vehicle
        .renavam()
        .map(|r| r.as_str().to_owned())
        .context("a simulação consulta pelo RENAVAM")?;
    correction::record(
        store,
        inspection,
        &rear.id,
        &CorrectionForm {
            user: actor,
            plate: vehicle.plate().as_str(),
            renavam: &renavam,
            reason: "simulação: placa conferida pelo vistoriador simulado",
        },
        now,
    )?;
    Ok(())
}

/// What the operator types at the counter for a registry vehicle (§5): the plate confirmed
/// by its RENAVAM, and the identity the inspection keeps.
pub fn counter_input(vehicle: &Vehicle) -> anyhow::Result<(VehicleQuery, VehicleIdentity)> {
    let query = VehicleQuery {
        plate: vehicle.plate.clone(),
        renavam: Some(vehicle.renavam.clone()),
        chassis: None,
        inspection_id: None,
    };
    let identity = VehicleIdentity::new(
        Plate::parse(&vehicle.plate)?,
        Some(Renavam::parse(&vehicle.renavam)?),
        vehicle
            .data
            .chassis
            .as_deref()
            .and_then(|c| Chassis::parse(c).ok()),
    )?;
    Ok((query, identity))
}

/// Retries a central call while it fails for a transient reason, for up to two minutes.
fn with_retries<T>(mut call: impl FnMut() -> Result<T, ClientError>) -> Result<T, ClientError> {
    let started = Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        match call() {
            Err(e) if e.is_transient() && started.elapsed() < Duration::from_secs(120) => {
                tracing::warn!(%e, "central call failed; retrying");
                sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}

fn deliver(
    store: &mut Store,
    client: &CentralClient,
    clock: &CentralClock,
    policy: &DeliveryPolicy,
    server_key: &str,
) -> anyhow::Result<()> {
    for (id, result) in outbox::deliver_due(store, client, clock, policy, server_key)? {
        let line = match result {
            AttemptResult::Delivered(r) => json!({ "id": id, "delivered": r.laudo_number }),
            AttemptResult::Retry { error, next } => {
                json!({ "id": id, "retry_at": next, "error": error })
            }
            AttemptResult::Stuck(why) => json!({ "id": id, "stuck": why }),
        };
        println!("{line}");
    }
    Ok(())
}

/// Delivers until nothing is pending or the next attempt is further than `max_wait` seconds.
fn drain(
    store: &mut Store,
    client: &CentralClient,
    clock: &CentralClock,
    policy: &DeliveryPolicy,
    server_key: &str,
    max_wait: f64,
) -> anyhow::Result<()> {
    loop {
        deliver(store, client, clock, policy, server_key)?;
        let Some(next) = outbox::next_due(store)? else {
            return Ok(());
        };
        let wait = (next - clock.now()?.at).to_std().unwrap_or_default();
        if wait.as_secs_f64() > max_wait {
            return Ok(());
        }
        sleep(wait.max(Duration::from_millis(50)));
    }
}

fn line(inspection: &Inspection) -> serde_json::Value {
    json!({
        "id": inspection.id(),
        "plate": inspection.vehicle().plate(),
        "class": inspection.data().class.code(),
        "outcome": inspection.outcome().map(|o| o.label_pt()),
        "state": inspection.state_name(),
    })
}

/// Checks the arguments a person typed before anything starts.
fn check(args: &SimulateArgs) -> anyhow::Result<()> {
    let data: &Path = &args.data;
    if args.inspections == 0 {
        bail!("--inspections deve ser maior que zero");
    }
    if data.exists() && !data.is_dir() {
        bail!("{} não é uma pasta", data.display());
    }
    Ok(())
}
