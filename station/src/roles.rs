//! Who may do what at the station (§11, issue 19): checked here, in the station layer, for
//! every action, against the stored account, not by which screens the window shows. A
//! deactivated person or a changed role counts at their next action, not at their next login.

use std::time::Instant;

use vistoria_core::accounts::Role;

use super::{Failure, Session, Station, lock};

/// Opens inspections at the counter.
pub(crate) const COUNTER: &[Role] = &[Role::Operator, Role::Administrator];
/// Photographs, fills the checklist, concludes and signs (2o, §14: the inspector in person).
pub(crate) const INSPECTING: &[Role] = &[Role::Inspector];
/// Interrupts an inspection (§12): the inspector, or the counter for a vehicle that left.
pub(crate) const INTERRUPTING: &[Role] = &[Role::Inspector, Role::Operator, Role::Administrator];
/// The staff register (§11): only the station's administrator.
pub(crate) const ADMINISTRATION: &[Role] = &[Role::Administrator];
/// Device and delivery maintenance.
pub(crate) const SUPPORT: &[Role] = &[Role::Technician, Role::Administrator];

fn names(roles: &[Role]) -> String {
    let labels: Vec<&str> = roles.iter().map(|r| r.label_pt()).collect();
    labels.join(" ou ")
}

impl Station {
    /// `Ok` when `session`'s stored account is active and its role is one of `roles`, and the
    /// session has not sat idle longer than the central's security policy allows (§15 c).
    pub(crate) fn require(&self, session: &Session, roles: &[Role]) -> Result<(), Failure> {
        self.note_action(session)?;
        let account = self
            .core()
            .store
            .account(&session.login)
            .map_err(Failure::from)?;
        match account {
            Some(a) if !a.active => Err(Failure::rule(
                "seu acesso foi desativado; procure o administrador da estação",
            )),
            Some(a) if a.role == session.role && roles.contains(&a.role) => Ok(()),
            _ => Err(Failure::rule(format!(
                "somente {} pode fazer isto",
                names(roles)
            ))),
        }
    }
}

impl Station {
    /// Counts an action of `session` now, unless it sat idle past the security policy's
    /// `idle_minutes` (§15 c): then the session is over, whatever the window shows, and the
    /// person logs in again. The window locks itself at the same limit
    /// ([`Station::idle_lock_after`]); this is the rule below it.
    fn note_action(&self, session: &Session) -> Result<(), Failure> {
        // Read before taking the map: the policy read locks the store, which a login holds
        // while it starts a session.
        let limit = self.idle_lock_after();
        let now = Instant::now();
        let mut last = lock(&self.0.last_action);
        let idle = last.get(&session.login).map(|at| now.duration_since(*at));
        if let (Some(idle), Some(limit)) = (idle, limit)
            && idle > limit
        {
            last.remove(&session.login);
            return Err(Failure::rule(format!(
                "Sessão encerrada por inatividade ({} min sem uso, limite da política de \
                 segurança da central); entre novamente.",
                limit.as_secs() / 60
            )));
        }
        last.insert(session.login.clone(), now);
        Ok(())
    }

    /// A new session of `login` starts its idle count now.
    pub(crate) fn session_started(&self, login: &str) {
        lock(&self.0.last_action).insert(login.to_owned(), Instant::now());
    }

    /// Test support: `login`'s last action moved `by` into the past.
    #[cfg(test)]
    pub(crate) fn age_session(&self, login: &str, by: std::time::Duration) {
        if let Some(at) = lock(&self.0.last_action).get_mut(login) {
            *at = at.checked_sub(by).unwrap_or(*at);
        }
    }
}
