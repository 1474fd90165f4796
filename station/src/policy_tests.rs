//! §15 against the real central (the reference server embedded on loopback, its own store and
//! key): a release published with a minimum above this build makes the station refuse a new
//! inspection while the open one still finishes; a forged policy is ignored and reported; an
//! inventory holding a package the software policy does not allow flags the station at the
//! central and, when the policy says so, blocks it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use vistoria_central::keys::ServerKey;
use vistoria_central::release::{publish_policy_file, publish_release, station_devices};
use vistoria_central::server::{StorageFlags, open_storage};
use vistoria_central::storage::MetadataStore;
use vistoria_central::storage::devices::PolicyRecord;
use vistoria_core::domain::InterruptionCause;
use vistoria_core::policy::{PolicyKind, SignedPolicy, VersionPolicy};
use vistoria_core::store::AuditAction;

use crate::embedded_central::demo_station;
use crate::{Failure, RUNNING_VERSION, Station};

const STATION: &str = "ECV-POLITICA-01";
const PLATE: &str = "QTK3308";
const RENAVAM: &str = "43787047302";

/// The central's store and key, as `vistoria-central release publish` opens them.
struct Central {
    meta: std::sync::Arc<dyn MetadataStore>,
    blobs: std::sync::Arc<dyn vistoria_central::storage::BlobStore>,
    key: ServerKey,
    dir: PathBuf,
}

impl Central {
    fn of(root: &Path) -> Central {
        let data = root.join("central");
        let (meta, blobs) = open_storage(&data, &StorageFlags::default()).unwrap();
        let key = ServerKey::load_or_create(&data.join("keys")).unwrap();
        let dir = root.join("debs");
        std::fs::create_dir_all(&dir).unwrap();
        Central {
            meta,
            blobs,
            key,
            dir,
        }
    }

    /// Publishes a `vistoria` package of `version` with `minimum`.
    fn release(&self, version: &str, minimum: &str) -> VersionPolicy {
        let root = self.dir.join(version);
        std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
        std::fs::write(
            root.join("DEBIAN/control"),
            format!(
                "Package: vistoria\nVersion: {version}\nArchitecture: all\n\
                 Maintainer: Teste <teste@example.com>\nDescription: teste\n"
            ),
        )
        .unwrap();
        let deb = self.dir.join(format!("vistoria_{version}.deb"));
        let out = Command::new("dpkg-deb")
            .args(["--build", "--root-owner-group"])
            .arg(&root)
            .arg(&deb)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        publish_release(
            self.meta.as_ref(),
            self.blobs.as_ref(),
            &self.key,
            &deb,
            minimum,
            chrono::Utc::now(),
        )
        .unwrap()
    }

    fn policy(&self, toml: &str) {
        publish_policy_file(self.meta.as_ref(), &self.key, toml, chrono::Utc::now()).unwrap();
    }
}

fn operator(station: &Station) -> crate::Session {
    station
        .login_with_password("operador", "vistoria123")
        .unwrap()
}

