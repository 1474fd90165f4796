//! Staff administration (§11, item 2o; issue 19): who may work at the station, in which role,
//! with which password or fingers. The kiosk's Administração screen and the `vistoria staff`
//! command do the same things through these functions, and the permission is checked here,
//! not by which screen is shown: only an administrator, or the machine's shell (whoever can
//! read the station's data and key is already its owner), changes staff.
//!
//! The first administrator of a new station is made with a one-time code that only the shell
//! can obtain (`vistoria staff bootstrap`): the kiosk offers nobody else a way in. The code is
//! kept as an Argon2id hash, lasts [`SETUP_CODE_LIFE`], and dies after [`SETUP_CODE_TRIES`]
//! wrong tries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use thiserror::Error;

use crate::accounts::{self, Account, AccountError, Role};
use crate::biometrics::enrolment::{self, Consent, Enrolment, FINGERS_PER_INSPECTOR};
use crate::biometrics::vault::Vault;
use crate::biometrics::{BiometricError, Finger};
use crate::clock::CentralStamp;
use crate::store::{AuditAction, AuditEvent, Store, StoreError};

/// How long a setup code is good for.
pub const SETUP_CODE_LIFE: Duration = Duration::from_secs(24 * 3600);
/// Wrong tries that end a setup code.
pub const SETUP_CODE_TRIES: u32 = 5;
/// Letters of a setup code: no 0/O, 1/I/L, so it is read off a terminal without doubt.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Letters in a setup code (≈ 59 bits).
const CODE_LENGTH: usize = 12;

/// Who is changing staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A person logged in at the kiosk, as their stored account says.
    Person {
        /// Their login.
        login: String,
        /// Their role.
        role: Role,
    },
    /// The machine's shell (`vistoria staff …`), named by its Unix user.
    Shell {
        /// The Unix user.
        user: String,
    },
}

impl Actor {
    /// The name written in the audit log.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::Person { login, .. } => login.clone(),
            Actor::Shell { user } => format!("shell:{user}"),
        }
    }
}

/// Why a staff change was refused. Messages are for the person at the screen or shell.
#[derive(Debug, Error)]
pub enum StaffError {
    /// Not an administrator.
    #[error("somente um administrador pode alterar o cadastro de pessoas")]
    Forbidden,
    /// No such login.
    #[error("usuário «{0}» não cadastrado")]
    Unknown(String),
    /// The login is taken.
    #[error("o usuário «{0}» já existe")]
    Exists(String),
    /// The CPF already has an account.
    #[error("este CPF já está cadastrado para o usuário «{0}»")]
    CpfTaken(String),
    /// Fingers are for inspectors only.
    #[error("somente vistoriadores cadastram digitais; «{0}» entra com senha")]
    NotInspector(String),
    /// Inspectors have no password (2o).
    #[error("vistoriadores entram somente pela digital; «{0}» não tem senha")]
    NoPassword(String),
    /// The account is deactivated.
    #[error("o usuário «{0}» está desativado; reative-o antes")]
    Inactive(String),
    /// The station would be left without an administrator.
    #[error("a estação ficaria sem administrador ativo; cadastre ou reative outro antes")]
    LastAdministrator,
    /// The first-administrator setup refused.
    #[error("{0}")]
    Setup(String),
    /// The account's data.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The fingerprint.
    #[error(transparent)]
    Biometric(#[from] BiometricError),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A person to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    /// Login, 3 to 32 lower-case letters, digits, dot or hyphen.
    pub login: String,
    /// Full name.
    pub name: String,
    /// CPF with its check digits.
    pub cpf: String,
    /// Role.
    pub role: Role,
    /// Password (not for inspectors).
    pub password: Option<String>,
}

/// One person as the lists show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    /// Login.
    pub login: String,
    /// Full name.
    pub name: String,
    /// Role code (`operator`, `inspector`, `technician`, `administrator`).
    pub role: Role,
    /// CPF, digits only.
    pub cpf: String,
    /// Whether they may log in.
    pub active: bool,
    /// Enrolled fingers, in position order (inspectors).
    pub fingers: Vec<Finger>,
}

