//! Logging in (§11, 2o): password for operators and technicians, fingerprint for inspectors,
//! and the fingerprint re-check before the signature (§14).

use std::time::{Duration, SystemTime};

use vistoria_core::accounts::{self, LoginError, Role};
use vistoria_core::biometrics::{GrayImage, enrolment};
use vistoria_drivers::fingerprint::{capture_touch, section16};

use super::{Failure, Session, Station, lock};

/// How long the reader waits for a finger.
const TOUCH_TIMEOUT: Duration = Duration::from_secs(15);

impl Station {
    /// Password login; the error never says whether the user or the password was wrong.
    pub fn login_with_password(&self, login: &str, password: &str) -> Result<Session, Failure> {
        let at = self.0.clock.now().ok();
        // §15 c: the central's lock-out, read before the store's lock is taken.
        let lock_policy = self.lock_policy();
        let mut core = self.core();
        let core = &mut *core;
        core.guard.set_policy(lock_policy);
        let account = accounts::login_with_password(
            &mut core.store,
            &mut core.guard,
            login,
            password,
            SystemTime::now(),
            at,
        )
        .map_err(Failure::from)?;
        self.session_started(&account.login);
        Ok(Session {
            login: account.login,
            name: account.name,
            role: account.role,
            cpf: account.cpf,
        })
    }

    /// One touch on the reader, as the matcher's image.
    pub(crate) fn touch(&self) -> Result<GrayImage, Failure> {
        let mut reader = lock(&self.0.reader);
        let image = capture_touch(reader.as_mut(), TOUCH_TIMEOUT).map_err(Failure::from)?;
        drop(reader);
        // §16 a–c on every image: a reader that gives less is out of service until it does not.
        let verdict = section16::check(&image);
        *lock(&self.0.reader_fault) = verdict.as_ref().err().cloned();
        if let Err(reason) = verdict {
            tracing::warn!(%reason, "fingerprint reader outside §16");
            return Err(Failure::device(format!(
                "leitor biométrico fora das exigências da Portaria: {reason}; chame o técnico"
            )));
        }
        Ok(GrayImage {
            width: image.width,
            height: image.height,
            pixels: image.pixels,
        })
    }

    /// Fingerprint login of an inspector: 1:1 against `login` when given, else 1:N.
    pub fn login_with_fingerprint(&self, login: Option<&str>) -> Result<Session, Failure> {
        let login = login
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty());
        let key = login.clone().unwrap_or_else(|| "biometria".to_owned());
        let now = SystemTime::now();
        let lock_policy = self.lock_policy();
        {
            let mut core = lock(&self.0.core);
            core.guard.set_policy(lock_policy);
            core.guard.check(&key, now).map_err(Failure::from)?;
        }
        let image = self.touch()?;
        let at = self.0.clock.now().ok();
        let mut core = self.core();
        let core = &mut *core;
        let outcome = match &login {
            Some(user) => enrolment::verify(
                &mut core.store,
                &core.vault,
                user,
                &image,
                core.last_finger.as_ref(),
                at,
            ),
            None => enrolment::identify(
                &mut core.store,
                &core.vault,
                &image,
                core.last_finger.as_ref(),
                at,
            ),
        };
        core.last_finger = Some(image);
        let outcome = match outcome {
            Ok(o) => o,
            // A capture of bad quality is not a failed attempt: the inspector just tries again.
            Err(e @ vistoria_core::biometrics::BiometricError::Rejected(_)) => {
                return Err(Failure::device(format!("{e}; coloque o dedo de novo")));
            }
            // An unknown user has no templates: same answer as a wrong finger.
            Err(_) => enrolment::LoginOutcome {
                user: None,
                score: 0.0,
            },
        };
        let account = outcome
            .user
            .and_then(|u| core.store.account(&u).ok().flatten())
            .filter(|a| a.active && a.role == Role::Inspector);
        let result = match account {
            Some(a) => {
                core.guard.succeed(&key);
                self.session_started(&a.login);
                Ok(Session {
                    login: a.login,
                    name: a.name,
                    role: a.role,
                    cpf: a.cpf,
                })
            }
            None => Err(Failure::from(match core.guard.fail(&key, now) {
                Some(lock) => LoginError::Locked(lock),
                None => LoginError::Invalid,
            })),
        };
        // Kept in the store so the lock-out survives a restart.
        core.guard
            .save(&mut core.store)
            .map_err(|e| Failure::from(LoginError::Store(e.to_string())))?;
        result
    }

    /// The §14 biometric re-check of the logged-in inspector right before signing inspection
    /// `id`: the station takes the finger from its own reader and core matches it and keeps the
    /// passed check for the signature (the laudo carries its score, threshold, finger, time).
    pub fn confirm_fingerprint(
        &self,
        session: &Session,
        id: vistoria_core::domain::InspectionId,
    ) -> Result<vistoria_core::biometrics::BiometricCheck, Failure> {
        self.require(session, crate::roles::INSPECTING)?;
        let image = self.touch()?;
        let now = self.now()?;
        let mut core = self.core();
        let core = &mut *core;
        let inspection = core.inspection(id)?;
        let check = vistoria_core::workflow::signature::confirm_fingerprint(
            &mut core.store,
            &core.vault,
            &inspection,
            &session.login,
            &image,
            core.last_finger.as_ref(),
            now,
        );
        core.last_finger = Some(image);
        check.map_err(Failure::from)
    }

    /// One touch on the reader shown as an image (diagnostics' live view of the reader).
    pub fn reader_sample(&self) -> Result<super::Thumbnail, Failure> {
        let image = self.touch()?;
        let gray =
            image::GrayImage::from_raw(image.width as u32, image.height as u32, image.pixels)
                .ok_or_else(|| Failure::device("imagem do leitor com tamanho inconsistente"))?;
        let rgb = image::DynamicImage::ImageLuma8(gray).to_rgb8();
        Ok(super::Thumbnail::of(&rgb, 320))
    }

    /// Logins of the active inspectors (the fingerprint login offers them).
    pub fn inspectors(&self) -> Result<Vec<(String, String)>, Failure> {
        Ok(self
            .core()
            .store
            .accounts()
            .map_err(Failure::from)?
            .into_iter()
            .filter(|a| a.active && a.role == Role::Inspector)
            .map(|a| (a.login, a.name))
            .collect())
    }
}
