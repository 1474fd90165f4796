//! `cargo xtask bench live` (issue 22, §7): the live view's cost and capacity, in two parts.
//!
//! 1. The kiosk: `vistoria bench live` streams the 720p RTSP test camera to a real central with
//!    a `vistoria stream` child and reports its CPU, memory, frames/s and kbit/s; it saves the
//!    kiosk's JPEG frames.
//! 2. The central: `central-live-bench` posts those frames at the kiosk's measured rate from
//!    more and more stations, with portal viewers watching, against a release
//!    `vistoria-central serve`, until it no longer keeps up.
//!
//! `--kiosk-seconds N` sets part 1's length; `--backend pg-s3` runs part 2 on PostgreSQL and
//! S3; anything else is passed to `central-live-bench` (`--stations 10,50`, `--seconds 20`…).

use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use super::{central_release_bins, release_bin, run, scale_out, setup_and_build_release};

/// Takes `--flag VALUE` out of `args`.
fn take_flag(args: &mut Vec<String>, flag: &str) -> Option<String> {
    let at = args.iter().position(|a| a == flag)?;
    let value = args.get(at + 1).cloned();
    args.drain(at..(at + 2).min(args.len()));
    value
}

/// The number in `"name":NUMBER` of a JSON line (xtask has no JSON parser, and needs one
/// figure).
fn number_field(line: &str, name: &str) -> Option<f64> {
    let rest = &line[line.find(&format!("\"{name}\":"))? + name.len() + 3..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

pub fn bench(extra: &[String]) -> Result<()> {
    let mut extra = extra.to_vec();
    let kiosk_seconds = take_flag(&mut extra, "--kiosk-seconds").unwrap_or_else(|| "60".into());
    let backend = take_flag(&mut extra, "--backend").unwrap_or_else(|| "files".into());
    setup_and_build_release()?;
    let dir = central_release_bins()?;
    let scratch = std::env::temp_dir().join(format!("vistoria-bench-live-{}", std::process::id()));
    let frames = scratch.join("frames");
    let result = (|| {
        let mut kiosk = Command::new(release_bin());
        kiosk
            .args(["bench", "live", "--seconds", &kiosk_seconds, "--central"])
            .arg(dir.join("vistoria-central"))
            .arg("--data")
            .arg(scratch.join("kiosk"))
            .arg("--frames-out")
            .arg(&frames)
            .stderr(Stdio::inherit());
        eprintln!("xtask: running {kiosk:?}");
        let out = kiosk
            .output()
            .with_context(|| format!("starting {kiosk:?}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        print!("{text}");
        if !out.status.success() {
            bail!("{kiosk:?} failed: {}", out.status);
        }
        let fps = number_field(text.lines().last().unwrap_or_default(), "fps")
            .context("the kiosk's line has no fps")?;

        let backends = match backend.as_str() {
            "files" => None,
            "pg-s3" => Some(scale_out::Backends::start(&scratch.join("services"), true)?),
            other => bail!("--backend is files or pg-s3, not {other:?}"),
        };
        let mut central = Command::new(dir.join("central-live-bench"));
        central
            .arg("--central")
            .arg(dir.join("vistoria-central"))
            .arg("--data")
            .arg(scratch.join("central"))
            .arg("--frames")
            .arg(&frames)
            .args(["--fps", &format!("{fps:.2}")]);
        if let Some(b) = &backends {
            central
                .args(["--database", &b.database])
                .args(["--blobs", &format!("s3://{}/bench-live", scale_out::BUCKET)])
                .args(["--s3-endpoint", &b.s3_endpoint])
                .envs(scale_out::S3_CREDENTIALS);
        }
        central.args(&extra);
        let result = run(central);
        drop(backends);
        result
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

#[cfg(test)]
mod tests {
    use super::{number_field, take_flag};

    #[test]
    fn a_number_is_read_from_its_field_only() {
        let line = r#"{"bench":"live","fps_x":9,"fps":2.95,"kbit_per_second":97.1}"#;
        assert_eq!(number_field(line, "fps"), Some(2.95));
        assert_eq!(number_field(line, "kbit_per_second"), Some(97.1));
        assert_eq!(number_field(line, "bench"), None);
        assert_eq!(number_field(line, "quality"), None);
    }

    #[test]
    fn a_flag_and_its_value_are_taken_out_and_the_rest_kept() {
        let mut args: Vec<String> = ["--stations", "10,20", "--kiosk-seconds", "30", "--seconds"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            take_flag(&mut args, "--kiosk-seconds").as_deref(),
            Some("30")
        );
        assert_eq!(args, ["--stations", "10,20", "--seconds"]);
        assert_eq!(take_flag(&mut args, "--backend"), None);
        assert_eq!(take_flag(&mut args, "--seconds"), None);
        assert_eq!(args, ["--stations", "10,20"]);
    }
}
