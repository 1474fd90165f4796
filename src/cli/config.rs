//! `vistoria config check`: validates the configuration file and lists every problem.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use vistoria_core::config::Config;
use vistoria_core::paths::Paths;

/// Configuration subcommands.
#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Reads and validates the configuration file.
    Check,
}

/// Exit status 1 and the list of problems when the file is not usable.
pub fn run(command: &ConfigCommand, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Check = command;
    let paths = Paths::resolve(config, None);
    match Config::load(paths.config_file()) {
        Ok(c) => {
            println!(
                "configuração válida: estação {} ({}), servidor central {}",
                c.station.code, c.station.name, c.central.url
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
