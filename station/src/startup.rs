//! What every run does after opening the store: bring back central time and close what the
//! previous run left open; and the clock sync every run makes with the central.

use std::fmt;
use std::sync::Arc;

use vistoria_core::central_client::{CentralClient, ClientError};
use vistoria_core::clock::{BootClock, CentralClock, Monotonic, SyncPoint};
use vistoria_core::domain::InspectionId;
use vistoria_core::session;
use vistoria_core::store::{OpenReport, Store, StoreError};

/// Meta key of the last central-clock sync.
pub const CLOCK_SYNC_KEY: &str = "clock_sync";
/// Meta key of the central's receipt-signing key, learnt at the first sync.
pub const SERVER_KEY: &str = "central_server_key";

/// One clock exchange with the central: `clock` takes central time, and the central's
/// receipt-signing key comes back with the round trip. Touches no store, so a caller holds no
/// lock while it waits for the network.
pub fn exchange(
    client: &CentralClient,
    clock: &CentralClock,
) -> Result<(std::time::Duration, String), ClientError> {
    let started = std::time::Instant::now();
    let (_, key) = client.sync_clock(clock)?;
    Ok((started.elapsed(), key))
}

/// What a sync leaves in the store: the sync point (a restart in the same boot goes on
/// offline), the receipt key, and the audit chain keyed at the central (once per station: a
/// request only while the chain is not keyed yet).
pub fn record_sync(
    store: &mut Store,
    client: &CentralClient,
    clock: &CentralClock,
    key: &str,
) -> Result<(), StoreError> {
    save_clock(store, clock)?;
    store.set_meta(SERVER_KEY, key)?;
    vistoria_core::audit_keying::key_after_sync(store, client, clock.now().ok());
    Ok(())
}

/// The clock with the last saved sync, if it is still usable (same boot).
pub fn restore_clock(store: &Store) -> Result<CentralClock, StoreError> {
    restore_clock_on(store, Arc::new(BootClock::new()))
}

/// [`restore_clock`] on the monotonic source `mono` (tests move time with a manual one).
pub fn restore_clock_on(
    store: &Store,
    mono: Arc<dyn Monotonic>,
) -> Result<CentralClock, StoreError> {
    let saved = store
        .meta(CLOCK_SYNC_KEY)?
        .and_then(|json| serde_json::from_str::<SyncPoint>(&json).ok());
    Ok(CentralClock::new(mono, saved))
}

/// Saves the clock's last sync so a restart can go on offline.
pub fn save_clock(store: &mut Store, clock: &CentralClock) -> Result<(), StoreError> {
    if let Some(sync) = clock.last_sync() {
        let json = serde_json::to_string(&sync)
            .map_err(|e| StoreError::Decode(format!("sincronização não serializável: {e}")))?;
        store.set_meta(CLOCK_SYNC_KEY, &json)?;
    }
    Ok(())
}

/// What recovery did, for the person starting the kiosk.
pub enum Recovered {
    /// Inspections left open were interrupted.
    Closed(Vec<InspectionId>),
    /// Nothing was open.
    Nothing,
    /// Some were open but there is no central time to stamp their interruption yet.
    Deferred(String),
}

impl fmt::Display for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recovered::Closed(ids) => write!(
                f,
                "{} vistoria(s) deixada(s) aberta(s) pela execução anterior foram registradas como interrompidas (falha do sistema)",
                ids.len()
            ),
            Recovered::Nothing => write!(f, "nenhuma vistoria pendente da execução anterior"),
            Recovered::Deferred(why) => write!(
                f,
                "vistorias da execução anterior serão encerradas assim que houver hora central ({why})"
            ),
        }
    }
}

/// Interrupts what the previous run left open, if central time is available to stamp it.
pub fn recover(
    store: &mut Store,
    report: &OpenReport,
    clock: &CentralClock,
) -> Result<Recovered, StoreError> {
    if session::open_inspections(store)?.is_empty() {
        return Ok(Recovered::Nothing);
    }
    match clock.now() {
        Ok(now) => {
            let closed = session::recover_previous_run(store, report, now)?;
            Ok(if closed.is_empty() {
                Recovered::Nothing
            } else {
                Recovered::Closed(closed)
            })
        }
        Err(e) => Ok(Recovered::Deferred(e.to_string())),
    }
}
