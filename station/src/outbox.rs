//! The outbox as the Envios screen shows it, and the delivery worker's one pass (2s, §12).

use chrono::{DateTime, Utc};
use vistoria_core::domain::InspectionId;
use vistoria_core::outbox::{self, AttemptResult};
use vistoria_core::store::OutboxState;

use super::{Failure, Session, Station, lock};

/// One package in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// The inspection.
    pub id: InspectionId,
    /// Its plate.
    pub plate: String,
    /// Where the package stands.
    pub state: OutboxState,
    /// Attempts made.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// Next attempt (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Laudo number the central gave, once delivered.
    pub laudo_number: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The laudo PDF is at this station and can be printed (none for an interrupted
    /// inspection; deleted once delivered, §9).
    pub laudo_pdf: bool,
    /// Once a signed laudo is delivered: the central's public page of it, where it can be
    /// checked.
    pub verify_url: Option<String>,
}

/// What a delivery pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    /// Packages delivered, with the laudo number the central gave.
    pub delivered: Vec<(InspectionId, String)>,
    /// Attempts that failed, each with why.
    pub failures: Vec<(InspectionId, Failure)>,
}

impl Delivery {
    fn record(&mut self, id: InspectionId, result: AttemptResult) {
        match result {
            AttemptResult::Delivered(receipt) => {
                tracing::info!(%id, laudo = %receipt.laudo_number, "package delivered");
                self.delivered.push((id, receipt.laudo_number));
            }
            // The outbox retries only what failed for a passing reason: the network, or an
            // answer garbled on the way. What it gave up on, the central refused.
            AttemptResult::Retry { error, .. } => {
                tracing::warn!(%id, %error, "delivery attempt failed; will retry");
                self.failures.push((id, Failure::Offline(error)));
            }
            AttemptResult::Stuck(error) => {
                tracing::warn!(%id, %error, "delivery stuck");
                self.failures.push((id, Failure::Refused(error)));
            }
        }
    }

    /// Whether the pass says the central cannot be reached.
    pub fn offline(&self) -> bool {
        self.failures.iter().any(|(_, f)| f.is_offline())
    }
}

impl Station {
    /// Every package, newest first.
    pub fn outbox(&self) -> Result<Vec<OutboxRow>, Failure> {
        let core = self.core();
        let mut rows = Vec::new();
        for e in core.store.outbox().map_err(Failure::from)? {
            let inspection = core
                .store
                .inspection(e.inspection_id)
                .map_err(Failure::from)?;
            let plate = inspection
                .as_ref()
                .map(|i| i.vehicle().plate().pretty())
                .unwrap_or_default();
            let signed = inspection.is_some_and(|i| i.signature().is_some());
            let laudo_number = e
                .receipt
                .as_deref()
                .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
                .and_then(|v| {
                    v.get("laudo_number")
                        .and_then(|n| n.as_str())
                        .map(str::to_owned)
                });
            let laudo_pdf = Self::laudo_kept(&core, e.inspection_id);
            let verify_url = laudo_number
                .as_deref()
                .filter(|_| signed && e.state == OutboxState::Delivered)
                .map(|n| self.verify_url(n));
            rows.push(OutboxRow {
                id: e.inspection_id,
                plate,
                state: e.state,
                attempts: e.attempts,
                queued_at: e.queued_at,
                next_attempt_at: (e.state == OutboxState::Pending).then_some(e.next_attempt_at),
                laudo_number,
                last_error: e.last_error,
                laudo_pdf,
                verify_url,
            });
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.queued_at));
        Ok(rows)
    }

    /// Syncs the clock with the central (and learns its receipt key), refreshes the central's
    /// signed policies (§15), then sends the
    /// station's inspectors (§11: the central accepts laudos signed by them only). Returns the
    /// round trip of the clock sync.
    pub fn sync_clock(&self) -> Result<std::time::Duration, Failure> {
        let client = self.core().client.clone();
        let (rtt, key) = crate::startup::exchange(&client, &self.0.clock).map_err(Failure::from)?;
        let mut core = self.core();
        crate::startup::record_sync(&mut core.store, &client, &self.0.clock, &key)
            .map_err(Failure::from)?;
        core.server_key = Some(key.clone());
        drop(core);
        // §15: the central's policies at every sync. A central that cannot give them now does
        // not make the sync fail: the policies in force stay in force.
        match self.refresh_policies(&client, &key) {
            Ok(true) => {
                if let Err(e) = self.check_inventory() {
                    tracing::warn!(%e, "inventory after a new software policy");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(%e, "policies not refreshed"),
        }
        self.send_inspectors(&client, true)?;
        Ok(rtt)
    }

    /// Sends the station's inspectors to the central when they changed since the last time it
    /// took them (or always, with `always`): an inspector enrolled or deactivated a minute ago
    /// must be known there before a package they signed arrives.
    fn send_inspectors(
        &self,
        client: &vistoria_core::central_client::CentralClient,
        always: bool,
    ) -> Result<(), Failure> {
        let accounts = self.core().store.accounts().map_err(Failure::from)?;
        let list = vistoria_core::accounts::inspector_list(&accounts);
        if !always && lock(&self.0.inspectors_sent).as_ref() == Some(&list) {
            return Ok(());
        }
        client
            .put_inspectors(&list)
            .map_err(|e| Failure::from(e).context("enviando a lista de vistoriadores à central"))?;
        *lock(&self.0.inspectors_sent) = Some(list);
        Ok(())
    }

    /// Makes the attempts that are due, one package after the other. Each is prepared under
    /// the store's lock, sent with no lock held (capture, login and the status bar go on
    /// meanwhile) and recorded under the lock again. One pass at a time.
    pub fn deliver_due(&self) -> Result<Delivery, Failure> {
        let _pass = lock(&self.0.delivering);
        if self.core().server_key.is_none() {
            self.sync_clock()?;
        }
        let (client, key, policy) = {
            let core = self.core();
            let key = core
                .server_key
                .clone()
                .ok_or_else(|| Failure::internal("chave do servidor central desconhecida"))?;
            (core.client.clone(), key, core.policy.clone())
        };
        let due = outbox::due(&self.core().store, self.now()?.at).map_err(Failure::from)?;
        if !due.is_empty() {
            self.send_inspectors(&client, false)?;
        }
        let mut delivery = Delivery::default();
        for entry in due {
            let id = entry.inspection_id;
            let prepared = outbox::prepare(&mut self.core().store, &self.0.clock, entry)
                .map_err(Failure::from)?;
            let sent = outbox::send(&client, &prepared, &key);
            let result = outbox::finish(
                &mut self.core().store,
                &self.0.clock,
                &policy,
                prepared,
                sent,
            )
            .map_err(Failure::from)?;
            delivery.record(id, result);
        }
        Ok(delivery)
    }

    /// Delivers on `policy`'s schedule from now on instead of the station's default (the
    /// simulations and tests that cannot wait hours between attempts).
    pub fn use_delivery_policy(&self, policy: vistoria_core::outbox::DeliveryPolicy) {
        self.core().policy = policy;
    }

    /// How long the central's request limits made this station's calls wait so far.
    pub fn pacing(&self) -> vistoria_core::central_client::PacingStats {
        self.core().client.pacing()
    }

    /// A technician's retry of a stuck package.
    pub fn retry_stuck(&self, session: &Session, id: InspectionId) -> Result<(), Failure> {
        self.require(session, crate::roles::SUPPORT)?;
        let now = self.now()?;
        let mut core = self.core();
        outbox::retry_stuck(&mut core.store, id, now, &session.login).map_err(Failure::from)
    }
}