fn refused(result: Result<crate::InspectionRow, Failure>) -> String {
    match result {
        Err(Failure::Rule(text)) => text,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn audited(station: &Station, action: AuditAction) -> Vec<serde_json::Value> {
    let core = station.core();
    let (head, _) = core.store.audit_head().unwrap().unwrap();
    core.store
        .audit_trail_to(head)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action.as_str())
        .map(|r| serde_json::from_str(&r.detail).unwrap())
        .collect()
}

#[test]
fn below_the_minimum_version_a_new_inspection_is_refused_and_the_open_one_finishes() {
    let root = tempfile::tempdir().unwrap();
    let station = demo_station(root.path(), STATION, None).unwrap();
    station.sync_clock().unwrap();
    let central = Central::of(root.path());
    let session = operator(&station);
    let open = station
        .open_inspection(&session, PLATE, RENAVAM, "")
        .unwrap();

    // A release whose minimum is above this build.
    let policy = central.release("99.0.0", "99.0.0");
    // Not in force before the station syncs.
    assert_eq!(station.policy_block().unwrap(), None);
    station.sync_clock().unwrap();
    let status = station.policy_status().unwrap();
    assert_eq!(status.version.as_ref(), Some(&policy));
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    let why = refused(station.open_inspection(&session, PLATE, RENAVAM, ""));
    assert!(
        why.contains(&format!("Esta versão do Vistoria ({RUNNING_VERSION}) está abaixo da mínima exigida pela central (99.0.0)")),
        "{why}"
    );
    assert!(why.contains("Diagnóstico"), "{why}");
    // Put in force with its audit row (before the delivery, which takes the rows with it).
    let applied = audited(&station, AuditAction::PolicyApplied);
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0]["kind"], "version");
    // The refusal spent nothing at the central: only the first inspection was opened.
    assert_eq!(station.inspection_count().unwrap(), 1);
    // What was open finishes (interrupted here, queued and delivered).
    station
        .interrupt(
            &session,
            open.id,
            InterruptionCause::CustomerGaveUp,
            "teste",
        )
        .unwrap();
    // The package carries the versions of the policies in force (§15), and the central takes it.
    let manifest: serde_json::Value =
        serde_json::from_str(&station.core().store.outbox().unwrap()[0].manifest).unwrap();
    assert_eq!(
        manifest["metadata"]["policies"],
        serde_json::json!({ "version": 1 })
    );
    let delivery = station.deliver_due().unwrap();
    assert_eq!(delivery.delivered.len(), 1, "{delivery:?}");

    // The technician downloads the offered update: checked against the signed policy, spooled.
    let technician = station
        .login_with_password(crate::demo::TECHNICIAN, "vistoria123")
        .unwrap();
    assert!(
        matches!(station.download_update(&session), Err(Failure::Rule(_))),
        "an operator may not"
    );
    let spooled = station.download_update(&technician).unwrap();
    let bytes = std::fs::read(&spooled).unwrap();
    assert_eq!(
        vistoria_core::hashing::sha256_hex(&bytes),
        policy.package_sha256
    );
    // The same release altered in the central's blob store: refused, nothing spooled.
    std::fs::remove_file(&spooled).unwrap();
    let blob = walk(&root.path().join("central/media/-RELEASES-"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap();
    let mut altered = std::fs::read(&blob).unwrap();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    std::fs::write(&blob, altered).unwrap();
    let why = match station.download_update(&technician) {
        Err(Failure::Rule(text)) => text,
        other => panic!("{other:?}"),
    };
    assert!(why.contains("não confere"), "{why}");
    assert!(!spooled.exists());

    // A newer release that lowers the minimum: work resumes.
    central.release("99.0.1", RUNNING_VERSION);
    station.sync_clock().unwrap();
    assert_eq!(station.policy_block().unwrap(), None);
    station
        .open_inspection(&session, PLATE, RENAVAM, "")
        .unwrap();
}

#[test]
fn a_forged_or_older_policy_is_ignored_and_reported() {
    let root = tempfile::tempdir().unwrap();
    let station = demo_station(root.path(), STATION, None).unwrap();
    station.sync_clock().unwrap();
    let central = Central::of(root.path());
    central.release("0.0.9", "0.0.1");
    station.sync_clock().unwrap();
    let in_force = station.policy_status().unwrap().version.unwrap();
    assert_eq!(in_force.version, 1);

    // Version 2, "signed" by another key, demanding a version no station runs.
    let forger = ServerKey::load_or_create(&root.path().join("another-central")).unwrap();
    let forged = VersionPolicy {
        version: 2,
        minimum: "99.0.0".into(),
        current: "99.0.0".into(),
        ..in_force.clone()
    };
    let signed = SignedPolicy::sign(&forged, |bytes| forger.sign_bytes(bytes)).unwrap();
    assert!(
        central
            .meta
            .insert_policy(&PolicyRecord {
                kind: PolicyKind::Version.as_str().into(),
                version: 2,
                published_at: chrono::Utc::now(),
                signed: serde_json::to_string(&signed).unwrap(),
            })
            .unwrap()
    );
    station.sync_clock().unwrap();
    let status = station.policy_status().unwrap();
    assert_eq!(status.version.as_ref(), Some(&in_force), "not applied");
    assert_eq!(status.block, None);
    assert_eq!(status.problems.len(), 1, "{:?}", status.problems);
    assert!(
        status.problems[0].contains("assinatura não confere"),
        "{:?}",
        status.problems
    );
    let session = operator(&station);
    station
        .open_inspection(&session, PLATE, RENAVAM, "")
        .unwrap();
    // Reported once in the audit log, however many syncs see it.
    station.sync_clock().unwrap();
    let reports = audited(&station, AuditAction::PolicyRefused);
    assert_eq!(reports.len(), 1, "{reports:?}");

    // A genuine version 3 is applied; then the central's store "rolled back" to version 1
    // alone (a restored backup) is an older policy, ignored and reported.
    central.release("0.1.0", "0.0.2");
    station.sync_clock().unwrap();
    let status = station.policy_status().unwrap();
    assert_eq!(status.version.as_ref().map(|p| p.version), Some(3));
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    let old = SignedPolicy::sign(&in_force, |b| central.key.sign_bytes(b)).unwrap();
    central
        .meta
        .insert_policy(&PolicyRecord {
            kind: PolicyKind::Version.as_str().into(),
            version: 4,
            published_at: chrono::Utc::now(),
            signed: serde_json::to_string(&old).unwrap(),
        })
        .unwrap();
    station.sync_clock().unwrap();
    let status = station.policy_status().unwrap();
    assert_eq!(status.version.as_ref().map(|p| p.version), Some(3));
    assert!(
        status.problems[0].contains("mais antiga"),
        "{:?}",
        status.problems
    );
}

/// Every installed package's name but `dpkg`'s, as an allow-list.
fn all_packages_but_dpkg() -> Option<Vec<String>> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${binary:Package}\n"])
        .output()
        .ok()?;
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split(':').next().unwrap_or(l).to_owned())
        .filter(|n| n != "dpkg")
        .collect();
    (!names.is_empty()).then_some(names)
}

