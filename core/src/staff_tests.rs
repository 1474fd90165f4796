#![allow(clippy::unwrap_used)]

use super::*;
use crate::accounts::LoginGuard;

const PASSWORD: &str = "senha-forte-1";

fn station() -> (tempfile::TempDir, Store, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (store, _) = Store::open(&data).unwrap();
    let vault = Vault::open(&data, &dir.path().join("biometria.key")).unwrap();
    (dir, store, vault)
}

fn shell() -> Actor {
    Actor::Shell {
        user: "root".into(),
    }
}

fn person(login: &str, role: Role, cpf: &str) -> NewPerson {
    NewPerson {
        login: login.into(),
        name: format!("Pessoa {login}"),
        cpf: cpf.into(),
        role,
        password: (!role.uses_fingerprint()).then(|| PASSWORD.to_owned()),
    }
}

fn logs_in(store: &mut Store, login: &str, password: &str) -> bool {
    let mut guard = LoginGuard::new();
    accounts::login_with_password(store, &mut guard, login, password, SystemTime::now(), None)
        .is_ok()
}

fn actions(store: &Store) -> Vec<String> {
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
fn administrators_add_deactivate_reactivate_and_reset() {
    let (_dir, mut store, vault) = station();
    let admin = add(
        &mut store,
        &shell(),
        &person("alice", Role::Administrator, "86288366757"),
        None,
    )
    .unwrap();
    let alice = Actor::Person {
        login: admin.login.clone(),
        role: Role::Administrator,
    };
    add(
        &mut store,
        &alice,
        &person("carlos", Role::Operator, "52998224725"),
        None,
    )
    .unwrap();
    add(
        &mut store,
        &alice,
        &person("ana", Role::Inspector, "39053344705"),
        None,
    )
    .unwrap();
    let listed = list(&store, &vault).unwrap();
    let logins: Vec<&str> = listed.iter().map(|m| m.login.as_str()).collect();
    assert_eq!(logins, ["alice", "ana", "carlos"]);
    assert!(listed[1].needs_fingers() && !listed[2].needs_fingers());

    // Refused with the reason: a taken login, a taken CPF, a wrong check digit, a password
    // for an inspector.
    let err = add(
        &mut store,
        &alice,
        &person("carlos", Role::Operator, "11144477735"),
        None,
    );
    assert!(matches!(err, Err(StaffError::Exists(_))), "{err:?}");
    let err = add(
        &mut store,
        &alice,
        &person("outro", Role::Operator, "52998224725"),
        None,
    );
    assert!(err.unwrap_err().to_string().contains("«carlos»"));
    let err = add(
        &mut store,
        &alice,
        &person("outro", Role::Operator, "52998224724"),
        None,
    );
    assert_eq!(err.unwrap_err().to_string(), "CPF inválido");
    let mut with_password = person("bia", Role::Inspector, "11144477735");
    with_password.password = Some(PASSWORD.into());
    assert!(matches!(
        add(&mut store, &alice, &with_password, None),
        Err(StaffError::NoPassword(_))
    ));

    // Deactivated: the login stops at once, the account and its history stay.
    assert!(logs_in(&mut store, "carlos", PASSWORD));
    set_active(&mut store, &alice, "carlos", false, None).unwrap();
    assert!(!logs_in(&mut store, "carlos", PASSWORD));
    assert!(store.account("carlos").unwrap().is_some());
    set_active(&mut store, &alice, "carlos", true, None).unwrap();
    assert!(logs_in(&mut store, "carlos", PASSWORD));

    reset_password(&mut store, &alice, "carlos", "outra-senha-2", None).unwrap();
    assert!(!logs_in(&mut store, "carlos", PASSWORD));
    assert!(logs_in(&mut store, "carlos", "outra-senha-2"));
    assert!(matches!(
        reset_password(&mut store, &alice, "ana", "qualquer-coisa", None),
        Err(StaffError::NoPassword(_))
    ));
    assert!(matches!(
        reset_password(&mut store, &alice, "carlos", "curta", None),
        Err(StaffError::Account(AccountError::WeakPassword))
    ));

    // The last administrator stays.
    assert!(matches!(
        set_active(&mut store, &alice, "alice", false, None),
        Err(StaffError::LastAdministrator)
    ));
    let log = actions(&store);
    for action in [
        "account.saved",
        "account.deactivated",
        "account.reactivated",
        "account.password_reset",
    ] {
        assert!(log.iter().any(|a| a == action), "{action} not in {log:?}");
    }
}

#[test]
fn only_an_active_administrator_changes_staff() {
    let (_dir, mut store, vault) = station();
    add(
        &mut store,
        &shell(),
        &person("alice", Role::Administrator, "86288366757"),
        None,
    )
    .unwrap();
    add(
        &mut store,
        &shell(),
        &person("bruno", Role::Administrator, "11144477735"),
        None,
    )
    .unwrap();
    add(
        &mut store,
        &shell(),
        &person("carlos", Role::Operator, "52998224725"),
        None,
    )
    .unwrap();
    add(
        &mut store,
        &shell(),
        &person("ana", Role::Inspector, "39053344705"),
        None,
    )
    .unwrap();
    let carlos = Actor::Person {
        login: "carlos".into(),
        role: Role::Operator,
    };
    let new = person("davi", Role::Operator, "71428793860");
    assert!(matches!(
        add(&mut store, &carlos, &new, None),
        Err(StaffError::Forbidden)
    ));
    // A claimed role is not taken on trust: the stored account decides.
    let claims = Actor::Person {
        login: "carlos".into(),
        role: Role::Administrator,
    };
    assert!(matches!(
        add(&mut store, &claims, &new, None),
        Err(StaffError::Forbidden)
    ));
    assert!(matches!(
        start_enrolment(&store, &carlos, "ana", Finger::RightIndex),
        Err(StaffError::Forbidden)
    ));
    assert!(matches!(
        remove_finger(&mut store, &vault, &carlos, "ana", Finger::RightIndex, None),
        Err(StaffError::Forbidden)
    ));
    // An administrator deactivated by another loses the power at once.
    let alice = Actor::Person {
        login: "alice".into(),
        role: Role::Administrator,
    };
    let bruno = Actor::Person {
        login: "bruno".into(),
        role: Role::Administrator,
    };
    set_active(&mut store, &alice, "bruno", false, None).unwrap();
    assert!(matches!(
        add(&mut store, &bruno, &new, None),
        Err(StaffError::Forbidden)
    ));
    // Fingers are for active inspectors only.
    assert!(matches!(
        start_enrolment(&store, &alice, "carlos", Finger::RightIndex),
        Err(StaffError::NotInspector(_))
    ));
    set_active(&mut store, &alice, "ana", false, None).unwrap();
    assert!(matches!(
        start_enrolment(&store, &alice, "ana", Finger::RightIndex),
        Err(StaffError::Inactive(_))
    ));
}

#[test]
fn the_first_administrator_needs_the_shell_code_once() {
    let (_dir, mut store, _vault) = station();
    let data = store.data_dir().to_path_buf();
    let now = SystemTime::now();
    assert!(needs_setup(&store).unwrap());
    let admin = person("alice", Role::Administrator, "86288366757");
    // No code issued: refused, saying how to get one.
    let err = redeem_setup_code(&mut store, "ABCD-EFGH-JKMN", &admin, now, None).unwrap_err();
    assert!(err.to_string().contains("staff bootstrap"), "{err}");

    let code = issue_setup_code(&data, "root", now).unwrap();
    assert_eq!(code.len(), 14, "{code}");
    // The file holds a hash, not the code.
    let kept = std::fs::read_to_string(data.join(SETUP_FILE)).unwrap();
    assert!(!kept.contains(&code.replace('-', "")));
    // Only an administrator may be made with it.
    let operator = person("carlos", Role::Operator, "52998224725");
    assert!(redeem_setup_code(&mut store, &code, &operator, now, None).is_err());
    let err = redeem_setup_code(&mut store, "2345-6789-ABCD", &admin, now, None).unwrap_err();
    assert!(err.to_string().contains("4 tentativas restantes"), "{err}");
    // A bad CPF does not spend the code.
    let mut typo = admin.clone();
    typo.cpf = "86288366758".into();
    assert!(redeem_setup_code(&mut store, &code, &typo, now, None).is_err());
    // Typed in lower case without hyphens still counts.
    let typed = code.replace('-', "").to_lowercase();
    let made = redeem_setup_code(&mut store, &typed, &admin, now, None).unwrap();
    assert_eq!(
        (made.login.as_str(), made.role),
        ("alice", Role::Administrator)
    );
    assert!(!needs_setup(&store).unwrap());
    assert!(!data.join(SETUP_FILE).exists());
    // Spent; and no new code once there is an administrator.
    let second = person("bruno", Role::Administrator, "11144477735");
    assert!(redeem_setup_code(&mut store, &code, &second, now, None).is_err());
    drop(store);
    let err = issue_setup_code(&data, "root", now).unwrap_err();
    assert!(err.to_string().contains("já tem administrador"), "{err}");
    let (store, _) = Store::open(&data).unwrap();
    let log = actions(&store);
    assert!(log.iter().any(|a| a == "setup.code_redeemed"), "{log:?}");
    assert!(log.iter().filter(|a| *a == "setup.code_refused").count() >= 3);
}

#[test]
fn a_setup_code_expires_and_dies_after_wrong_tries() {
    let (_dir, mut store, _vault) = station();
    let data = store.data_dir().to_path_buf();
    let now = SystemTime::now();
    let admin = person("alice", Role::Administrator, "86288366757");
    let code = issue_setup_code(&data, "root", now).unwrap();
    let later = now + SETUP_CODE_LIFE + Duration::from_secs(1);
    let err = redeem_setup_code(&mut store, &code, &admin, later, None).unwrap_err();
    assert!(err.to_string().contains("vencido"), "{err}");

    let code = issue_setup_code(&data, "root", now).unwrap();
    for _ in 0..SETUP_CODE_TRIES {
        assert!(redeem_setup_code(&mut store, "2345-6789-ABCD", &admin, now, None).is_err());
    }
    let err = redeem_setup_code(&mut store, &code, &admin, now, None).unwrap_err();
    assert!(err.to_string().contains("vencido"), "{err}");
    assert!(needs_setup(&store).unwrap());
}
