//! `user add`, `user list`, `user revoke`: the credentials of people (Detran auditors,
//! administrators) for the Detran API. Like a station's, a person's token is 32 random bytes
//! shown once; only its SHA-256 is stored. A revocation holds at the next request on every
//! instance: people's tokens are looked up in the store each time, never cached
//! (`api::detran`).
//!
//! `user password` gives a person a password for the web portal (issue 22): Argon2id, typed
//! twice or read from an environment variable, never a command-line argument (it would show in
//! `ps` and the shell's history).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;

use crate::api::token_hash;
use crate::storage::directory::{Role, UserRecord};
use crate::storage::portal::{PortalAccount, PortalRole};
use crate::storage::{MetadataStore, StorageError};

/// Longest user name.
const MAX_NAME: usize = 64;

/// Whether `name` is 1–64 letters, digits, `.`, `_`, `-` or `@` (an e-mail address fits).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

/// Creates a credential and returns its token (shown once, never stored).
pub fn add(meta: &dyn MetadataStore, name: &str, role: Role) -> anyhow::Result<String> {
    if !valid_name(name) {
        anyhow::bail!(
            "nome de usuário «{name}» inválido; use de 1 a {MAX_NAME} letras, dígitos, «.», «_», \
             «-» ou «@» (ex.: auditor.silva@detran.mt.gov.br)"
        );
    }
    let secret: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(secret);
    match meta.add_user(name, role, &token_hash(&token), Utc::now()) {
        Ok(()) => Ok(token),
        Err(StorageError::AlreadyExists(_)) => anyhow::bail!(
            "já existe um usuário «{name}» (talvez revogado: nomes não são reutilizados, para que \
             o registro de acessos continue inequívoco); escolha outro nome"
        ),
        Err(e) => Err(e.into()),
    }
}

/// Every credential, revoked ones included.
pub fn list(meta: &dyn MetadataStore) -> anyhow::Result<Vec<UserRecord>> {
    Ok(meta.users()?)
}

/// Revokes a credential at once, and disables the person's portal password (their sessions
/// end): one command stops every way in.
pub fn revoke(meta: &dyn MetadataStore, name: &str) -> anyhow::Result<()> {
    let now = Utc::now();
    let token = meta.revoke_user(name, now)?;
    let portal = meta.disable_portal_account(name, now)?;
    if !token && !portal {
        anyhow::bail!("usuário «{name}» não cadastrado; veja `vistoria-central user list`");
    }
    Ok(())
}

/// Gives a person a portal password (issue 22) with `role`, creating the portal account or
/// replacing its password and role (the account's open sessions end, its lock-out is lifted).
/// A manager's station must be registered.
pub fn set_password(
    meta: &dyn MetadataStore,
    name: &str,
    role: &PortalRole,
    password: &str,
) -> anyhow::Result<()> {
    if !valid_name(name) {
        anyhow::bail!(
            "nome de usuário «{name}» inválido; use de 1 a {MAX_NAME} letras, dígitos, «.», «_», \
             «-» ou «@» (ex.: gestor@ecv.com.br)"
        );
    }
    if let Some(station) = role.station()
        && !meta.station_activity()?.iter().any(|s| s.code == station)
    {
        anyhow::bail!(
            "estação «{station}» não cadastrada; cadastre-a com `vistoria-central station add` \
             ou confira o código"
        );
    }
    let hash = crate::portal::web::password::hash(password)?;
    meta.put_portal_account(name, role, &hash, Utc::now())?;
    Ok(())
}

/// Creates a portal account from the administrators' page (issue 23): like [`set_password`],
/// but an existing name, in force or disabled, is refused (names are never reused, so the
/// access log stays unambiguous).
pub fn create_portal_account(
    meta: &dyn MetadataStore,
    name: &str,
    role: &PortalRole,
    password: &str,
) -> anyhow::Result<()> {
    if meta.portal_account(name)?.is_some() {
        anyhow::bail!(
            "já existe uma conta «{name}» (talvez bloqueada: nomes não são reutilizados); \
             escolha outro nome ou desbloqueie a conta existente"
        );
    }
    set_password(meta, name, role, password)
}

/// Gives an account in force a new password with its role unchanged (its sessions end, a
/// lock-out is lifted). A disabled account must be unlocked first: resetting is not a way
/// around a decision to lock someone out.
pub fn reset_portal_password(
    meta: &dyn MetadataStore,
    name: &str,
    password: &str,
) -> anyhow::Result<()> {
    let Some(account) = meta.portal_account(name)? else {
        anyhow::bail!("conta «{name}» não encontrada");
    };
    if account.disabled_at.is_some() {
        anyhow::bail!("a conta «{name}» está bloqueada; desbloqueie-a antes de trocar a senha");
    }
    set_password(meta, name, &account.role, password)
}

/// Locks (disables) a portal account: its sessions end at once, on every instance.
pub fn lock_portal_account(meta: &dyn MetadataStore, name: &str) -> anyhow::Result<()> {
    if !meta.disable_portal_account(name, Utc::now())? {
        anyhow::bail!("conta «{name}» não encontrada");
    }
    Ok(())
}

/// Unlocks a portal account: re-enabled with its password, failures and lock-out cleared.
pub fn unlock_portal_account(meta: &dyn MetadataStore, name: &str) -> anyhow::Result<()> {
    if !meta.enable_portal_account(name)? {
        anyhow::bail!("conta «{name}» não encontrada");
    }
    Ok(())
}

/// Every portal account (never a hash).
pub fn portal_accounts(meta: &dyn MetadataStore) -> anyhow::Result<Vec<PortalAccount>> {
    Ok(meta.portal_accounts()?)
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names_are_plain() {
        assert!(valid_name("auditor.silva@detran.mt.gov.br"));
        assert!(valid_name("admin-1"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("é"));
        assert!(!valid_name(&"a".repeat(65)));
    }
}
