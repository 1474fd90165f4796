//! `vistoria`: the kiosk of a vehicle-inspection station, and its command-line tools.

mod cli;
mod logging;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vistoria: inspection-station kiosk (ECV).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Configuration file (default: $VISTORIA_CONFIG, then /etc/vistoria/vistoria.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Demo mode: simulated devices, nothing needs configuring.
    Demo(cli::demo::DemoArgs),
    /// Whole inspections, headless, against a central server, with simulated devices.
    Simulate(cli::simulate::SimulateArgs),
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: cli::audit::AuditCommand,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: cli::config::ConfigCommand,
    },
    /// Benchmarks (run through `cargo xtask bench …`).
    Bench {
        #[command(subcommand)]
        command: cli::bench::BenchCommand,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        None => cli::station::run(args.config.as_deref()),
        Some(Command::Demo(demo)) => cli::demo::run(&demo),
        Some(Command::Simulate(simulate)) => cli::simulate::run(&simulate),
        Some(Command::Audit { command }) => cli::audit::run(&command),
        Some(Command::Config { command }) => cli::config::run(&command, args.config.as_deref()),
        Some(Command::Bench { command }) => cli::bench::run(&command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("erro: {e:#}");
            ExitCode::FAILURE
        }
    }
}
