//! The live view's storage (§7) on every metadata backend — SQLite and a real PostgreSQL 15
//! (`common::services`): business hours kept per station as set, the newest frame replacing
//! the last with a number one past it (across two instances writing at once, as two instances
//! of the central receiving one station's frames after a reconnection), a viewer asking only
//! for a frame newer than the one it shows, and the facts of the newest frame without its
//! bytes.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use vistoria_central::storage::MetadataStore;
use vistoria_central::storage::live::{BusinessHours, LiveFrame};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 15, 0, 0).unwrap()
}

fn frame(station: &str, n: u8, at: DateTime<Utc>) -> LiveFrame {
    LiveFrame {
        station: station.into(),
        seq: 999,
        captured_at: at - Duration::milliseconds(120),
        received_at: at,
        jpeg: vec![0xff, 0xd8, n, n, 0xff, 0xd9],
    }
}

fn hours_are_kept_per_station(store: &dyn MetadataStore) {
    assert_eq!(store.business_hours("ECV-01").unwrap(), None);
    let hours = BusinessHours::parse("seg-sab", "07:00-11:00,13:00-17:30", "-03:00").unwrap();
    store.set_business_hours("ECV-01", &hours, t0()).unwrap();
    assert_eq!(store.business_hours("ECV-01").unwrap(), Some(hours));
    assert_eq!(store.business_hours("ECV-02").unwrap(), None);
    // Set again: replaced, not added.
    let again = BusinessHours::default();
    store.set_business_hours("ECV-01", &again, t0()).unwrap();
    assert_eq!(store.business_hours("ECV-01").unwrap(), Some(again));
}

fn the_newest_frame_replaces_the_last(store: &dyn MetadataStore) {
    assert_eq!(store.live_frame("ECV-01", None).unwrap(), None);
    assert_eq!(store.live_status("ECV-01").unwrap(), None);
    assert_eq!(store.put_live_frame(&frame("ECV-01", 1, t0())).unwrap(), 1);
    assert_eq!(store.put_live_frame(&frame("ECV-02", 7, t0())).unwrap(), 1);
    let later = t0() + Duration::milliseconds(333);
    assert_eq!(store.put_live_frame(&frame("ECV-01", 2, later)).unwrap(), 2);

    let newest = store.live_frame("ECV-01", None).unwrap().unwrap();
    assert_eq!(newest.seq, 2);
    assert_eq!(newest.jpeg, vec![0xff, 0xd8, 2, 2, 0xff, 0xd9]);
    assert_eq!(newest.received_at, later);
    assert_eq!(newest.captured_at, later - Duration::milliseconds(120));
    // A viewer showing frame 2 gets nothing until a newer one; one showing 1 gets 2.
    assert_eq!(store.live_frame("ECV-01", Some(2)).unwrap(), None);
    assert_eq!(store.live_frame("ECV-01", Some(1)).unwrap().unwrap().seq, 2);
    let status = store.live_status("ECV-01").unwrap().unwrap();
    assert_eq!((status.seq, status.received_at), (2, later));
    // The other station's frame is its own.
    assert_eq!(
        store.live_frame("ECV-02", None).unwrap().unwrap().jpeg[2],
        7
    );
}

fn two_instances_number_frames_once(open: &dyn Fn() -> Arc<dyn MetadataStore>) {
    let (a, b) = (open(), open());
    let threads: Vec<_> = [a, b]
        .into_iter()
        .map(|store| {
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| store.put_live_frame(&frame("ECV-01", i, t0())).unwrap())
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (1..=50).collect::<Vec<u64>>());
    assert_eq!(open().live_status("ECV-01").unwrap().unwrap().seq, 50);
}

on_every_backend!(
    hours_are_kept_per_station,
    the_newest_frame_replaces_the_last;
    instances: two_instances_number_frames_once,
);
