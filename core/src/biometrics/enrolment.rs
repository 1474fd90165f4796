//! Enrolment and biometric login (Portaria 741/2019 item 2o and §11, §14): an inspector enrols
//! fingers one at a time (two, issue 19), each from three captures that must agree with each
//! other, that must not be a finger they already enrolled under another name nor anyone else's
//! finger; login compares one capture with the claimed inspector's templates (1:1), or with
//! every enrolled inspector on stations with few of them (1:N). Every enrolment (with the
//! person's consent, LGPD), removal and login attempt is written to the audit log. Templates
//! live encrypted in the [`Vault`]; images are dropped after extraction.

use serde_json::json;

use super::finger::Finger;
use super::image::GrayImage;
use super::matcher::{self, ENROL_AGREEMENT, Prepared, THRESHOLD};
use super::quality::{self, Quality};
use super::template::Template;
use super::vault::{FingerTemplate, Vault};
use super::{BiometricError, analyse};
use crate::clock::CentralStamp;
use crate::store::{AuditAction, AuditEvent, Store};

/// Captures an enrolment needs.
pub const ENROL_CAPTURES: usize = 3;
/// Fingers an inspector enrols (issue 19): one hurt finger must not stop their work.
pub const FINGERS_PER_INSPECTOR: usize = 2;

/// What the person is told before their fingers are read (LGPD art. 11: biometric data is
/// sensitive; its use needs specific consent for a stated purpose). Its version goes into the
/// audit row with the consent, so a changed text is told apart from the one agreed to.
pub const CONSENT_TEXT: &str = "Autorizo o uso das minhas impressões digitais, guardadas \
cifradas nesta estação, somente para me identificar no acesso ao sistema e na assinatura dos \
laudos de vistoria (Portaria Detran-MT 741/2019, item 2o). As imagens não são guardadas; os \
modelos são apagados quando eu pedir ou quando meu cadastro for removido.";
/// Version of [`CONSENT_TEXT`].
pub const CONSENT_VERSION: u32 = 1;

/// The person's consent to the enrolment, given where they see [`CONSENT_TEXT`] (the screen's
/// box, the shell's question). Only the person being enrolled gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Login of the person who consented (the one enrolled).
    pub person: String,
}
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

/// An enrolment in progress for one finger of one inspector.
#[derive(Debug)]
pub struct Enrolment {
    user: String,
    finger: Finger,
    templates: Vec<Template>,
    previous: Option<GrayImage>,
}

impl Enrolment {
    /// Starts enrolling `finger` of `user`.
    pub fn new(user: &str, finger: Finger) -> Enrolment {
        Enrolment {
            user: user.to_owned(),
            finger,
            templates: Vec::new(),
            previous: None,
        }
    }

    /// Whose finger.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Which finger.
    pub fn finger(&self) -> Finger {
        self.finger
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
        let q = quality::assess(img, &analysis, self.previous.as_ref());
        // A refused touch still becomes "the previous capture": a latent it left is caught.
        self.previous = Some(img.clone());
        let q = q?;
        if !self.complete() {
            self.templates.push(analysis.template);
        }
        Ok(q)
    }

