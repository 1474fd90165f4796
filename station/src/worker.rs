//! The station's own background work, on two named threads so that nothing a person waits for
//! (a capture, a login, the status bar) queues behind it:
//!
//! - `vistoria-delivery` syncs the clock with the central (at start, every ten minutes, and
//!   every half minute while it never succeeded), reading the central's signed policies with
//!   each sync and sending the inventory after the first and every hour (§15), and delivers
//!   what is due (every 15 s, and at
//!   once when [`Station::deliver_now`] wakes it). A delivery prepares under the store's lock,
//!   sends with no lock held and records the receipt under the lock again.
//! - `vistoria-station` does the housekeeping every second: the panoramic recorder's events
//!   become audit rows, an open inspection past its four hours is interrupted and queued
//!   (every 10 s, so within a minute of its deadline with nobody at the kiosk), a forgotten
//!   camera test is stopped, and the status snapshot is published.
//! - `vistoria-ao-vivo` (when the station has a panoramic camera) streams it to the central
//!   during the business hours the central holds (§7, [`crate::live_stream`]).
//!
//! What they find goes to every subscriber as a [`StationEvent`] (the window listens through
//! an iced `Subscription`). The threads hold the station weakly: they end when the last
//! handle goes or when the [`Worker`] is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use vistoria_core::domain::InspectionId;

use crate::{Delivery, Failure, Inner, Station, StatusSnapshot, lock};

/// How often the worker does each job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Housekeeping: recorder events, the status snapshot.
    pub tick: Duration,
    /// Deadlines (2b, §9): how often open inspections are checked against their four hours.
    pub deadlines_every: Duration,
    /// Deliveries due (a signature or an interruption wakes the worker at once).
    pub delivery_every: Duration,
    /// Clock re-sync with the central.
    pub resync_every: Duration,
    /// Clock sync retry while the last one failed.
    pub resync_retry: Duration,
    /// The inventory sent to the central (§15 b): after the first sync, then this often.
    pub inventory_every: Duration,
    /// Stream the panoramic camera to the central in business hours (§7, `live_stream.rs`).
    pub live_view: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            tick: Duration::from_secs(1),
            deadlines_every: Duration::from_secs(10),
            delivery_every: Duration::from_secs(15),
            resync_every: Duration::from_secs(600),
            resync_retry: Duration::from_secs(30),
            inventory_every: Duration::from_secs(3600),
            live_view: true,
        }
    }
}

/// What the worker tells its subscribers.
#[derive(Debug, Clone, PartialEq)]
pub enum StationEvent {
    /// The status bar's data, published every tick when it changed.
    Status(StatusSnapshot),
    /// The central answered a clock sync (`Ok`: its round trip) or not.
    Synced(Result<Duration, Failure>),
    /// A delivery pass ended.
    Delivered(Result<Delivery, Failure>),
    /// Open inspections whose four hours ran out were interrupted and queued.
    Expired(Vec<InspectionId>),
}

/// The subscribers and the delivery thread's alarm clock, kept by the station.
#[derive(Default)]
pub(crate) struct Hub {
    subscribers: Mutex<Vec<UnboundedSender<StationEvent>>>,
    last_status: Mutex<Option<StatusSnapshot>>,
    wake: Condvar,
    woken: Mutex<bool>,
}

impl Hub {
    fn publish(&self, event: StationEvent) {
        if let StationEvent::Status(s) = &event {
            let mut last = lock(&self.last_status);
            if last.as_ref() == Some(s) {
                return;
            }
            *last = Some(s.clone());
        }
        lock(&self.subscribers).retain(|tx| tx.unbounded_send(event.clone()).is_ok());
    }

    /// Sleeps up to `timeout` or until woken; whether it was woken.
    fn sleep(&self, timeout: Duration) -> bool {
        let woken = lock(&self.woken);
        let (mut woken, _) = self
            .wake
            .wait_timeout_while(woken, timeout, |w| !*w)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *woken)
    }

    fn wake(&self) {
        *lock(&self.woken) = true;
        self.wake.notify_all();
    }
}

/// The running worker; dropping it stops the threads (a delivery under way ends first).
pub struct Worker {
    stop: Arc<AtomicBool>,
    inner: Weak<Inner>,
    /// The live view of the panoramic camera, when the station has one (dropped with the worker).
    _live: Option<crate::live_stream::LiveStreamer>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(inner) = self.inner.upgrade() {
            inner.hub.wake();
        }
    }
}

