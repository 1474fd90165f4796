//! The accounts table: the station's staff (see [`crate::accounts`]).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::accounts::{Account, Role};

const SELECT: &str = "SELECT login, name, role, cpf, password_hash, active FROM accounts";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(Account, String)> {
    let role: String = row.get(2)?;
    Ok((
        Account {
            login: row.get(0)?,
            name: row.get(1)?,
            role: Role::Operator,
            cpf: row.get(3)?,
            password_hash: row.get(4)?,
            active: row.get::<_, i64>(5)? != 0,
        },
        role,
    ))
}

fn with_role((mut account, role): (Account, String)) -> Result<Account, StoreError> {
    account.role = Role::from_code(&role)
        .ok_or_else(|| StoreError::Decode(format!("papel desconhecido: {role}")))?;
    Ok(account)
}

pub(super) fn get(conn: &Connection, login: &str) -> Result<Option<Account>, StoreError> {
    conn.query_row(&format!("{SELECT} WHERE login = ?1"), [login], from_row)
        .optional()?
        .map(with_role)
        .transpose()
}

pub(super) fn list(conn: &Connection) -> Result<Vec<Account>, StoreError> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY login"))?;
    let rows = stmt.query_map([], from_row)?;
    rows.map(|r| with_role(r?)).collect()
}

pub(super) fn upsert(conn: &Connection, a: &Account) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO accounts (login, name, role, cpf, password_hash, active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(login) DO UPDATE SET name = excluded.name, role = excluded.role,
           cpf = excluded.cpf, password_hash = excluded.password_hash, active = excluded.active",
        params![
            a.login,
            a.name,
            a.role.code(),
            a.cpf,
            a.password_hash,
            i64::from(a.active)
        ],
    )?;
    Ok(())
}
