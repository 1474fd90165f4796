//! `vistoria simulate`: whole inspections, headless, through the station service the kiosk
//! window uses (`vistoria_station::Station`), against a real central server, with demo mode's
//! simulated devices: the camera photographs the vehicle with its own plate and each photo goes
//! through the real capture pipeline (quality checks, tarja, JPEG at 96 dpi, EXIF GPS, hashes,
//! perceptual hash, OCR of the rear photo and the §6 correction when the reading is off), the
//! inspector logs in and confirms §14 on the simulated reader, and the laudo is signed on the
//! demo SoftHSM2 e-CPF token. What the central receives is what a station sends.
//!
//! A run is "this data folder holds N inspections": re-running on the same data resumes it.
//! An inspection a kill cut short is closed as interrupted (system failure) when the station
//! opens again and delivered like any other, so the run still ends with exactly N inspections
//! at the central (§12).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use vistoria_core::central_client::Endpoint;
use vistoria_core::domain::{Condition, InterruptionCause};
use vistoria_core::outbox::DeliveryPolicy;
use vistoria_core::signing::test_pki::TOKEN_PIN;
use vistoria_core::store::OutboxState;
use vistoria_core::wire::Vehicle;
use vistoria_station::{DeviceSetup, Failure, InspectionRow, Opening, Session, Station, demo};

/// The fictitious registry the reference central server ships (§5).
const REGISTRY: &str = include_str!("../../assets/vehicles.json");

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
    /// Delivery attempt offsets in seconds (default: the station's 5 attempts in 4 h).
    #[arg(long, value_delimiter = ',', hide = true)]
    pub retry_schedule: Option<Vec<f64>>,
    /// Exit once no attempt is due within this many seconds (the rest stays queued).
    #[arg(long, default_value_t = 10.0)]
    pub max_wait: f64,
    /// Folder of the inspector's demo e-CPF token (SoftHSM2; made there when missing, default
    /// DATA/ecpf-demo). The central must trust its `roots/` folder (`--icp-roots`).
    #[arg(long)]
    pub pki: Option<PathBuf>,
    /// First do what a technician does in Envios for packages that used up their automatic
    /// attempts (§12): "Reenviar" each stuck one, logged in as the demo technician.
    #[arg(long)]
    pub retry_stuck: bool,
}

