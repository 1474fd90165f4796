//! `vistoria audit verify --data DIR [--central URL --token T --cert-sha256 HEX]`: walks the
//! audit chain of a data directory and, with `--central`, has the central check every row's MAC
//! against the key it keeps and every package anchor it received (`core::audit_keying`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use vistoria_core::audit_keying;
use vistoria_core::central_client::{CentralClient, Endpoint};
use vistoria_core::store;

/// Audit-log subcommands.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Checks that no audit row was altered, removed or inserted. Exit status 1 if one was.
    Verify {
        /// Data directory of the kiosk.
        #[arg(long)]
        data: PathBuf,
        /// Also compare with the central server at this URL (MACs and package anchors).
        #[arg(long, requires = "token")]
        central: Option<String>,
        /// The station's token (with `--central`).
        #[arg(long)]
        token: Option<String>,
        /// SHA-256 of the central's certificate (pinned), with `--central`.
        #[arg(long)]
        cert_sha256: Option<String>,
    },
}

/// Prints one JSON line (`{"ok":…,"rows":N,"problem":…}`) and a sentence on stderr.
pub fn run(command: &AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify {
        data,
        central,
        token,
        cert_sha256,
    } = command;
    let report = store::verify_audit_at(data)?;
    let central_check = match (central, token) {
        (Some(url), Some(token)) => {
            let client = CentralClient::new(&Endpoint {
                url: url.clone(),
                token: token.clone(),
                cert_sha256: cert_sha256.clone(),
            })?;
            let rows = store::audit_mac_rows_at(data)?;
            Some(
                audit_keying::verify_with_central(&rows, &client)
                    .context("conferindo o registro de auditoria com a central")?,
            )
        }
        _ => None,
    };
    let divergence = central_check.as_ref().and_then(|c| c.divergence.clone());
    let ok = report.problem.is_none() && divergence.is_none();
    let line = serde_json::json!({
        "ok": ok,
        "rows": report.rows,
        "problem": report.problem,
        "message": report.problem.as_ref().map(ToString::to_string),
        "central": central_check,
    });
    println!("{line}");
    if let Some(problem) = &report.problem {
        eprintln!("registro de auditoria VIOLADO: {problem}");
    }
    if let Some(d) = &divergence {
        eprintln!(
            "registro de auditoria DIVERGE da central a partir do registro {}: {}",
            d.seq, d.reason
        );
    }
    if !ok {
        return Ok(ExitCode::FAILURE);
    }
    match &central_check {
        Some(c) => eprintln!(
            "registro de auditoria íntegro: {} registros; a central conferiu {} selos (MAC){} e {} âncoras de pacotes",
            report.rows,
            c.macs_checked,
            c.keyed_from
                .map(|s| format!(" a partir do registro {s}"))
                .unwrap_or_else(|| " (registro ainda sem chave)".into()),
            c.anchors_checked
        ),
        None => eprintln!("registro de auditoria íntegro: {} registros", report.rows),
    }
    Ok(ExitCode::SUCCESS)
}
