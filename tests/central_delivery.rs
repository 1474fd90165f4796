//! End-to-end delivery against the real `vistoria-central` on loopback (2c, 2s, §5, §9, §12):
//! vehicle query, offline capture, delivery with a signed receipt, duplicate retry, tampered
//! media, wrong token, an outage within the five attempts and one past the 4 h window.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Central;
use serde_json::json;
use vistoria_core::capture::Source;
use vistoria_core::central_client::{CentralClient, ClientError, Endpoint};
use vistoria_core::clock::{CentralClock, CentralStamp, ManualMonotonic};
use vistoria_core::config::Station;
use vistoria_core::domain::{
    Inspection, InspectionId, PhotoKind, Plate, Renavam, Site, StateKind, VehicleIdentity, Verdict,
};
use vistoria_core::film::FilmState;
use vistoria_core::laudo::{BiometricCheck, InspectorInfo, LaudoInputs, StationInfo, stored};
use vistoria_core::ocr::correction::{self, CorrectionForm};
use vistoria_core::outbox::{self, AttemptResult, DeliveryPolicy};
use vistoria_core::signing::test_pki::{self, SoftwareSigner};
use vistoria_core::store::{AuditAction, OutboxState, Store};
use vistoria_core::wire::{ErrorCode, InspectorList, StationInspector, VehicleQuery};
use vistoria_core::{fixtures, workflow};

const STATION: &str = "ECV-E2E-01";

/// A kiosk in a temp dir whose monotonic clock the test moves by hand.
struct Kiosk {
    _dir: tempfile::TempDir,
    store: Store,
    client: CentralClient,
    mono: ManualMonotonic,
    clock: CentralClock,
    server_key: String,
    station: Station,
    policy: DeliveryPolicy,
    /// The inspector's e-CPF in software (the card's stand-in).
    signer: SoftwareSigner,
}

/// CPF of the inspector the laudos name: the one of the test PKI the central trusts.
const INSPECTOR_CPF: &str = common::SIM_INSPECTOR_CPF;

/// An e-CPF for `cpf` from a fresh openssl test PKI in `dir`.
fn signer_for(cpf: &str, dir: &std::path::Path) -> SoftwareSigner {
    let pki = test_pki::make(dir, cpf, &test_pki::Options::default()).unwrap();
    SoftwareSigner::of(&pki).unwrap()
}

