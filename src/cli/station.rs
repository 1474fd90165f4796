//! `vistoria [--config FILE]`: a real station.
//!
//! Until the kiosk window lands this validates the configuration, opens the store, restores
//! central time and closes what a crash left open, then reports the station's state.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use vistoria_core::config::Config;
use vistoria_core::paths::Paths;
use vistoria_core::store::Store;

use super::startup;

/// Runs the station named by the configuration.
pub fn run(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve(config, None);
    let config = Config::load(paths.config_file())?;
    let _log = crate::logging::init(&paths.logs_dir()).context("iniciando o registro (log)")?;
    tracing::info!(station = %config.station.code, data = %paths.data_dir().display(), "station starting");
    let (mut store, report) = Store::open(paths.data_dir())?;
    let clock = startup::restore_clock(&store)?;
    let recovered = startup::recover(&mut store, &report, &clock)?;
    println!(
        "estação {} ({}) — dados em {}",
        config.station.code,
        config.station.name,
        paths.data_dir().display()
    );
    println!("{recovered}");
    println!(
        "A janela do quiosque ainda não está disponível nesta versão; use `vistoria demo` para ver o fluxo."
    );
    store.close()?;
    Ok(ExitCode::SUCCESS)
}
