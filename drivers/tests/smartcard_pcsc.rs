//! Card events against a real `pcscd` with the vsmartcard virtual reader (`vpcd`) and a
//! virtual card (`vicc`): insert and remove are seen as [`ReaderEvent`]s.
//!
//! pcscd 1.9 has a fixed socket and pid file under `/run/pcscd`, so the test runs a private
//! one in its own mount namespace (`unshare --mount`, root) with a temp dir bound over
//! `/run/pcscd`, and points the client library at the socket with `PCSCLITE_CSOCK_NAME`.
//! Debian's `vicc` needs two path shims: its package lives in
//! `/usr/lib/python3/site-packages/virtualsmartcard`, and it imports `Crypto` while Debian
//! ships pycryptodome as `Cryptodome`.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Service, free_port, have, is_child, run_in_child};
use vistoria_drivers::smartcard::{ReaderEvent, ReaderWatcher};

const TEST: &str = "card_insert_and_remove_are_reported";

fn start_pcscd(dir: &Path, port: u16) -> Option<Service> {
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::write(
        dir.join("conf/vpcd"),
        format!(
            "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:{port:#06X}\nLIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID {port:#06X}\n"
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/pcscd").ok()?;
    let script = format!(
        "mount --bind {dir} /run/pcscd && exec pcscd --foreground -c {dir}/conf",
        dir = dir.display()
    );
    let child = Command::new("unshare")
        .args(["--mount", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let service = Service(child);
    let started = Instant::now();
    while !dir.join("pcscd.comm").exists() {
        if started.elapsed() > Duration::from_secs(10) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(service)
}

fn start_vicc(dir: &Path, port: u16) -> Service {
    let shim = dir.join("py");
    std::fs::create_dir_all(&shim).unwrap();
    let crypto = shim.join("Crypto");
    if !crypto.exists() {
        std::os::unix::fs::symlink("/usr/lib/python3/dist-packages/Cryptodome", &crypto).unwrap();
    }
    let child = Command::new("/usr/bin/python3")
        .args(["/usr/bin/vicc", "-t", "iso7816", "-H", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .env(
            "PYTHONPATH",
            format!(
                "{}:/usr/lib/python3/site-packages/virtualsmartcard",
                shim.display()
            ),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Service(child)
}

fn wait_for(watcher: &mut ReaderWatcher, want: impl Fn(&ReaderEvent) -> bool) -> Vec<ReaderEvent> {
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(20) {
        let events = watcher.poll(Duration::from_millis(500)).unwrap();
        let found = events.iter().any(&want);
        seen.extend(events);
        if found {
            return seen;
        }
    }
    panic!("event not seen in 20 s; saw {seen:?}");
}

#[test]
fn card_insert_and_remove_are_reported() {
    if !is_child() {
        for tool in ["pcscd", "unshare", "vicc"] {
            if !have(tool) {
                eprintln!("SKIP: {tool} not installed (pcscd, util-linux, vsmartcard-vpicc)");
                return;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let Some(_pcscd) = start_pcscd(dir.path(), port) else {
            eprintln!("SKIP: cannot run a private pcscd here (needs root and unshare --mount)");
            return;
        };
        run_in_child(
            TEST,
            &[
                (
                    "PCSCLITE_CSOCK_NAME",
                    dir.path().join("pcscd.comm").display().to_string(),
                ),
                ("VISTORIA_TEST_DIR", dir.path().display().to_string()),
                ("VISTORIA_TEST_PORT", port.to_string()),
            ],
        );
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var("VISTORIA_TEST_DIR").unwrap());
    let port: u16 = std::env::var("VISTORIA_TEST_PORT")
        .unwrap()
        .parse()
        .unwrap();

    let mut watcher = ReaderWatcher::new().unwrap();
    let first = watcher.poll(Duration::from_millis(100)).unwrap();
    assert!(
        first
            .iter()
            .any(|e| matches!(e, ReaderEvent::ReaderAttached(r) if r.starts_with("Virtual PCD"))),
        "{first:?}"
    );
    assert!(
        !first
            .iter()
            .any(|e| matches!(e, ReaderEvent::CardInserted { .. }))
    );

    let card = start_vicc(&dir, port);
    let events = wait_for(&mut watcher, |e| {
        matches!(e, ReaderEvent::CardInserted { .. })
    });
    let Some(ReaderEvent::CardInserted { reader, atr }) = events
        .iter()
        .find(|e| matches!(e, ReaderEvent::CardInserted { .. }))
    else {
        unreachable!()
    };
    assert!(reader.starts_with("Virtual PCD"), "{reader}");
    assert!(atr.starts_with("3B"), "ATR {atr}");

    drop(card);
    let events = wait_for(&mut watcher, |e| matches!(e, ReaderEvent::CardRemoved(_)));
    assert!(
        events.contains(&ReaderEvent::CardRemoved(reader.clone())),
        "{events:?}"
    );
}
