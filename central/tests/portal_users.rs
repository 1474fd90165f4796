//! `vistoria-central user password` (issue 22) as an administrator runs it: a password from the
//! environment or typed twice on standard input, never an argument; a short one, a mismatch, a
//! manager without a station or with an unknown one refused with a way forward; `user list
//! --portal` shows the accounts and never a hash; `user revoke` disables the portal password.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{BIN, add_station};
use serde_json::Value;

fn user(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("user")
        .args(args)
        .args(["--data", data.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn refused(output: &Output, words: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(words), "{stderr}");
}

fn portal_list(data: &Path) -> Vec<Value> {
    let out = user(data, &["list", "--portal", "--json"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn portal_passwords_are_given_checked_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    add_station(data, "ECV-01");
    let good = "uma frase longa e secreta\numa frase longa e secreta\n";

    // Typed twice on standard input.
    let out = user(data, &["password", "ana@detran", "--role", "detran"], good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A manager of a registered station.
    let out = user(
        data,
        &[
            "password",
            "gestor@ecv",
            "--role",
            "gestor",
            "--station",
            "ECV-01",
        ],
        good,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    refused(
        &user(
            data,
            &["password", "x@y", "--role", "detran"],
            "curta\ncurta\n",
        ),
        "ao menos 12 caracteres",
    );
    refused(
        &user(
            data,
            &["password", "x@y", "--role", "detran"],
            "uma frase longa e secreta\noutra frase longa\n",
        ),
        "não conferem",
    );
    refused(
        &user(data, &["password", "x@y", "--role", "gestor"], good),
        "--station",
    );
    refused(
        &user(
            data,
            &["password", "x@y", "--role", "gestor", "--station", "ECV-99"],
            good,
        ),
        "estação «ECV-99» não cadastrada",
    );
    refused(
        &user(
            data,
            &["password", "x@y", "--role", "detran", "--station", "ECV-01"],
            good,
        ),
        "--station vale só para --role gestor",
    );
    // A password as an argument does not exist.
    refused(
        &user(
            data,
            &[
                "password",
                "x@y",
                "--role",
                "detran",
                "--password",
                "segredo longo",
            ],
            "",
        ),
        "--password",
    );

    let listed = portal_list(data);
    let names: Vec<&str> = listed.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ana@detran", "gestor@ecv"]);
    assert_eq!(listed[1]["role"], "gestor");
    assert_eq!(listed[1]["station"], "ECV-01");
    assert_eq!(listed[0]["disabled_at"], Value::Null);
    let text = serde_json::to_string(&listed).unwrap();
    assert!(!text.contains("argon2"), "{text}");

    // Revoking the name disables the portal password (no API token was ever made for it).
    let out = user(data, &["revoke", "ana@detran"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(portal_list(data)[0]["disabled_at"], Value::Null);
    refused(&user(data, &["revoke", "ninguem"], ""), "não cadastrado");
}