impl StaffMember {
    /// Whether an inspector still has fingers to enrol (fewer than two).
    pub fn needs_fingers(&self) -> bool {
        self.role == Role::Inspector && self.fingers.len() < FINGERS_PER_INSPECTOR
    }
}

/// The permission every change needs, checked against the stored account (a role changed or
/// an account deactivated since the login counts at once).
fn require_administrator(store: &Store, actor: &Actor) -> Result<(), StaffError> {
    match actor {
        Actor::Shell { .. } => Ok(()),
        Actor::Person { login, .. } => match store.account(login)? {
            Some(a) if a.active && a.role == Role::Administrator => Ok(()),
            _ => Err(StaffError::Forbidden),
        },
    }
}

fn existing(store: &Store, login: &str) -> Result<Account, StaffError> {
    let login = login.trim().to_lowercase();
    store
        .account(&login)?
        .ok_or_else(|| StaffError::Unknown(login.clone()))
}

/// Everyone, by login, with their enrolled fingers.
pub fn list(store: &Store, vault: &Vault) -> Result<Vec<StaffMember>, StaffError> {
    store
        .accounts()?
        .into_iter()
        .map(|a| {
            let fingers = if a.role == Role::Inspector {
                vault.fingers(&a.login)?
            } else {
                Vec::new()
            };
            Ok(StaffMember {
                login: a.login,
                name: a.name,
                role: a.role,
                cpf: a.cpf,
                active: a.active,
                fingers,
            })
        })
        .collect()
}

/// Adds a person (checked: login, name, CPF digits, password strength; unique login and CPF).
pub fn add(
    store: &mut Store,
    actor: &Actor,
    person: &NewPerson,
    at: Option<CentralStamp>,
) -> Result<Account, StaffError> {
    require_administrator(store, actor)?;
    create(store, &actor.audit_name(), person, at)
}

fn create(
    store: &mut Store,
    actor: &str,
    person: &NewPerson,
    at: Option<CentralStamp>,
) -> Result<Account, StaffError> {
    if person.role.uses_fingerprint() && person.password.is_some() {
        return Err(StaffError::NoPassword(person.login.clone()));
    }
    let account = Account::new(
        &person.login,
        &person.name,
        person.role,
        &person.cpf,
        person.password.as_deref(),
    )?;
    let accounts = store.accounts()?;
    if accounts.iter().any(|a| a.login == account.login) {
        return Err(StaffError::Exists(account.login));
    }
    if let Some(other) = accounts.iter().find(|a| a.cpf == account.cpf) {
        return Err(StaffError::CpfTaken(other.login.clone()));
    }
    accounts::save(store, &account, actor, at)?;
    Ok(account)
}

/// Deactivates (`active == false`) or reactivates a person. Their history stays; a
/// deactivated person's login stops at once (every login and every station action reads the
/// stored account). The last active administrator cannot be deactivated.
pub fn set_active(
    store: &mut Store,
    actor: &Actor,
    login: &str,
    active: bool,
    at: Option<CentralStamp>,
) -> Result<Account, StaffError> {
    require_administrator(store, actor)?;
    let mut account = existing(store, login)?;
    if account.active == active {
        return Ok(account);
    }
    if !active && account.role == Role::Administrator {
        let others = store
            .accounts()?
            .into_iter()
            .filter(|a| a.active && a.role == Role::Administrator && a.login != account.login)
            .count();
        if others == 0 {
            return Err(StaffError::LastAdministrator);
        }
    }
    account.active = active;
    let action = if active {
        AuditAction::AccountReactivated
    } else {
        AuditAction::AccountDeactivated
    };
    store.save_account(
        &account,
        AuditEvent::new(at, &actor.audit_name(), action)
            .detail(json!({"login": account.login, "role": account.role.code()})),
    )?;
    Ok(account)
}

