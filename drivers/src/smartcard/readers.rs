//! PC/SC readers and card presence (`pcsc`, talking to `pcscd`): reader attached/removed,
//! card inserted/removed, for the status bar and the diagnostics screen.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::time::Duration;

use pcsc::{Context, PNP_NOTIFICATION, ReaderState, Scope, State};

use crate::DeviceError;

/// What changed among the readers since the last look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderEvent {
    /// A reader appeared.
    ReaderAttached(String),
    /// A reader disappeared.
    ReaderRemoved(String),
    /// A card was inserted; its ATR in hex.
    CardInserted {
        /// Reader name.
        reader: String,
        /// Answer-to-reset, hex.
        atr: String,
    },
    /// The card was removed.
    CardRemoved(String),
}

impl ReaderEvent {
    /// Portuguese line for the UI and diagnostics.
    pub fn label_pt(&self) -> String {
        match self {
            ReaderEvent::ReaderAttached(r) => format!("leitora conectada: {r}"),
            ReaderEvent::ReaderRemoved(r) => format!("leitora desconectada: {r}"),
            ReaderEvent::CardInserted { reader, .. } => format!("cartão inserido em {reader}"),
            ReaderEvent::CardRemoved(r) => format!("cartão retirado de {r}"),
        }
    }
}

/// Reader name → ATR of the card in it (`None`: empty).
pub type Snapshot = BTreeMap<String, Option<String>>;

/// The events that turn `before` into `after`, readers first, in name order.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<ReaderEvent> {
    let mut events = Vec::new();
    for (reader, card) in after {
        match before.get(reader) {
            None => {
                events.push(ReaderEvent::ReaderAttached(reader.clone()));
                if let Some(atr) = card {
                    events.push(ReaderEvent::CardInserted {
                        reader: reader.clone(),
                        atr: atr.clone(),
                    });
                }
            }
            Some(old) => match (old, card) {
                (None, Some(atr)) => events.push(ReaderEvent::CardInserted {
                    reader: reader.clone(),
                    atr: atr.clone(),
                }),
                (Some(_), None) => events.push(ReaderEvent::CardRemoved(reader.clone())),
                (Some(a), Some(b)) if a != b => {
                    events.push(ReaderEvent::CardRemoved(reader.clone()));
                    events.push(ReaderEvent::CardInserted {
                        reader: reader.clone(),
                        atr: b.clone(),
                    });
                }
                _ => {}
            },
        }
    }
    for (reader, card) in before {
        if !after.contains_key(reader) {
            if card.is_some() {
                events.push(ReaderEvent::CardRemoved(reader.clone()));
            }
            events.push(ReaderEvent::ReaderRemoved(reader.clone()));
        }
    }
    events
}

/// Watches readers through `pcscd`. Blocking: run it on its own thread.
pub struct ReaderWatcher {
    context: Context,
    known: Snapshot,
}

impl std::fmt::Debug for ReaderWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderWatcher")
            .field("known", &self.known)
            .finish_non_exhaustive()
    }
}

fn pcsc_error(e: pcsc::Error) -> DeviceError {
    match e {
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => {
            DeviceError::Missing("serviço de cartões (pcscd) não está rodando".into())
        }
        other => DeviceError::Fault(format!("PC/SC: {other}")),
    }
}

impl ReaderWatcher {
    /// Connects to `pcscd`. Nothing is known yet: the first [`Self::poll`] reports every reader
    /// and card present as new.
    pub fn new() -> Result<ReaderWatcher, DeviceError> {
        let context = Context::establish(Scope::User).map_err(pcsc_error)?;
        Ok(ReaderWatcher {
            context,
            known: Snapshot::new(),
        })
    }

    /// The readers and cards as last seen.
    pub fn snapshot(&self) -> &Snapshot {
        &self.known
    }

    /// Waits up to `timeout` for a change (reader or card), then returns what changed since
    /// the previous call (maybe nothing).
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<ReaderEvent>, DeviceError> {
        let names = match self.context.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(pcsc_error(e)),
        };
        let mut states: Vec<ReaderState> = names
            .iter()
            .map(|name| {
                let known = match self.known.get(&name.to_string_lossy().into_owned()) {
                    Some(Some(_)) => State::PRESENT,
                    Some(None) => State::EMPTY,
                    None => State::UNAWARE,
                };
                ReaderState::new(name.clone(), known)
            })
            .collect();
        states.push(ReaderState::new(
            CString::from(PNP_NOTIFICATION()),
            State::UNAWARE,
        ));
        let unaware = names
            .iter()
            .any(|n| !self.known.contains_key(&n.to_string_lossy().into_owned()));
        let wait = if unaware { Duration::ZERO } else { timeout };
        match self.context.get_status_change(wait, &mut states) {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            Err(e) => return Err(pcsc_error(e)),
        }
        let snapshot = self.read_snapshot()?;
        let events = diff(&self.known, &snapshot);
        self.known = snapshot;
        Ok(events)
    }

    fn read_snapshot(&self) -> Result<Snapshot, DeviceError> {
        let names = match self.context.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => return Ok(Snapshot::new()),
            Err(e) => return Err(pcsc_error(e)),
        };
        let mut states: Vec<ReaderState> = names
            .iter()
            .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
            .collect();
        if !states.is_empty() {
            match self.context.get_status_change(Duration::ZERO, &mut states) {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(pcsc_error(e)),
            }
        }
        Ok(states
            .iter()
            .map(|s| {
                let present = s.event_state().contains(State::PRESENT);
                (
                    s.name().to_string_lossy().into_owned(),
                    present.then(|| hex(s.atr())),
                )
            })
            .collect())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(entries: &[(&str, Option<&str>)]) -> Snapshot {
        entries
            .iter()
            .map(|(r, a)| (r.to_string(), a.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn diff_reports_readers_and_cards() {
        let empty = Snapshot::new();
        let one = snap(&[("Leitora 0", None)]);
        let card = snap(&[("Leitora 0", Some("3B8F"))]);
        assert_eq!(
            diff(&empty, &one),
            vec![ReaderEvent::ReaderAttached("Leitora 0".into())]
        );
        assert_eq!(
            diff(&one, &card),
            vec![ReaderEvent::CardInserted {
                reader: "Leitora 0".into(),
                atr: "3B8F".into()
            }]
        );
        assert_eq!(
            diff(&card, &one),
            vec![ReaderEvent::CardRemoved("Leitora 0".into())]
        );
        assert_eq!(
            diff(&card, &empty),
            vec![
                ReaderEvent::CardRemoved("Leitora 0".into()),
                ReaderEvent::ReaderRemoved("Leitora 0".into())
            ]
        );
        assert!(diff(&card, &card).is_empty());
        assert_eq!(
            ReaderEvent::CardRemoved("L".into()).label_pt(),
            "cartão retirado de L"
        );
    }
}
