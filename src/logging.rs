//! Logs: a daily-rotated file in the data directory (kept for a fortnight) that a technician
//! exports from the diagnostics screen, plus stderr while developing.
//!
//! `VISTORIA_LOG` sets the filter (`info` by default, e.g. `vistoria_core=debug`). Debug builds
//! also log to stderr; `VISTORIA_LOG_STDERR=1` or `0` forces it on or off.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

/// The writer's own ceiling (the security policy's largest retention, §15 c); the station
/// prunes to the policy in force, 14 days without one (`Station::prune_logs`).
const KEEP_FILES: usize = 3650;

/// Starts logging into `logs_dir`. Keep the guard alive for the whole run: dropping it flushes.
pub fn init(logs_dir: &Path) -> anyhow::Result<WorkerGuard> {
    std::fs::create_dir_all(logs_dir)?;
    let _ = LOG_DIR.set(logs_dir.to_path_buf());
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("vistoria")
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(logs_dir)?;
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("VISTORIA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let to_stderr = match std::env::var("VISTORIA_LOG_STDERR").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => cfg!(debug_assertions),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(file_writer).with_ansi(false))
        .with(to_stderr.then(|| fmt::layer().with_writer(std::io::stderr)))
        .try_init()?;
    Ok(guard)
}

/// Where `init` put the logs, for the panic hook.
static LOG_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Replaces Rust's panic message with one line for the person at the terminal; the details
/// (thread, place, backtrace) go to the log and to `panic.log` beside it, written at once so
/// they survive the process ending. Before logging starts they go to the temporary folder.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(sem mensagem)".to_owned());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current()
            .name()
            .unwrap_or("(sem nome)")
            .to_owned();
        let backtrace = std::backtrace::Backtrace::force_capture();
        let details = format!("panic on thread '{thread}' at {location}: {payload}\n{backtrace}");
        tracing::error!(target: "panic", "{details}");
        let file = LOG_DIR
            .get()
            .cloned()
            .unwrap_or_else(std::env::temp_dir)
            .join(PANIC_FILE);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .and_then(|mut f| {
                use std::io::Write as _;
                writeln!(f, "--- {}\n{details}", chrono::Utc::now().to_rfc3339())
            });
        let place = match written {
            Ok(()) => file.display().to_string(),
            Err(_) => "o registro (log)".to_owned(),
        };
        eprintln!(
            "erro interno do vistoria / internal error: {} (detalhes / details: {place})",
            one_line(&payload)
        );
    }));
}

/// The file the panic hook appends details to.
pub const PANIC_FILE: &str = "vistoria-panic.log";

/// The first line of a message, at most 200 characters.
fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(200).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}
