//! PKCS#11 signing against SoftHSM2 holding an e-CPF-like test certificate made by openssl at
//! test time (`vistoria_core::signing::test_pki`); every `.p7s` is checked by
//! `openssl cms -verify`. SoftHSM reads `SOFTHSM2_CONF` when loaded, so the body runs in a
//! child process with it set.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;
use support::{is_child, run_in_child};
use vistoria_core::signing::certificate::certificates_from_pem_or_der;
use vistoria_core::signing::test_pki;
use vistoria_core::signing::{
    SignaturePolicy, Signer, SignerError, SigningContext, sign_checked, verify_p7s,
};
use vistoria_drivers::smartcard::Pkcs11Signer;

const CPF: &str = "52998224725";

fn make_pki(dir: &Path, ec: bool) -> bool {
    let missing = test_pki::missing_tools(true);
    if !missing.is_empty() {
        eprintln!("SKIP: {} not installed", missing.join(", "));
        return false;
    }
    let options = test_pki::Options {
        ec,
        softhsm: true,
        ..test_pki::Options::default()
    };
    test_pki::make(dir, CPF, &options).unwrap();
    true
}

fn parent(test: &str, ec: bool) {
    let dir = tempfile::tempdir().unwrap();
    if !make_pki(dir.path(), ec) {
        return;
    }
    run_in_child(
        test,
        &[
            (
                "SOFTHSM2_CONF",
                dir.path().join("softhsm2.conf").display().to_string(),
            ),
            ("VISTORIA_TEST_DIR", dir.path().display().to_string()),
        ],
    );
}

fn child_dir() -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(std::env::var("VISTORIA_TEST_DIR").unwrap());
    let module = PathBuf::from(std::fs::read_to_string(dir.join("module.txt")).unwrap());
    (dir, module)
}

fn openssl_verify(dir: &Path, content: &[u8], p7s: &[u8]) -> bool {
    std::fs::write(dir.join("laudo.json"), content).unwrap();
    std::fs::write(dir.join("laudo.p7s"), p7s).unwrap();
    Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-binary",
            "-out",
            "/dev/null",
        ])
        .arg("-in")
        .arg(dir.join("laudo.p7s"))
        .arg("-content")
        .arg(dir.join("laudo.json"))
        .arg("-CAfile")
        .arg(dir.join("ca.pem"))
        .status()
        .unwrap()
        .success()
}

fn sign_on_token(test: &str, ec: bool) {
    if !is_child() {
        parent(test, ec);
        return;
    }
    let (dir, module) = child_dir();
    let mut card = Pkcs11Signer::open(&module, "123456", Some("e-CPF")).unwrap();
    assert_eq!(card.token_label(), "e-CPF");
    assert_eq!(card.chain_der().len(), 1, "the CA certificate on the token");
    let roots = certificates_from_pem_or_der(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let policy = SignaturePolicy::ad_rb_v2_3();
    let content = br#"{"number":"MT-004101-2026","vehicle":{"plate":"RBE0A01"}}"#;
    let signed = sign_checked(
        &mut card,
        content,
        &SigningContext {
            inspector_cpf: CPF,
            now: Utc::now(),
            roots: &roots,
            policy: &policy,
            biometric_matched: true,
        },
    )
    .unwrap();
    assert!(openssl_verify(&dir, content, &signed.p7s));
    let printed = Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(dir.join("laudo.p7s"))
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.contains("2.16.76.1.7.1.1.2.3"));
    assert!(printed.contains("signingCertificateV2"));
    assert_eq!(verify_p7s(content, &signed.p7s, CPF).unwrap().cpf, CPF);

    let mut tampered = content.to_vec();
    tampered[5] ^= 0x20;
    assert!(!openssl_verify(&dir, &tampered, &signed.p7s));
}

#[test]
fn rsa_key_on_softhsm_signs_a_verifiable_p7s() {
    sign_on_token("rsa_key_on_softhsm_signs_a_verifiable_p7s", false);
}

#[test]
fn ecdsa_key_on_softhsm_signs_a_verifiable_p7s() {
    sign_on_token("ecdsa_key_on_softhsm_signs_a_verifiable_p7s", true);
}

#[test]
fn wrong_pin_and_missing_module_have_portuguese_messages() {
    const NAME: &str = "wrong_pin_and_missing_module_have_portuguese_messages";
    if !is_child() {
        parent(NAME, false);
        return;
    }
    let (_dir, module) = child_dir();
    let err = Pkcs11Signer::open(&module, "000000", None).unwrap_err();
    assert_eq!(err, SignerError::WrongPin);
    assert_eq!(err.to_string(), "PIN incorreto; confira e digite de novo");
    let err = Pkcs11Signer::open(Path::new("/nao/existe/libeTPkcs11.so"), "1", None).unwrap_err();
    assert!(matches!(err, SignerError::Module(_)));
    assert!(
        err.to_string()
            .starts_with("middleware do cartão (PKCS#11) indisponível")
    );
    let err = Pkcs11Signer::open(&module, "123456", Some("outro cartão")).unwrap_err();
    assert_eq!(err, SignerError::NoCard);
}
