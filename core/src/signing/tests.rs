//! Signing tests against a test PKI made by `openssl` at test time
//! ([`super::test_pki`]), every `.p7s` checked by `openssl cms -verify`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, TimeZone, Utc};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer as _};

use super::*;

const CPF: &str = "52998224725";

/// A software signer over the PEM key the script wrote: the card's stand-in for pure tests.
struct SoftSigner {
    cert: Vec<u8>,
    key_pem: String,
}

impl Signer for SoftSigner {
    fn certificate_der(&self) -> &[u8] {
        &self.cert
    }
    fn sign(&mut self, message: &[u8], kind: PublicKeyKind) -> Result<Vec<u8>, SignerError> {
        Ok(match kind {
            PublicKeyKind::Rsa => {
                let key = rsa::RsaPrivateKey::from_pkcs8_pem(&self.key_pem).unwrap();
                rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
                    .sign(message)
                    .to_vec()
            }
            PublicKeyKind::EcdsaP256 => {
                let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&self.key_pem).unwrap();
                let sig: p256::ecdsa::Signature = key.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
        })
    }
}

struct Pki {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Pki {
    fn make(args: &[&str]) -> Option<Pki> {
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("SKIP: openssl not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let options = test_pki::Options {
            ec: args.contains(&"--ec"),
            encoding: args
                .iter()
                .position(|a| *a == "--encoding")
                .map(|i| args[i + 1]),
            no_digital_signature: args.contains(&"--no-digital-signature"),
            ..test_pki::Options::default()
        };
        test_pki::make(dir.path(), CPF, &options).unwrap();
        Some(Pki {
            path: dir.path().to_path_buf(),
            _dir: dir,
        })
    }
    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
    fn signer(&self) -> SoftSigner {
        SoftSigner {
            cert: std::fs::read(self.file("ecpf.der")).unwrap(),
            key_pem: std::fs::read_to_string(self.file("ecpf.key")).unwrap(),
        }
    }
    fn roots(&self) -> Vec<EcpfCertificate> {
        certificate::certificates_from_pem_or_der(&std::fs::read(self.file("ca.pem")).unwrap())
            .unwrap()
    }
    fn cert(&self) -> EcpfCertificate {
        EcpfCertificate::from_der(&std::fs::read(self.file("ecpf.der")).unwrap()).unwrap()
    }
}

fn laudo_bytes() -> Vec<u8> {
    br#"{"biometric_check":{"at":"2026-11-23T10:00:00Z","matched":true},"number":"MT-1"}"#.to_vec()
}

/// `openssl cms -verify -inform DER -binary -content LAUDO -CAfile TESTCA`.
fn openssl_verifies(pki: &Pki, content: &[u8], p7s: &[u8]) -> bool {
    let laudo = pki.file("laudo.json");
    let sig = pki.file("laudo.p7s");
    std::fs::write(&laudo, content).unwrap();
    std::fs::write(&sig, p7s).unwrap();
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
        .arg(&sig)
        .arg("-content")
        .arg(&laudo)
        .arg("-CAfile")
        .arg(pki.file("ca.pem"))
        .output()
        .unwrap()
        .status
        .success()
}

fn openssl_print(p7s_path: &Path) -> String {
    let out = Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(p7s_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn context<'a>(
    roots: &'a [EcpfCertificate],
    policy: &'a SignaturePolicy,
    now: chrono::DateTime<Utc>,
) -> SigningContext<'a> {
    SigningContext {
        inspector_cpf: "529.982.247-25",
        now,
        roots,
        policy,
        biometric_matched: true,
    }
}

fn sign_and_check(args: &[&str]) {
    let Some(pki) = Pki::make(args) else { return };
    let roots = pki.roots();
    let policy = SignaturePolicy::ad_rb_v2_3();
    let content = laudo_bytes();
    let signed = sign_checked(
        &mut pki.signer(),
        &content,
        &context(&roots, &policy, Utc::now()),
    )
    .unwrap();
    assert!(
        openssl_verifies(&pki, &content, &signed.p7s),
        "openssl cms -verify failed"
    );
    let printed = openssl_print(&pki.file("laudo.p7s"));
    assert!(printed.contains("2.16.76.1.7.1.1.2.3"), "{printed}");
    assert!(printed.contains("signingCertificateV2"), "{printed}");
    assert!(printed.contains("signingTime"), "{printed}");

    let verified = verify_p7s(&content, &signed.p7s, CPF).unwrap();
    assert_eq!(verified.cpf, CPF);
    assert_eq!(verified.policy_oid, cades::OID_AD_RB_V2_3);
    assert_eq!(verified.signer_name, "FULANO DE TAL:52998224725");
    let path = verified.check_path(&roots, &[], Utc::now()).unwrap();
    assert_eq!(path.certificates.len(), 2);

    // One tampered byte: both openssl and our verifier refuse it.
    let mut tampered = content.clone();
    tampered[10] ^= 0x01;
    assert!(!openssl_verifies(&pki, &tampered, &signed.p7s));
    assert_eq!(
        verify_p7s(&tampered, &signed.p7s, CPF),
        Err(VerifyError::DigestMismatch)
    );
    // A flipped bit in the signature itself.
    let mut bad_sig = signed.p7s.clone();
    let last = bad_sig.len() - 3;
    bad_sig[last] ^= 0x01;
    assert!(matches!(
        verify_p7s(&content, &bad_sig, CPF),
        Err(VerifyError::BadSignature(_))
    ));
    assert!(!openssl_verifies(&pki, &content, &bad_sig));
}

#[test]
fn rsa_p7s_verifies_with_openssl_and_names_the_ad_rb_policy() {
    sign_and_check(&[]);
}

#[test]
fn ecdsa_p7s_verifies_with_openssl() {
    sign_and_check(&["--ec"]);
}

#[test]
fn cpf_is_read_from_all_three_string_encodings() {
    for encoding in ["octet", "printable", "utf8"] {
        let Some(pki) = Pki::make(&["--encoding", encoding]) else {
            return;
        };
        assert_eq!(pki.cert().cpf(), Some(CPF), "encoding {encoding}");
    }
}

#[test]
fn each_certificate_problem_has_its_portuguese_message() {
    let Some(pki) = Pki::make(&[]) else { return };
    let roots = pki.roots();
    let cert = pki.cert();
    let now = Utc::now();

    let err = cert.check("111.444.777-35", now, &roots, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "o CPF do certificado (***.982.247-**) não é o do vistoriador conectado (***.444.777-**)"
    );
    let late = cert.not_after() + Duration::days(1);
    let err = cert.check(CPF, late, &roots, &[]).unwrap_err();
    assert!(matches!(err, CertificateError::Expired(_)));
    assert!(
        err.to_string().starts_with("certificado vencido em "),
        "{err}"
    );
    let early = cert.not_before() - Duration::days(1);
    let err = cert.check(CPF, early, &roots, &[]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("certificado ainda não é válido"),
        "{err}"
    );

    // Roots of another test PKI: no chain.
    let Some(other) = Pki::make(&[]) else { return };
    let err = cert.check(CPF, now, &other.roots(), &[]).unwrap_err();
    assert!(matches!(err, CertificateError::UntrustedChain(_)), "{err}");
    assert!(err.to_string().contains("raiz ICP-Brasil configurada"));

    let Some(no_ds) = Pki::make(&["--no-digital-signature"]) else {
        return;
    };
    let err = no_ds
        .cert()
        .check(CPF, Utc::now(), &no_ds.roots(), &[])
        .unwrap_err();
    assert_eq!(err, CertificateError::NoDigitalSignature);
    assert_eq!(
        err.to_string(),
        "o certificado não permite assinatura digital (uso de chave sem digitalSignature nem nonRepudiation)"
    );
}

#[test]
fn a_failed_biometric_recheck_blocks_the_signature() {
    let Some(pki) = Pki::make(&[]) else { return };
    let roots = pki.roots();
    let policy = SignaturePolicy::ad_rb_v2_3();
    let mut ctx = context(&roots, &policy, Utc::now());
    ctx.biometric_matched = false;
    let err = sign_checked(&mut pki.signer(), &laudo_bytes(), &ctx).unwrap_err();
    assert_eq!(err, SigningError::BiometricFailed);
    assert!(err.to_string().contains("conferência biométrica"));
}

#[test]
fn the_central_rejects_another_inspectors_signature() {
    let Some(pki) = Pki::make(&[]) else { return };
    let roots = pki.roots();
    let policy = SignaturePolicy::ad_rb_v2_3();
    let content = laudo_bytes();
    let signed = sign_checked(
        &mut pki.signer(),
        &content,
        &context(&roots, &policy, Utc::now()),
    )
    .unwrap();
    let err = verify_p7s(&content, &signed.p7s, "11144477735").unwrap_err();
    assert!(matches!(err, VerifyError::CpfMismatch { .. }));
    assert!(verify_p7s(&content, b"not der", CPF).is_err());
}

#[test]
fn signing_time_is_the_central_time_given() {
    let Some(pki) = Pki::make(&[]) else { return };
    let policy = SignaturePolicy::ad_rb_v2_3();
    let at = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 30, 0)
        .single()
        .unwrap();
    let content = laudo_bytes();
    let p7s = sign_detached(&mut pki.signer(), &content, at, &policy, &[]).unwrap();
    assert_eq!(verify_p7s(&content, &p7s, CPF).unwrap().signing_time, at);
}

