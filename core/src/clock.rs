//! Central time (2d): every stamp comes from the central server's clock, carried forward by a
//! monotonic clock between syncs. The machine's wall clock is never read: an operator could
//! change it.
//!
//! Offline (2c) the last sync plus elapsed monotonic time is used, and every stamp says how old
//! its sync was. The monotonic source is `CLOCK_BOOTTIME`, which keeps counting through suspend
//! and is the same for every process of one boot, so a sync saved in the store survives a kiosk
//! restart; after a reboot the saved sync is useless and the clock must sync again.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A reading of a monotonic clock, tied to the boot it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonoReading {
    /// Identifies the boot: readings from different boots cannot be compared.
    pub boot_id: String,
    /// Time since that boot.
    #[serde(with = "duration_ns")]
    pub since_boot: Duration,
}

/// A monotonic time source. Injectable so tests can move time by hand.
pub trait Monotonic: Send + Sync {
    /// The current reading.
    fn now(&self) -> MonoReading;
}

/// `CLOCK_BOOTTIME` with the kernel's boot id.
pub struct BootClock {
    boot_id: String,
}

impl BootClock {
    /// Reads the boot id once; the clock itself is read on every `now`.
    pub fn new() -> BootClock {
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_owned())
            // Without a boot id a saved sync can never be trusted after a restart: a fresh
            // random id per process makes every saved sync look like it came from another boot.
            .unwrap_or_else(|_| format!("process-{}", uuid::Uuid::new_v4()));
        BootClock { boot_id }
    }
}

impl Default for BootClock {
    fn default() -> Self {
        BootClock::new()
    }
}

impl Monotonic for BootClock {
    fn now(&self) -> MonoReading {
        let since_boot = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
            .map(Duration::from)
            // CLOCK_BOOTTIME exists on every Linux since 2.6.39; this arm is unreachable there.
            .unwrap_or_default();
        MonoReading {
            boot_id: self.boot_id.clone(),
            since_boot,
        }
    }
}

/// A monotonic clock moved by hand, for tests and simulations.
#[derive(Clone)]
pub struct ManualMonotonic {
    inner: Arc<Mutex<MonoReading>>,
}

impl ManualMonotonic {
    /// Starts at zero on boot `boot_id`.
    pub fn new(boot_id: &str) -> ManualMonotonic {
        ManualMonotonic {
            inner: Arc::new(Mutex::new(MonoReading {
                boot_id: boot_id.to_owned(),
                since_boot: Duration::ZERO,
            })),
        }
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        let mut r = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        r.since_boot += by;
    }

    /// Simulates a reboot: a new boot id and time since boot back to zero.
    pub fn reboot(&self, boot_id: &str) {
        let mut r = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *r = MonoReading {
            boot_id: boot_id.to_owned(),
            since_boot: Duration::ZERO,
        };
    }
}

impl Monotonic for ManualMonotonic {
    fn now(&self) -> MonoReading {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One reading of the central clock, pinned to the monotonic clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPoint {
    /// Central time at the moment `mono` was read.
    pub central: DateTime<Utc>,
    /// Monotonic reading taken at that same moment.
    pub mono: MonoReading,
    /// Half the round trip of the request that brought the time: the stamp's possible error.
    #[serde(with = "duration_ns")]
    pub uncertainty: Duration,
}

/// A point in central time, with how stale the sync behind it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentralStamp {
    /// Central time.
    pub at: DateTime<Utc>,
    /// Time since the last sync with the central server, in milliseconds (0 = just synced).
    pub sync_age_ms: u64,
}

impl CentralStamp {
    /// How old the sync behind this stamp was.
    pub fn sync_age(&self) -> Duration {
        Duration::from_millis(self.sync_age_ms)
    }
}

impl fmt::Display for CentralStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (sincronizado há {} s)",
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.sync_age_ms / 1000
        )
    }
}

/// Why no central time can be given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClockError {
    /// No sync has ever happened.
    #[error("hora central indisponível: o quiosque ainda não sincronizou com o servidor central")]
    NeverSynced,
    /// The last sync was taken before a reboot, so elapsed time cannot be known.
    #[error(
        "hora central indisponível: o computador foi reiniciado desde a última sincronização; conecte ao servidor central"
    )]
    RebootedSinceSync,
    /// A sync whose reply came before its request, or from another boot.
    #[error("leitura de hora central inválida: {0}")]
    BadSync(&'static str),
}

/// The kiosk's clock: central time carried by a monotonic clock. Cheap to clone and share.
#[derive(Clone)]
pub struct CentralClock {
    mono: Arc<dyn Monotonic>,
    last: Arc<Mutex<Option<SyncPoint>>>,
}

impl CentralClock {
    /// A clock that has not synced yet (or restores `last`, a sync saved by an earlier run).
    pub fn new(mono: Arc<dyn Monotonic>, last: Option<SyncPoint>) -> CentralClock {
        CentralClock {
            mono,
            last: Arc::new(Mutex::new(last)),
        }
    }

    /// A reading of the monotonic clock, to bracket a request to the central server.
    pub fn mono_now(&self) -> MonoReading {
        self.mono.now()
    }