impl Kiosk {
    fn new(central: &Central, token: &str) -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        let client = CentralClient::new(&Endpoint {
            url: central.url.clone(),
            token: token.to_owned(),
            cert_sha256: central.cert_sha256.clone(),
        })
        .unwrap();
        let mono = ManualMonotonic::new("e2e-boot");
        let clock = CentralClock::new(Arc::new(mono.clone()), None);
        let (_, server_key) = client.sync_clock(&clock).unwrap();
        // The e-CPF of the test PKI the central trusts, and its holder registered (§11).
        let signer = SoftwareSigner::of(&test_pki::TestPki {
            dir: central.pki.clone(),
        })
        .unwrap();
        client
            .put_inspectors(&InspectorList {
                inspectors: vec![StationInspector {
                    cpf: INSPECTOR_CPF.to_owned(),
                    name: "Fulano de Tal".to_owned(),
                }],
            })
            .unwrap();
        Kiosk {
            signer,
            _dir: dir,
            store,
            client,
            mono,
            clock,
            server_key,
            station: Station {
                code: STATION.to_owned(),
                name: "Estação de teste".to_owned(),
                address: "Rua A, 1".to_owned(),
                city: "Cuiabá/MT".to_owned(),
                latitude: -15.6,
                longitude: -56.1,
                simulated_devices: Vec::new(),
            },
            policy: DeliveryPolicy::default(),
        }
    }

    /// §5: the vehicle query, which needs the network.
    fn open(&mut self, plate: &str, renavam: &str) -> Inspection {
        let answer = self
            .client
            .query_vehicle(&VehicleQuery {
                plate: plate.to_owned(),
                renavam: Some(renavam.to_owned()),
                chassis: None,
                // As the kiosk does: the central allocates the laudo number to this id.
                inspection_id: Some(InspectionId::new()),
            })
            .unwrap();
        let identity = VehicleIdentity::new(
            Plate::parse(plate).unwrap(),
            Some(Renavam::parse(renavam).unwrap()),
            None,
        )
        .unwrap();
        workflow::open(
            &mut self.store,
            None,
            identity,
            &answer,
            // This kiosk has no panoramic camera: no film (§4), no §7 a photo.
            Site::WithoutPanoramicCamera,
            self.clock.now().unwrap(),
            "op",
        )
        .unwrap()
    }

    /// Photos, checklist, conclusion, the laudo signed with [`Kiosk::signer`], queue: no network
    /// involved (2c).
    fn conclude_and_queue(&mut self, inspection: &mut Inspection) {
        let now = self.clock.now().unwrap();
        workflow::apply(
            &mut self.store,
            inspection,
            now,
            "insp",
            AuditAction::InspectionCaptureStarted,
            json!(null),
            |i, at| i.start_capture(at),
        )
        .unwrap();
        for (k, kind) in inspection.required_photos().iter().enumerate() {
            let jpeg = format!("foto {k} de {}", inspection.id()).into_bytes();
            let record = workflow::store_photo(
                &mut self.store,
                inspection,
                workflow::photos::Request {
                    kind: *kind,
                    retake_reason: None,
                    film: &FilmState::NoPanoramicCamera,
                    source: Source::StillCamera,
                    reason: None,
                },
                &jpeg,
                self.clock.now().unwrap(),
                "insp",
            )
            .unwrap();
            if *kind == PhotoKind::RearWithPlate {
                // §6: these bytes show no plate; nothing is read and the inspector corrects.
                let now = self.clock.now().unwrap();
                correction::record_reading(
                    &mut self.store,
                    inspection,
                    &record,
                    None,
                    0.0,
                    None,
                    now,
                    "insp",
                )
                .unwrap();
                let renavam = inspection.vehicle().renavam().unwrap().as_str().to_owned();
                correction::record(
                    &mut self.store,
                    inspection,
                    &record.id,
                    &CorrectionForm {
                        user: "insp",
                        plate: inspection.vehicle().plate().as_str(),
                        renavam: &renavam,
                        reason: "foto de teste sem placa legível",
                    },
                    now,
                )
                .unwrap();
            }
        }
        let now = self.clock.now().unwrap();
        workflow::apply(
            &mut self.store,
            inspection,
            now,
            "insp",
            AuditAction::InspectionConcluded,
            json!(null),
            |i, at| {
                fixtures::fill_checklist(i, 0, at);
                i.conclude(Verdict::Conforming, at)
            },
        )
        .unwrap();
        let now = self.clock.now().unwrap();
        let check =
            fixtures::keep_simulated_check(&mut self.store, inspection.id(), "insp", now).unwrap();
        self.store_signed_laudo(inspection, check, now);
        workflow::apply(
            &mut self.store,
            inspection,
            now,
            "insp",
            AuditAction::InspectionSigned,
            json!(null),
            |i, at| {
                i.sign(vistoria_core::domain::SignatureInfo {
                    signer: "Fulano".into(),
                    at,
                    certificate: Some("FULANO DE TAL · série 01".into()),
                })
            },
        )
        .unwrap();
        outbox::queue(
            &mut self.store,
            &self.station,
            inspection,
            self.clock.now().unwrap(),
        )
        .unwrap();
    }

    /// The canonical laudo of the concluded inspection, naming its photos by hash (§10), and the
    /// inspector's CAdES signature over it (§14), stored as the kiosk stores them.
    fn store_signed_laudo(
        &mut self,
        inspection: &Inspection,
        check: BiometricCheck,
        now: CentralStamp,
    ) {
        let inputs = LaudoInputs {
            number: stored::laudo_number(&self.store, STATION, inspection.id()).unwrap(),
            station: StationInfo {
                code: self.station.code.clone(),
                name: self.station.name.clone(),
                city: self.station.city.clone(),
            },
            inspector: InspectorInfo {
                name: "Fulano de Tal".into(),
                cpf: INSPECTOR_CPF.into(),
            },
            photos: Vec::new(),
            panoramic_segments: Vec::new(),
            biometric_check: check,
            plate_reading: None,
            film_gaps: Vec::new(),
            issued_at: now.at,
            verify_base_url: vistoria_core::laudo::verify_base_url("https://central.example"),
        };
        stored::sign_and_store(
            &mut self.store,
            inspection,
            inputs,
            &mut self.signer,
            now,
            "insp",
        )
        .unwrap();
    }

    fn deliver(&mut self) -> Vec<AttemptResult> {
        outbox::deliver_due(
            &mut self.store,
            &self.client,
            &self.clock,
            &self.policy,
            &self.server_key,
        )
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect()
    }

    /// Moves central time forward to the next scheduled attempt.
    fn wait_for_next_attempt(&self) {
        let next = outbox::next_due(&self.store).unwrap().unwrap();
        let wait = (next - self.clock.now().unwrap().at)
            .to_std()
            .unwrap_or_default();
        self.mono.advance(wait + Duration::from_millis(1));
    }
}

