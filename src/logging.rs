//! Logs: a daily-rotated file in the data directory (kept for a fortnight) that a technician
//! exports from the diagnostics screen, plus stderr while developing.
//!
//! `VISTORIA_LOG` sets the filter (`info` by default, e.g. `vistoria_core=debug`). Debug builds
//! also log to stderr; `VISTORIA_LOG_STDERR=1` or `0` forces it on or off.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

const KEEP_FILES: usize = 14;

/// Starts logging into `logs_dir`. Keep the guard alive for the whole run: dropping it flushes.
pub fn init(logs_dir: &Path) -> anyhow::Result<WorkerGuard> {
    std::fs::create_dir_all(logs_dir)?;
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
