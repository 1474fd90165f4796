//! The worker on the station API: deadlines kept with nobody at the kiosk, and a delivery in
//! flight that holds up neither a capture nor a login. Real embedded central on loopback,
//! demo station (simulated camera and reader, real store) in a temporary folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_channel::mpsc::TryRecvError;
use vistoria_core::accounts::Role;
use vistoria_core::clock::ManualMonotonic;
use vistoria_core::domain::{InterruptionCause, PhotoKind, StateKind};
use vistoria_core::store::OutboxState;

use super::{StationEvent, WorkerConfig};
use crate::embedded_central::demo_opening;
use crate::link_proxy::LinkProxy;
use crate::{Session, Station, demo};

const STATION: &str = "ECV-TESTE-01";
/// A registry vehicle (assets/vehicles.json) and its RENAVAM.
const PLATE: &str = "QTK3308";
const RENAVAM: &str = "43787047302";

fn session(login: &str, role: Role) -> Session {
    Session {
        login: login.into(),
        name: login.into(),
        role,
        cpf: String::new(),
    }
}

/// Waits for the first event `pick` accepts, for up to `limit`.
fn wait_for<T>(
    events: &mut futures_channel::mpsc::UnboundedReceiver<StationEvent>,
    limit: Duration,
    mut pick: impl FnMut(StationEvent) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match events.try_recv() {
            Ok(event) => {
                if let Some(found) = pick(event) {
                    return Some(found);
                }
            }
            Err(TryRecvError::Closed) => return None,
            Err(TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    None
}

#[test]
fn the_default_worker_keeps_deadlines_within_a_minute() {
    let config = WorkerConfig::default();
    assert!(config.deadlines_every + config.tick <= Duration::from_secs(60));
}

/// 2b, §9: an open inspection whose four hours run out is interrupted (deadline) and queued
/// by the worker alone: nobody loads the counter, nobody touches the kiosk.
#[test]
fn an_open_inspection_past_its_deadline_is_interrupted_with_nobody_at_the_kiosk() {
    let root = tempfile::tempdir().unwrap();
    let mono = Arc::new(ManualMonotonic::new("teste-prazo"));
    let station = Station::open_on(
        demo_opening(root.path(), STATION, None).unwrap(),
        mono.clone(),
    )
    .unwrap();
    let mut events = station.subscribe();
    let _worker = station
        .start_worker(WorkerConfig {
            tick: Duration::from_millis(50),
            deadlines_every: Duration::from_millis(200),
            // No re-sync in the test: it would bring central time back from the future.
            resync_every: Duration::from_secs(86_400),
            resync_retry: Duration::from_millis(200),
            ..WorkerConfig::default()
        })
        .unwrap();
    // The worker's first job is the clock sync; central time is needed to open.
    let synced = wait_for(&mut events, Duration::from_secs(30), |e| match e {
        StationEvent::Synced(r) => Some(r),
        _ => None,
    });
    synced.expect("no sync").expect("sync failed");
    let operator = session(demo::OPERATOR, Role::Operator);
    let row = station
        .open_inspection(&operator, PLATE, RENAVAM, "")
        .unwrap();
    assert_eq!(row.state, StateKind::Opened);

    // Just before the deadline: still open after several checks.
    mono.advance(Duration::from_secs(4 * 3600 - 5));
    std::thread::sleep(Duration::from_millis(600));
    let listed = station.inspections_today().unwrap();
    assert!(
        listed
            .iter()
            .any(|r| r.id == row.id && r.state == StateKind::Opened)
    );

    // Past it.
    mono.advance(Duration::from_secs(10));
    let expired = wait_for(&mut events, Duration::from_secs(30), |e| match e {
        StationEvent::Expired(ids) => Some(ids),
        _ => None,
    })
    .expect("the worker never interrupted it");
    assert_eq!(expired, vec![row.id]);
    let listed = station.inspections_today().unwrap();
    let now = listed.iter().find(|r| r.id == row.id).unwrap();
    assert!(
        matches!(now.state, StateKind::Queued | StateKind::Delivered),
        "{now:?}"
    );
    // Interrupted by the deadline (the only interruption `Expired` reports).
    assert_eq!(now.outcome.as_deref(), Some("Interrompida"));
}

/// A delivery held in flight by a stalled link: a capture and a login are answered meanwhile
/// (the delivery sends with no lock held), and the package goes once the link is back.
#[test]
fn capture_and_login_are_answered_while_a_delivery_is_in_flight() {
    let root = tempfile::tempdir().unwrap();
    let mut opening = demo_opening(root.path(), STATION, None).unwrap();
    let link = LinkProxy::start(&opening.endpoint.url).unwrap();
    opening.endpoint.url = link.url.clone();
    let station = Station::open(opening).unwrap();
    station.sync_clock().unwrap();
    let operator = session(demo::OPERATOR, Role::Operator);
    let inspector = session(demo::INSPECTOR, Role::Inspector);

    // One interrupted inspection waits in the outbox; another is being photographed.
    let queued = station
        .open_inspection(&operator, PLATE, RENAVAM, "")
        .unwrap();
    station
        .interrupt(
            &inspector,
            queued.id,
            InterruptionCause::CustomerGaveUp,
            "cliente desistiu",
        )
        .unwrap();
    let open = station
        .open_inspection(&operator, "ZAI9738", "53075421217", "")
        .unwrap();
    station.start_capture(&inspector, open.id).unwrap();

    // The link stalls; the delivery starts and stays in flight.
    link.hold();
    let delivering = {
        let station = station.clone();
        std::thread::spawn(move || station.deliver_due())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let row = station
            .outbox()
            .unwrap()
            .into_iter()
            .find(|r| r.id == queued.id)
            .unwrap();
        if row.attempts == 1 {
            assert_eq!(row.state, OutboxState::Pending);
            break;
        }
        assert!(Instant::now() < deadline, "the delivery never started");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Meanwhile: a photo and a login, each answered (a lock held across the upload would
    // leave them waiting for as long as the link is stalled).
    let answered = |job: Box<dyn FnOnce() -> bool + Send>| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || tx.send(job()).ok());
        rx.recv_timeout(Duration::from_secs(60))
    };
    let (s, inspector2) = (station.clone(), inspector.clone());
    let kind = open
        .required
        .iter()
        .copied()
        .find(|k| *k != PhotoKind::RearWithPlate)
        .unwrap();
    let captured = answered(Box::new(move || {
        s.capture_photo(&inspector2, open.id, kind, None).is_ok()
    }));
    assert_eq!(
        captured,
        Ok(true),
        "no capture while the delivery was in flight"
    );
    let s = station.clone();
    let logged_in = answered(Box::new(move || {
        s.login_with_password(demo::TECHNICIAN, demo::PASSWORD)
            .is_ok()
    }));
    assert_eq!(
        logged_in,
        Ok(true),
        "no login while the delivery was in flight"
    );
    assert!(
        !delivering.is_finished(),
        "the delivery was not held by the link"
    );

    // The link is back: the package goes.
    link.release();
    let delivery = delivering.join().unwrap().unwrap();
    assert_eq!(
        delivery
            .delivered
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        vec![queued.id],
        "{delivery:?}"
    );
}
