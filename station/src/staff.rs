//! Staff at the station (§11, 2o; issue 19): the Administração screen's operations and the
//! first administrator's setup, over `vistoria_core::staff`, which checks the permission
//! against the stored account. An enrolment in progress is kept here, between touches, so the
//! screen only shows it.

use std::time::SystemTime;

use vistoria_core::biometrics::Finger;
use vistoria_core::biometrics::enrolment::{CONSENT_TEXT, Consent, ENROL_CAPTURES, Enrolment};
use vistoria_core::staff::{self, Actor, NewPerson, StaffMember};

use super::{Failure, Session, Station, lock};

/// An enrolment under way at the kiosk, with the consent given for it.
pub(crate) struct PendingEnrolment {
    enrolment: Enrolment,
    consent: Consent,
}

/// Where an enrolment stands after a touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolProgress {
    /// Whose finger.
    pub login: String,
    /// Which finger.
    pub finger: Finger,
    /// Touches accepted so far.
    pub accepted: usize,
    /// Touches needed.
    pub needed: usize,
    /// The last touch: its quality score (0–100), or why it was refused, in Portuguese.
    pub last: Result<u8, String>,
    /// The finger is enrolled (the touches agreed and were kept).
    pub done: bool,
}

/// The text the person enrolled agrees to (shown before the first touch).
pub const ENROLMENT_CONSENT: &str = CONSENT_TEXT;

fn actor(session: &Session) -> Actor {
    Actor::Person {
        login: session.login.clone(),
        role: session.role,
    }
}

impl Station {
    /// Whether nobody can administer this station yet: the kiosk shows only the setup.
    pub fn needs_setup(&self) -> Result<bool, Failure> {
        Ok(staff::needs_setup(&self.core().store)?)
    }

    /// The first administrator, made with the code `vistoria staff bootstrap` printed at the
    /// shell; logs them in.
    pub fn setup_first_administrator(
        &self,
        code: &str,
        person: &NewPerson,
    ) -> Result<Session, Failure> {
        let at = self.0.clock.now().ok();
        let account =
            staff::redeem_setup_code(&mut self.core().store, code, person, SystemTime::now(), at)?;
        Ok(Session {
            login: account.login,
            name: account.name,
            role: account.role,
            cpf: account.cpf,
        })
    }

    /// Everyone at the station (administrators only).
    pub fn staff(&self, session: &Session) -> Result<Vec<StaffMember>, Failure> {
        self.require(session, crate::roles::ADMINISTRATION)?;
        let core = self.core();
        Ok(staff::list(&core.store, &core.vault)?)
    }

    /// Adds a person.
    pub fn add_person(&self, session: &Session, person: &NewPerson) -> Result<(), Failure> {
        if let Some(password) = &person.password {
            self.check_password_policy(password)?;
        }
        let at = self.0.clock.now().ok();
        staff::add(&mut self.core().store, &actor(session), person, at)?;
        Ok(())
    }

    /// Deactivates or reactivates a person.
    pub fn set_person_active(
        &self,
        session: &Session,
        login: &str,
        active: bool,
    ) -> Result<(), Failure> {
        let at = self.0.clock.now().ok();
        staff::set_active(&mut self.core().store, &actor(session), login, active, at)?;
        Ok(())
    }

    /// Replaces a person's password.
    pub fn reset_person_password(
        &self,
        session: &Session,
        login: &str,
        password: &str,
    ) -> Result<(), Failure> {
        self.check_password_policy(password)?;
        let at = self.0.clock.now().ok();
        staff::reset_password(&mut self.core().store, &actor(session), login, password, at)?;
        Ok(())
    }

    /// Removes one finger of an inspector.
    pub fn remove_person_finger(
        &self,
        session: &Session,
        login: &str,
        finger: Finger,
    ) -> Result<bool, Failure> {
        let at = self.0.clock.now().ok();
        let mut core = self.core();
        let core = &mut *core;
        Ok(staff::remove_finger(
            &mut core.store,
            &core.vault,
            &actor(session),
            login,
            finger,
            at,
        )?)
    }

    /// Starts enrolling `finger` of the inspector `login`, who has read [`ENROLMENT_CONSENT`]
    /// and agreed (`consented`). Replaces an enrolment left unfinished.
    pub fn start_enrolment(
        &self,
        session: &Session,
        login: &str,
        finger: Finger,
        consented: bool,
    ) -> Result<(), Failure> {
        if !consented {
            return Err(Failure::rule(
                "o vistoriador precisa ler e aceitar o termo de consentimento antes do cadastro",
            ));
        }
        let enrolment = staff::start_enrolment(&self.core().store, &actor(session), login, finger)?;
        let consent = Consent {
            person: enrolment.user().to_owned(),
        };
        *lock(&self.0.enrolment) = Some(PendingEnrolment { enrolment, consent });
        Ok(())
    }

    /// One touch for the enrolment under way: accepted or refused with the reason; on the
    /// last one needed, the touches are cross-matched and the finger kept (or the enrolment
    /// starts over, saying why).
    pub fn enrolment_touch(&self, session: &Session) -> Result<EnrolProgress, Failure> {
        let image = self.touch()?;
        let mut pending = lock(&self.0.enrolment);
        let Some(p) = pending.as_mut() else {
            return Err(Failure::rule("nenhum cadastro de digital em andamento"));
        };
        let last = p.enrolment.add(&image).map(|q| q.score).map_err(|e| {
            let reason = e.to_string();
            tracing::info!(%reason, "enrolment touch refused");
            reason
        });
        let mut progress = EnrolProgress {
            login: p.enrolment.user().to_owned(),
            finger: p.enrolment.finger(),
            accepted: p.enrolment.accepted(),
            needed: ENROL_CAPTURES,
            last,
            done: false,
        };
        if p.enrolment.complete() {
            let Some(PendingEnrolment { enrolment, consent }) = pending.take() else {
                return Err(Failure::internal("cadastro de digital perdido"));
            };
            drop(pending);
            let at = self.0.clock.now().ok();
            let mut core = self.core();
            let core = &mut *core;
            staff::finish_enrolment(
                &mut core.store,
                &core.vault,
                &actor(session),
                enrolment,
                &consent,
                at,
            )?;
            progress.done = true;
        }
        Ok(progress)
    }

    /// Drops the enrolment under way (nothing of it was kept).
    pub fn cancel_enrolment(&self) {
        lock(&self.0.enrolment).take();
    }
}
