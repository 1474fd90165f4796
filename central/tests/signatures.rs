//! §14 at the central: the laudo's P7S is verified at commit (signature over the laudo,
//! CAdES attributes, certificate CPF = the inspector the laudo names). A good package is
//! accepted; a tampered laudo or another person's certificate is refused with its reason,
//! as a permanent 422 the kiosk shows in Envios. The test PKI is made by openssl at test time.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{Server, error_code, manifest, registry, to_value};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer as _};
use vistoria_core::domain::InspectionId;
use vistoria_core::laudo::{BiometricCheck, InspectorInfo, Laudo, LaudoInputs, StationInfo};
use vistoria_core::signing::{
    PublicKeyKind, SignaturePolicy, Signer, SignerError, sign_detached, test_pki,
};
use vistoria_core::wire::MediaKind;

const INSPECTOR_CPF: &str = "39053344705";
const SOMEONE_ELSE: &str = "52998224725";

/// The e-CPF's key in software (the card's stand-in; the PKCS#11 path is tested in drivers).
struct SoftSigner {
    cert: Vec<u8>,
    key: rsa::RsaPrivateKey,
}

impl Signer for SoftSigner {
    fn certificate_der(&self) -> &[u8] {
        &self.cert
    }
    fn sign(&mut self, message: &[u8], _kind: PublicKeyKind) -> Result<Vec<u8>, SignerError> {
        Ok(
            rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(self.key.clone())
                .sign(message)
                .to_vec(),
        )
    }
}

fn signer_for(cpf: &str, dir: &std::path::Path) -> SoftSigner {
    let pki = test_pki::make(dir, cpf, &test_pki::Options::default()).unwrap();
    SoftSigner {
        cert: std::fs::read(pki.file("ecpf.der")).unwrap(),
        key: rsa::RsaPrivateKey::from_pkcs8_pem(
            &std::fs::read_to_string(pki.file("ecpf.key")).unwrap(),
        )
        .unwrap(),
    }
}

/// The canonical laudo of inspection `id` by the inspector with `cpf`.
fn laudo(id: InspectionId, cpf: &str) -> Vec<u8> {
    let mut inspection = vistoria_core::fixtures::sample_inspection(1);
    let start = vistoria_core::fixtures::sample_time(1) + chrono::Duration::minutes(3);
    inspection.start_capture(start).unwrap();
    vistoria_core::fixtures::fill_checklist(&mut inspection, 1, start);
    let verdict = inspection.checklist().verdict().unwrap();
    inspection
        .conclude(verdict, start + chrono::Duration::minutes(9))
        .unwrap();
    let mut laudo = Laudo::from_inspection(
        &inspection,
        LaudoInputs {
            number: "ECV-01-TESTE".into(),
            station: StationInfo {
                code: "ECV-01".into(),
                name: "Vistoria Teste".into(),
                city: "Cuiabá/MT".into(),
            },
            inspector: InspectorInfo {
                name: "Ana Paula Souza".into(),
                cpf: cpf.into(),
            },
            photos: Vec::new(),
            panoramic_segments: Vec::new(),
            biometric_check: BiometricCheck {
                matched: true,
                at: start + chrono::Duration::minutes(10),
            },
            issued_at: start + chrono::Duration::minutes(10),
            verify_base_url: "https://central.example/laudos/".into(),
        },
    )
    .unwrap();
    laudo.inspection_id = id.to_string();
    laudo.canonical_bytes()
}

/// Sends a package with `laudo` and `p7s` (claimed to be the inspection's) and commits it.
fn send(
    server: &Server,
    laudo: &[u8],
    p7s: &[u8],
    id: InspectionId,
) -> reqwest::blocking::Response {
    let query = server.query_vehicle(&registry().remove(0));
    let mut m = manifest(
        &query,
        "ECV-01",
        &[("laudo.json", laudo), ("laudo.p7s", p7s)],
    );
    m.inspection_id = id;
    m.files[0].kind = MediaKind::Laudo;
    m.files[1].kind = MediaKind::Signature;
    let uuid = id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);
    for (name, bytes) in [("laudo.json", laudo), ("laudo.p7s", p7s)] {
        assert!(
            server
                .put_file(uuid, name, 0, bytes.to_vec())
                .status()
                .is_success()
        );
    }
    server.commit(uuid)
}

fn sign(signer: &mut SoftSigner, content: &[u8]) -> Vec<u8> {
    sign_detached(
        signer,
        content,
        Utc::now(),
        &SignaturePolicy::ad_rb_v2_3(),
        &[],
    )
    .unwrap()
}

#[test]
fn the_laudo_signature_is_verified_at_commit() {
    if !test_pki::missing_tools(false).is_empty() {
        eprintln!("SKIP: openssl not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut inspector = signer_for(INSPECTOR_CPF, &dir.path().join("inspector"));
    let mut other = signer_for(SOMEONE_ELSE, &dir.path().join("other"));
    let server = Server::start();

    // Good: the inspector's own e-CPF over the very laudo sent.
    let id = InspectionId::new();
    let content = laudo(id, INSPECTOR_CPF);
    let p7s = sign(&mut inspector, &content);
    let response = send(&server, &content, &p7s, id);
    assert_eq!(response.status(), 200, "{:?}", response.text());

    // Tampered: one byte of the laudo changed after signing (the manifest lists the changed
    // bytes, so only the signature can tell).
    let id = InspectionId::new();
    let content = laudo(id, INSPECTOR_CPF);
    let p7s = sign(&mut inspector, &content);
    let tampered = String::from_utf8(content)
        .unwrap()
        .replacen("Vistoria Teste", "Vistoria Tesge", 1)
        .into_bytes();
    let (status, body) = error_code(send(&server, &tampered, &p7s, id));
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_signature")),
        "{body}"
    );
    let reason = body["error"].as_str().unwrap();
    assert!(
        reason.contains("assinatura «laudo.p7s» do laudo recusada"),
        "{reason}"
    );
    // Refused for good: a retry of the commit gives the same answer, and nothing was receipted.
    let (status, again) = error_code(server.commit(id.as_uuid()));
    assert_eq!(
        (status, again["error"].clone()),
        (422, body["error"].clone())
    );

    // Another person's certificate: valid signature, wrong CPF.
    let id = InspectionId::new();
    let content = laudo(id, INSPECTOR_CPF);
    let p7s = sign(&mut other, &content);
    let (status, body) = error_code(send(&server, &content, &p7s, id));
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_signature")),
        "{body}"
    );
    let reason = body["error"].as_str().unwrap();
    assert!(reason.contains("CPF"), "{reason}");
}
