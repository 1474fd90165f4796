//! Tests that sign with the demo's SoftHSM2 e-CPF token run in a child process of their own test
//! binary whose `SOFTHSM2_CONF` names the token in the test's folder: SoftHSM2 reads its
//! configuration only from the environment, and a test may not change its own (edition 2024).
//! Shared by the station's and the kiosk's test binaries (test support, not used at run time).

use std::path::PathBuf;
use std::process::Command;

/// Set in the child run: the folder the test works in.
pub const CHILD: &str = "VISTORIA_SIGNING_TEST_CHILD";

/// Runs the test named `test_path` (its full path in the test binary, e.g.
/// `app::tests::a_whole_inspection`) in a child process with the demo token's
/// `SOFTHSM2_CONF`. In the child, returns the folder to work in; in the parent, `None` once the
/// child passed (panics with its output when it did not), or at once when SoftHSM2 is not
/// installed (skipped with a message).
pub fn signing_child(test_path: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CHILD) {
        return Some(PathBuf::from(dir));
    }
    let missing = vistoria_core::signing::test_pki::missing_tools(true);
    if !missing.is_empty() {
        eprintln!(
            "SKIP: {} not installed (installer/setup-dev.sh)",
            missing.join(", ")
        );
        return None;
    }
    let dir = Folder::new(test_path);
    let out = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test_path, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, &dir.0)
        .env(
            "SOFTHSM2_CONF",
            crate::card::demo_softhsm_conf(&dir.0.join("kiosk")),
        )
        .output()
        .expect("starting the child run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child run of {test_path} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    None
}

/// The child's folder under the system's temporary directory, removed when the parent is done.
struct Folder(PathBuf);

impl Folder {
    fn new(test_path: &str) -> Folder {
        let name: String = test_path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "vistoria-signing-{}-{nanos}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("creating the signing test's folder");
        Folder(path)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