fn registry_vehicle(i: usize) -> (String, String) {
    let registry: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../assets/vehicles.json")).unwrap();
    let v = &registry[i];
    (
        v["plate"].as_str().unwrap().to_owned(),
        v["renavam"].as_str().unwrap().to_owned(),
    )
}

fn setup() -> (tempfile::TempDir, Central, String) {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(dir.path());
    let token = central.add_station(STATION);
    (dir, central, token)
}

#[test]
fn query_offline_capture_delivery_and_purge() {
    let (_dir, mut central, token) = setup();
    let mut kiosk = Kiosk::new(&central, &token);
    let (plate, renavam) = registry_vehicle(3);
    let mut inspection = kiosk.open(&plate, &renavam);
    assert_eq!(inspection.vehicle().plate().as_str(), plate);

    // 2c: once the query is done, the rest works with the central unreachable.
    central.kill();
    kiosk.conclude_and_queue(&mut inspection);
    let media = kiosk.store.media_of(inspection.id()).unwrap();
    assert!(!media.is_empty());
    let results = kiosk.deliver();
    assert!(
        matches!(&results[..], [AttemptResult::Retry { .. }]),
        "{results:?}"
    );
    let entry = kiosk.store.outbox_entry(inspection.id()).unwrap().unwrap();
    assert_eq!((entry.state, entry.attempts), (OutboxState::Pending, 1));
    assert_eq!(kiosk.store.outbox_count(OutboxState::Pending).unwrap(), 1);

    central.restart();
    kiosk.wait_for_next_attempt();
    let results = kiosk.deliver();
    let [AttemptResult::Delivered(receipt)] = &results[..] else {
        panic!("{results:?}");
    };
    assert!(receipt.verify(&kiosk.server_key));

    // §9: local media gone, receipt kept.
    let stored = kiosk.store.inspection(inspection.id()).unwrap().unwrap();
    assert_eq!(stored.state_kind(), StateKind::Delivered);
    assert_eq!(stored.receipt().unwrap().laudo_number, receipt.laudo_number);
    // §10: one number — allocated at the query, printed and signed, and on the receipt.
    assert_eq!(
        kiosk
            .store
            .laudo_number(inspection.id())
            .unwrap()
            .as_deref(),
        Some(receipt.laudo_number.as_str())
    );
    assert!(kiosk.store.media_of(inspection.id()).unwrap().is_empty());
    for m in &media {
        assert!(!kiosk.store.media_path(m).exists(), "{} kept", m.file_name);
    }
    let entry = kiosk.store.outbox_entry(inspection.id()).unwrap().unwrap();
    assert_eq!(entry.state, OutboxState::Delivered);
    assert_eq!(kiosk.store.outbox_count(OutboxState::Pending).unwrap(), 0);
    assert_eq!(kiosk.store.outbox_count(OutboxState::Delivered).unwrap(), 1);
    assert!(entry.receipt.unwrap().contains(&receipt.laudo_number));
    assert_eq!(kiosk.store.verify_audit().unwrap().problem, None);

    let (_, totals) = central.report();
    assert_eq!(
        totals,
        json!({"inspections":1,"verified":1,"rejected":0,"duplicates_stored":0})
    );
}

