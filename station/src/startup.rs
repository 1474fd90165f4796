//! What every run does after opening the store: bring back central time and close what the
//! previous run left open.

use std::fmt;
use std::sync::Arc;

use vistoria_core::clock::{BootClock, CentralClock, SyncPoint};
use vistoria_core::domain::InspectionId;
use vistoria_core::session;
use vistoria_core::store::{OpenReport, Store, StoreError};

/// Meta key of the last central-clock sync.
pub const CLOCK_SYNC_KEY: &str = "clock_sync";

/// The clock with the last saved sync, if it is still usable (same boot).
pub fn restore_clock(store: &Store) -> Result<CentralClock, StoreError> {
    let saved = store
        .meta(CLOCK_SYNC_KEY)?
        .and_then(|json| serde_json::from_str::<SyncPoint>(&json).ok());
    Ok(CentralClock::new(Arc::new(BootClock::new()), saved))
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
