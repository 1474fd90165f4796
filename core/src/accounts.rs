//! The station's staff and how they prove who they are (§11, 2o): operators and technicians
//! log in with user and password, inspectors with their fingerprint (see
//! [`crate::biometrics::enrolment`]). Passwords are kept as Argon2id hashes. Repeated failures
//! lock the login for a while, and the whole kiosk after many failures across logins, so
//! guessing is slow; every attempt is in the audit log.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::rand_core::OsRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use thiserror::Error;

use crate::clock::CentralStamp;
use crate::signing::certificate::cpf_is_valid;
use crate::store::{AuditEvent, Store, StoreError};

/// What a person does at the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Opens inspections at the counter.
    Operator,
    /// Photographs, fills the checklist and signs the laudo.
    Inspector,
    /// Diagnostics, device tests, help-desk tickets.
    Technician,
    /// Enrols staff, station settings.
    Administrator,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Operator,
        Role::Inspector,
        Role::Technician,
        Role::Administrator,
    ];

    /// Stored name.
    pub fn code(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Inspector => "inspector",
            Role::Technician => "technician",
            Role::Administrator => "administrator",
        }
    }

    /// Name shown to people.
    pub fn label_pt(self) -> &'static str {
        match self {
            Role::Operator => "Operador",
            Role::Inspector => "Vistoriador",
            Role::Technician => "Técnico",
            Role::Administrator => "Administrador",
        }
    }

    /// The role of a stored name.
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Inspectors log in by fingerprint (2o); the others by password.
    pub fn uses_fingerprint(self) -> bool {
        self == Role::Inspector
    }
}

/// One person who may log in at this station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name, lower case.
    pub login: String,
    /// Full name (printed on the laudo for inspectors).
    pub name: String,
    /// What they do.
    pub role: Role,
    /// CPF, 11 digits (an inspector's must match the e-CPF's, §14).
    pub cpf: String,
    /// Argon2id PHC string; `None` for fingerprint-only accounts.
    pub password_hash: Option<String>,
    /// Disabled accounts cannot log in.
    pub active: bool,
}

/// What the station registers at the central (§11, `PUT /stations/self/inspectors`): every
/// active inspector with a valid CPF; the central accepts laudos signed by these CPFs only.
pub fn inspector_list(accounts: &[Account]) -> crate::wire::InspectorList {
    crate::wire::InspectorList {
        inspectors: accounts
            .iter()
            .filter(|a| a.active && a.role == Role::Inspector && cpf_is_valid(&a.cpf))
            .map(|a| crate::wire::StationInspector {
                cpf: a.cpf.clone(),
                name: a.name.clone(),
            })
            .collect(),
    }
}

