//! `vistoria demo`: the kiosk window with simulated devices and an embedded central server on
//! loopback, seeded with the fictitious vehicle registry; nothing to configure. Log in as
//! `operador` / `vistoria123` to open an inspection, then as the inspector by fingerprint.
//!
//! `--headless N` runs N whole inspections without the window instead (the `simulate` path).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::simulate::{self, SimulateArgs};
use crate::app::{self, Options};
use anyhow::Context;
use clap::Args;
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};
use vistoria_station::{card, embedded_central};

/// Demo-mode options.
#[derive(Args)]
pub struct DemoArgs {
    /// Keep the data here (default: a temporary folder, removed at the end).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Fullscreen kiosk mode (no decorations; leave from the technician's Diagnóstico).
    #[arg(long)]
    kiosk: bool,
    /// Window size, e.g. 1920x1080.
    #[arg(long, default_value = "1280x800", value_parser = simulate::parse_size)]
    size: (u32, u32),
    /// Walk the screens and save a PNG of each in this folder, then exit.
    #[arg(long)]
    screenshots: Option<PathBuf>,
    /// Print the time to the first frame as JSON and exit (`cargo xtask bench startup`).
    #[arg(long, hide = true)]
    first_frame: bool,
    /// No window: run this many whole inspections through the core and exit.
    #[arg(long)]
    headless: Option<u64>,
}

const STATION: &str = "ECV-DEMO-01";

/// Starts the embedded central and the kiosk.
pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if args.headless.is_none() {
        crate::app::display::require()?;
    }
    let (root, temporary) = match &args.data {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("vistoria-demo-{}", std::process::id())),
            true,
        ),
    };
    with_softhsm_conf(&card::demo_softhsm_conf(&root.join("kiosk")))?;
    let result = match args.headless {
        Some(n) => headless(&root, n),
        None => window(&root, args, started),
    };
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    result
}

fn window(root: &Path, args: &DemoArgs, started: Instant) -> anyhow::Result<ExitCode> {
    let kiosk_dir = root.join("kiosk");
    let _log =
        crate::logging::init(&kiosk_dir.join("logs")).context("iniciando o registro (log)")?;
    // The bay's panoramic IP camera, simulated by a local RTSP server (H.264, 10 fps): in
    // colour at §7's 1600×1024, so its still is also the panoramic photo of §7 a.
    let bay_camera = TestCamera::start(&CameraConfig {
        width: 1600,
        height: 1024,
        fps: 10,
        colour: true,
        ..CameraConfig::default()
    })
    .map_err(|e| tracing::error!(%e, "simulated panoramic camera not started"))
    .ok();
    let kiosk = embedded_central::demo_station(
        root,
        STATION,
        bay_camera.as_ref().map(TestCamera::url).as_deref(),
    )?;
    if let Some(camera) = bay_camera {
        kiosk.demo_set_bay_camera(camera);
    }
    if let Some(dir) = &args.screenshots {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    app::run(
        kiosk,
        Options {
            kiosk_mode: args.kiosk,
            size: (args.size.0 as f32, args.size.1 as f32),
            started,
            exit_after_first_frame: args.first_frame,
            tour: args.screenshots.clone(),
        },
    )
    .context("janela do quiosque")?;
    Ok(ExitCode::SUCCESS)
}

fn headless(root: &Path, inspections: u64) -> anyhow::Result<ExitCode> {
    println!(
        "Vistoria — modo demonstração sem janela (dispositivos simulados, servidor central embutido)"
    );
    let central_data = root.join("central");
    let token = embedded_central::station_token(&central_data, STATION)?;
    let pki = card::demo_token_dir(&root.join("kiosk"));
    let central = embedded_central::start(&central_data, &pki.join("roots"))?;
    println!("servidor central de demonstração em {}", central.url);
    simulate::run(&SimulateArgs {
        central: central.url,
        cert_sha256: central.cert_sha256,
        token,
        station: STATION.to_owned(),
        data: root.join("kiosk"),
        inspections,
        seed: 1,
        retry_schedule: None,
        max_wait: 10.0,
        pki: Some(pki),
        retry_stuck: false,
    })
}

/// Makes sure this process runs with `SOFTHSM2_CONF` naming `conf` (the demo token's):
/// SoftHSM2 reads its configuration from the environment only, and setting it in a running
/// process is unsafe, so the process starts again with it set. `exec` keeps the process id (a
/// temporary data folder keeps its name; whoever waits for or kills the process still has it).
pub fn with_softhsm_conf(conf: &Path) -> anyhow::Result<()> {
    if std::env::var_os("SOFTHSM2_CONF").is_some_and(|v| Path::new(&v) == conf) {
        return Ok(());
    }
    use std::os::unix::process::CommandExt;
    let error =
        std::process::Command::new(std::env::current_exe().context("caminho do executável")?)
            .args(std::env::args_os().skip(1))
            .env("SOFTHSM2_CONF", conf)
            .exec();
    Err(error).context("reiniciando com o SOFTHSM2_CONF do cartão de demonstração")
}