#[test]
fn policy_hash_is_read_from_the_artifact() {
    // SignaturePolicy ::= SEQUENCE { AlgorithmIdentifier, SignPolicyInfo, signPolicyHash }.
    let hash = [7u8; 32];
    let artifact = der::sequence(&[
        &der::algorithm(cades::OID_SHA256, false),
        &der::sequence(&[&der::oid(cades::OID_AD_RB_V2_3)]),
        &der::octet_string(&hash),
    ]);
    let policy = SignaturePolicy::from_artifact(&artifact).unwrap();
    assert_eq!(policy.hash, hash);
    assert_eq!(policy.oid, cades::OID_AD_RB_V2_3);
    assert!(SignaturePolicy::from_artifact(b"\x30\x00").is_err());
}

/// A `.p7s` whose signingCertificateV2 holds an ESSCertIDv2 with a length of eight 0xFF
/// bytes (issue 17): refused as a bad attribute, where it used to overflow (a panic, so a 500
/// at the central and a package left receiving). The attribute is read before the signature
/// is checked, so anyone can send it.
#[test]
fn a_hostile_der_length_in_a_signed_attribute_is_refused() {
    use super::der::{octet_string, oid, sequence, set_of, time};
    let Some(pki) = Pki::make(&[]) else { return };
    let content = laudo_bytes();
    let cert = pki.cert();
    let attribute = |type_oid: &str, value: &[u8]| sequence(&[&oid(type_oid), &set_of(&[value])]);
    let mut hostile_certs = vec![0x30, 0x88];
    hostile_certs.extend([0xFF; 8]);
    hostile_certs.extend([0x04, 0x00]);
    let attrs = set_of(&[
        &attribute(cades::OID_CONTENT_TYPE, &oid(cades::OID_DATA)),
        &attribute(
            cades::OID_MESSAGE_DIGEST,
            &octet_string(&<sha2::Sha256 as sha2::Digest>::digest(&content)),
        ),
        &attribute(cades::OID_SIGNING_TIME, &time(Utc::now())),
        &attribute(
            cades::OID_SIGNING_CERTIFICATE_V2,
            // SigningCertificateV2 { certs SEQUENCE OF { <hostile ESSCertIDv2> } }
            &sequence(&[&super::der::tlv(super::der::tag::SEQUENCE, &hostile_certs)]),
        ),
    ]);
    let p7s = cades::signed_data(&cert, &[], PublicKeyKind::Rsa, &attrs, &[0u8; 256]).unwrap();
    assert_eq!(
        verify_p7s(&content, &p7s, CPF),
        Err(VerifyError::Attribute("signingCertificateV2"))
    );
}

