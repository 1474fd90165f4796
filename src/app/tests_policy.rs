//! The window under the central's security policy (§15 c): a session left untouched past the
//! policy's idle time is closed and the login says why; a press keeps it open.

use std::time::Duration;

use vistoria_central::keys::ServerKey;
use vistoria_central::server::{StorageFlags, open_storage};
use vistoria_station::demo;

use super::{Harness, Message, Screen};

#[test]
fn an_idle_session_is_locked_and_the_login_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let kiosk =
        vistoria_station::embedded_central::demo_station(&root, "ECV-TESTE-01", None).unwrap();
    // The central (the demo's own, on loopback) publishes a 5-minute idle limit.
    let central = root.join("central");
    let (meta, _) = open_storage(&central, &StorageFlags::default()).unwrap();
    let key = ServerKey::load_or_create(&central.join("keys")).unwrap();
    vistoria_central::release::publish_policy_file(
        meta.as_ref(),
        &key,
        "[security]\npassword_min_length = 10\nfailures_before_lock = 5\nlock_minutes = 15\n\
         idle_minutes = 5\nusb_storage = false\nlog_retention_days = 30\n",
        chrono::Utc::now(),
    )
    .unwrap();
    kiosk.sync_clock().unwrap();
    assert_eq!(kiosk.idle_lock_after(), Some(Duration::from_secs(300)));

    let mut h = Harness::with_kiosk(kiosk, Some(dir));
    h.login_password(demo::OPERATOR, demo::PASSWORD);
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    // Four minutes untouched, then a press: still open after another four.
    h.app.last_input -= Duration::from_secs(4 * 60);
    let _ = h.app.update(Message::IdleCheck);
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    let _ = h.app.update(Message::Activity);
    h.app.last_input -= Duration::from_secs(4 * 60);
    let _ = h.app.update(Message::IdleCheck);
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    // Past five: the login, saying why.
    h.app.last_input -= Duration::from_secs(2 * 60);
    let _ = h.app.update(Message::IdleCheck);
    assert!(matches!(h.app.screen(), Screen::Login(_)));
    let notice = h.app.notice().unwrap().to_owned();
    assert!(
        notice.starts_with("Sessão encerrada por inatividade (5 min sem uso"),
        "{notice}"
    );
    assert!(h.sees(&notice), "the login shows it");
    // Logging in again clears it.
    h.login_password(demo::OPERATOR, demo::PASSWORD);
    assert!(matches!(h.app.screen(), Screen::Counter(_)));
    assert!(h.app.notice().is_none());
}
