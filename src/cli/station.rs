//! `vistoria [--config FILE]`: a real station. Validates the configuration, opens the store,
//! restores central time, closes what a crash left open, opens the devices the configuration
//! names and shows the kiosk window full-screen.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use vistoria_core::config::Config;
use vistoria_core::paths::Paths;
use vistoria_station::{Opening, Station};

use crate::app::{self, Options};

/// Runs the station named by the configuration.
pub fn run(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    crate::app::display::require()?;
    let paths = Paths::resolve(config, None);
    let config = Config::load(paths.config_file())?;
    let _log = crate::logging::init(&paths.logs_dir()).context("iniciando o registro (log)")?;
    tracing::info!(station = %config.station.code, data = %paths.data_dir().display(), "station starting");
    let kiosk = Station::open(Opening::configured(&config, &paths)).map_err(anyhow::Error::msg)?;
    app::run(
        kiosk,
        Options {
            kiosk_mode: true,
            size: (1280.0, 800.0),
            started,
            exit_after_first_frame: false,
            tour: None,
        },
    )
    .context("janela do quiosque")?;
    Ok(ExitCode::SUCCESS)
}
