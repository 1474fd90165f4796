//! Chaos test of delivery (§12: every started inspection is registered and delivered): a
//! 100-inspection `vistoria simulate` run is killed with SIGKILL at random moments (≥ 20 times)
//! while the central server is killed and restarted (≥ 5 times). Re-running with the same data
//! and seed resumes the run; at the end the central holds every inspection exactly once, all
//! verified, nothing stored twice.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Central;
use rand::{Rng, SeedableRng};

const INSPECTIONS: u64 = 100;
const KIOSK_KILLS: usize = 22;

fn simulate(central: &Central, token: &str, data: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vistoria"));
    cmd.args(["simulate", "--central", &central.url, "--token", token])
        .args(["--cert-sha256", central.cert_sha256.as_deref().unwrap()])
        .args([
            "--station",
            "ECV-CHAOS-01",
            "--inspections",
            &INSPECTIONS.to_string(),
        ])
        .args([
            "--seed",
            "7",
            "--retry-schedule",
            "0,0.5,1.5,3,6",
            "--max-wait",
            "8",
        ])
        .arg("--data")
        .arg(data)
        .arg("--pki")
        .arg(&central.pki)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[test]
fn every_inspection_arrives_exactly_once_through_kills_of_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let mut central = Central::start(&dir.path().join("central"));
    let token = central.add_station("ECV-CHAOS-01");
    let kiosk_data = dir.path().join("kiosk");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xc4a05);
    let mut server_kills = 0;

    for round in 0..KIOSK_KILLS {
        let mut kiosk = simulate(&central, &token, &kiosk_data).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(200..1500)));
        if round % 4 == 1 {
            central.kill();
            server_kills += 1;
            std::thread::sleep(Duration::from_millis(rng.random_range(100..800)));
            central.restart();
            std::thread::sleep(Duration::from_millis(rng.random_range(0..500)));
        }
        kiosk.kill().unwrap(); // SIGKILL
        kiosk.wait().unwrap();
    }
    assert!(server_kills >= 5);

    // The last run is left alone and must finish the job.
    let started = Instant::now();
    let final_log = dir.path().join("final-run.log");
    let mut kiosk = simulate(&central, &token, &kiosk_data)
        .stderr(std::fs::File::create(&final_log).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = kiosk.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1200),
            "the final run did not finish"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    if !status.success() {
        // What the run said last (its errors go to stderr, after the log lines).
        let log = std::fs::read_to_string(&final_log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        panic!("final simulate run failed: {status}\n{}", tail.join("\n"));
    }

    let (lines, totals) = central.report();
    assert_eq!(
        totals,
        serde_json::json!({
            "inspections": INSPECTIONS,
            "verified": INSPECTIONS,
            "rejected": 0,
            "duplicates_stored": 0
        }),
        "{lines:#?}"
    );
    let verify = Command::new(env!("CARGO_BIN_EXE_vistoria"))
        .args(["audit", "verify", "--data"])
        .arg(&kiosk_data)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
