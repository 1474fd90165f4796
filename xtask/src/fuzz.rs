//! `cargo xtask fuzz [target] [seconds]`: the `cargo fuzz` targets in `fuzz/` (see
//! `fuzz/README.md`), one after the other, each for `seconds` (default 60). Not part of `test`:
//! the bounded property tests over the same parsers run there instead.
//!
//! The toolchain here is stable, so `RUSTC_BOOTSTRAP=1` lets cargo-fuzz pass its `-Z` flags;
//! the sanitizer is off (`-s none`) because the parsers are safe Rust and what is looked for is
//! panics, overflows (debug assertions are on) and runaway allocations.

use std::process::Command;

use anyhow::{Result, bail};

/// The targets, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[&str] = &["verify_p7s", "tiff", "uareu", "hocr", "manifest", "laudo"];

pub fn fuzz(args: &[String]) -> Result<()> {
    let (targets, seconds): (Vec<&str>, u64) = match args {
        [] => (TARGETS.to_vec(), 60),
        [t] if t.parse::<u64>().is_ok() => (TARGETS.to_vec(), t.parse()?),
        [t, rest @ ..] => {
            if !TARGETS.contains(&t.as_str()) {
                bail!("unknown fuzz target {t:?}; known: {}", TARGETS.join(", "));
            }
            let seconds = match rest.first() {
                Some(s) => s.parse()?,
                None => 60,
            };
            (vec![t.as_str()], seconds)
        }
    };
    let has_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_fuzz {
        super::run(super::cargo(&["install", "cargo-fuzz", "--locked"]))?;
    }
    for target in targets {
        // New inputs go to the (ignored) corpus; the committed seeds are read only.
        let corpus = format!("fuzz/corpus/{target}");
        let seeds = format!("fuzz/seeds/{target}");
        std::fs::create_dir_all(&corpus)?;
        let mut cmd = super::cargo(&["fuzz", "run", "-s", "none", target, &corpus]);
        if std::path::Path::new(&seeds).is_dir() {
            cmd.arg(&seeds);
        }
        cmd.env("RUSTC_BOOTSTRAP", "1").args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-rss_limit_mb=2048",
        ]);
        super::run(cmd)?;
    }
    Ok(())
}
