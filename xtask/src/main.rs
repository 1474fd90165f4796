//! `cargo xtask …`: the project's automation, as Rust so it runs wherever cargo does.
//!
//! - `demo`: set up the machine, build, run the kiosk in demo mode.
//! - `test`: set up the machine, then fmt check, clippy, and the whole test suite.
//! - `bench <name>`: a release build, then one benchmark; prints its JSON lines.
//! - `screenshots`: the kiosk window under Xvfb walks its screens in demo mode and saves
//!   them to `docs/screenshots/` (1280×800) and `docs/screenshots/1920x1080/`.
//! - `fuzz [target] [seconds]`: the `cargo fuzz` targets of `fuzz/`, each for `seconds`.
//! - `deb [--out DIR]`: the station's Debian package; `deb-test`: its install, upgrade and purge
//!   in a throwaway Debian 12 root and the kiosk under headless cage (part of `test`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod deb;
mod fuzz;
mod live;
mod scale_out;
mod startup;

const BENCHES: &[&str] = &[
    "store",
    "central",
    "capture",
    "ocr",
    "fingerprint",
    "laudo",
    "panoramic",
    "startup",
    "abuse",
    "search",
    "live",
];
/// Shared test data, beside the repository.
const DATA: &str = "../shared/data";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root).context("entering the workspace root")?;
    match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("test") => test(),
        Some("setup") => setup(),
        Some("bench") => bench(&args[1..]),
        Some("screenshots") => screenshots(),
        Some("deb") => deb::deb(&args[1..]),
        Some("deb-test") => deb::test(),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo [args…] | test | setup | screenshots | deb [--out DIR] | deb-test | fuzz [{}] [seconds] | bench <{}>>",
                fuzz::TARGETS.join("|"),
                BENCHES.join("|")
            );
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Installs the system packages the build and the tests need (Debian 12, apt-get).
fn setup() -> Result<()> {
    let mut cmd = Command::new("bash");
    cmd.arg("installer/setup-dev.sh");
    run(cmd)
}

