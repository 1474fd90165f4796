//! The station's Debian package (issue 24, §15).
//!
//! - `cargo xtask deb [--out DIR]`: the release `.deb` with cargo-deb (metadata in the root
//!   `Cargo.toml`, parts in `installer/`).
//! - `cargo xtask deb-test`: the package's life in a throwaway Debian 12 root made by mmdebstrap
//!   (install, units verified and scored, upgrade keeping configuration and data, remove, purge:
//!   `installer/tests/deb-lifecycle.sh`), then the kiosk's first screen under headless cage
//!   (`installer/tests/kiosk-under-cage.sh`). It packages the debug build the tests already made,
//!   so CI does not pay for a release build; what it checks is the packaging, not the code.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{cargo, run};

/// The cargo-deb release the package is built with (installed from crates.io when missing).
const CARGO_DEB_VERSION: &str = "3.8.0";

/// Debian 12, from the same mirror the machine's apt uses.
const SUITE: &str = "bookworm";
const MIRRORS: &[&str] = &[
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
];

/// `cargo xtask deb [--out DIR]`.
pub fn deb(args: &[String]) -> Result<()> {
    let out = match args {
        [] => PathBuf::from("target/debian"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => bail!("usage: cargo xtask deb [--out DIR]"),
    };
    super::setup()?;
    ensure_cargo_deb()?;
    let deb = package(&out, Profile::Release, None)?;
    println!("{}", deb.display());
    Ok(())
}

/// `cargo xtask deb-test`: see the module's documentation.
pub fn test() -> Result<()> {
    ensure_cargo_deb()?;
    // The same build the test suite makes (a no-op right after it): a plain `cargo build` of
    // the binary would unify features differently and rebuild half the dependencies.
    run(cargo(&["test", "--workspace", "--locked", "--no-run"]))?;
    let out = PathBuf::from("target/deb-test");
    std::fs::create_dir_all(&out).context("target/deb-test")?;
    let old = package(&out, Profile::Debug, None)?;
    let version = format!("{}+upgrade", deb_field(&old, "Version")?);
    let new = package(&out, Profile::Debug, Some(&version))?;

    let root = tempfile_dir("vistoria-debroot")?;
    let hook = format!(
        "{} \"$1\" {} {}",
        absolute("installer/tests/deb-lifecycle.sh")?.display(),
        absolute(&old)?.display(),
        absolute(&new)?.display()
    );
    let mut mmdebstrap = privileged("mmdebstrap")?;
    mmdebstrap
        .args(["--variant=minbase", "--include=systemd,ca-certificates"])
        // A throwaway root: no fsync per file, no manuals, docs or translations to unpack.
        .args([
            "--dpkgopt=force-unsafe-io",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-include=/usr/share/doc/vistoria/*",
        ])
        .arg(format!("--customize-hook={hook}"))
        .arg(SUITE)
        .arg(&root)
        .args(MIRRORS);
    let result = run(mmdebstrap);
    if root.exists() {
        let mut clean = privileged("rm")?;
        clean.arg("-rf").arg(&root);
        let _ = clean.status();
    }
    result.context("the package's install/upgrade/purge in a Debian 12 root")?;

    let shot = out.join("kiosk-under-cage.png");
    let mut cage = Command::new("bash");
    // The debug build the tests made, wherever `CARGO_TARGET_DIR` puts it.
    let kiosk = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("target"))
        .join("debug/vistoria");
    cage.arg("installer/tests/kiosk-under-cage.sh")
        .arg(&kiosk)
        .arg(&shot)
        .arg("120");
    run(cage).context("the kiosk under headless cage")?;
    eprintln!(
        "xtask: deb-test ok; the kiosk's first screen: {}",
        shot.display()
    );
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// What ships: a release build made here.
    Release,
    /// The debug binary the tests built, packaged as is (stripped, fast compression).
    Debug,
}

/// Runs cargo-deb; the path of the `.deb` it wrote.
fn package(out: &Path, profile: Profile, version: Option<&str>) -> Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    let mut cmd = cargo(&["deb", "-p", "vistoria", "--locked", "--output"]);
    cmd.arg(out);
    if profile == Profile::Debug {
        cmd.args(["--no-build", "--profile", "dev", "--fast"]);
    }
    if let Some(version) = version {
        cmd.args(["--deb-version", version]);
    }
    eprintln!("xtask: running {cmd:?}");
    let output = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cargo deb")?;
    if !output.status.success() {
        bail!("cargo deb failed: {}", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.ends_with(".deb"))
        .with_context(|| format!("cargo deb did not name its package: {stdout}"))?;
    Ok(PathBuf::from(path))
}

/// cargo-deb, installed from crates.io at the pinned version when missing or different.
fn ensure_cargo_deb() -> Result<()> {
    let installed = Command::new("cargo")
        .args(["deb", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if installed.contains(CARGO_DEB_VERSION) {
        return Ok(());
    }
    run(cargo(&[
        "install",
        "cargo-deb",
        "--locked",
        "--version",
        CARGO_DEB_VERSION,
    ]))
}

fn deb_field(deb: &Path, field: &str) -> Result<String> {
    let output = Command::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .arg(field)
        .output()
        .context("dpkg-deb")?;
    if !output.status.success() {
        bail!("dpkg-deb -f {} {field} failed", deb.display());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `program` as root: directly when we are root, else through sudo (as `setup-dev.sh` does).
fn privileged(program: &str) -> Result<Command> {
    let uid = Command::new("id").arg("-u").output().context("id -u")?;
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        return Ok(Command::new(program));
    }
    if Command::new("sudo").arg("-n").arg("true").status().is_err() {
        bail!(
            "deb-test makes a Debian root with mmdebstrap and installs the package into it: it needs root (or sudo)"
        );
    }
    let mut cmd = Command::new("sudo");
    cmd.arg(program);
    Ok(cmd)
}

fn absolute(path: impl AsRef<Path>) -> Result<PathBuf> {
    std::fs::canonicalize(path.as_ref()).with_context(|| path.as_ref().display().to_string())
}

fn tempfile_dir(prefix: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| dir.display().to_string())?;
    }
    Ok(dir)
}
