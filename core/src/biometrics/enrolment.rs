//! Enrolment and biometric login (Portaria 741/2019 item 2o and §11, §14): an inspector is
//! enrolled from three captures that must agree with each other; login compares one capture
//! with the claimed inspector's templates (1:1), or with every enrolled inspector on stations
//! with few of them (1:N). Every enrolment, removal and login attempt is written to the audit
//! log. Templates live encrypted in the [`Vault`]; images are dropped after extraction.

use serde_json::json;

use super::image::GrayImage;
use super::matcher::{self, ENROL_AGREEMENT, Prepared, THRESHOLD};
use super::quality::{self, Quality};
use super::template::Template;
use super::vault::Vault;
use super::{BiometricError, analyse};
use crate::clock::CentralStamp;
use crate::store::{AuditAction, AuditEvent, Store};

/// Captures an enrolment needs.
pub const ENROL_CAPTURES: usize = 3;
/// Most inspectors a 1:N search accepts: the chance of a false match grows with each one.
pub const MAX_IDENTIFY: usize = 20;
/// Extra score a 1:N match needs over the 1:1 threshold, so that searching [`MAX_IDENTIFY`]
/// inspectors keeps the overall false-match rate near the 1:1 one.
pub const IDENTIFY_MARGIN: f32 = 0.003;

fn audit(store: &mut Store, event: AuditEvent) -> Result<(), BiometricError> {
    store
        .audit(event)
        .map(|_| ())
        .map_err(|e| BiometricError::Io(e.to_string()))
}

/// An enrolment in progress for one inspector.
#[derive(Debug)]
pub struct Enrolment {
    user: String,
    templates: Vec<Template>,
    previous: Option<GrayImage>,
}

impl Enrolment {
    /// Starts enrolling `user`.
    pub fn new(user: &str) -> Enrolment {
        Enrolment {
            user: user.to_owned(),
            templates: Vec::new(),
            previous: None,
        }
    }

    /// Captures accepted so far.
    pub fn accepted(&self) -> usize {
        self.templates.len()
    }

    /// Whether enough captures were accepted to finish.
    pub fn complete(&self) -> bool {
        self.templates.len() >= ENROL_CAPTURES
    }

    /// Offers one capture; a rejected capture (quality, latent) does not count and says why.
    pub fn add(&mut self, img: &GrayImage) -> Result<Quality, BiometricError> {
        let analysis = analyse(img);
        let q = quality::assess(img, &analysis, self.previous.as_ref())?;
        self.previous = Some(img.clone());
        if !self.complete() {
            self.templates.push(analysis.template);
        }
        Ok(q)
    }

    /// Checks that the captures agree pairwise and stores them (replacing an earlier
    /// enrolment: re-enrolment). `actor` is the administrator doing it.
    pub fn finish(
        self,
        store: &mut Store,
        vault: &Vault,
        actor: &str,
        at: Option<CentralStamp>,
    ) -> Result<(), BiometricError> {
        if !self.complete() {
            return Err(BiometricError::Rejected(format!(
                "são necessárias {ENROL_CAPTURES} capturas, há {}",
                self.templates.len()
            )));
        }
        let prepared: Vec<Prepared> = self.templates.iter().map(Prepared::new).collect();
        let mut scores = Vec::new();
        for i in 0..prepared.len() {
            for j in i + 1..prepared.len() {
                scores.push(matcher::score(&prepared[i], &prepared[j]));
            }
        }
        let agree = scores.iter().all(|&s| s >= ENROL_AGREEMENT);
        let replaced = vault.load(&self.user).is_ok();
        let detail = json!({"user": self.user, "scores": scores, "replaced": replaced});
        if !agree {
            audit(
                store,
                AuditEvent::new(at, actor, AuditAction::BiometricsEnrolmentRejected).detail(detail),
            )?;
            return Err(BiometricError::Disagreement);
        }
        vault.save(&self.user, &self.templates)?;
        audit(
            store,
            AuditEvent::new(at, actor, AuditAction::BiometricsEnrolled).detail(detail),
        )
    }
}

/// Removes an inspector's templates (administrator only; the caller checks the role).
pub fn remove(
    store: &mut Store,
    vault: &Vault,
    user: &str,
    actor: &str,
    at: Option<CentralStamp>,
) -> Result<bool, BiometricError> {
    let removed = vault.remove(user)?;
    audit(
        store,
        AuditEvent::new(at, actor, AuditAction::BiometricsRemoved)
            .detail(json!({"user": user, "existed": removed})),
    )?;
    Ok(removed)
}

/// The result of a login attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginOutcome {
    /// The inspector recognised, if any.
    pub user: Option<String>,
    /// Best score found.
    pub score: f32,
}

fn best_score(vault: &Vault, user: &str, probe: &Prepared) -> Result<f32, BiometricError> {
    let templates = vault.load(user)?;
    Ok(templates
        .iter()
        .map(|t| matcher::score(probe, &Prepared::new(t)))
        .fold(0.0, f32::max))
}

fn checked_probe(
    img: &GrayImage,
    previous: Option<&GrayImage>,
) -> Result<Prepared, BiometricError> {
    let analysis = analyse(img);
    quality::assess(img, &analysis, previous)?;
    Ok(Prepared::new(&analysis.template))
}

