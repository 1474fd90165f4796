//! `vistoria update apply`: the root-owned half of §15 a's update. The kiosk runs as the
//! unprivileged `vistoria` user: its "Instalar atualização" downloads the release, checks it and
//! leaves it in `DATA/updates/`; a systemd path unit (`vistoria-update.path`) sees it there and
//! starts this command as root (`vistoria-update.service`).
//!
//! Nothing the `vistoria` user can write is trusted here: the signed version policy is fetched
//! again from the central (over the pinned TLS of the root-owned configuration) and checked
//! against the central's key; the spooled package is copied into a folder only root can write
//! and its size and SHA-256 are checked on that copy, which is what gets installed. An offer
//! that is not newer than the running version is never installed (no downgrade), and the spool
//! is emptied whatever the outcome, so a refused file cannot start the unit over and over.

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;
use vistoria_core::paths::Paths;
use vistoria_core::policy::{VersionPolicy, compare_versions};
use vistoria_station::RUNNING_VERSION;

/// Where the kiosk leaves a verified package (under the data folder).
const SPOOL: &str = vistoria_station::UPDATE_SPOOL;

#[derive(Subcommand)]
pub enum UpdateCommand {
    /// Installs the release the central's signed version policy offers, from the kiosk's spool
    /// (run as root by `vistoria-update.service`).
    Apply {
        /// Data directory (default: $VISTORIA_DATA, then /var/lib/vistoria).
        #[arg(long)]
        data: Option<PathBuf>,
        /// A root-only folder for the checked copy (default: $CACHE_DIRECTORY, which systemd
        /// sets for the unit, then a new temporary folder).
        #[arg(long)]
        work: Option<PathBuf>,
        /// The command that installs the checked package, given its path as last argument
        /// (default: `dpkg -i`, then the kiosk is restarted). For tests.
        #[arg(long, hide = true)]
        install_with: Option<String>,
    },
}

pub fn run(command: &UpdateCommand, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let UpdateCommand::Apply {
        data,
        work,
        install_with,
    } = command;
    let paths = Paths::resolve(config, data.as_deref());
    let spool = paths.data_dir().join(SPOOL);
    let outcome = apply(&paths, &spool, work.as_deref(), install_with.as_deref());
    // Whatever happened, the spool is emptied: a refused or installed package is not offered
    // to the unit again (the technician downloads again from Diagnóstico).
    empty(&spool);
    match outcome {
        Ok(report) => {
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", json!({"installed": false, "error": format!("{e:#}")}));
            Err(e)
        }
    }
}

fn apply(
    paths: &Paths,
    spool: &Path,
    work: Option<&Path>,
    install_with: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let policy: VersionPolicy = super::central_policy::fetch_verified(paths.config_file())?
        .context("a central não publicou uma política de versões")?;
    if compare_versions(&policy.current, RUNNING_VERSION).is_le() {
        return Ok(json!({
            "installed": false,
            "running": RUNNING_VERSION,
            "offered": policy.current,
            "reason": "a versão oferecida não é mais nova que a instalada",
        }));
    }
    let name = format!("vistoria_{}.deb", policy.current.replace(['/', ':'], "_"));
    let spooled = spool.join(&name);
    if !spooled.is_file() {
        bail!(
            "o pacote da versão {} não está em {}: baixe-o de novo em Diagnóstico",
            policy.current,
            spool.display()
        );
    }
    let folder = private_folder(work)?;
    let copy = folder.join(&name);
    let checked = copy_checked(&spooled, &copy, policy.package_size);
    let result = checked.and_then(|(size, sha256)| {
        if size != policy.package_size || sha256 != policy.package_sha256 {
            bail!(
                "o pacote em {} não confere com a política assinada pela central (tamanho {size} \
                 de {} bytes, SHA-256 {sha256}); nada foi instalado",
                spooled.display(),
                policy.package_size
            );
        }
        install(&copy, install_with)?;
        Ok(sha256)
    });
    let _ = std::fs::remove_file(&copy);
    let sha256 = result?;
    Ok(json!({
        "installed": true,
        "from": RUNNING_VERSION,
        "version": policy.current,
        "sha256": sha256,
    }))
}

/// A folder only this user can write: `work` (or systemd's `$CACHE_DIRECTORY`), else a new one
/// in the temporary folder; made 0700 either way.
fn private_folder(work: Option<&Path>) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = work
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CACHE_DIRECTORY").map(PathBuf::from))
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("vistoria-update-{}", std::process::id()))
        });
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| dir.display().to_string())?;
    Ok(dir)
}

/// Copies `from` into a new file `to` (0600) and returns the copy's size and SHA-256: the bytes
/// that will be installed. A file larger than `limit` is refused before anything is copied.
fn copy_checked(from: &Path, to: &Path, limit: u64) -> anyhow::Result<(u64, String)> {
    let size = std::fs::metadata(from)
        .with_context(|| from.display().to_string())?
        .len();
    if size > limit {
        bail!(
            "o pacote em {} tem {size} bytes, mais que os {limit} da política assinada; nada foi \
             instalado",
            from.display()
        );
    }
    let _ = std::fs::remove_file(to);
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .with_context(|| to.display().to_string())?;
    let mut source = std::fs::File::open(from).with_context(|| from.display().to_string())?;
    std::io::copy(&mut source, &mut out)?;
    out.sync_all()?;
    drop(out);
    let copy = std::fs::File::open(to).with_context(|| to.display().to_string())?;
    let size = copy.metadata()?.len();
    let digests = vistoria_core::hashing::Digests::of_reader(copy)?;
    Ok((size, digests.sha256))
}

/// Installs the checked copy: `dpkg -i`, then the kiosk restarted on the new binary.
fn install(package: &Path, install_with: Option<&str>) -> anyhow::Result<()> {
    let steps: Vec<Vec<String>> = match install_with {
        Some(command) => {
            let mut words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
            words.push(package.display().to_string());
            vec![words]
        }
        None => vec![
            vec!["dpkg".into(), "-i".into(), package.display().to_string()],
            vec![
                "systemctl".into(),
                "try-restart".into(),
                "vistoria-kiosk.service".into(),
            ],
        ],
    };
    for step in steps {
        let Some((program, args)) = step.split_first() else {
            continue;
        };
        let status = Command::new(program)
            .args(args)
            .status()
            .with_context(|| format!("executando {program}"))?;
        if !status.success() {
            bail!("{} terminou com {status}", step.join(" "));
        }
    }
    Ok(())
}

/// Removes the spool's files (the kiosk makes the folder again on its next download).
fn empty(spool: &Path) {
    if let Ok(entries) = std::fs::read_dir(spool) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
