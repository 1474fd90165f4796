//! Crash test of the store: a child process writes inspections and media in a loop and is
//! killed with SIGKILL at random moments. After every kill the store opens, the audit chain
//! verifies, every inspection the child acknowledged is there whole, every inspection it
//! started is there, and recovery leaves none of them open (§12: nothing started disappears).
//!
//! The child is this same test binary, re-run on the ignored test `crash_child`.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use vistoria_core::clock::CentralStamp;
use vistoria_core::domain::InspectionId;
use vistoria_core::fixtures;
use vistoria_core::hashing::Digests;
use vistoria_core::session;
use vistoria_core::store::{AuditAction, AuditEvent, NewMedia, Store};

const CHILD_DIR_ENV: &str = "VISTORIA_CRASH_CHILD_DIR";
const CHILD_SEED_ENV: &str = "VISTORIA_CRASH_CHILD_SEED";
const KILLS: usize = 60;

fn stamp(n: u64) -> CentralStamp {
    CentralStamp {
        at: fixtures::sample_time(n),
        sync_age_ms: 0,
    }
}

/// The child: writes until killed, reporting `STARTED id` once an inspection is stored and
/// `ACK id sha256…` once it is concluded with all its media.
#[test]
#[ignore = "run by store_survives_sigkill_at_random_moments as its child process"]
fn crash_child() {
    let dir = std::env::var_os(CHILD_DIR_ENV).expect("started by the crash test");
    let seed: u64 = std::env::var(CHILD_SEED_ENV).unwrap().parse().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut store, _) = Store::open(Path::new(&dir)).unwrap();
    let out = std::io::stdout();
    // libtest has printed "test crash_child ... " without a newline: start on a line of our own.
    writeln!(out.lock(), "\nOPENED").unwrap();
    for n in seed * 1000.. {
        let mut inspection = fixtures::sample_inspection(n);
        let at = stamp(n);
        store
            .save_inspection(
                &inspection,
                AuditEvent::new(Some(at), "op", AuditAction::InspectionOpened),
            )
            .unwrap();
        writeln!(out.lock(), "STARTED {}", inspection.id()).unwrap();
        inspection.start_capture(at.at).unwrap();
        store
            .save_inspection(
                &inspection,
                AuditEvent::new(Some(at), "insp", AuditAction::InspectionCaptureStarted),
            )
            .unwrap();
        let mut hashes = Vec::new();
        for kind in ["rear_with_plate", "front", "odometer"] {
            let mut bytes = vec![0u8; rng.random_range(8_000..64_000)];
            rng.fill(&mut bytes[..]);
            let record = store
                .store_media(
                    NewMedia {
                        inspection_id: inspection.id(),
                        kind,
                        extension: "jpg",
                        captured_at: at,
                        bytes: &bytes,
                    },
                    "insp",
                )
                .unwrap();
            hashes.push(record.digests.sha256);
        }
        fixtures::fill_checklist(&mut inspection, n, at.at);
        let verdict = inspection.checklist().verdict().unwrap();
        inspection.conclude(verdict, at.at).unwrap();
        store
            .save_inspection(
                &inspection,
                AuditEvent::new(Some(at), "insp", AuditAction::InspectionConcluded),
            )
            .unwrap();
        writeln!(out.lock(), "ACK {} {}", inspection.id(), hashes.join(" ")).unwrap();
    }
}

#[test]
fn store_survives_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let me = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5157_0e1a);
    let mut acked: HashMap<InspectionId, Vec<String>> = HashMap::new();
    let mut started: Vec<InspectionId> = Vec::new();
    let mut kills_mid_write = 0;

    for round in 0..KILLS {
        let mut child = Command::new(&me)
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .env(CHILD_SEED_ENV, (round as u64 + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let reader = {
            let lines = Arc::clone(&lines);
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            })
        };
        // The clock starts once the child holds the store: a kill before that tests nothing.
        let opened = std::time::Instant::now();
        while !lines.lock().unwrap().iter().any(|l| l == "OPENED") {
            assert!(
                opened.elapsed() < Duration::from_secs(30),
                "round {round}: child never opened the store"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();

        let mut fresh = Vec::new();
        for line in lines.lock().unwrap().iter() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("STARTED") => started.push(words.next().unwrap().parse().unwrap()),
                Some("ACK") => {
                    let id: InspectionId = words.next().unwrap().parse().unwrap();
                    acked.insert(id, words.map(str::to_owned).collect());
                    fresh.push(id);
                }
                _ => {}
            }
        }

        // The kiosk restarts: the store opens, knows it crashed, and nothing is lost.
        let (mut store, report) = Store::open(dir.path()).unwrap();
        assert!(
            report.previous_run_crashed,
            "round {round}: the kill went unnoticed"
        );
        if report.removed_partial_files + report.quarantined_files > 0 {
            kills_mid_write += 1;
        }
        let audit = store.verify_audit().unwrap();
        assert_eq!(audit.problem, None, "round {round}: audit chain broken");
        for (id, hashes) in &acked {
            let inspection = store
                .inspection(*id)
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: acknowledged inspection {id} is gone"));
            assert!(
                inspection.outcome().is_some(),
                "round {round}: {id} lost its verdict"
            );
            let media = store.media_of(*id).unwrap();
            let stored: Vec<String> = media.iter().map(|m| m.digests.sha256.clone()).collect();
            assert_eq!(&stored, hashes, "round {round}: media of {id}");
        }
        // Re-read the bytes of this round's acknowledged media (older ones were read before).
        for id in &fresh {
            for record in store.media_of(*id).unwrap() {
                let bytes = store.read_media(&record).unwrap();
                assert_eq!(Digests::of(&bytes), record.digests);
            }
        }
        for id in &started {
            assert!(
                store.inspection(*id).unwrap().is_some(),
                "round {round}: started inspection {id} is gone"
            );
        }
        session::recover_previous_run(&mut store, &report, stamp(999_999)).unwrap();
        assert!(session::open_inspections(&store).unwrap().is_empty());
        store.close().unwrap();
    }

    assert!(
        acked.len() >= KILLS,
        "the child made too little progress: {} acks",
        acked.len()
    );
    eprintln!(
        "{KILLS} kills, {} inspections started, {} acknowledged, {kills_mid_write} kills left partial files",
        started.len(),
        acked.len()
    );
    let last = vistoria_core::store::verify_audit_at(dir.path()).unwrap();
    assert_eq!(last.problem, None);
    let (store, _) = Store::open(dir.path()).unwrap();
    assert!(
        store.verify_media().unwrap().is_empty(),
        "every stored file still matches its digests"
    );
}
