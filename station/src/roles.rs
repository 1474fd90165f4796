//! Who may do what at the station (§11, issue 19): checked here, in the station layer, for
//! every action, against the stored account, not by which screens the window shows. A
//! deactivated person or a changed role counts at their next action, not at their next login.

use vistoria_core::accounts::Role;

use super::{Failure, Session, Station};

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
    /// `Ok` when `session`'s stored account is active and its role is one of `roles`.
    pub(crate) fn require(&self, session: &Session, roles: &[Role]) -> Result<(), Failure> {
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
