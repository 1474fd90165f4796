//! `vistoria-central`: the reference central server and its offline commands.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use vistoria_central::api::Limits;
use vistoria_central::report::{add_station, purge, report};
use vistoria_central::server::{ServeOptions, open_storage, serve};

/// Reference central server of a Vistoria system company.
#[derive(Parser)]
#[command(name = "vistoria-central", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the API over HTTPS; prints `{"url":…,"cert_sha256":…}` as the first stdout line.
    Serve {
        /// Data folder (database, media, keys, certificate).
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8443")]
        addr: SocketAddr,
        /// Plain HTTP instead of TLS; refused unless `--addr` is a loopback address.
        #[arg(long)]
        insecure_http: bool,
        /// Vehicle registry (JSON array); the built-in demo registry if absent.
        #[arg(long)]
        registry: Option<PathBuf>,
        /// Largest media file a manifest may declare, in bytes.
        #[arg(long, default_value_t = 2 * 1024 * 1024 * 1024)]
        max_file_bytes: u64,
        /// Seconds a non-upload request may take.
        #[arg(long, default_value_t = 30)]
        request_timeout_secs: u64,
        /// Seconds an upload may go without sending a byte.
        #[arg(long, default_value_t = 60)]
        idle_timeout_secs: u64,
        /// Requests per second each station may sustain.
        #[arg(long, default_value_t = 20.0)]
        rate_per_second: f64,
        /// Requests each station may make in a burst.
        #[arg(long, default_value_t = 200.0)]
        rate_burst: f64,
        /// Folder of the ICP-Brasil root certificates (PEM or DER) an e-CPF must chain to.
        /// Required: without roots no laudo signature could be accepted.
        #[arg(long)]
        icp_roots: Option<PathBuf>,
        /// Accept certificates that name no LCR (no revocation check for them). Only for test
        /// PKIs (demo, tests), which have no LCR server; never for ICP-Brasil.
        #[arg(long)]
        lcr_optional: bool,
    },
    /// Station tokens.
    Station {
        #[command(subcommand)]
        command: StationCommand,
    },
    /// One JSON line per received inspection with its verification status, then the totals.
    Report {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// JSON lines (the only format).
        #[arg(long)]
        json: bool,
    },
    /// Removes what is older than the five years of §9, printing each removal as a JSON line.
    Purge {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// Only print what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Pretend the current time is this (RFC 3339), for audits and tests.
        #[arg(long, hide = true)]
        now: Option<DateTime<Utc>>,
    },
}

#[derive(Subcommand)]
enum StationCommand {
    /// Registers a station and prints its new bearer token (only a hash is stored).
    Add {
        /// Station code, e.g. `ECV-CUIABA-01`.
        code: String,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // stdout carries machine-readable output only; logs go to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erro: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Last line of `purge`.
#[derive(serde::Serialize)]
struct PurgeSummary {
    purged: usize,
    dry_run: bool,
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// `serve` refuses to start without roots: a central that trusts nobody would refuse every
/// signed laudo, and one that trusted everybody is what issue 17 found.
fn trust_options(
    icp_roots: Option<PathBuf>,
    lcr_optional: bool,
) -> anyhow::Result<vistoria_central::trust::TrustOptions> {
    let Some(dir) = icp_roots else {
        anyhow::bail!(
            "informe --icp-roots PASTA com os certificados raiz ICP-Brasil (PEM ou DER) aos quais \
             o e-CPF dos vistoriadores deve se encadear; sem eles nenhuma assinatura de laudo pode \
             ser aceita"
        );
    };
    let roots = vistoria_central::trust::load_roots(&dir);
    if roots.is_empty() {
        anyhow::bail!(
            "nenhum certificado raiz legível em --icp-roots {}; coloque lá os certificados raiz \
             ICP-Brasil (PEM ou DER)",
            dir.display()
        );
    }
    tracing::info!(roots = roots.len(), dir = %dir.display(), lcr_optional, "raízes ICP-Brasil carregadas");
    let mut options = vistoria_central::trust::TrustOptions::new(&dir);
    options.lcr_optional = lcr_optional;
    Ok(options)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            data,
            addr,
            insecure_http,
            registry,
            max_file_bytes,
            request_timeout_secs,
            idle_timeout_secs,
            rate_per_second,
            rate_burst,
            icp_roots,
            lcr_optional,
        } => {
            let trust = trust_options(icp_roots, lcr_optional)?;
            let limits = Limits {
                max_file_bytes,
                request_timeout: Duration::from_secs(request_timeout_secs),
                idle_timeout: Duration::from_secs(idle_timeout_secs),
                rate_per_second,
                rate_burst,
            };
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(serve(ServeOptions {
                data,
                addr,
                insecure_http,
                registry,
                limits,
                trust,
            }))
        }
        Command::Station {
            command: StationCommand::Add { code, data },
        } => {
            let (meta, _) = open_storage(&data)?;
            let token = add_station(meta.as_ref(), &code)?;
            println!("{token}");
            Ok(())
        }
        Command::Report { data, json: _ } => {
            let (meta, blobs) = open_storage(&data)?;
            let (lines, summary) = report(meta.as_ref(), blobs.as_ref())?;
            for line in &lines {
                print_json(line)?;
            }
            print_json(&summary)
        }
        Command::Purge { data, dry_run, now } => {
            let (meta, blobs) = open_storage(&data)?;
            let now = now.unwrap_or_else(Utc::now);
            let removed = purge(meta.as_ref(), blobs.as_ref(), now, dry_run)?;
            for item in &removed {
                print_json(item)?;
            }
            print_json(&PurgeSummary {
                purged: removed.len(),
                dry_run,
            })
        }
    }
}