/// 1:1 login: does `img` match the claimed inspector `user`? A rejected capture is an error
/// (take it again); a mismatch is an outcome with `user: None`. Both are audited.
pub fn verify(
    store: &mut Store,
    vault: &Vault,
    user: &str,
    img: &GrayImage,
    previous: Option<&GrayImage>,
    at: Option<CentralStamp>,
) -> Result<LoginOutcome, BiometricError> {
    let probe = match checked_probe(img, previous) {
        Ok(p) => p,
        Err(e) => {
            audit(
                store,
                AuditEvent::new(at, user, AuditAction::BiometricsCaptureRejected)
                    .detail(json!({"reason": e.to_string()})),
            )?;
            return Err(e);
        }
    };
    let score = best_score(vault, user, &probe)?;
    let accepted = score >= THRESHOLD;
    let action = if accepted {
        AuditAction::BiometricsLogin
    } else {
        AuditAction::BiometricsLoginFailed
    };
    audit(
        store,
        AuditEvent::new(at, user, action).detail(json!({"mode": "1:1", "score": score})),
    )?;
    Ok(LoginOutcome {
        user: accepted.then(|| user.to_owned()),
        score,
    })
}

/// 1:N login for stations with at most [`MAX_IDENTIFY`] enrolled inspectors: the best match
/// above the raised threshold, if any.
pub fn identify(
    store: &mut Store,
    vault: &Vault,
    img: &GrayImage,
    previous: Option<&GrayImage>,
    at: Option<CentralStamp>,
) -> Result<LoginOutcome, BiometricError> {
    let users = vault.users()?;
    if users.len() > MAX_IDENTIFY {
        return Err(BiometricError::Rejected(format!(
            "identificação sem usuário só vale para até {MAX_IDENTIFY} inspetores; informe o usuário"
        )));
    }
    let probe = checked_probe(img, previous)?;
    let mut best: Option<(String, f32)> = None;
    for user in users {
        let s = best_score(vault, &user, &probe)?;
        if best.as_ref().is_none_or(|(_, b)| s > *b) {
            best = Some((user, s));
        }
    }
    let (user, score) = match best {
        Some((u, s)) if s >= THRESHOLD + IDENTIFY_MARGIN => (Some(u), s),
        Some((_, s)) => (None, s),
        None => (None, 0.0),
    };
    let actor = user.clone().unwrap_or_else(|| "unknown".to_owned());
    let action = if user.is_some() {
        AuditAction::BiometricsLogin
    } else {
        AuditAction::BiometricsLoginFailed
    };
    audit(
        store,
        AuditEvent::new(at, &actor, action).detail(json!({"mode": "1:N", "score": score})),
    )?;
    Ok(LoginOutcome { user, score })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fvc(name: &str) -> Option<GrayImage> {
        crate::biometrics::image::fvc_sample(name)
    }

    fn actions(store: &Store) -> Vec<String> {
        let report = store.verify_audit().unwrap();
        assert!(report.problem.is_none(), "{report:?}");
        let conn = rusqlite::Connection::open(crate::paths::database_in(store.data_dir())).unwrap();
        let mut stmt = conn
            .prepare("SELECT action FROM audit_log ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn enrol_login_and_remove() {
        let (Some(a1), Some(a2), Some(a3), Some(a4), Some(b1)) = (
            fvc("101_1.tif"),
            fvc("101_2.tif"),
            fvc("101_3.tif"),
            fvc("101_4.tif"),
            fvc("105_1.tif"),
        ) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let vault = Vault::open(dir.path()).unwrap();

        let mut e = Enrolment::new("ana");
        for img in [&a1, &a2, &a3] {
            e.add(img).unwrap();
        }
        assert!(e.complete());
        e.finish(&mut store, &vault, "admin", None).unwrap();

        let ok = verify(&mut store, &vault, "ana", &a4, None, None).unwrap();
        assert_eq!(ok.user.as_deref(), Some("ana"), "score {}", ok.score);
        let wrong = verify(&mut store, &vault, "ana", &b1, None, None).unwrap();
        assert_eq!(wrong.user, None, "score {}", wrong.score);
        let found = identify(&mut store, &vault, &a4, None, None).unwrap();
        assert_eq!(found.user.as_deref(), Some("ana"));

        assert!(remove(&mut store, &vault, "ana", "admin", None).unwrap());
        assert!(matches!(
            verify(&mut store, &vault, "ana", &a4, None, None),
            Err(BiometricError::NotEnrolled(_))
        ));
        let log = actions(&store);
        for action in [
            "biometrics.enrolled",
            "biometrics.login",
            "biometrics.login_failed",
            "biometrics.removed",
        ] {
            assert!(
                log.iter().any(|a| a == action),
                "{action} missing from {log:?}"
            );
        }
    }

    #[test]
    fn enrolment_of_different_fingers_is_refused() {
        let (Some(a), Some(b), Some(c)) = (fvc("101_1.tif"), fvc("102_1.tif"), fvc("103_1.tif"))
        else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let vault = Vault::open(dir.path()).unwrap();
        let mut e = Enrolment::new("bia");
        for img in [&a, &b, &c] {
            e.add(img).unwrap();
        }
        assert_eq!(
            e.finish(&mut store, &vault, "admin", None),
            Err(BiometricError::Disagreement)
        );
        assert!(vault.users().unwrap().is_empty());
    }

    #[test]
    fn a_latent_capture_does_not_count() {
        let Some(a) = fvc("101_1.tif") else { return };
        let mut e = Enrolment::new("caio");
        e.add(&a).unwrap();
        assert!(matches!(e.add(&a), Err(BiometricError::Rejected(_))));
        assert_eq!(e.accepted(), 1);
    }
}
