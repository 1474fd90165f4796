//! `vistoria policy apply-usb` (§15 c), which `vistoria-usb-policy.service` runs as root at boot
//! and when the kiosk puts a new security policy in force: against a real central, USB mass
//! storage is let through (an override in modprobe.d) only while the central's signed security
//! policy allows it; no policy, a policy that forbids it, or a central that cannot be asked all
//! leave it off. (The modules are not unloaded here: a test cannot; the override file is what
//! modprobe obeys, and `cargo xtask deb-test` checks the units under systemd.)

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Central, central_bin};

const STATION: &str = "ECV-USB-01";

fn config(dir: &Path, url: &str, token: &str, cert: Option<&str>) -> PathBuf {
    let config = dir.join("vistoria.toml");
    let cert = cert
        .map(|c| format!("cert_sha256 = \"{c}\"\n"))
        .unwrap_or_default();
    std::fs::write(
        &config,
        format!(
            "[station]\ncode = \"{STATION}\"\nname = \"Vistoria Centro\"\n\
             address = \"Av. Historiador Rubens de Mendonça, 1000\"\ncity = \"Cuiabá/MT\"\n\
             latitude = -15.5989\nlongitude = -56.0949\n\n\
             [central]\nurl = \"{url}\"\ntoken = \"{token}\"\n{cert}\n\
             [devices]\nallow_simulated = true\n"
        ),
    )
    .unwrap();
    config
}

fn set_policy(central: &Central, dir: &Path, usb_storage: bool) {
    let file = dir.join("politica.toml");
    std::fs::write(
        &file,
        format!(
            "[security]\npassword_min_length = 10\nfailures_before_lock = 3\nlock_minutes = 20\n\
             idle_minutes = 5\nusb_storage = {usb_storage}\nlog_retention_days = 90\n"
        ),
    )
    .unwrap();
    let out = Command::new(central_bin())
        .args(["policy", "set"])
        .arg(&file)
        .arg("--data")
        .arg(&central.data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

struct Applier {
    config: PathBuf,
    data: PathBuf,
    modprobe: PathBuf,
}

impl Applier {
    /// Runs it; its success and the report it printed (also kept for Diagnóstico).
    fn run(&self) -> (bool, serde_json::Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_vistoria"))
            .arg("--config")
            .arg(&self.config)
            .args(["policy", "apply-usb", "--keep-loaded", "--data"])
            .arg(&self.data)
            .arg("--modprobe-dir")
            .arg(&self.modprobe)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: serde_json::Value =
            serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
        let kept: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.data.join(vistoria_station::USB_POLICY_APPLIED)).unwrap(),
        )
        .unwrap();
        assert_eq!(kept, report, "the report Diagnóstico reads");
        (out.status.success(), report)
    }

    fn override_file(&self) -> Option<String> {
        std::fs::read_to_string(self.modprobe.join("vistoria-usb-storage.conf")).ok()
    }
}

#[test]
fn usb_storage_follows_the_central_signed_policy_and_stays_off_on_any_doubt() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&dir.path().join("central"));
    let token = central.add_station(STATION);
    let applier = Applier {
        config: config(
            dir.path(),
            &central.url,
            &token,
            central.cert_sha256.as_deref(),
        ),
        data: dir.path().join("data"),
        modprobe: dir.path().join("run-modprobe.d"),
    };

    // No security policy published: off, and that is not a failure.
    let (ok, report) = applier.run();
    assert!(ok, "{report}");
    assert_eq!(report["usb_storage"], false);
    assert_eq!(report["policy_version"], serde_json::Value::Null);
    assert_eq!(applier.override_file(), None);

    // The central allows it: the override takes the package's refusal's place.
    set_policy(&central, dir.path(), true);
    let (ok, report) = applier.run();
    assert!(ok, "{report}");
    assert_eq!(report["usb_storage"], true);
    assert_eq!(report["policy_version"], 1);
    let text = applier.override_file().expect("override written");
    assert!(text.contains("policy v1"), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| !l.starts_with('#') && !l.trim().is_empty()),
        "the override blocks nothing: {text}"
    );

    // A newer policy forbids it: the override goes.
    set_policy(&central, dir.path(), false);
    let (ok, report) = applier.run();
    assert!(ok, "{report}");
    assert_eq!(report["usb_storage"], false);
    assert_eq!(report["policy_version"], 2);
    assert_eq!(applier.override_file(), None);

    // Allowed again, then the central cannot be asked (its pinned certificate does not match):
    // off, and the failure is reported.
    set_policy(&central, dir.path(), true);
    assert!(applier.run().0);
    assert!(applier.override_file().is_some());
    let wrong_pin = Applier {
        config: config(
            &dir.path().join("data"),
            &central.url,
            &token,
            Some(&"0".repeat(64)),
        ),
        data: applier.data.clone(),
        modprobe: applier.modprobe.clone(),
    };
    let (ok, report) = wrong_pin.run();
    assert!(!ok, "{report}");
    assert_eq!(report["usb_storage"], false);
    assert!(
        report["error"].as_str().unwrap().contains("central"),
        "{report}"
    );
    assert_eq!(applier.override_file(), None);
}