impl SimulateArgs {
    /// Where the inspector's demo token is.
    pub fn pki_dir(&self) -> PathBuf {
        self.pki
            .clone()
            .unwrap_or_else(|| vistoria_station::card::demo_token_dir(&self.data))
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
    let token_dir = args.pki_dir();
    super::demo::with_softhsm_conf(&token_dir.join("softhsm2.conf"))?;
    let _log =
        crate::logging::init(&args.data.join("logs")).context("iniciando o registro (log)")?;
    let endpoint = Endpoint {
        url: args.central.clone(),
        token: args.token.clone(),
        cert_sha256: args.cert_sha256.clone(),
    };
    let station = open_station(&args.data, endpoint, &args.station, &token_dir)?;
    if let Some(secs) = &args.retry_schedule {
        station.use_delivery_policy(DeliveryPolicy::with_schedule(
            secs.iter().map(|s| Duration::from_secs_f64(*s)).collect(),
        ));
    }
    sync(&station)?;
    let staff = Staff::log_in(&station)?;
    if args.retry_stuck {
        retry_stuck(&station)?;
    }
    let registry = registry()?;

    loop {
        let n = station.inspection_count().map_err(anyhow::Error::msg)? as u64;
        if n >= args.inspections {
            break;
        }
        let vehicle =
            &registry[((args.seed.wrapping_mul(7919) + n) % registry.len() as u64) as usize];
        let row = inspect(&station, &staff, n, vehicle)?;
        println!("{}", line(&row));
        deliver(&station);
    }
    drain(&station, args.max_wait)?;
    // A technician watching Envios presses "Reenviar" again on what stopped once more (a
    // central still coming back), a few times, some seconds apart.
    for _ in 0..STUCK_ROUNDS {
        if !args.retry_stuck || retry_stuck(&station)? == 0 {
            break;
        }
        drain(&station, args.max_wait)?;
    }

    let entries = station.outbox().map_err(anyhow::Error::msg)?;
    let count = |state| entries.iter().filter(|e| e.state == state).count();
    let summary = json!({
        "inspections": station.inspection_count().map_err(anyhow::Error::msg)?,
        "delivered": count(OutboxState::Delivered),
        "queued": count(OutboxState::Pending),
        "stuck": count(OutboxState::Stuck),
    });
    println!("{summary}");
    station.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// How many times `--retry-stuck` looks at Envios again after delivering.
const STUCK_ROUNDS: usize = 3;

/// The technician's "Reenviar" on every stuck package; says how many on stderr.
fn retry_stuck(station: &Station) -> anyhow::Result<usize> {
    let stuck: Vec<_> = station
        .outbox()
        .map_err(anyhow::Error::msg)?
        .into_iter()
        .filter(|e| e.state == OutboxState::Stuck)
        .collect();
    if stuck.is_empty() {
        return Ok(0);
    }
    let technician = with_retries(|| station.login_with_password(demo::TECHNICIAN, demo::PASSWORD))
        .context("login do técnico simulado")?;
    for entry in &stuck {
        with_retries(|| station.retry_stuck(&technician, entry.id))
            .context("reenvio de pacote parado")?;
    }
    eprintln!("{}", json!({ "retried_stuck": stuck.len() }));
    Ok(stuck.len())
}

/// The vehicles of the fictitious registry the reference central ships.
pub fn registry() -> anyhow::Result<Vec<Vehicle>> {
    serde_json::from_str(REGISTRY).context("cadastro de veículos embutido")
}

/// Opens the simulated station in `data` (demo mode's devices and staff) against `endpoint`,
/// with the inspector's demo token in `token_dir` made first, so the station opens with it
/// ready rather than in the making. The process must run with that token's `SOFTHSM2_CONF`
/// ([`super::demo::with_softhsm_conf`]).
pub fn open_station(
    data: &Path,
    endpoint: Endpoint,
    code: &str,
    token_dir: &Path,
) -> anyhow::Result<Station> {
    if let vistoria_station::card::CardSetup::Unavailable(why) = vistoria_station::card::demo_token(
        token_dir,
        &demo::INSPECTOR_NAME.to_uppercase(),
        demo::INSPECTOR_CPF,
    ) {
        bail!("{why}");
    }
    Station::open(Opening {
        data: data.to_path_buf(),
        log_dir: data.join("logs"),
        template_key: Opening::demo_key_file(data),
        endpoint,
        station: demo::simulated_station(code),
        devices: DeviceSetup::Demo {
            bay: None,
            token_dir: Some(token_dir.to_path_buf()),
        },
    })
    .map_err(anyhow::Error::msg)
    .context("abrindo a estação simulada")
}

/// Who works the simulated station: the counter's operator (password) and the inspector
/// (fingerprint on the simulated reader).
pub struct Staff {
    operator: Session,
    inspector: Session,
}

impl Staff {
    /// Both log in as at the kiosk.
    pub fn log_in(station: &Station) -> anyhow::Result<Staff> {
        let operator = with_retries(|| station.login_with_password(demo::OPERATOR, demo::PASSWORD))
            .context("login do operador simulado")?;
        let inspector = with_retries(|| station.login_with_fingerprint(Some(demo::INSPECTOR)))
            .context("login do vistoriador simulado pela digital")?;
        Ok(Staff {
            operator,
            inspector,
        })
    }
}

/// Syncs the clock and sends the inspectors (retrying for two minutes while the central is
/// unreachable, unless a saved sync from this boot lets the run go on offline, 2c).
fn sync(station: &Station) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        match station.sync_clock() {
            Ok(_) => return Ok(()),
            Err(e) if e.is_offline() && started.elapsed() < Duration::from_secs(120) => {
                if station.clock().now().is_ok() {
                    tracing::warn!(%e, "central unreachable; going on with the saved sync (2c)");
                    return Ok(());
                }
                sleep(Duration::from_millis(300));
            }
            Err(e) => {
                return Err(anyhow::Error::msg(e))
                    .context("sincronizando a hora com o servidor central");
            }
        }
    }
}

