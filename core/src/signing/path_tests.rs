//! The certification path and the LCR against the two-level test PKI (`--hierarchy`): each
//! refusal the path builder makes, with the certificate that provokes it. Every one of these
//! certificates was accepted by the name-only chain check this replaced.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};

use super::certificate::certificates_from_pem_or_der;
use super::test_pki::{self, TestPki};
use super::*;

const CPF: &str = "52998224725";

struct Pki {
    _dir: tempfile::TempDir,
    pki: TestPki,
}

impl Pki {
    fn make() -> Option<Pki> {
        if !test_pki::missing_tools(false).is_empty() {
            eprintln!("SKIP: openssl not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let options = test_pki::Options {
            hierarchy: Some("http://127.0.0.1:9/lcr"),
            ..test_pki::Options::default()
        };
        let pki = test_pki::make(dir.path(), CPF, &options).unwrap();
        Some(Pki { _dir: dir, pki })
    }
    fn cert(&self, name: &str) -> EcpfCertificate {
        let bytes = std::fs::read(self.pki.hierarchy_file(&format!("{name}.pem"))).unwrap();
        certificates_from_pem_or_der(&bytes).unwrap().remove(0)
    }
    fn roots(&self) -> Vec<EcpfCertificate> {
        certificates_from_pem_or_der(&std::fs::read(self.pki.file("ca.pem")).unwrap()).unwrap()
    }
    /// Every CA the PKI made, as a `.p7s` or a card might offer them.
    fn intermediates(&self) -> Vec<EcpfCertificate> {
        ["ac", "notca", "nokcs", "deep"]
            .iter()
            .map(|n| self.cert(n))
            .collect()
    }
    fn lcr(&self, name: &str) -> Lcr {
        Lcr::parse(&std::fs::read(self.pki.hierarchy_file(name)).unwrap()).unwrap()
    }
}

#[test]
fn each_path_refusal_names_its_reason() {
    let Some(pki) = Pki::make() else { return };
    let (roots, inter, now) = (pki.roots(), pki.intermediates(), Utc::now());

    // The good leaf: leaf → intermediate → root, with the key usages and CPF of an e-CPF.
    let leaf = pki.cert("leaf");
    let path = path::build(&leaf, now, &roots, &inter).unwrap();
    let names: Vec<String> = path
        .certificates
        .iter()
        .map(EcpfCertificate::holder_name)
        .collect();
    assert_eq!(
        names,
        [
            format!("FULANO DE TAL:{CPF}"),
            "AC Intermediaria de Teste Vistoria".into(),
            "AC Raiz de Teste Vistoria".into()
        ]
    );
    leaf.check(CPF, now, &roots, &inter).unwrap();
    assert_eq!(path.issued().count(), 2);

    // Without the intermediate there is no path.
    let err = path::build(&leaf, now, &roots, &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("emissor desconhecido: «AC Intermediaria de Teste Vistoria»"),
        "{err}"
    );

    // Self-signed with the right CPF.
    let err = pki
        .cert("selfsigned")
        .check(CPF, now, &roots, &inter)
        .unwrap_err();
    assert!(matches!(err, CertificateError::SelfSigned(_)), "{err}");
    assert!(
        err.to_string().starts_with("certificado autoassinado"),
        "{err}"
    );

    // Expired in 2019 with only keyEncipherment: refused today for its dates, and at a time it
    // was valid for its key usage.
    let expired = pki.cert("expired");
    let err = expired.check(CPF, now, &roots, &inter).unwrap_err();
    assert!(matches!(err, CertificateError::Expired(_)), "{err}");
    let in_2018 = Utc.with_ymd_and_hms(2018, 6, 1, 12, 0, 0).unwrap();
    assert_eq!(
        expired.check(CPF, in_2018, &roots, &inter).unwrap_err(),
        CertificateError::NoDigitalSignature
    );

    // Issued by a certificate that is no CA (and has no keyCertSign).
    let err = path::build(&pki.cert("notca-leaf"), now, &roots, &inter).unwrap_err();
    assert_eq!(err, CertificateError::NotACa("AC Sem Poderes".into()));
    assert!(err.to_string().contains("basicConstraints sem cA"), "{err}");

    // Issued by a CA without keyCertSign.
    let err = path::build(&pki.cert("nokcs-leaf"), now, &roots, &inter).unwrap_err();
    assert_eq!(
        err,
        CertificateError::NoKeyCertSign("AC Sem keyCertSign".into())
    );

    // A CA below the intermediate, whose pathLenConstraint is 0.
    let err = path::build(&pki.cert("deep-leaf"), now, &roots, &inter).unwrap_err();
    assert_eq!(
        err,
        CertificateError::PathLenExceeded {
            ca: "AC Intermediaria de Teste Vistoria".into(),
            allowed: 0,
            found: 1
        }
    );
    assert!(err.to_string().contains("pathLenConstraint"), "{err}");

    // A forged intermediate: the right name, another key (the leaf's own key plays it).
    let forged: Vec<EcpfCertificate> = vec![pki.cert("notca")];
    let err = path::build(&pki.cert("leaf"), now, &roots, &forged).unwrap_err();
    assert!(matches!(err, CertificateError::UntrustedChain(_)), "{err}");

    // Validity is at the time given: the path of the good leaf before its CA existed fails.
    let before = leaf.not_before() - Duration::days(1);
    assert!(path::build(&leaf, before, &roots, &inter).is_err());
}

#[test]
fn the_intermediate_lcr_lists_the_revoked_leaf_only() {
    let Some(pki) = Pki::make() else { return };
    let lcr = pki.lcr("ac.crl");
    lcr.issued_by(&pki.cert("ac")).unwrap();
    // Not the root's list, and not verifiable with another key of the same name.
    assert!(lcr.issued_by(&pki.roots()[0]).is_err());
    assert!(lcr.is_current(Utc::now()));
    assert!(!lcr.is_current(Utc::now() + Duration::days(8)));
    assert_eq!(lcr.len(), 1);
    assert!(lcr.revocation_of(&pki.cert("revoked")).is_some());
    assert!(lcr.revocation_of(&pki.cert("leaf")).is_none());
    let root_lcr = pki.lcr("raiz.crl");
    root_lcr.issued_by(&pki.roots()[0]).unwrap();
    assert!(root_lcr.is_empty());
    // The certificates say where their LCRs are.
    assert_eq!(
        pki.cert("leaf").crl_urls(),
        ["http://127.0.0.1:9/lcr/ac.crl"]
    );
    assert_eq!(
        pki.cert("ac").crl_urls(),
        ["http://127.0.0.1:9/lcr/raiz.crl"]
    );
    // PEM too, and garbage refused.
    let pem = std::fs::read(pki.pki.hierarchy_file("ac.crl.pem")).unwrap();
    assert_eq!(Lcr::parse(&pem).unwrap().len(), 1);
    assert!(Lcr::parse(b"not a crl").is_err());
}

#[test]
fn a_receiver_refuses_a_signing_time_after_arrival() {
    let Some(pki) = Pki::make() else { return };
    let leaf = pki.cert("leaf");
    let verified = VerifiedSignature {
        cpf: CPF.into(),
        signer_name: leaf.holder_name(),
        certificate_serial: leaf.serial_hex(),
        signing_time: Utc::now(),
        policy_oid: cades::OID_AD_RB_V2_3.into(),
        content_sha256: String::new(),
        certificate_der: leaf.der().to_vec(),
        other_certificates_der: vec![pki.cert("ac").der().to_vec()],
    };
    let roots = pki.roots();
    let path = verified
        .check_path(&roots, &[], Utc::now() + Duration::minutes(1))
        .unwrap();
    assert_eq!(
        path.certificates.len(),
        3,
        "the .p7s's own CA certificates count"
    );
    let err = verified
        .check_path(&roots, &[], Utc::now() - Duration::hours(1))
        .unwrap_err();
    assert!(
        matches!(err, CertificateError::SignedAfterArrival { .. }),
        "{err}"
    );
}
