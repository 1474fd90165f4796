//! `vistoria update apply` (§15 a), the root-owned installer `vistoria-update.service` runs when
//! the kiosk spools a verified release: against a real central, it installs only what the
//! central's signed version policy names, byte for byte, never an older version, and empties
//! the spool whatever happens. (The install step is a script standing in for `dpkg -i`, which a
//! test cannot run on this machine; the package's life under dpkg is `cargo xtask deb-test`.)

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Central, central_bin};

const STATION: &str = "ECV-ATUALIZA-01";

/// A `.deb` of `vistoria` at `version`, built with `dpkg-deb` in `dir`.
fn deb(dir: &Path, version: &str) -> PathBuf {
    let root = dir.join(format!("pkg-{version}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: vistoria\nVersion: {version}\nArchitecture: all\n\
             Maintainer: Teste <teste@example.com>\nDescription: teste\n"
        ),
    )
    .unwrap();
    let deb = dir.join(format!("vistoria_{version}.deb"));
    let out = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&root)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    deb
}

fn publish(central: &Central, deb: &Path) {
    let out = Command::new(central_bin())
        .args(["release", "publish"])
        .arg(deb)
        .args(["--min-version", "0.0.1", "--data"])
        .arg(&central.data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

struct Station {
    config: PathBuf,
    data: PathBuf,
    spool: PathBuf,
    installed: PathBuf,
    installer: PathBuf,
}

impl Station {
    fn new(dir: &Path, central: &Central) -> Station {
        let token = central.add_station(STATION);
        let config = dir.join("vistoria.toml");
        let cert = central
            .cert_sha256
            .as_deref()
            .map(|c| format!("cert_sha256 = \"{c}\"\n"))
            .unwrap_or_default();
        std::fs::write(
            &config,
            format!(
                "[station]\ncode = \"{STATION}\"\nname = \"Vistoria Centro\"\n\
                 address = \"Av. Historiador Rubens de Mendonça, 1000\"\ncity = \"Cuiabá/MT\"\n\
                 latitude = -15.5989\nlongitude = -56.0949\n\n\
                 [central]\nurl = \"{}\"\ntoken = \"{token}\"\n{cert}\n\
                 [devices]\nallow_simulated = true\n",
                central.url
            ),
        )
        .unwrap();
        let data = dir.join("data");
        let spool = data.join(vistoria_station::UPDATE_SPOOL);
        std::fs::create_dir_all(&spool).unwrap();
        // Stands in for `dpkg -i`: keeps what it was given.
        let installed = dir.join("instalado.deb");
        let installer = dir.join("instalar.sh");
        std::fs::write(
            &installer,
            format!("#!/bin/sh\ncp \"$1\" '{}'\n", installed.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&installer, std::fs::Permissions::from_mode(0o755)).unwrap();
        Station {
            config,
            data,
            spool,
            installed,
            installer,
        }
    }

    fn apply(&self) -> (Output, serde_json::Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_vistoria"))
            .arg("--config")
            .arg(&self.config)
            .args(["update", "apply", "--data"])
            .arg(&self.data)
            .arg("--work")
            .arg(self.data.parent().unwrap().join("root-cache"))
            .arg("--install-with")
            .arg(&self.installer)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or("{}").to_owned();
        (out, serde_json::from_str(&last).unwrap())
    }

    fn spool_is_empty(&self) -> bool {
        std::fs::read_dir(&self.spool).unwrap().next().is_none()
    }
}

#[test]
fn only_the_package_the_central_signed_is_installed() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        eprintln!("SKIP: dpkg-deb ausente");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&dir.path().join("central"));
    let station = Station::new(dir.path(), &central);
    let debs = dir.path().join("debs");
    std::fs::create_dir_all(&debs).unwrap();
    let offered = deb(&debs, "99.1.0");
    publish(&central, &offered);
    let spooled = station.spool.join("vistoria_99.1.0.deb");

    // A package altered in the spool (where the kiosk's user can write): refused, nothing
    // installed, the spool emptied.
    let mut altered = std::fs::read(&offered).unwrap();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    std::fs::write(&spooled, &altered).unwrap();
    let (out, report) = station.apply();
    assert!(!out.status.success());
    assert_eq!(report["installed"], false);
    assert!(
        report["error"].as_str().unwrap().contains("não confere"),
        "{report}"
    );
    assert!(!station.installed.exists());
    assert!(station.spool_is_empty());

    // Nothing spooled: said, nothing installed.
    let (out, report) = station.apply();
    assert!(!out.status.success());
    assert!(
        report["error"].as_str().unwrap().contains("Diagnóstico"),
        "{report}"
    );

    // The real bytes: installed, exactly those.
    std::fs::copy(&offered, &spooled).unwrap();
    let (out, report) = station.apply();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(report["installed"], true, "{report}");
    assert_eq!(report["version"], "99.1.0");
    assert_eq!(
        std::fs::read(&station.installed).unwrap(),
        std::fs::read(&offered).unwrap()
    );
    assert!(station.spool_is_empty());

    // A release older than the running build (a rollback): never installed.
    std::fs::remove_file(&station.installed).unwrap();
    let older = deb(&debs, "0.0.9");
    publish(&central, &older);
    std::fs::copy(&older, station.spool.join("vistoria_0.0.9.deb")).unwrap();
    let (out, report) = station.apply();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(report["installed"], false, "{report}");
    assert!(!station.installed.exists());
    assert!(station.spool_is_empty());
}
