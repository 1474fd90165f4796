//! `vistoria audit verify --data DIR`: walks the audit chain of a data directory.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use vistoria_core::store;

/// Audit-log subcommands.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Checks that no audit row was altered, removed or inserted. Exit status 1 if one was.
    Verify {
        /// Data directory of the kiosk.
        #[arg(long)]
        data: PathBuf,
    },
}

/// Prints one JSON line (`{"ok":…,"rows":N,"problem":…}`) and a sentence on stderr.
pub fn run(command: &AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify { data } = command;
    let report = store::verify_audit_at(data)?;
    let line = serde_json::json!({
        "ok": report.problem.is_none(),
        "rows": report.rows,
        "problem": report.problem,
        "message": report.problem.as_ref().map(ToString::to_string),
    });
    println!("{line}");
    match &report.problem {
        None => {
            eprintln!("registro de auditoria íntegro: {} registros", report.rows);
            Ok(ExitCode::SUCCESS)
        }
        Some(problem) => {
            eprintln!("registro de auditoria VIOLADO: {problem}");
            Ok(ExitCode::FAILURE)
        }
    }
}
