//! First contact from a terminal with no display (issue 25): the window commands say what is
//! missing and how to go on, and no command shows a Rust panic to a person.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

/// `vistoria` with no display of any kind in its environment.
fn vistoria_without_display(args: &[&str], tmp: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vistoria"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .env("TMPDIR", tmp)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

fn assert_no_display_answer(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("nenhuma tela disponível"), "{stderr}");
    assert!(stderr.contains("no display"), "{stderr}");
    assert!(
        stderr.contains("cargo xtask demo -- --headless 5"),
        "{stderr}"
    );
    assert!(stderr.contains("xvfb-run"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn demo_without_a_display_says_how_to_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let output = vistoria_without_display(&["demo"], tmp.path());
    assert_no_display_answer(&output);
    assert!(String::from_utf8_lossy(&output.stderr).contains("DISPLAY não definido"));
    // Nothing was started: no demo data folder was made.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn a_station_without_a_display_says_how_to_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("vistoria.toml");
    let output = vistoria_without_display(&["--config", config.to_str().unwrap()], tmp.path());
    assert_no_display_answer(&output);
}

#[test]
fn an_unreachable_display_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_vistoria"))
        .arg("demo")
        .env("DISPLAY", ":4242")
        .env_remove("WAYLAND_DISPLAY")
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_no_display_answer(&output);
    assert!(String::from_utf8_lossy(&output.stderr).contains("DISPLAY=:4242"));
}

#[test]
fn a_panic_is_one_line_with_the_details_in_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let output = vistoria_without_display(&["internal-panic-test"], tmp.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(101), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("erro interno do vistoria"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let file = tmp.path().join("vistoria-panic.log");
    assert!(stderr.contains(file.to_str().unwrap()), "{stderr}");
    let details = std::fs::read_to_string(&file).unwrap();
    assert!(
        details.contains("teste do tratamento de pânico"),
        "{details}"
    );
    assert!(details.contains("src/main.rs"), "{details}");
}