    /// Records the central time `central` received in the reply to a request sent at `sent` and
    /// answered at `received`. The server's reading is taken to be the middle of the round trip.
    pub fn record_sync(
        &self,
        central: DateTime<Utc>,
        sent: &MonoReading,
        received: &MonoReading,
    ) -> Result<SyncPoint, ClockError> {
        if sent.boot_id != received.boot_id {
            return Err(ClockError::BadSync(
                "requisição e resposta em boots diferentes",
            ));
        }
        let rtt = received
            .since_boot
            .checked_sub(sent.since_boot)
            .ok_or(ClockError::BadSync("resposta anterior à requisição"))?;
        let half = rtt / 2;
        let point = SyncPoint {
            central: central + chrono::Duration::from_std(half).unwrap_or_default(),
            mono: received.clone(),
            uncertainty: half,
        };
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(point.clone());
        Ok(point)
    }

    /// The last sync, to be saved so a restart can carry on offline.
    pub fn last_sync(&self) -> Option<SyncPoint> {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Central time now.
    pub fn now(&self) -> Result<CentralStamp, ClockError> {
        let last = self.last_sync().ok_or(ClockError::NeverSynced)?;
        let now = self.mono.now();
        if now.boot_id != last.mono.boot_id {
            return Err(ClockError::RebootedSinceSync);
        }
        // Monotonic within one boot, so this never goes negative; saturate anyway.
        let age = now.since_boot.saturating_sub(last.mono.since_boot);
        Ok(CentralStamp {
            at: last.central + chrono::Duration::from_std(age).unwrap_or_default(),
            sync_age_ms: u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
        })
    }
}

mod duration_ns {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_nanos(u64::deserialize(d)?))
    }
}

/// Mato Grosso's offset from UTC: −4 h all year (no daylight saving since 2019). Everything a
/// person reads (tarja, laudo, screens) shows central time in it; what is stored stays UTC.
pub const STATION_UTC_OFFSET_HOURS: i32 = -4;

/// Central time `t` in the station's zone.
pub fn in_station_zone(t: DateTime<Utc>) -> DateTime<chrono::FixedOffset> {
    let offset = chrono::FixedOffset::east_opt(STATION_UTC_OFFSET_HOURS * 3600)
        .expect("deslocamento de fuso fixo válido");
    t.with_timezone(&offset)
}

/// Central time `t` as the station's people read it: `dd/mm/aaaa hh:mm:ss`.
pub fn station_time(t: DateTime<Utc>) -> String {
    in_station_zone(t).format("%d/%m/%Y %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn central(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, s)
            .single()
            .expect("valid")
    }

    fn synced() -> (ManualMonotonic, CentralClock) {
        let mono = ManualMonotonic::new("boot-a");
        let clock = CentralClock::new(Arc::new(mono.clone()), None);
        let sent = clock.mono_now();
        mono.advance(Duration::from_millis(200));
        let received = clock.mono_now();
        clock
            .record_sync(central(12, 0, 0), &sent, &received)
            .expect("sync");
        (mono, clock)
    }

    #[test]
    fn no_time_before_the_first_sync() {
        let clock = CentralClock::new(Arc::new(ManualMonotonic::new("b")), None);
        assert_eq!(clock.now(), Err(ClockError::NeverSynced));
    }

    #[test]
    fn sync_takes_the_middle_of_the_round_trip() {
        let (_, clock) = synced();
        let now = clock.now().expect("synced");
        assert_eq!(
            now.at,
            central(12, 0, 0) + chrono::Duration::milliseconds(100)
        );
        assert_eq!(now.sync_age_ms, 0);
        assert_eq!(
            clock.last_sync().expect("sync").uncertainty,
            Duration::from_millis(100)
        );
    }

    // 2c, 2d: offline, time goes on from the last sync and the stamp says how old it is.
    #[test]
    fn offline_time_follows_the_monotonic_clock_and_ages() {
        let (mono, clock) = synced();
        mono.advance(Duration::from_secs(3600));
        let now = clock.now().expect("synced");
        assert_eq!(
            now.at,
            central(13, 0, 0) + chrono::Duration::milliseconds(100)
        );
        assert_eq!(now.sync_age(), Duration::from_secs(3600));
    }

    #[test]
    fn a_saved_sync_carries_over_a_restart_but_not_a_reboot() {
        let (mono, clock) = synced();
        let saved = clock.last_sync();
        let json = serde_json::to_string(&saved).expect("serialize");
        let restored: Option<SyncPoint> = serde_json::from_str(&json).expect("deserialize");
        mono.advance(Duration::from_secs(10));
        let after_restart = CentralClock::new(Arc::new(mono.clone()), restored.clone());
        assert_eq!(after_restart.now().expect("same boot").sync_age_ms, 10_000);

        mono.reboot("boot-b");
        let after_reboot = CentralClock::new(Arc::new(mono), restored);
        assert_eq!(after_reboot.now(), Err(ClockError::RebootedSinceSync));
    }

    #[test]
    fn a_reply_before_its_request_is_refused() {
        let mono = ManualMonotonic::new("b");
        let clock = CentralClock::new(Arc::new(mono.clone()), None);
        let early = clock.mono_now();
        mono.advance(Duration::from_secs(1));
        let late = clock.mono_now();
        assert!(matches!(
            clock.record_sync(central(1, 0, 0), &late, &early),
            Err(ClockError::BadSync(_))
        ));
        assert_eq!(clock.now(), Err(ClockError::NeverSynced));
    }

    #[test]
    fn boot_clock_moves_forward() {
        let clock = BootClock::new();
        let a = clock.now();
        let b = clock.now();
        assert_eq!(a.boot_id, b.boot_id);
        assert!(b.since_boot >= a.since_boot);
        assert!(a.since_boot > Duration::ZERO);
    }
}
