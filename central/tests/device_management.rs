//! Device management (§15 of Anexo II) through the real binary, on SQLite and on PostgreSQL:
//! `release publish` and `policy set` sign and store what a running server then serves (so a
//! second instance on the same database serves the same), the station reads and verifies the
//! signed policies with the key `/time` gives, downloads the release whose SHA-256 the version
//! policy names, and its inventory with a forbidden package flags it (`station show`).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use vistoria_core::hashing::sha256_hex;
use vistoria_core::policy::{
    Inventory, InventoryAck, OffenderKind, PolicySet, SecurityPolicy, SoftwarePolicy, VersionPolicy,
};

use common::{BIN, Server};

/// A `.deb` of `package` at `version` built with `dpkg-deb` in `dir`.
fn deb(dir: &Path, package: &str, version: &str) -> PathBuf {
    let root = dir.join(format!("{package}-{version}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/share/vistoria")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {package}\nVersion: {version}\nArchitecture: all\n\
             Maintainer: Teste <teste@example.com>\nDescription: pacote de teste\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("usr/share/vistoria/marker"), version.repeat(5000)).unwrap();
    let out = dir.join(format!("{package}_{version}.deb"));
    let status = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&root)
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    out
}

/// Runs the binary with `args` and the storage flags; `Err(stderr)` when it fails.
fn cli(args: &[&str], storage: &[String], env: &[(&str, &str)]) -> Result<String, String> {
    let out = Command::new(BIN)
        .args(args)
        .args(storage)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn policies(server: &Server) -> PolicySet {
    let response = server.get("/policies").send().unwrap();
    assert_eq!(response.status(), 200);
    response.json().unwrap()
}

fn server_key(server: &Server) -> String {
    let time: Value = server
        .get("/time")
        .bearer_auth(&server.token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    time["server_key"].as_str().unwrap().to_owned()
}

fn inventory(packages: &[(&str, &str)]) -> Inventory {
    Inventory {
        collected_at: chrono::Utc::now(),
        running_version: "0.1.0".into(),
        packages: packages
            .iter()
            .map(|(name, version)| vistoria_core::policy::InstalledPackage {
                name: (*name).into(),
                version: (*version).into(),
            })
            .collect(),
        executables: vec!["/usr/bin/vistoria".into()],
        modules: vec!["usbhid".into()],
        usb: vec!["05ba:000a".into()],
    }
}

const POLICY: &str = r#"
[software]
packages = ["vistoria", "lib*", "systemd*"]
executables = ["/usr/bin/*", "/usr/lib/systemd/*"]
modules = ["*"]
usb = ["05ba:000a", "1d6b:*"]
block = true

[security]
password_min_length = 10
failures_before_lock = 3
lock_minutes = 20
idle_minutes = 5
usb_storage = false
log_retention_days = 90
"#;

fn publish_serve_and_report(storage: Vec<String>, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("central");
    std::fs::create_dir_all(&data).unwrap();
    let d = data.to_str().unwrap().to_owned();
    let token = cli(&["station", "add", "ECV-01", "--data", &d], &storage, env)
        .unwrap()
        .trim()
        .to_owned();
    let extra: Vec<&str> = storage.iter().map(String::as_str).collect();
    let server = Server::spawn_env(&data, &extra, token, env);
    let key = server_key(&server);

    // Nothing published yet: an empty set, and an inventory flags nothing.
    assert_eq!(policies(&server), PolicySet::default());

    // A release: its version from the control file, the bytes in the blob store.
    let v1 = deb(dir.path(), "vistoria", "0.2.0");
    let out = cli(
        &[
            "release",
            "publish",
            v1.to_str().unwrap(),
            "--min-version",
            "0.1.5",
            "--data",
            &d,
        ],
        &storage,
        env,
    )
    .unwrap();
    let printed: VersionPolicy = serde_json::from_str(&out).unwrap();
    assert_eq!((printed.version, printed.current.as_str()), (1, "0.2.0"));
    // Published by another process while this server runs: served from the store at once.
    let set = policies(&server);
    let version: VersionPolicy = set.version.as_ref().unwrap().verify(&key).unwrap();
    assert_eq!(version, printed);
    assert_eq!(version.minimum, "0.1.5");
    assert!(version.below_minimum("0.1.0"));
    let bytes = std::fs::read(&v1).unwrap();
    assert_eq!(version.package_sha256, sha256_hex(&bytes));
    assert_eq!(version.package_size, bytes.len() as u64);
    let download = server
        .get(&version.package_path)
        .bearer_auth(&server.token)
        .send()
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().unwrap().as_ref(), bytes.as_slice());
    let missing = server
        .get("/releases/9.9.9")
        .bearer_auth(&server.token)
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Without the station token, nothing.
    for path in ["/policies", version.package_path.as_str()] {
        let anonymous = server.client.get(server.api(path)).send().unwrap();
        assert_eq!(anonymous.status(), 401, "{path}");
    }

    // Refused: another package, a minimum above the release, a policy file with a typo or
    // weak values. Nothing is published by them.
    let other = deb(dir.path(), "anydesk", "6.0");
    let err = cli(
        &[
            "release",
            "publish",
            other.to_str().unwrap(),
            "--min-version",
            "0.1",
            "--data",
            &d,
        ],
        &storage,
        env,
    )
    .unwrap_err();
    assert!(err.contains("só o Vistoria"), "{err}");
    let v3 = deb(dir.path(), "vistoria", "0.3.0");
    let err = cli(
        &[
            "release",
            "publish",
            v3.to_str().unwrap(),
            "--min-version",
            "0.4",
            "--data",
            &d,
        ],
        &storage,
        env,
    )
    .unwrap_err();
    assert!(err.contains("acima da versão publicada"), "{err}");
    let file = dir.path().join("policy.toml");
    std::fs::write(&file, POLICY.replace("block", "blokc")).unwrap();
    assert!(
        cli(
            &["policy", "set", file.to_str().unwrap(), "--data", &d],
            &storage,
            env
        )
        .is_err()
    );
    std::fs::write(&file, POLICY.replace("= 10", "= 3")).unwrap();
    let err = cli(
        &["policy", "set", file.to_str().unwrap(), "--data", &d],
        &storage,
        env,
    )
    .unwrap_err();
    assert!(err.contains("password_min_length"), "{err}");
    assert!(policies(&server).software.is_none());

    // The policies: signed, each at version 1; a second publication is version 2.
    std::fs::write(&file, POLICY).unwrap();
    cli(
        &["policy", "set", file.to_str().unwrap(), "--data", &d],
        &storage,
        env,
    )
    .unwrap();
    let set = policies(&server);
    let software: SoftwarePolicy = set.software.as_ref().unwrap().verify(&key).unwrap();
    let security: SecurityPolicy = set.security.as_ref().unwrap().verify(&key).unwrap();
    assert_eq!((software.version, software.block), (1, true));
    assert_eq!((security.version, security.failures_before_lock), (1, 3));
    cli(
        &[
            "release",
            "publish",
            v3.to_str().unwrap(),
            "--min-version",
            "0.2.0",
            "--data",
            &d,
        ],
        &storage,
        env,
    )
    .unwrap();
    let version: VersionPolicy = policies(&server).version.unwrap().verify(&key).unwrap();
    assert_eq!((version.version, version.current.as_str()), (2, "0.3.0"));

    // An inventory within the policy: not flagged.
    let post = |inventory: &Inventory| -> InventoryAck {
        let r = server
            .client
            .post(server.api("/stations/self/inventory"))
            .bearer_auth(&server.token)
            .json(inventory)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    };
    let clean = post(&inventory(&[
        ("vistoria", "0.2.0"),
        ("libc6:amd64", "2.36"),
    ]));
    assert_eq!(clean.policy_version, Some(1));
    assert!(clean.offenders.is_empty());
    let show = |code: &str| -> Value {
        serde_json::from_str(&cli(&["station", "show", code, "--data", &d], &storage, env).unwrap())
            .unwrap()
    };
    assert_eq!(show("ECV-01")["flagged"], json!(false));
    // A forbidden package: named to the station, and the station flagged at the central.
    let dirty = post(&inventory(&[("vistoria", "0.2.0"), ("anydesk", "6.3.0")]));
    assert_eq!(dirty.offenders.len(), 1);
    assert_eq!(dirty.offenders[0].kind, OffenderKind::Package);
    assert_eq!(dirty.offenders[0].name, "anydesk 6.3.0");
    let shown = show("ECV-01");
    assert_eq!(shown["flagged"], json!(true), "{shown}");
    assert_eq!(shown["offenders"][0]["name"], json!("anydesk 6.3.0"));
    assert_eq!(shown["software_policy_version"], json!(1));
    // A station that never sent one is shown as such.
    assert_eq!(show("ECV-99")["inventory"], Value::Null);
}

#[test]
fn policies_releases_and_inventory_on_sqlite() {
    publish_serve_and_report(Vec::new(), &[]);
}

#[test]
fn policies_releases_and_inventory_on_postgres_and_s3() {
    let db = common::services::TestDatabase::new();
    let bucket = common::services::TestBucket::new();
    let o = &bucket.options;
    let storage = vec![
        "--database".to_owned(),
        db.url.clone(),
        "--blobs".to_owned(),
        format!("s3://{}/{}", o.location.bucket, o.location.prefix),
        "--s3-endpoint".to_owned(),
        o.endpoint.clone().unwrap(),
    ];
    let env = [
        ("AWS_ACCESS_KEY_ID", o.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", o.secret_access_key.as_str()),
    ];
    publish_serve_and_report(storage, &env);
}
