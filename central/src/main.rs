//! `vistoria-central`: the reference central server and its offline commands.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use vistoria_central::flags::LimitFlags;
use vistoria_central::report::{add_station, purge, report};
use vistoria_central::server::{ServeOptions, open_storage, serve};
use vistoria_central::stations;

/// Reference central server of a Vistoria system company.
#[derive(Parser)]
#[command(name = "vistoria-central", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the `serve` variant does not matter.
#[allow(clippy::large_enum_variant)]
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
        /// TLS certificate chain (PEM, the server's certificate first) instead of the self-made
        /// one; needs `--key`.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// Private key (PEM) of `--cert`.
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        #[command(flatten)]
        limits: LimitFlags,
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
    /// Gives a station a new token (printed) and refuses the old one at once, also on a
    /// running server.
    Rotate {
        /// Station code.
        code: String,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
    },
    /// Cancels a station's token at once, also on a running server (`rotate` issues a new one).
    Revoke {
        /// Station code.
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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            data,
            addr,
            insecure_http,
            registry,
            cert,
            key,
            limits,
        } => {
            let limits = limits.limits();
            let runtime = tokio::runtime::Runtime::new()?;
            let served = runtime.block_on(serve(ServeOptions {
                data,
                addr,
                insecure_http,
                registry,
                limits,
                cert: cert.zip(key),
            }));
            // Every request has ended (or its grace ran out); a stuck disk write must not keep
            // the process alive forever.
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
            served
        }
        Command::Station {
            command: StationCommand::Add { code, data },
        } => {
            let (meta, _) = open_storage(&data)?;
            let token = add_station(meta.as_ref(), &code)?;
            println!("{token}");
            Ok(())
        }
        Command::Station {
            command: StationCommand::Rotate { code, data },
        } => {
            let (meta, _) = open_storage(&data)?;
            println!("{}", stations::rotate(meta.as_ref(), &data, &code)?);
            Ok(())
        }
        Command::Station {
            command: StationCommand::Revoke { code, data },
        } => {
            let (meta, _) = open_storage(&data)?;
            stations::revoke(meta.as_ref(), &data, &code)?;
            eprintln!("token da estação {code} revogado");
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
