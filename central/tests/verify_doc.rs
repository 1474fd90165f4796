//! `docs/verify.md` says how anyone checks a laudo offline with OpenSSL. Its `sh` blocks are run
//! here exactly as written, in a folder holding `laudo.json`, `laudo.p7s`, `icp-brasil.pem` (and
//! `lcr/`): against a laudo delivered to a real central, whose SHA-256 must be the one its public
//! page shows; against a two-level chain with LCRs, where a revoked e-CPF passes the signature
//! check and fails the revocation one; and against a changed laudo, which fails.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::evidence::{Delivery, INSPECTOR_CPF, SoftSigner, pki_tools_missing};
use common::vehicle_with;
use uuid::Uuid;
use vistoria_core::signing::test_pki::{self, SoftwareSigner};
use vistoria_core::signing::{SignaturePolicy, sign_detached};

/// The fenced `sh` blocks of `docs/verify.md`, in order.
fn doc_blocks() -> Vec<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/verify.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "unclosed block in docs/verify.md");
    blocks
}

/// What one block did.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `block` with bash (`-e`: the first failing command fails it) in `dir`.
fn run(block: &str, dir: &Path) -> Ran {
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", block])
        .current_dir(dir)
        .output()
        .unwrap();
    Ran {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The blocks that need no LCRs (steps 1 to 3).
fn without_lcrs(blocks: &[String]) -> Vec<&String> {
    blocks.iter().filter(|b| !b.contains("crl_check")).collect()
}

/// The 64 hex digits after `label` in the page.
fn hash_after(html: &str, label: &str) -> String {
    let at = html
        .find(label)
        .unwrap_or_else(|| panic!("{label} not in {html}"));
    let code = &html[at..];
    let start = code.find("<code>").unwrap() + "<code>".len();
    code[start..start + 64].to_owned()
}

#[test]
fn a_delivered_laudo_verifies_offline_as_the_doc_says() {
    if pki_tools_missing() {
        return;
    }
    let blocks = doc_blocks();
    assert_eq!(blocks.len(), 4, "steps 1 to 4 of docs/verify.md");
    let dir = tempfile::tempdir().unwrap();
    let mut signer = SoftSigner::make(INSPECTOR_CPF, &dir.path().join("pki"));
    let server = signer.trusting_server();
    let vehicle = vehicle_with(|v| v["class"] == "passenger_car");
    let query = server.query_vehicle_for(&vehicle, Uuid::new_v4());
    let number = query["laudo_number"].as_str().unwrap().to_owned();
    let mut d = Delivery::concluded(&query, &vehicle, "ECV-01");
    let files = d.files(&mut signer);
    assert_eq!(server.deliver(&d.manifest, &files).status(), 200);
    let (_, _, page) = server.laudo_page(&number);
    let page_sha256 = hash_after(&page, "SHA-256 do laudo assinado");

    // The downloaded files and the demo CA as the whole chain.
    let work = dir.path().join("check");
    std::fs::create_dir(&work).unwrap();
    for (name, bytes) in &files {
        if name.starts_with("laudo.") {
            std::fs::write(work.join(name), bytes).unwrap();
        }
    }
    std::fs::copy(dir.path().join("pki/ca.pem"), work.join("icp-brasil.pem")).unwrap();

    let steps: Vec<Ran> = without_lcrs(&blocks)
        .into_iter()
        .map(|b| run(b, &work))
        .collect();
    for (i, step) in steps.iter().enumerate() {
        assert!(step.ok, "step {}: {}{}", i + 1, step.stdout, step.stderr);
    }
    assert_eq!(
        steps[0].stdout.split_whitespace().next(),
        Some(page_sha256.as_str()),
        "the page's SHA-256 is the file's"
    );
    assert!(steps[1].stderr.contains("Verification successful"));
    assert!(
        steps[2].stdout.contains(INSPECTOR_CPF),
        "{}",
        steps[2].stdout
    );
    assert!(
        steps[2]
            .stdout
            .contains(&format!("\"number\":\"{number}\"")),
        "{}",
        steps[2].stdout
    );

    // One byte changed: another hash, and the signature no longer verifies.
    let path = work.join("laudo.json");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.iter().position(|b| *b == b'C').unwrap();
    bytes[at] = b'N';
    std::fs::write(&path, bytes).unwrap();
    let hashed = run(&blocks[0], &work);
    assert_ne!(
        hashed.stdout.split_whitespace().next(),
        Some(page_sha256.as_str())
    );
    let verified = run(&blocks[1], &work);
    assert!(!verified.ok, "a changed laudo verified");
    assert!(
        verified.stderr.contains("Verification failure"),
        "{}",
        verified.stderr
    );
}

#[test]
fn a_two_level_chain_with_lcrs_refuses_a_revoked_ecpf() {
    if pki_tools_missing() {
        return;
    }
    let blocks = doc_blocks();
    let dir = tempfile::tempdir().unwrap();
    let options = test_pki::Options {
        hierarchy: Some("http://127.0.0.1:9/lcr"),
        ..Default::default()
    };
    let pki = test_pki::make(&dir.path().join("pki"), INSPECTOR_CPF, &options).unwrap();
    let laudo = br#"{"inspector":{"cpf":"39053344705"},"number":"MT-2026-000001"}"#;
    for (leaf, revocation_passes) in [("leaf", true), ("revoked", false)] {
        let work = dir.path().join(leaf);
        std::fs::create_dir_all(work.join("lcr")).unwrap();
        // As a card signs: the e-CPF's own certificate in the .p7s, not its chain.
        let mut signer = SoftwareSigner::from_files(
            &pki.hierarchy_file(&format!("{leaf}.pem")),
            &pki.hierarchy_file("leaf.key"),
        )
        .unwrap();
        let p7s = sign_detached(
            &mut signer,
            laudo,
            chrono::Utc::now(),
            &SignaturePolicy::ad_rb_v2_3(),
            &[],
        )
        .unwrap();
        std::fs::write(work.join("laudo.json"), laudo).unwrap();
        std::fs::write(work.join("laudo.p7s"), p7s).unwrap();
        // The root and the intermediate AC, concatenated; their LCRs in DER, as published.
        let chain = [pki.file("ca.pem"), pki.hierarchy_file("ac.pem")]
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect::<String>();
        std::fs::write(work.join("icp-brasil.pem"), chain).unwrap();
        for crl in ["ac.crl", "raiz.crl"] {
            std::fs::copy(pki.hierarchy_file(crl), work.join("lcr").join(crl)).unwrap();
        }
        let steps: Vec<Ran> = blocks.iter().map(|b| run(b, &work)).collect();
        for (i, step) in steps[..3].iter().enumerate() {
            assert!(step.ok, "{leaf} step {}: {}", i + 1, step.stderr);
        }
        assert_eq!(
            steps[3].ok, revocation_passes,
            "{leaf}: {}",
            steps[3].stderr
        );
        if !revocation_passes {
            assert!(
                steps[3].stderr.contains("certificate revoked"),
                "{}",
                steps[3].stderr
            );
        }
    }
}