#[test]
fn a_retry_after_a_lost_response_gets_the_same_receipt() {
    let (_dir, central, token) = setup();
    let mut kiosk = Kiosk::new(&central, &token);
    let (plate, renavam) = registry_vehicle(10);
    let mut inspection = kiosk.open(&plate, &renavam);
    kiosk.conclude_and_queue(&mut inspection);

    // The package goes through, but the kiosk never hears the answer.
    let entry = kiosk.store.outbox_entry(inspection.id()).unwrap().unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&entry.manifest).unwrap();
    let state = kiosk.client.put_manifest(&manifest).unwrap();
    let media = kiosk.store.media_of(inspection.id()).unwrap();
    for file in &state.files {
        let record = media
            .iter()
            .find(|m| m.file_name.ends_with(&file.name))
            .unwrap();
        let bytes = kiosk.store.read_media(record).unwrap();
        kiosk
            .client
            .upload_file(inspection.id(), &file.name, 0, bytes.len() as u64, || {
                Ok(&bytes[..])
            })
            .unwrap();
    }
    let lost = kiosk.client.commit(inspection.id()).unwrap();

    let results = kiosk.deliver();
    let [AttemptResult::Delivered(receipt)] = &results[..] else {
        panic!("{results:?}");
    };
    assert_eq!(receipt, &lost);
    let (_, totals) = central.report();
    assert_eq!(totals["inspections"], 1);
    assert_eq!(totals["duplicates_stored"], 0);
}

#[test]
fn tampered_media_is_refused_naming_the_file_and_kept() {
    let (_dir, central, token) = setup();
    let mut kiosk = Kiosk::new(&central, &token);
    let (plate, renavam) = registry_vehicle(20);
    let mut inspection = kiosk.open(&plate, &renavam);
    kiosk.conclude_and_queue(&mut inspection);
    let victim = kiosk.store.media_of(inspection.id()).unwrap().remove(1);
    let path = kiosk.store.media_path(&victim);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();

    let results = kiosk.deliver();
    let [AttemptResult::Stuck(why)] = &results[..] else {
        panic!("{results:?}");
    };
    let name = victim.file_name.rsplit('/').next().unwrap();
    assert!(why.contains(name), "the reason names the file: {why}");
    let entry = kiosk.store.outbox_entry(inspection.id()).unwrap().unwrap();
    assert_eq!(entry.state, OutboxState::Stuck);
    // Nothing is dropped: the inspection and its media are still there for the technician.
    // (the photos, the laudo and its signature)
    assert_eq!(
        kiosk.store.media_of(inspection.id()).unwrap().len(),
        inspection.required_photos().len() + 2
    );
    assert_eq!(
        kiosk
            .store
            .inspection(inspection.id())
            .unwrap()
            .unwrap()
            .state_kind(),
        StateKind::Queued
    );
}

/// §14: the central refuses a package whose e-CPF signature is missing or does not verify; the
/// refusal is permanent, so the package is flagged with the central's reason (Envios shows it)
/// and not sent again by itself.
#[test]
fn a_refused_signature_flags_the_package_with_the_reason() {
    let (_dir, central, token) = setup();
    let mut kiosk = Kiosk::new(&central, &token);
    let (plate, renavam) = registry_vehicle(21);
    let mut inspection = kiosk.open(&plate, &renavam);
    // The laudo names the inspector, but another person's e-CPF signed it.
    let elsewhere = kiosk._dir.path().join("other-pki");
    kiosk.signer = signer_for("52998224725", &elsewhere);
    kiosk.conclude_and_queue(&mut inspection);
    let results = kiosk.deliver();
    let [AttemptResult::Stuck(why)] = &results[..] else {
        panic!("{results:?}");
    };
    assert!(
        why.contains("o servidor central recusou") && why.contains("assinatura «"),
        "{why}"
    );
    let entry = kiosk.store.outbox_entry(inspection.id()).unwrap().unwrap();
    assert_eq!((entry.state, entry.attempts), (OutboxState::Stuck, 1));
    assert_eq!(entry.last_error.as_deref(), Some(why.as_str()));
    kiosk.mono.advance(Duration::from_secs(5 * 3600));
    assert!(
        kiosk.deliver().is_empty(),
        "a refused package is not retried by itself"
    );
}