/// A valid `.p7s` over [`FUZZ_CONTENT`] (RSA and ECDSA), made once per test process; `None`
/// without openssl. With `VISTORIA_FUZZ_SEEDS=DIR` they are written to `DIR/verify_p7s/` as
/// seeds for the fuzz target.
fn fuzz_seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = Vec::new();
        for args in [&[][..], &["--ec"][..]] {
            let Some(pki) = Pki::make(args) else {
                return seeds;
            };
            let policy = SignaturePolicy::ad_rb_v2_3();
            let p7s = sign_detached(
                &mut pki.signer(),
                FUZZ_CONTENT,
                Utc::now(),
                &policy,
                &pki.roots(),
            )
            .unwrap();
            verify_p7s(FUZZ_CONTENT, &p7s, CPF).unwrap();
            if let Some(dir) = std::env::var_os("VISTORIA_FUZZ_SEEDS") {
                let dir = Path::new(&dir).join("verify_p7s");
                std::fs::create_dir_all(&dir).unwrap();
                let name = if args.is_empty() {
                    "rsa.p7s"
                } else {
                    "ecdsa.p7s"
                };
                std::fs::write(dir.join(name), &p7s).unwrap();
            }
            seeds.push(p7s);
        }
        seeds
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Mutated signatures (bytes overwritten, inserted, removed; a hostile long-form length
    /// spliced in) never panic the verifier, and only the untouched one verifies.
    #[test]
    fn the_verifier_survives_mutated_signatures(
        seed in 0usize..2,
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>(), 0u8..4), 1..6),
    ) {
        let seeds = fuzz_seeds();
        let Some(base) = seeds.get(seed.min(seeds.len().saturating_sub(1))) else {
            return Ok(());
        };
        let mut p7s = base.clone();
        for (at, byte, kind) in &edits {
            if p7s.is_empty() {
                break;
            }
            let i = at.index(p7s.len());
            match kind {
                0 => p7s[i] = *byte,
                1 => p7s.insert(i, *byte),
                2 => { p7s.remove(i); }
                _ => { p7s.splice(i..i, [0x88, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]); }
            }
        }
        let result = verify_p7s(FUZZ_CONTENT, &p7s, CPF);
        if p7s != *base {
            // A changed byte may land in an unsigned, unchecked place (the certificate set's
            // other members); everything else must be refused.
            if let Ok(v) = &result {
                proptest::prop_assert_eq!(&v.cpf, CPF);
            }
        }
    }
}