/// Why an account could not be created.
#[derive(Debug, Error)]
pub enum AccountError {
    /// Bad login name.
    #[error("usuário inválido: use de 3 a 32 letras minúsculas, dígitos, ponto ou hífen")]
    Login,
    /// Empty name.
    #[error("informe o nome completo")]
    Name,
    /// CPF with a wrong check digit.
    #[error("CPF inválido")]
    Cpf,
    /// Password too short.
    #[error("a senha deve ter ao menos 8 caracteres")]
    WeakPassword,
    /// Password-based roles need one.
    #[error("operadores, técnicos e administradores precisam de senha")]
    NoPassword,
    /// Hashing failed.
    #[error("falha ao proteger a senha: {0}")]
    Hash(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Account {
    /// A new account, checked; the password (if any) is hashed here.
    pub fn new(
        login: &str,
        name: &str,
        role: Role,
        cpf: &str,
        password: Option<&str>,
    ) -> Result<Account, AccountError> {
        let login = login.trim().to_lowercase();
        let valid_login = (3..=32).contains(&login.len())
            && login
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if !valid_login {
            return Err(AccountError::Login);
        }
        if name.trim().is_empty() {
            return Err(AccountError::Name);
        }
        let cpf: String = cpf.chars().filter(char::is_ascii_digit).collect();
        if !cpf_is_valid(&cpf) {
            return Err(AccountError::Cpf);
        }
        let password_hash = match password {
            Some(p) => Some(hash_password(p)?),
            None if role.uses_fingerprint() => None,
            None => return Err(AccountError::NoPassword),
        };
        Ok(Account {
            login,
            name: name.trim().to_owned(),
            role,
            cpf,
            password_hash,
            active: true,
        })
    }

    /// Whether `password` is this account's.
    fn password_matches(&self, password: &str) -> bool {
        let Some(stored) = &self.password_hash else {
            return false;
        };
        PasswordHash::new(stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }
}

/// Argon2id with the crate's recommended parameters and a random salt.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    if password.chars().count() < 8 {
        return Err(AccountError::WeakPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Creates or replaces an account, with an audit row.
pub fn save(
    store: &mut Store,
    account: &Account,
    actor: &str,
    at: Option<CentralStamp>,
) -> Result<(), AccountError> {
    store.save_account(
        account,
        AuditEvent::new(at, actor, "account.saved").detail(json!({
            "login": account.login,
            "role": account.role.code(),
            "active": account.active,
        })),
    )?;
    Ok(())
}

/// Failures on one login before it locks.
pub const MAX_FAILURES: u32 = 5;
/// Failures on the whole kiosk, across logins, before it locks.
pub const MAX_STATION_FAILURES: u32 = 15;
/// How long a lock lasts.
pub const LOCK_TIME: Duration = Duration::from_secs(5 * 60);
/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Key of the kiosk-wide counter.
const STATION: &str = "*";

/// Why a login was refused. The text never says which part was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoginError {
    /// Unknown user, wrong password, wrong fingerprint or inactive account.
    #[error("usuário ou credencial incorretos")]
    Invalid,
    /// Too many failures.
    #[error("muitas tentativas sem sucesso: aguarde {} min e tente de novo", .0.as_secs().div_ceil(60))]
    Locked(Duration),
    /// Storage failed.
    #[error("falha ao consultar os usuários: {0}")]
    Store(String),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    locked_until: Option<Instant>,
}

/// Counts failures per login and kiosk-wide, with time given by the caller (testable).
#[derive(Debug, Default)]
pub struct LoginGuard {
    failures: HashMap<String, Failures>,
}

impl LoginGuard {
    /// A guard with no failures.
    pub fn new() -> LoginGuard {
        LoginGuard::default()
    }

    /// `Err(Locked)` while `login` or the kiosk is locked.
    pub fn check(&mut self, login: &str, now: Instant) -> Result<(), LoginError> {
        for key in [login, STATION] {
            if let Some(f) = self.failures.get(key)
                && let Some(until) = f.locked_until
            {
                if now < until {
                    return Err(LoginError::Locked(until - now));
                }
                self.failures.remove(key);
            }
        }
        Ok(())
    }

    /// Records a failure; returns the lock it caused, if any.
    pub fn fail(&mut self, login: &str, now: Instant) -> Option<Duration> {
        let mut locked = None;
        for (key, max) in [(login, MAX_FAILURES), (STATION, MAX_STATION_FAILURES)] {
            let entry = self.failures.entry(key.to_owned()).or_insert(Failures {
                count: 0,
                first: now,
                locked_until: None,
            });
            if now.duration_since(entry.first) > WINDOW {
                *entry = Failures {
                    count: 0,
                    first: now,
                    locked_until: None,
                };
            }
            entry.count += 1;
            if entry.count >= max {
                entry.locked_until = Some(now + LOCK_TIME);
                locked = Some(LOCK_TIME);
            }
        }
        locked
    }

    /// Forgets the failures of `login` after it succeeded.
    pub fn succeed(&mut self, login: &str) {
        self.failures.remove(login);
    }
}

/// Password login (operators, technicians, administrators), audited either way.
pub fn login_with_password(
    store: &mut Store,
    guard: &mut LoginGuard,
    login: &str,
    password: &str,
    now: Instant,
    at: Option<CentralStamp>,
) -> Result<Account, LoginError> {
    let login = login.trim().to_lowercase();
    guard.check(&login, now)?;
    let account = store
        .account(&login)
        .map_err(|e| LoginError::Store(e.to_string()))?;
    let accepted =
        account.filter(|a| a.active && !a.role.uses_fingerprint() && a.password_matches(password));
    let (action, result) = match accepted {
        Some(a) => {
            guard.succeed(&login);
            ("account.login", Ok(a))
        }
        None => (
            "account.login_failed",
            Err(match guard.fail(&login, now) {
                Some(lock) => LoginError::Locked(lock),
                None => LoginError::Invalid,
            }),
        ),
    };
    store
        .audit(AuditEvent::new(at, &login, action).detail(json!({ "method": "password" })))
        .map_err(|e| LoginError::Store(e.to_string()))?;
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CPF: &str = "52998224725";

    #[test]
    fn accounts_are_checked_and_passwords_hashed() {
        assert!(matches!(
            Account::new("A B", "x", Role::Operator, CPF, Some("segredo123")),
            Err(AccountError::Login)
        ));
        assert!(matches!(
            Account::new(
                "ana",
                "Ana",
                Role::Operator,
                "12345678900",
                Some("segredo123")
            ),
            Err(AccountError::Cpf)
        ));
        assert!(matches!(
            Account::new("ana", "Ana", Role::Operator, CPF, Some("curta")),
            Err(AccountError::WeakPassword)
        ));
        assert!(matches!(
            Account::new("ana", "Ana", Role::Technician, CPF, None),
            Err(AccountError::NoPassword)
        ));
        let a = Account::new("Ana.Souza", "Ana", Role::Operator, CPF, Some("segredo123")).unwrap();
        assert_eq!(a.login, "ana.souza");
        let hash = a.password_hash.clone().unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("segredo123"));
        assert!(a.password_matches("segredo123"));
        assert!(!a.password_matches("segredo124"));
        let inspector = Account::new("vist", "V", Role::Inspector, CPF, None).unwrap();
        assert!(!inspector.password_matches(""));
    }

    #[test]
    fn repeated_failures_lock_the_login_then_the_kiosk() {
        let t0 = Instant::now();
        let mut g = LoginGuard::new();
        for _ in 0..MAX_FAILURES - 1 {
            assert_eq!(g.fail("ana", t0), None);
        }
        assert!(g.check("ana", t0).is_ok());
        assert_eq!(g.fail("ana", t0), Some(LOCK_TIME));
        assert!(matches!(g.check("ana", t0), Err(LoginError::Locked(_))));
        // Another login is not locked by ana's failures…
        assert!(g.check("bia", t0).is_ok());
        // …and the lock ends.
        assert!(g.check("ana", t0 + LOCK_TIME).is_ok());
        // Many failures across logins lock the whole kiosk.
        let mut g = LoginGuard::new();
        for i in 0..MAX_STATION_FAILURES {
            g.fail(&format!("user{i}"), t0);
        }
        assert!(matches!(g.check("nobody", t0), Err(LoginError::Locked(_))));
        // Failures spread over more than the window do not add up.
        let mut g = LoginGuard::new();
        for i in 0..MAX_FAILURES * 2 {
            assert_eq!(
                g.fail("ana", t0 + WINDOW * i + Duration::from_secs(i.into())),
                None
            );
        }
    }

    #[test]
    fn password_login_is_audited_and_does_not_say_what_was_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let op = Account::new("ana", "Ana", Role::Operator, CPF, Some("segredo123")).unwrap();
        save(&mut store, &op, "admin", None).unwrap();
        let insp = Account::new("vist", "Vist", Role::Inspector, CPF, None).unwrap();
        save(&mut store, &insp, "admin", None).unwrap();
        let mut g = LoginGuard::new();
        let t = Instant::now();
        let ok = login_with_password(&mut store, &mut g, " ANA ", "segredo123", t, None).unwrap();
        assert_eq!(ok.name, "Ana");
        let wrong_pw = login_with_password(&mut store, &mut g, "ana", "errada123", t, None);
        let no_user = login_with_password(&mut store, &mut g, "zeca", "segredo123", t, None);
        let inspector = login_with_password(&mut store, &mut g, "vist", "", t, None);
        assert_eq!(wrong_pw, Err(LoginError::Invalid));
        assert_eq!(no_user, wrong_pw);
        assert_eq!(inspector, wrong_pw);
        let mut disabled = op.clone();
        disabled.active = false;
        save(&mut store, &disabled, "admin", None).unwrap();
        assert_eq!(
            login_with_password(&mut store, &mut g, "ana", "segredo123", t, None),
            Err(LoginError::Invalid)
        );
        let report = store.verify_audit().unwrap();
        assert!(report.problem.is_none());
        assert_eq!(store.accounts().unwrap().len(), 2);
    }
}