#[test]
fn a_wrong_token_is_401_and_flags_the_package() {
    let (_dir, central, token) = setup();
    let mut kiosk = Kiosk::new(&central, &token);
    let (plate, renavam) = registry_vehicle(30);
    let mut inspection = kiosk.open(&plate, &renavam);
    kiosk.conclude_and_queue(&mut inspection);

    kiosk.client = CentralClient::new(&Endpoint {
        url: central.url.clone(),
        token: "token-errado-0123456789".to_owned(),
        cert_sha256: central.cert_sha256.clone(),
    })
    .unwrap();
    let err = kiosk.client.time().unwrap_err();
    assert!(
        matches!(&err, ClientError::Refused { status: 401, .. }),
        "{err}"
    );
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    let results = kiosk.deliver();
    assert!(
        matches!(&results[..], [AttemptResult::Stuck(why)] if why.contains("token")),
        "{results:?}"
    );
}

#[test]
fn an_outage_within_the_window_is_ridden_out() {
    let (_dir, mut central, token) = setup();
    let mut kiosk = Kiosk::new(&central, &token);
    let (plate, renavam) = registry_vehicle(40);
    let mut inspection = kiosk.open(&plate, &renavam);
    kiosk.conclude_and_queue(&mut inspection);
    central.kill();
    for attempt in 1..=3 {
        let results = kiosk.deliver();
        assert!(
            matches!(&results[..], [AttemptResult::Retry { .. }]),
            "attempt {attempt}: {results:?}"
        );
        kiosk.wait_for_next_attempt();
    }
    central.restart();
    let results = kiosk.deliver();
    assert!(
        matches!(&results[..], [AttemptResult::Delivered(_)]),
        "{results:?}"
    );
    let entry = kiosk.store.outbox_entry(inspection.id()).unwrap().unwrap();
    assert_eq!(entry.attempts, 4);
    // §12: all attempts fall within four hours of the first.
    let first = entry.first_attempt_at.unwrap();
    assert!(kiosk.clock.now().unwrap().at - first <= chrono::Duration::hours(4));
}

#[test]
fn an_outage_past_the_window_flags_the_package_and_keeps_it() {
    let (_dir, mut central, token) = setup();
    let mut kiosk = Kiosk::new(&central, &token);
    let (plate, renavam) = registry_vehicle(50);
    let mut inspection = kiosk.open(&plate, &renavam);
    kiosk.conclude_and_queue(&mut inspection);
    central.kill();
    let mut times = Vec::new();
    for _ in 0..5 {
        times.push(kiosk.clock.now().unwrap().at);
        let results = kiosk.deliver();
        assert_eq!(results.len(), 1);
        if let AttemptResult::Stuck(why) = &results[0] {
            assert!(why.contains("5 tentativas esgotadas"), "{why}");
            break;
        }
        kiosk.wait_for_next_attempt();
    }
    assert_eq!(times.len(), 5, "five attempts (§12)");
    assert!(*times.last().unwrap() - times[0] <= chrono::Duration::hours(4));
    assert!(
        *times.last().unwrap() - times[0] >= chrono::Duration::hours(3),
        "spread over the window"
    );
    let entry = kiosk.store.outbox_entry(inspection.id()).unwrap().unwrap();
    assert_eq!((entry.state, entry.attempts), (OutboxState::Stuck, 5));
    assert_eq!(kiosk.store.outbox_count(OutboxState::Stuck).unwrap(), 1);
    assert!(kiosk.deliver().is_empty(), "no sixth attempt on its own");
    assert!(
        !kiosk.store.media_of(inspection.id()).unwrap().is_empty(),
        "kept"
    );

    // The technician retries once the central is back.
    central.restart();
    outbox::retry_stuck(
        &mut kiosk.store,
        inspection.id(),
        kiosk.clock.now().unwrap(),
        "tecnico",
    )
    .unwrap();
    assert!(matches!(
        &kiosk.deliver()[..],
        [AttemptResult::Delivered(_)]
    ));
}