/// Replaces the password of a password account.
pub fn reset_password(
    store: &mut Store,
    actor: &Actor,
    login: &str,
    password: &str,
    at: Option<CentralStamp>,
) -> Result<(), StaffError> {
    require_administrator(store, actor)?;
    let mut account = existing(store, login)?;
    if account.role.uses_fingerprint() {
        return Err(StaffError::NoPassword(account.login));
    }
    account.password_hash = Some(accounts::hash_password(password)?);
    store.save_account(
        &account,
        AuditEvent::new(at, &actor.audit_name(), AuditAction::AccountPasswordReset)
            .detail(json!({"login": account.login})),
    )?;
    Ok(())
}

/// Starts enrolling `finger` of the inspector `login` (checks the permission and the person).
pub fn start_enrolment(
    store: &Store,
    actor: &Actor,
    login: &str,
    finger: Finger,
) -> Result<Enrolment, StaffError> {
    require_administrator(store, actor)?;
    let account = existing(store, login)?;
    if account.role != Role::Inspector {
        return Err(StaffError::NotInspector(account.login));
    }
    if !account.active {
        return Err(StaffError::Inactive(account.login));
    }
    Ok(Enrolment::new(&account.login, finger))
}

/// Keeps a complete enrolment (see [`Enrolment::finish`]); the consent is the inspector's.
pub fn finish_enrolment(
    store: &mut Store,
    vault: &Vault,
    actor: &Actor,
    enrolment: Enrolment,
    consent: &Consent,
    at: Option<CentralStamp>,
) -> Result<(), StaffError> {
    require_administrator(store, actor)?;
    enrolment.finish(store, vault, &actor.audit_name(), consent, at)?;
    Ok(())
}

/// Removes one finger of an inspector; `false` if it was not enrolled.
pub fn remove_finger(
    store: &mut Store,
    vault: &Vault,
    actor: &Actor,
    login: &str,
    finger: Finger,
    at: Option<CentralStamp>,
) -> Result<bool, StaffError> {
    require_administrator(store, actor)?;
    let account = existing(store, login)?;
    Ok(enrolment::remove_finger(
        store,
        vault,
        &account.login,
        finger,
        &actor.audit_name(),
        at,
    )?)
}

/// Whether the station has no active administrator: the kiosk then shows only the setup.
pub fn needs_setup(store: &Store) -> Result<bool, StaffError> {
    Ok(!store
        .accounts()?
        .iter()
        .any(|a| a.active && a.role == Role::Administrator))
}

/// The pending setup code, as kept in [`SETUP_FILE`].
#[derive(Debug, Serialize, Deserialize)]
struct PendingCode {
    /// Argon2id of the code.
    hash: String,
    /// Unix seconds after which it is refused.
    expires: u64,
    /// Who issued it (`shell:<user>`) and when (Unix seconds): audited when it is used.
    issued_by: String,
    issued_at: u64,
    /// Wrong tries so far.
    failures: u32,
}

