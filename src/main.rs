//! `vistoria`: the kiosk of a vehicle-inspection station, and its command-line tools.

mod app;
mod cli;
mod logging;
mod screen;
mod widget;

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
    /// Staff: the first administrator's code, people, passwords, fingerprint enrolment.
    Staff {
        #[command(subcommand)]
        command: cli::staff::StaffCommand,
    },
    /// Updates (§15 a): installs the release the central offers, as root (the update unit).
    Update {
        #[command(subcommand)]
        command: cli::update::UpdateCommand,
    },
    /// Security policy (§15 c): applies its USB-storage setting, as root (the policy unit).
    Policy {
        #[command(subcommand)]
        command: cli::usb_policy::PolicyCommand,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: cli::config::ConfigCommand,
    },
    /// Records a panoramic camera without the UI (camera check); ends with a JSON line.
    Record(cli::record::RecordArgs),
    /// Streams a panoramic camera live to the central without the UI (§7; the kiosk's own
    /// streaming code, a technician's check); ends with a JSON line.
    Stream(cli::stream::StreamArgs),
    /// Reads the plate in photos: one JSON line per image.
    Ocr(cli::ocr::OcrArgs),
    /// Trains the plate-character classifier from fonts (writes `assets/ocr/glyphs.bin`).
    OcrModel(cli::ocr::ModelArgs),
    /// Benchmarks (run through `cargo xtask bench …`).
    Bench {
        #[command(subcommand)]
        command: cli::bench::BenchCommand,
    },
    /// Signs a file with the e-CPF card (CAdES-BES detached .p7s, ICP-Brasil AD-RB).
    Sign(cli::sign::SignArgs),
    /// Laudo tools: sample laudo, printing.
    Laudo {
        #[command(subcommand)]
        command: cli::laudo::LaudoCommand,
    },
    /// Panics on purpose: the test of the panic hook (hidden).
    #[command(hide = true, name = "internal-panic-test")]
    InternalPanicTest,
}

/// Tesseract's OpenMP threads spin while they wait: on small plate images and the kiosk's two
/// cores they made a plate read four times slower (`bench ocr` p50 ≈ 200 ms against ≈ 55 ms
/// with one thread). OpenMP reads its limit from the environment only, and changing the
/// environment of a running process is unsafe: start again with it set (`exec` keeps the pid).
fn limit_openmp_threads() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_THREAD_LIMIT", "1")
        .exec();
    eprintln!("aviso: não foi possível limitar as threads do OCR: {error}");
}

fn main() -> ExitCode {
    limit_openmp_threads();
    logging::install_panic_hook();
    let args = Args::parse();
    let result = match args.command {
        None => cli::station::run(args.config.as_deref()),
        Some(Command::Demo(demo)) => cli::demo::run(&demo),
        Some(Command::Simulate(simulate)) => cli::simulate::run(&simulate),
        Some(Command::Audit { command }) => cli::audit::run(&command),
        Some(Command::Staff { command }) => cli::staff::run(&command, args.config.as_deref()),
        Some(Command::Update { command }) => cli::update::run(&command, args.config.as_deref()),
        Some(Command::Policy { command }) => cli::usb_policy::run(&command, args.config.as_deref()),
        Some(Command::Config { command }) => cli::config::run(&command, args.config.as_deref()),
        Some(Command::Bench { command }) => cli::bench::run(&command),
        Some(Command::Ocr(args)) => cli::ocr::run(&args),
        Some(Command::OcrModel(args)) => cli::ocr::train_model(&args),
        Some(Command::Record(record)) => cli::record::run(&record),
        Some(Command::Stream(stream)) => cli::stream::run(&stream),
        Some(Command::Sign(sign)) => cli::sign::run(&sign),
        Some(Command::Laudo { command }) => cli::laudo::run(&command),
        Some(Command::InternalPanicTest) => panic!("teste do tratamento de pânico"),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<app::display::NoDisplay>().is_some() => {
            eprintln!("vistoria: {e}");
            ExitCode::from(app::display::NO_DISPLAY_EXIT)
        }
        Err(e) => {
            eprintln!("erro: {e:#}");
            ExitCode::FAILURE
        }
    }
}