/// A backlog of interrupted inspections (§12: every started one is delivered), queued while the
/// central is out of reach.
fn backlog(kiosk: &mut Kiosk, count: usize) {
    for n in 0..count {
        let (plate, renavam) = registry_vehicle(n);
        let mut inspection = kiosk.open(&plate, &renavam);
        let now = kiosk.clock.now().unwrap();
        workflow::apply(
            &mut kiosk.store,
            &mut inspection,
            now,
            "insp",
            AuditAction::InspectionCaptureStarted,
            json!(null),
            |i, at| i.start_capture(at),
        )
        .unwrap();
        let kind = inspection.required_photos()[0];
        let jpeg = format!("foto de {}", inspection.id()).into_bytes();
        workflow::store_photo(
            &mut kiosk.store,
            &inspection,
            workflow::photos::Request {
                kind,
                retake_reason: None,
                film: &FilmState::NoPanoramicCamera,
                source: Source::StillCamera,
                reason: None,
            },
            &jpeg,
            now,
            "insp",
        )
        .unwrap();
        workflow::apply(
            &mut kiosk.store,
            &mut inspection,
            kiosk.clock.now().unwrap(),
            "insp",
            AuditAction::InspectionInterrupted,
            json!(null),
            |i, at| {
                i.interrupt(
                    vistoria_core::domain::InterruptionCause::CustomerGaveUp,
                    "desistiu",
                    at,
                )
            },
        )
        .unwrap();
        outbox::queue(
            &mut kiosk.store,
            &kiosk.station,
            &mut inspection,
            kiosk.clock.now().unwrap(),
        )
        .unwrap();
    }
}

/// Every package delivered on its first attempt, none stuck.
fn assert_all_delivered_first_time(kiosk: &Kiosk, count: usize, results: &[AttemptResult]) {
    assert_eq!(results.len(), count);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, AttemptResult::Delivered(_))),
        "{results:?}"
    );
    assert_eq!(
        kiosk.store.outbox_count(OutboxState::Delivered).unwrap(),
        count
    );
    assert_eq!(kiosk.store.outbox_count(OutboxState::Stuck).unwrap(), 0);
    for entry in kiosk.store.outbox().unwrap() {
        assert_eq!(entry.attempts, 1, "{}", entry.inspection_id);
    }
}

/// Packages in the issue-26 backlog.
const BACKLOG: usize = 30;

/// A central that allows 10 requests/s (burst 20) and a kiosk with a backlog queued for it.
fn throttled_backlog() -> (tempfile::TempDir, Central, String, Kiosk) {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start_with(
        dir.path(),
        &["--rate-per-second", "10", "--rate-burst", "20"],
    );
    let token = central.add_station(STATION);
    let mut kiosk = Kiosk::new(&central, &token);
    backlog(&mut kiosk, BACKLOG);
    (dir, central, token, kiosk)
}

/// Issue 26: a station that learnt the central's limit at clock sync paces a backlog under it:
/// nothing throttled, nothing spent.
#[test]
fn a_backlog_drains_under_a_low_rate_limit_without_spending_attempts() {
    let (_dir, central, _token, mut kiosk) = throttled_backlog();
    let results = kiosk.deliver();
    assert_all_delivered_first_time(&kiosk, BACKLOG, &results);
    let pacing = kiosk.client.pacing();
    assert!(pacing.paced > Duration::ZERO, "{pacing:?}");
    assert_eq!(pacing.throttled, 0, "{pacing:?}");
    let (_, totals) = central.report();
    assert_eq!(totals["verified"], BACKLOG);
}

/// Issue 26: a station that does not know the limit is answered 429; it waits what the central
/// asks and goes on within the same attempt.
#[test]
fn a_throttled_station_waits_instead_of_spending_attempts() {
    let (_dir, central, token, mut kiosk) = throttled_backlog();
    // A client that never asked the time: it does not know the limit.
    kiosk.client = CentralClient::new(&Endpoint {
        url: central.url.clone(),
        token,
        cert_sha256: central.cert_sha256.clone(),
    })
    .unwrap();
    let results = kiosk.deliver();
    assert_all_delivered_first_time(&kiosk, BACKLOG, &results);
    let pacing = kiosk.client.pacing();
    assert!(pacing.throttled > 0, "{pacing:?}");
    assert!(
        pacing.throttled_wait >= Duration::from_secs(1),
        "{pacing:?}"
    );
}
