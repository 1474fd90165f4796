//! `vistoria demo`: the kiosk with simulated devices and an embedded central server on
//! loopback, seeded with the fictitious vehicle registry; nothing to configure.
//!
//! Until the kiosk window lands, demo mode drives `simulate`: whole inspections headlessly
//! through the core — vehicle query, photos the class requires, checklist, conclusion or
//! interruption, signature, outbox — delivered to the embedded central, which verifies every
//! byte and signs a receipt.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::embedded_central;
use super::simulate::{self, SimulateArgs};

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

const STATION: &str = "ECV-DEMO-01";

/// Starts the embedded central, runs the inspections, prints what happened.
pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let (root, temporary) = match &args.data {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("vistoria-demo-{}", std::process::id())),
            true,
        ),
    };
    let result = run_in(&root, args.inspections);
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    result
}

fn run_in(root: &Path, inspections: u64) -> anyhow::Result<ExitCode> {
    println!("Vistoria — modo demonstração (dispositivos simulados, servidor central embutido)");
    let central_data = root.join("central");
    let token = embedded_central::station_token(&central_data, STATION)?;
    let central = embedded_central::start(&central_data)?;
    println!("servidor central de demonstração em {}", central.url);
    println!("dados do quiosque em {}", root.join("kiosk").display());
    simulate::run(&SimulateArgs {
        central: central.url,
        cert_sha256: central.cert_sha256,
        token,
        station: STATION.to_owned(),
        data: root.join("kiosk"),
        inspections,
        seed: 1,
        frame: (1600, 1024),
        retry_schedule: None,
        max_wait: 10.0,
    })
}