    /// Checks that the captures agree pairwise, that they are not of a finger this person
    /// already enrolled under another name nor of anyone else enrolled here, and stores them
    /// beside the person's other fingers (replacing this finger's earlier enrolment). `actor`
    /// is who operates the enrolment (an administrator, the shell); `consent` the person's.
    pub fn finish(
        self,
        store: &mut Store,
        vault: &Vault,
        actor: &str,
        consent: &Consent,
        at: Option<CentralStamp>,
    ) -> Result<(), BiometricError> {
        if !self.complete() {
            return Err(BiometricError::Rejected(format!(
                "são necessárias {ENROL_CAPTURES} capturas, há {}",
                self.templates.len()
            )));
        }
        if consent.person != self.user {
            return Err(BiometricError::Rejected(
                "o consentimento deve ser dado pela pessoa cadastrada".into(),
            ));
        }
        let prepared: Vec<Prepared> = self.templates.iter().map(Prepared::new).collect();
        let mut scores = Vec::new();
        for i in 0..prepared.len() {
            for j in i + 1..prepared.len() {
                scores.push(matcher::score(&prepared[i], &prepared[j]));
            }
        }
        let finger = self.finger;
        let existing = match vault.load_fingers(&self.user) {
            Ok(t) => t,
            Err(BiometricError::NotEnrolled(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let replaced = existing.iter().any(|t| t.finger == Some(finger));
        let mut detail = json!({
            "user": self.user, "finger": finger.code(), "scores": scores, "replaced": replaced,
        });
        let refusal = if !scores.iter().all(|&s| s >= ENROL_AGREEMENT) {
            Some(BiometricError::Disagreement)
        } else {
            self.already_known(vault, &prepared, &existing)?
        };
        if let Some(refusal) = refusal {
            detail["reason"] = json!(refusal.to_string());
            audit(
                store,
                AuditEvent::new(at, actor, AuditAction::BiometricsEnrolmentRejected).detail(detail),
            )?;
            return Err(refusal);
        }
        let mut kept: Vec<FingerTemplate> = existing
            .into_iter()
            .filter(|t| t.finger != Some(finger))
            .collect();
        kept.extend(self.templates.into_iter().map(|template| FingerTemplate {
            finger: Some(finger),
            template,
        }));
        vault.save(&self.user, &kept)?;
        let mut fingers: Vec<Finger> = kept.iter().filter_map(|t| t.finger).collect();
        fingers.sort();
        fingers.dedup();
        detail["consent"] = json!({
            "person": consent.person,
            "fingers": fingers.iter().map(|f| f.code()).collect::<Vec<_>>(),
            "text_version": CONSENT_VERSION,
        });
        audit(
            store,
            AuditEvent::new(at, actor, AuditAction::BiometricsEnrolled).detail(detail),
        )
    }

    /// Why these captures may not be kept although they agree: the same finger as another one
    /// of this person (two fingers that are one would leave them with one), or a finger
    /// another enrolled person has (one person under two logins).
    fn already_known(
        &self,
        vault: &Vault,
        prepared: &[Prepared],
        existing: &[FingerTemplate],
    ) -> Result<Option<BiometricError>, BiometricError> {
        let matches = |t: &Template, margin: f32| {
            let stored = Prepared::new(t);
            prepared
                .iter()
                .any(|p| matcher::score(p, &stored) >= THRESHOLD + margin)
        };
        for t in existing.iter().filter(|t| t.finger != Some(self.finger)) {
            if matches(&t.template, 0.0) {
                let other = t.finger.map_or("outro dedo", Finger::label_pt);
                return Ok(Some(BiometricError::Rejected(format!(
                    "este dedo já está cadastrado como {other}; use outro dedo"
                ))));
            }
        }
        for other in vault.users()?.into_iter().filter(|u| *u != self.user) {
            let templates = vault.load(&other)?;
            if templates.iter().any(|t| matches(t, IDENTIFY_MARGIN)) {
                return Ok(Some(BiometricError::Rejected(format!(
                    "esta digital já está cadastrada para outra pessoa ({other})"
                ))));
            }
        }
        Ok(None)
    }
}

/// Removes one finger of an inspector (a hurt finger to enrol again, a finger they withdraw
/// consent for); `false` if it was not enrolled. The caller checks the role.
pub fn remove_finger(
    store: &mut Store,
    vault: &Vault,
    user: &str,
    finger: Finger,
    actor: &str,
    at: Option<CentralStamp>,
) -> Result<bool, BiometricError> {
    let existing = match vault.load_fingers(user) {
        Ok(t) => t,
        Err(BiometricError::NotEnrolled(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let before = existing.len();
    let kept: Vec<FingerTemplate> = existing
        .into_iter()
        .filter(|t| t.finger != Some(finger))
        .collect();
    let removed = kept.len() != before;
    if removed {
        if kept.is_empty() {
            vault.remove(user)?;
        } else {
            vault.save(user, &kept)?;
        }
    }
    audit(
        store,
        AuditEvent::new(at, actor, AuditAction::BiometricsRemoved)
            .detail(json!({"user": user, "finger": finger.code(), "existed": removed})),
    )?;
    Ok(removed)
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

    fn station() -> (tempfile::TempDir, Store, Vault) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&dir.path().join("data")).unwrap();
        let vault = Vault::open(&dir.path().join("data"), &dir.path().join("k.key")).unwrap();
        (dir, store, vault)
    }

    fn consent(person: &str) -> Consent {
        Consent {
            person: person.to_owned(),
        }
    }

    fn enrol(
        store: &mut Store,
        vault: &Vault,
        user: &str,
        finger: Finger,
        subject: u32,
    ) -> Result<(), BiometricError> {
        let mut e = Enrolment::new(user, finger);
        for i in 1..=3 {
            let Some(img) = fvc(&format!("{subject}_{i}.tif")) else {
                return Ok(());
            };
            e.add(&img).unwrap();
        }
        e.finish(store, vault, "admin", &consent(user), None)
    }

    #[test]
    fn two_fingers_each_log_in_and_one_can_be_removed() {
        let (Some(a5), Some(b5)) = (fvc("101_5.tif"), fvc("102_5.tif")) else {
            return;
        };
        let (_dir, mut store, vault) = station();
        // FVC subjects 101 and 102 stand for two fingers of the same person.
        enrol(&mut store, &vault, "ana", Finger::RightIndex, 101).unwrap();
        enrol(&mut store, &vault, "ana", Finger::LeftIndex, 102).unwrap();
        assert_eq!(
            vault.fingers("ana").unwrap(),
            [Finger::RightIndex, Finger::LeftIndex]
        );
        for img in [&a5, &b5] {
            let ok = verify(&mut store, &vault, "ana", img, None, None).unwrap();
            assert_eq!(ok.user.as_deref(), Some("ana"), "score {}", ok.score);
        }
        // Enrolling the right index again replaces it, the left one stays.
        enrol(&mut store, &vault, "ana", Finger::RightIndex, 101).unwrap();
        assert_eq!(vault.load("ana").unwrap().len(), 6);
        assert!(
            remove_finger(&mut store, &vault, "ana", Finger::LeftIndex, "admin", None).unwrap()
        );
        assert_eq!(vault.fingers("ana").unwrap(), [Finger::RightIndex]);
        let gone = verify(&mut store, &vault, "ana", &b5, None, None).unwrap();
        assert_eq!(gone.user, None, "score {}", gone.score);
        // The consent is in the audit log with the fingers it covers.
        let conn = rusqlite::Connection::open(crate::paths::database_in(store.data_dir())).unwrap();
        let detail: String = conn
            .query_row(
                "SELECT detail FROM audit_log WHERE action = 'biometrics.enrolled' ORDER BY seq DESC",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
        assert_eq!(detail["consent"]["person"], "ana");
        assert_eq!(
            detail["consent"]["fingers"],
            json!(["right-index", "left-index"])
        );
    }

    #[test]
    fn a_finger_already_known_is_not_enrolled_again() {
        if fvc("101_1.tif").is_none() {
            return;
        }
        let (_dir, mut store, vault) = station();
        enrol(&mut store, &vault, "ana", Finger::RightIndex, 101).unwrap();
        // The same finger again under another name: she would have one finger, not two.
        let err = enrol(&mut store, &vault, "ana", Finger::LeftIndex, 101).unwrap_err();
        assert!(
            err.to_string()
                .contains("já está cadastrado como indicador direito"),
            "{err}"
        );
        // Her finger as someone else's: one person, two logins.
        let err = enrol(&mut store, &vault, "bruno", Finger::RightIndex, 101).unwrap_err();
        assert!(err.to_string().contains("outra pessoa (ana)"), "{err}");
        assert_eq!(vault.users().unwrap(), ["ana"]);
        // Consent is the enrolled person's own.
        let mut e = Enrolment::new("carla", Finger::RightThumb);
        for i in 1..=3 {
            e.add(&fvc(&format!("103_{i}.tif")).unwrap()).unwrap();
        }
        assert!(
            e.finish(&mut store, &vault, "admin", &consent("admin"), None)
                .is_err()
        );
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
        let (_dir, mut store, vault) = station();

        let mut e = Enrolment::new("ana", Finger::RightIndex);
        for img in [&a1, &a2, &a3] {
            e.add(img).unwrap();
        }
        assert!(e.complete());
        e.finish(&mut store, &vault, "admin", &consent("ana"), None)
            .unwrap();

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
        let (_dir, mut store, vault) = station();
        let mut e = Enrolment::new("bia", Finger::RightIndex);
        for img in [&a, &b, &c] {
            e.add(img).unwrap();
        }
        assert_eq!(
            e.finish(&mut store, &vault, "admin", &consent("bia"), None),
            Err(BiometricError::Disagreement)
        );
        assert!(vault.users().unwrap().is_empty());
    }

    #[test]
    fn a_latent_capture_does_not_count() {
        let Some(a) = fvc("101_1.tif") else { return };
        let mut e = Enrolment::new("caio", Finger::RightIndex);
        e.add(&a).unwrap();
        assert!(matches!(e.add(&a), Err(BiometricError::Rejected(_))));
        assert_eq!(e.accepted(), 1);
    }
}