/// One whole inspection, the kiosk's steps in the kiosk's order; the result cycles with `n`:
/// conforming, non-conforming, interrupted. A signed inspection is queued by the signature.
pub fn inspect(
    station: &Station,
    staff: &Staff,
    n: u64,
    vehicle: &Vehicle,
) -> anyhow::Result<InspectionRow> {
    let (operator, inspector) = (&staff.operator, &staff.inspector);
    let row =
        with_retries(|| station.open_inspection(operator, &vehicle.plate, &vehicle.renavam, ""))
            .context("consulta do veículo")?;
    let id = row.id;
    let step = |what: &str, r: Result<InspectionRow, Failure>| {
        r.map_err(anyhow::Error::msg)
            .with_context(|| what.to_owned())
    };
    let row = step("início da captura", station.start_capture(inspector, id))?;
    let interrupted = n % 3 == 2;
    let photos = if interrupted {
        &row.required[..row.required.len().min(3)]
    } else {
        &row.required[..]
    };
    for kind in photos {
        let shot = station
            .capture_photo(inspector, id, *kind, None)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("foto {}", kind.label_pt()))?;
        // §6: a reading that is off (or in doubt) is corrected by the inspector, who checked
        // the plate on the vehicle, before the inspection can go on.
        if let Some(ocr) = shot.ocr.filter(|o| o.needs_correction) {
            tracing::info!(%id, read = ?ocr.read, "plate reading corrected (§6)");
            station
                .correct_plate(
                    inspector,
                    id,
                    &shot.media_id,
                    &vehicle.plate,
                    &vehicle.renavam,
                    "simulação: placa conferida no veículo pelo vistoriador",
                )
                .map_err(anyhow::Error::msg)
                .context("correção da leitura da placa (§6)")?;
        }
    }
    if interrupted {
        return step(
            "interrupção",
            station.interrupt(
                inspector,
                id,
                InterruptionCause::CustomerGaveUp,
                "cliente desistiu durante a vistoria",
            ),
        );
    }
    for (i, (item, _, _)) in row.checklist.iter().enumerate() {
        let (condition, note) = if n % 3 == 1 && i == 0 {
            (
                Condition::NonConforming,
                Some("avaria observada na vistoria".to_owned()),
            )
        } else {
            (Condition::Conforming, None)
        };
        step(
            "checklist",
            station.set_item(inspector, id, *item, condition, note),
        )?;
    }
    step("conclusão", station.conclude(inspector, id))?;
    // §14: the station's own reader and matcher, then the demo token's real signature.
    station
        .confirm_fingerprint(inspector, id)
        .map_err(anyhow::Error::msg)
        .context("conferência da digital antes da assinatura (§14)")?;
    let signed = station
        .sign(inspector, id, TOKEN_PIN)
        .map_err(anyhow::Error::msg)
        .context("assinatura do laudo")?;
    Ok(signed.row)
}

/// Retries a station call while the central cannot be reached, for up to two minutes.
fn with_retries<T>(mut call: impl FnMut() -> Result<T, Failure>) -> anyhow::Result<T> {
    let started = Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        match call() {
            Err(e) if e.is_offline() && started.elapsed() < Duration::from_secs(120) => {
                tracing::warn!(%e, "central call failed; retrying");
                sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            other => return other.map_err(anyhow::Error::msg),
        }
    }
}

/// One delivery pass; prints what it did.
pub fn deliver(station: &Station) {
    match station.deliver_due() {
        Ok(delivery) => {
            for (id, number) in delivery.delivered {
                println!("{}", json!({ "id": id, "delivered": number }));
            }
            for (id, why) in delivery.failures {
                println!("{}", json!({ "id": id, "error": why.to_string() }));
            }
        }
        Err(e) => println!("{}", json!({ "delivery": e.to_string() })),
    }
}

/// Delivers until nothing is pending or the next attempt is further than `max_wait` seconds.
fn drain(station: &Station, max_wait: f64) -> anyhow::Result<()> {
    loop {
        deliver(station);
        let next = station
            .outbox()
            .map_err(anyhow::Error::msg)?
            .into_iter()
            .filter(|e| e.state == OutboxState::Pending)
            .filter_map(|e| e.next_attempt_at)
            .min();
        let Some(next) = next else {
            return Ok(());
        };
        let now = station.clock().now().map_err(anyhow::Error::msg)?.at;
        let wait = (next - now).to_std().unwrap_or_default();
        if wait.as_secs_f64() > max_wait {
            return Ok(());
        }
        sleep(wait.max(Duration::from_millis(50)));
    }
}

fn line(row: &InspectionRow) -> serde_json::Value {
    json!({
        "id": row.id,
        "plate": row.plate,
        "class": row.data.class.code(),
        "outcome": row.outcome,
        "state": row.state.name(),
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