impl Station {
    /// Starts the background work (see the module's description).
    pub fn start_worker(&self, config: WorkerConfig) -> Result<Worker, Failure> {
        let stop = Arc::new(AtomicBool::new(false));
        let spawn = |name: &str, job: fn(&Station, &WorkerConfig, &mut Timers)| {
            let (weak, stop, config) = (Arc::downgrade(&self.0), stop.clone(), config.clone());
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || {
                    let mut timers = Timers::default();
                    while !stop.load(Ordering::Relaxed) {
                        let Some(inner) = weak.upgrade() else { return };
                        job(&Station(inner), &config, &mut timers);
                    }
                })
                .map(drop)
                .map_err(|e| Failure::internal(format!("tarefa de fundo {name}: {e}")))
        };
        spawn("vistoria-delivery", delivery_round)?;
        spawn("vistoria-station", housekeeping_round)?;
        let live = match (&self.0.panoramic, config.live_view) {
            (Some(camera), true) => Some(
                crate::live_stream::LiveStreamer::start(
                    lock(&self.0.core).client.clone(),
                    crate::live_stream::LiveStreamConfig::new(&camera.url),
                )
                .map_err(|e| Failure::internal(format!("transmissão ao vivo: {e}")))?,
            ),
            _ => None,
        };
        Ok(Worker {
            stop,
            inner: Arc::downgrade(&self.0),
            _live: live,
        })
    }

    /// Events from the worker from now on, the latest status first.
    pub fn subscribe(&self) -> UnboundedReceiver<StationEvent> {
        let (tx, rx) = unbounded();
        if let Some(status) = lock(&self.0.hub.last_status).clone() {
            let _ = tx.unbounded_send(StationEvent::Status(status));
        }
        lock(&self.0.hub.subscribers).push(tx);
        rx
    }

    /// Wakes the delivery thread now (a package was queued, or a person asked to send).
    pub fn deliver_now(&self) {
        self.0.hub.wake();
    }
}

/// How often the log files are pruned (§15 c).
const LOG_PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// When each job last ran.
#[derive(Default)]
struct Timers {
    synced: Option<(Instant, bool)>,
    delivered: Option<Instant>,
    deadlines: Option<Instant>,
    inventory: Option<Instant>,
    logs: Option<Instant>,
}

fn due(last: Option<Instant>, every: Duration) -> bool {
    last.is_none_or(|t| t.elapsed() >= every)
}

/// One round of the delivery thread: sync when due, deliver when due or woken, then sleep.
fn delivery_round(station: &Station, config: &WorkerConfig, timers: &mut Timers) {
    let resync = match timers.synced {
        None => true,
        Some((at, true)) => at.elapsed() >= config.resync_every,
        Some((at, false)) => at.elapsed() >= config.resync_retry,
    };
    if resync {
        let synced = station.sync_clock();
        timers.synced = Some((Instant::now(), synced.is_ok()));
        station.0.hub.publish(StationEvent::Synced(synced));
    }
    // §15 b: what the station holds, once central time is known (the inventory is stamped
    // with it), then every `inventory_every`.
    if matches!(timers.synced, Some((_, true))) && due(timers.inventory, config.inventory_every) {
        timers.inventory = Some(Instant::now());
        if let Err(e) = station.check_inventory() {
            tracing::warn!(%e, "inventory not sent; will try at the next round");
        }
    }
    if due(timers.delivered, config.delivery_every) {
        timers.delivered = Some(Instant::now());
        let delivered = station.deliver_due();
        station.0.hub.publish(StationEvent::Delivered(delivered));
        // Help-desk tickets (issue 23): the queue in order, then the listing when stale.
        if let Err(e) = station.send_tickets() {
            tracing::warn!(%e, "ticket queue not sent; will try at the next round");
        }
    }
    if station.0.hub.sleep(config.tick) {
        // Woken: deliver at the next round.
        timers.delivered = None;
    }
}

/// One round of the housekeeping thread.
fn housekeeping_round(station: &Station, config: &WorkerConfig, timers: &mut Timers) {
    station.record_panoramic_events();
    station.expire_panoramic_test();
    if due(timers.deadlines, config.deadlines_every) {
        timers.deadlines = Some(Instant::now());
        match station.expire_deadlines() {
            Ok(expired) if !expired.is_empty() => {
                station.0.hub.publish(StationEvent::Expired(expired));
                station.deliver_now();
            }
            Ok(_) => {}
            Err(e) => tracing::error!(%e, "deadline check failed"),
        }
    }
    // §15 c: the logs the security policy no longer covers, hourly, central or not.
    if due(timers.logs, LOG_PRUNE_EVERY) {
        timers.logs = Some(Instant::now());
        match station.prune_logs(chrono::Utc::now().date_naive()) {
            Ok(removed) if !removed.is_empty() => {
                tracing::info!(files = removed.len(), "old log files removed (§15 c)")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%e, "log retention: could not remove old log files"),
        }
    }
    station
        .0
        .hub
        .publish(StationEvent::Status(station.status()));
    std::thread::sleep(config.tick);
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