/// The file the code is kept in, in the data directory. A file, not the store: the kiosk
/// holds the store's lock while it shows the setup screen, and `bootstrap` runs beside it.
pub const SETUP_FILE: &str = "setup-code.json";

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn io(path: &std::path::Path, e: std::io::Error) -> StaffError {
    StaffError::Store(StoreError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

fn write_pending(data_dir: &std::path::Path, pending: &PendingCode) -> Result<(), StaffError> {
    let text = serde_json::to_vec(pending).map_err(|e| StoreError::Decode(e.to_string()))?;
    let path = data_dir.join(SETUP_FILE);
    let tmp = data_dir.join(format!("{SETUP_FILE}.tmp"));
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io(&tmp, e))?;
        f.write_all(&text).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
    }
    // Run as root, the file must still be the service user's, who owns the data directory
    // (only root can give it away; anyone else is refused by the system, and says so).
    use std::os::unix::fs::MetadataExt;
    let dir = std::fs::metadata(data_dir).map_err(|e| io(data_dir, e))?;
    let file = std::fs::metadata(&tmp).map_err(|e| io(&tmp, e))?;
    if (file.uid(), file.gid()) != (dir.uid(), dir.gid()) {
        std::os::unix::fs::chown(&tmp, Some(dir.uid()), Some(dir.gid())).map_err(|e| {
            StaffError::Setup(format!(
                "não foi possível entregar {} ao usuário do serviço ({e}); execute como root",
                tmp.display()
            ))
        })?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
}

/// Issues the one-time code for the first administrator (`vistoria staff bootstrap`, at the
/// shell, beside a running kiosk). A new code replaces an earlier one. Refused once an active
/// administrator exists: from then on administrators add administrators. The issue is
/// audited when the code is used or refused (the kiosk owns the audit log meanwhile).
pub fn issue_setup_code(
    data_dir: &std::path::Path,
    shell_user: &str,
    now: SystemTime,
) -> Result<String, StaffError> {
    if !data_dir.is_dir() {
        return Err(StaffError::Setup(format!(
            "a pasta de dados {} não existe: instale o pacote vistoria ou indique --data",
            data_dir.display()
        )));
    }
    let accounts = crate::store::accounts_at(data_dir)?;
    if accounts
        .iter()
        .any(|a| a.active && a.role == Role::Administrator)
    {
        return Err(StaffError::Setup(
            "esta estação já tem administrador; ele cadastra os demais em Administração".into(),
        ));
    }
    let mut rng = rand::rng();
    let code: String = (0..CODE_LENGTH)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect();
    write_pending(
        data_dir,
        &PendingCode {
            hash: accounts::hash_password(&code)?,
            expires: unix(now) + SETUP_CODE_LIFE.as_secs(),
            issued_by: format!("shell:{shell_user}"),
            issued_at: unix(now),
            failures: 0,
        },
    )?;
    Ok(format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..]))
}

/// Creates the first administrator with the setup code; the code is spent. Wrong, expired or
/// used-up codes are refused and audited.
pub fn redeem_setup_code(
    store: &mut Store,
    code: &str,
    person: &NewPerson,
    now: SystemTime,
    at: Option<CentralStamp>,
) -> Result<Account, StaffError> {
    let refuse = |store: &mut Store, why: &str| -> Result<Account, StaffError> {
        store.audit(
            AuditEvent::new(at, "setup", AuditAction::SetupCodeRefused)
                .detail(json!({"reason": why})),
        )?;
        Err(StaffError::Setup(why.to_owned()))
    };
    if !needs_setup(store)? {
        return refuse(store, "esta estação já tem administrador");
    }
    if person.role != Role::Administrator {
        return Err(StaffError::Setup(
            "o primeiro cadastro é o do administrador".into(),
        ));
    }
    let data_dir = store.data_dir().to_path_buf();
    let path = data_dir.join(SETUP_FILE);
    let pending: Option<PendingCode> = std::fs::read(&path)
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok());
    let Some(mut pending) = pending else {
        return refuse(
            store,
            "nenhum código de instalação pendente: gere um com «sudo vistoria staff bootstrap»",
        );
    };
    if unix(now) > pending.expires || pending.failures >= SETUP_CODE_TRIES {
        return refuse(
            store,
            "código de instalação vencido: gere outro com «sudo vistoria staff bootstrap»",
        );
    }
    let typed: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !accounts::verify_password(&pending.hash, &typed) {
        pending.failures += 1;
        write_pending(&data_dir, &pending)?;
        let left = SETUP_CODE_TRIES.saturating_sub(pending.failures);
        return refuse(
            store,
            &format!("código de instalação incorreto ({left} tentativas restantes)"),
        );
    }
    // The person is checked before the code is spent: a typo in the CPF costs nothing.
    let account = create(store, "setup", person, at)?;
    std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
    store.audit(
        AuditEvent::new(at, &account.login, AuditAction::SetupCodeRedeemed).detail(json!({
            "login": account.login,
            "issued_by": pending.issued_by,
            "issued_at": pending.issued_at,
        })),
    )?;
    Ok(account)
}

#[cfg(test)]
#[path = "staff_tests.rs"]
mod tests;
