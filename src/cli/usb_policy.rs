//! `vistoria policy apply-usb`: the root-owned half of the security policy's USB-storage setting
//! (§15 c). Loading a kernel module is root's; the kiosk runs as the unprivileged `vistoria`
//! user. When the kiosk puts a new security policy in force it rewrites
//! `DATA/policy/usb-storage.request`; `vistoria-usb-policy.path` sees the change and starts this
//! command as root (`vistoria-usb-policy.service`, also run at every boot).
//!
//! How the setting reaches the kernel: the package ships the refusal as
//! `/lib/modprobe.d/vistoria-usb-storage.conf` (`usb_storage` and `uas` never load). A file of the
//! same name in `/run/modprobe.d/` takes its place (modprobe.d(5): `/run` before `/lib`); this
//! command writes an empty one there when the central's policy allows USB storage and removes
//! it (then unloads the modules) when it does not. `/run` is emptied at every boot, so the
//! station starts with USB storage off and turns it on only after the central's signed policy
//! says so again: off is what a failure leaves.
//!
//! Nothing the `vistoria` user can write is trusted: the policy is fetched again from the
//! central and verified with its key ([`super::central_policy`]). What was done is written to
//! `DATA/policy/usb-storage.applied` (JSON) for Diagnóstico, and printed.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;
use vistoria_core::paths::Paths;
use vistoria_core::policy::SecurityPolicy;

/// The override's name: the same as the package's refusal in `/lib/modprobe.d/`.
const OVERRIDE: &str = "vistoria-usb-storage.conf";
/// The modules of USB mass storage (the classic driver and USB Attached SCSI).
const MODULES: [&str; 2] = ["uas", "usb_storage"];

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Applies the USB-storage setting of the central's security policy (run as root by
    /// `vistoria-usb-policy.service`).
    ApplyUsb {
        /// Data directory (default: $VISTORIA_DATA, then /var/lib/vistoria).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Where the override goes (modprobe reads /run/modprobe.d before /lib/modprobe.d).
        #[arg(long, default_value = "/run/modprobe.d")]
        modprobe_dir: PathBuf,
        /// Do not unload the modules when USB storage is refused. For tests.
        #[arg(long, hide = true)]
        keep_loaded: bool,
    },
}

pub fn run(command: &PolicyCommand, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let PolicyCommand::ApplyUsb {
        data,
        modprobe_dir,
        keep_loaded,
    } = command;
    let paths = Paths::resolve(config, data.as_deref());
    let fetched = super::central_policy::fetch_verified::<SecurityPolicy>(paths.config_file());
    let (allowed, version, problem) = match &fetched {
        Ok(Some(policy)) => (policy.usb_storage, Some(policy.version), None),
        Ok(None) => (false, None, None),
        Err(e) => (false, None, Some(format!("{e:#}"))),
    };
    let applied = apply(modprobe_dir, allowed, version, *keep_loaded);
    let mut report = json!({
        "usb_storage": allowed && applied.is_ok(),
        "policy_version": version,
        "applied_at": chrono::Utc::now().to_rfc3339(),
    });
    let errors: Vec<String> = problem
        .into_iter()
        .chain(applied.as_ref().err().map(|e| format!("{e:#}")))
        .collect();
    if !errors.is_empty() {
        report["error"] = json!(errors.join("; "));
    }
    if let Err(e) = write_status(paths.data_dir(), &report) {
        eprintln!("{e:#}");
    }
    println!("{report}");
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// Puts the setting in the kernel's way: the override when allowed; else no override and the
/// modules unloaded (refused while a device is mounted: the error says to disconnect it).
fn apply(
    modprobe_dir: &Path,
    allowed: bool,
    version: Option<u64>,
    keep_loaded: bool,
) -> anyhow::Result<()> {
    let target = modprobe_dir.join(OVERRIDE);
    if allowed {
        std::fs::create_dir_all(modprobe_dir)
            .with_context(|| format!("criando {}", modprobe_dir.display()))?;
        let partial = modprobe_dir.join(format!(".{OVERRIDE}.part"));
        let text = format!(
            "# Vistoria: USB mass storage allowed by the central's security policy v{} (§15 c),\n\
             # written by `vistoria policy apply-usb`. It takes the place of\n\
             # /lib/modprobe.d/{OVERRIDE} until the next boot or the next policy.\n",
            version.unwrap_or_default()
        );
        std::fs::write(&partial, text)
            .with_context(|| format!("gravando {}", partial.display()))?;
        std::fs::rename(&partial, &target)
            .with_context(|| format!("gravando {}", target.display()))?;
        return Ok(());
    }
    match std::fs::remove_file(&target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("apagando {}", target.display())),
    }
    if keep_loaded {
        return Ok(());
    }
    unload()
}

/// `modprobe -r` of the modules that are loaded.
fn unload() -> anyhow::Result<()> {
    let loaded = std::fs::read_to_string("/proc/modules").unwrap_or_default();
    for module in MODULES {
        if !loaded.lines().any(|l| l.split(' ').next() == Some(module)) {
            continue;
        }
        let out = Command::new("modprobe")
            .args(["-r", module])
            .output()
            .context("executando modprobe")?;
        if !out.status.success() {
            anyhow::bail!(
                "o módulo {module} não pôde ser descarregado ({}): desconecte o pendrive ou \
                 disco USB e reinicie a estação",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

/// The outcome, for Diagnóstico: `DATA/policy/usb-storage.applied`.
fn write_status(data: &Path, report: &serde_json::Value) -> anyhow::Result<()> {
    let path = data.join(vistoria_station::USB_POLICY_APPLIED);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("criando {}", parent.display()))?;
    }
    let partial = path.with_extension("part");
    std::fs::write(&partial, format!("{report}\n"))
        .with_context(|| format!("gravando {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("gravando {}", path.display()))
}