fn software_policy(packages: &[String], block: bool) -> String {
    format!(
        "[software]\npackages = {}\nexecutables = [\"*\"]\nmodules = [\"*\"]\nusb = [\"*\"]\nblock = {block}\n",
        serde_json::to_string(packages).unwrap()
    )
}

#[test]
fn a_forbidden_package_flags_the_station_and_blocks_it_when_the_policy_says_so() {
    let Some(allowed) = all_packages_but_dpkg() else {
        eprintln!("dpkg-query indisponível: teste ignorado (a plataforma é Debian)");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let station = demo_station(root.path(), STATION, None).unwrap();
    station.sync_clock().unwrap();
    let central = Central::of(root.path());
    let session = operator(&station);

    // Everything installed allowed: an inventory with nothing to say.
    let mut everything = allowed.clone();
    everything.push("dpkg".into());
    central.policy(&software_policy(&everything, true));
    station.sync_clock().unwrap();
    let shown = station_devices(central.meta.as_ref(), STATION).unwrap();
    assert_eq!(shown["flagged"], false, "{shown}");
    assert_eq!(station.policy_block().unwrap(), None);

    // dpkg no longer allowed, blocking: the new policy makes the station check itself again.
    central.policy(&software_policy(&allowed, true));
    station.sync_clock().unwrap();
    let status = station.policy_status().unwrap();
    assert_eq!(status.offenders.len(), 1, "{:?}", status.offenders);
    assert!(
        status.offenders[0].name.starts_with("dpkg "),
        "{:?}",
        status.offenders
    );
    let why = refused(station.open_inspection(&session, PLATE, RENAVAM, ""));
    assert!(
        why.contains("software não autorizado") && why.contains("pacote dpkg"),
        "{why}"
    );
    let shown = station_devices(central.meta.as_ref(), STATION).unwrap();
    assert_eq!(shown["flagged"], true, "{shown}");
    assert!(
        shown["offenders"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("dpkg "),
        "{shown}"
    );

    // The same list, flagging only: the central still flags it, the kiosk works.
    central.policy(&software_policy(&allowed, false));
    station.sync_clock().unwrap();
    assert_eq!(station.policy_block().unwrap(), None);
    station
        .open_inspection(&session, PLATE, RENAVAM, "")
        .unwrap();
    station.check_inventory().unwrap();
    let shown = station_devices(central.meta.as_ref(), STATION).unwrap();
    assert_eq!(shown["flagged"], true, "{shown}");
    assert_eq!(shown["software_policy_version"], 3, "{shown}");
}

#[test]
fn the_security_policy_sets_lock_out_and_password_length() {
    let root = tempfile::tempdir().unwrap();
    let station = demo_station(root.path(), STATION, None).unwrap();
    station.sync_clock().unwrap();
    let central = Central::of(root.path());
    let admin = station
        .login_with_password(crate::demo::ADMINISTRATOR, "vistoria123")
        .unwrap();
    // Without a policy: the store's floor (8) and five failures.
    station
        .reset_person_password(&admin, "tecnico", "nove-letr")
        .unwrap();
    assert_eq!(station.idle_lock_after(), None);

    central.policy(
        "[security]\npassword_min_length = 12\nfailures_before_lock = 2\nlock_minutes = 20\n\
         idle_minutes = 7\nusb_storage = false\nlog_retention_days = 30\n",
    );
    let request = station.data_dir().join(crate::USB_POLICY_REQUEST);
    assert!(!request.exists());
    station.sync_clock().unwrap();
    assert_eq!(
        station.idle_lock_after(),
        Some(std::time::Duration::from_secs(7 * 60))
    );
    // The root-owned applier of the USB-storage setting is asked to run (its path unit).
    let asked: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&request).unwrap()).unwrap();
    assert_eq!(asked["usb_storage"], false, "{asked}");
    let why = match station.reset_person_password(&admin, "tecnico", "onze-letras") {
        Err(Failure::Rule(text)) => text,
        other => panic!("{other:?}"),
    };
    assert!(why.contains("pelo menos 12 caracteres"), "{why}");
    station
        .reset_person_password(&admin, "tecnico", "doze-letras!")
        .unwrap();
    // Two wrong passwords lock the login for the policy's 20 minutes.
    assert!(station.login_with_password("tecnico", "errada-1").is_err());
    let locked = station
        .login_with_password("tecnico", "errada-2")
        .unwrap_err()
        .to_string();
    assert!(locked.contains("aguarde 20 min"), "{locked}");
    let still = station
        .login_with_password("tecnico", "doze-letras!")
        .unwrap_err()
        .to_string();
    assert!(still.contains("aguarde"), "{still}");

    // Idle past the policy's 7 minutes: the next action is refused and the session is over;
    // a new login works again. Within the limit nothing changes.
    let counter = operator(&station);
    station.age_session("operador", std::time::Duration::from_secs(6 * 60));
    station
        .open_inspection(&counter, PLATE, RENAVAM, "")
        .unwrap();
    station.age_session(
        crate::demo::ADMINISTRATOR,
        std::time::Duration::from_secs(8 * 60),
    );
    let why = match station.staff(&admin) {
        Err(Failure::Rule(text)) => text,
        other => panic!("{other:?}"),
    };
    assert!(
        why.contains("inatividade") && why.contains("7 min"),
        "{why}"
    );
    let admin = station
        .login_with_password(crate::demo::ADMINISTRATOR, "vistoria123")
        .unwrap();
    assert!(station.staff(&admin).is_ok());

    // Logs: the policy's 30 days, not the default 14.
    assert_eq!(station.log_retention_days(), 30);
    let logs = root.path().join("kiosk/logs");
    std::fs::create_dir_all(&logs).unwrap();
    for day in ["2026-10-01", "2026-11-10", "2026-12-01"] {
        std::fs::write(logs.join(format!("vistoria.{day}.log")), "x").unwrap();
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let removed = station.prune_logs(today).unwrap();
    assert_eq!(removed, vec![logs.join("vistoria.2026-10-01.log")]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