fn demo(extra: &[String]) -> Result<()> {
    setup()?;
    run(cargo(&["build", "--release", "--bin", "vistoria"]))?;
    let mut cmd = Command::new(release_bin());
    // `cargo xtask demo -- --size 1920x1080` and `cargo xtask demo --size 1920x1080` both work.
    let extra = extra.strip_prefix(&["--".to_owned()]).unwrap_or(extra);
    cmd.arg("demo").args(extra);
    // The demo speaks for itself (no display, a wrong flag): pass its status on without
    // repeating it as an xtask error.
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

fn test() -> Result<()> {
    setup()?;
    run(cargo(&["fmt", "--all", "--check"]))?;
    run(cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    let tests = if has_nextest() {
        run(cargo(&[
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--no-fail-fast",
        ]))
    } else {
        run(cargo(&[
            "test",
            "--workspace",
            "--locked",
            "--no-fail-fast",
        ]))
    };
    stop_test_services();
    tests?;
    deb::test()
}

/// Stops the PostgreSQL and SeaweedFS the central's tests started for the suite
/// (`central/tests/common/services.rs`), whatever the tests' outcome.
fn stop_test_services() {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("tmp").join("services");
    if dir.exists() {
        let mut cmd = Command::new("bash");
        cmd.arg("installer/test-services.sh").arg("stop").arg(&dir);
        if let Err(e) = run(cmd) {
            eprintln!(
                "xtask: could not stop the test services in {}: {e:#}",
                dir.display()
            );
        }
    }
}

fn bench(args: &[String]) -> Result<()> {
    let Some(name) = args.first() else {
        bail!("which benchmark? one of: {}", BENCHES.join(", "));
    };
    if !BENCHES.contains(&name.as_str()) {
        bail!("unknown benchmark {name:?}; known: {}", BENCHES.join(", "));
    }
    if name == "abuse" {
        return bench_abuse(&args[1..]);
    }
    if name == "search" {
        return bench_search(&args[1..]);
    }
    if name == "live" {
        return live::bench(&args[1..]);
    }
    setup_and_build_release()?;
    if name == "startup" {
        return startup::bench(&release_bin());
    }
    let scratch =
        std::env::temp_dir().join(format!("vistoria-bench-{name}-{}", std::process::id()));
    // `central --backend pg-s3`: the same benchmark with the central on PostgreSQL and S3.
    let mut extra: Vec<String> = args[1..].to_vec();
    let mut backends = None;
    if let Some(at) = extra.iter().position(|a| a == "--backend") {
        let kind = extra.get(at + 1).cloned().unwrap_or_default();
        extra.drain(at..(at + 2).min(extra.len()));
        match (name.as_str(), kind.as_str()) {
            (_, "files") => {}
            ("central", "pg-s3") => {
                let started = scale_out::Backends::start(&scratch.join("services"), true)?;
                extra.extend([
                    "--database".to_owned(),
                    started.database.clone(),
                    "--blobs".to_owned(),
                    format!("s3://{}/bench", scale_out::BUCKET),
                    "--s3-endpoint".to_owned(),
                    started.s3_endpoint.clone(),
                ]);
                backends = Some(started);
            }
            _ => bail!("--backend is files or pg-s3, and pg-s3 only for the central benchmark"),
        }
    }
    // Each benchmark's own arguments; anything after the name is passed on.
    let runs: Vec<Vec<String>> = match name.as_str() {
        "ocr" => vec![vec![
            "--labels".into(),
            format!("{DATA}/plates/br-openalpr/labels.tsv"),
        ]],
        "fingerprint" => ["FVC2002_DB1_B", "FVC2002_DB2_B"]
            .iter()
            .map(|set| vec!["--fvc".into(), format!("{DATA}/fingerprints/{set}")])
            .collect(),
        "laudo" | "panoramic" => vec![vec![]],
        _ => vec![vec!["--data".into(), scratch.display().to_string()]],
    };
    let mut result = Ok(());
    for run_args in runs {
        let mut cmd = Command::new(release_bin());
        cmd.args(["bench", name]).args(run_args).args(&extra);
        if backends.is_some() {
            cmd.envs(scale_out::S3_CREDENTIALS);
        }
        result = result.and(run(cmd));
    }
    drop(backends);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Builds the central's binaries (server and benchmarks) in release; the folder they are in.
fn central_release_bins() -> Result<PathBuf> {
    run(cargo(&[
        "build",
        "--release",
        "--locked",
        "-p",
        "vistoria-central",
        "--bins",
    ]))?;
    Ok(release_bin()
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default())
}

/// Issue 21's search by plate over a million inspections on PostgreSQL (target: p95 ≤ 100 ms),
/// against a PostgreSQL 15 started for the run.
fn bench_search(extra: &[String]) -> Result<()> {
    let dir = central_release_bins()?;
    let scratch =
        std::env::temp_dir().join(format!("vistoria-bench-search-{}", std::process::id()));
    let backends = scale_out::Backends::start(&scratch, false)?;
    let mut cmd = Command::new(dir.join("central-search-bench"));
    cmd.arg("--database").arg(&backends.database).args(extra);
    let result = run(cmd);
    drop(backends);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Issue 17's slow-upload and idle-connection attacks against a spawned release
/// `vistoria-central`, and a well-behaved station's p50/p99 meanwhile (target: p99 < 1 s).
fn bench_abuse(extra: &[String]) -> Result<()> {
    let dir = central_release_bins()?;
    let scratch = std::env::temp_dir().join(format!("vistoria-bench-abuse-{}", std::process::id()));
    let mut cmd = Command::new(dir.join("central-abuse-bench"));
    cmd.arg("--central")
        .arg(dir.join("vistoria-central"))
        .arg("--data")
        .arg(&scratch)
        .args(extra);
    let result = run(cmd);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Walks the kiosk's screens under Xvfb at the two sizes the kiosk must be clear at.
fn screenshots() -> Result<()> {
    setup_and_build_release()?;
    for (size, dir) in [
        ("1280x800", "docs/screenshots"),
        ("1920x1080", "docs/screenshots/1920x1080"),
    ] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
        let mut cmd = Command::new("xvfb-run");
        cmd.args(["-a", "-s", &format!("-screen 0 {size}x24")])
            .arg(release_bin())
            .args(["demo", "--size", size, "--screenshots", dir]);
        run(cmd)?;
    }
    Ok(())
}

/// Installs what is missing and builds the release `vistoria` the benchmarks and the
/// screenshots run.
fn setup_and_build_release() -> Result<()> {
    setup()?;
    run(cargo(&[
        "build",
        "--release",
        "--locked",
        "--bin",
        "vistoria",
    ]))
}

/// The release `vistoria` binary, wherever `CARGO_TARGET_DIR` puts it.
fn release_bin() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("release/vistoria")
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.args(args);
    cmd
}

fn run(mut cmd: Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}
