//! §14 at the central: the laudo's P7S is verified at commit (signature over the laudo,
//! CAdES attributes, certificate CPF = the inspector the laudo names), and its e-CPF must have
//! a certification path to a configured ICP-Brasil root (`--icp-roots`), valid at the signing
//! time, with CA constraints and key usages, not revoked by its CA's LCR (fetched over HTTP from
//! the certificate's distribution point, here a loopback server), and belong to an inspector
//! the station registered (§11). Each refusal is an attack issue 17 saw accepted. The test PKI
//! (root, intermediate, LCRs, revoked leaf…) is made by openssl at test time.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use common::evidence::Delivery;
use common::{BIN, Server, error_code, vehicle_with};
use serde_json::json;
use vistoria_core::signing::certificate::certificates_from_pem_or_der;
use vistoria_core::signing::test_pki::{self, SoftwareSigner, TestPki};
use vistoria_core::signing::{SignaturePolicy, sign_detached};

const INSPECTOR_CPF: &str = "39053344705";
const SOMEONE_ELSE: &str = "52998224725";

/// Serves the PKI's LCRs (`/lcr/NAME` from its `h/` folder) on loopback, as a CA's
/// publication server; while `down`, it answers 503 like a failed one.
struct LcrServer {
    port: u16,
    down: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
}

impl LcrServer {
    fn start() -> (LcrServer, TcpListener) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = LcrServer {
            port,
            down: Arc::new(AtomicBool::new(false)),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        (server, listener)
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/lcr", self.port)
    }

    fn serve(&self, listener: TcpListener, dir: PathBuf) {
        let (down, hits) = (Arc::clone(&self.down), Arc::clone(&self.hits));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                hits.fetch_add(1, Ordering::SeqCst);
                let name = request_line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.strip_prefix("/lcr/"))
                    .unwrap_or_default()
                    .to_owned();
                let body = std::fs::read(dir.join(&name)).ok();
                let (status, body) = match body {
                    _ if down.load(Ordering::SeqCst) => ("503 Service Unavailable", Vec::new()),
                    Some(b) if !name.contains('/') => ("200 OK", b),
                    _ => ("404 Not Found", Vec::new()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
    }
}

/// A fresh query of a passenger car and its concluded inspection (checklist, photos, laudo
/// naming them), and the laudo's canonical bytes to sign.
fn prepared(server: &Server) -> (Delivery, Vec<u8>) {
    let vehicle = vehicle_with(|v| v["class"] == "passenger_car");
    let d = Delivery::concluded(&server.query_vehicle(&vehicle), &vehicle, "ECV-01");
    let content = d.laudo.canonical_bytes();
    (d, content)
}

/// Delivers `d` with `laudo` and `p7s` as its laudo and signature, and commits it.
fn send(
    server: &Server,
    d: &mut Delivery,
    laudo: &[u8],
    p7s: &[u8],
) -> reqwest::blocking::Response {
    let mut files = d.photos.clone();
    files.push(("laudo.json".into(), laudo.to_vec()));
    files.push(("laudo.p7s".into(), p7s.to_vec()));
    d.relist(&files);
    server.deliver(&d.manifest, &files)
}

/// The test PKI for the inspector, LCRs published by `lcr`.
struct Pki {
    _dir: tempfile::TempDir,
    pki: TestPki,
}

impl Pki {
    fn make(cpf: &str, lcr_base: Option<&str>) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let options = test_pki::Options {
            hierarchy: lcr_base,
            ..test_pki::Options::default()
        };
        let pki = test_pki::make(dir.path(), cpf, &options).unwrap();
        Pki { _dir: dir, pki }
    }

    fn h(&self, name: &str) -> PathBuf {
        self.pki.hierarchy_file(name)
    }

    /// A `.p7s` over `content` by the hierarchy's `leaf` certificate (with the `chain` CA
    /// certificates in it, as a card offers them), at `at`.
    fn sign(&self, leaf: &str, chain: &[&str], content: &[u8], at: DateTime<Utc>) -> Vec<u8> {
        let mut signer =
            SoftwareSigner::from_files(&self.h(&format!("{leaf}.pem")), &self.h("leaf.key"))
                .unwrap();
        let chain: Vec<_> = chain
            .iter()
            .map(|n| {
                certificates_from_pem_or_der(&std::fs::read(self.h(&format!("{n}.pem"))).unwrap())
                    .unwrap()
                    .remove(0)
            })
            .collect();
        sign_detached(
            &mut signer,
            content,
            at,
            &SignaturePolicy::ad_rb_v2_3(),
            &chain,
        )
        .unwrap()
    }
}

fn register(server: &Server, cpfs: &[&str]) -> reqwest::blocking::Response {
    let inspectors: Vec<_> = cpfs
        .iter()
        .map(|cpf| json!({"cpf": cpf, "name": format!("Vistoriador {cpf}")}))
        .collect();
    server
        .client
        .put(server.api("/stations/self/inspectors"))
        .bearer_auth(&server.token)
        .json(&json!({ "inspectors": inspectors }))
        .send()
        .unwrap()
}

/// Sends a fresh inspection whose laudo `leaf` signs (with `chain`), returns status and body.
fn attempt(server: &Server, pki: &Pki, leaf: &str, chain: &[&str]) -> (u16, serde_json::Value) {
    let (mut d, content) = prepared(server);
    let p7s = pki.sign(leaf, chain, &content, Utc::now());
    let response = send(server, &mut d, &content, &p7s);
    if response.status() == 200 {
        return (200, response.json().unwrap());
    }
    error_code(response)
}

fn assert_refused(got: (u16, serde_json::Value), code: &str, needle: &str) {
    let (status, body) = got;
    assert_eq!((status, body["code"].as_str()), (422, Some(code)), "{body}");
    let reason = body["error"].as_str().unwrap();
    assert!(reason.contains(needle), "{needle:?} not in {reason:?}");
}

fn skip() -> bool {
    if test_pki::missing_tools(false).is_empty() {
        return false;
    }
    eprintln!("SKIP: openssl not installed");
    true
}

fn start_trusting(roots: &Path) -> Server {
    Server::start_with(&["--icp-roots", roots.to_str().unwrap()])
}

#[test]
fn the_laudo_signature_is_verified_at_commit() {
    if skip() {
        return;
    }
    let (lcr, listener) = LcrServer::start();
    let pki = Pki::make(INSPECTOR_CPF, Some(&lcr.base()));
    lcr.serve(listener, pki.h(""));
    let other = Pki::make(SOMEONE_ELSE, None);
    let server = start_trusting(&pki.pki.roots_dir());
    assert_eq!(register(&server, &[INSPECTOR_CPF]).status(), 200);

    // Good: the inspector's own e-CPF over the very laudo sent.
    let (status, body) = attempt(&server, &pki, "leaf", &["ac"]);
    assert_eq!(status, 200, "{body}");
    assert!(body["laudo_number"].as_str().is_some(), "{body}");

    // Tampered: one byte of the laudo changed after signing (the manifest lists the changed
    // bytes, so only the signature can tell).
    let (mut d, content) = prepared(&server);
    let id = d.manifest.inspection_id;
    let p7s = pki.sign("leaf", &["ac"], &content, Utc::now());
    let tampered = String::from_utf8(content)
        .unwrap()
        .replacen("Vistoria Teste", "Vistoria Tesge", 1)
        .into_bytes();
    let (status, body) = error_code(send(&server, &mut d, &tampered, &p7s));
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
    let (mut d, content) = prepared(&server);
    let mut someone = SoftwareSigner::of(&other.pki).unwrap();
    let p7s = sign_detached(
        &mut someone,
        &content,
        Utc::now(),
        &SignaturePolicy::ad_rb_v2_3(),
        &[],
    )
    .unwrap();
    assert_refused(
        error_code(send(&server, &mut d, &content, &p7s)),
        "invalid_signature",
        "CPF",
    );
}

/// Every certificate issue 17 saw accepted, each refused with its reason.
#[test]
fn only_a_valid_unrevoked_path_to_a_configured_root_signs() {
    if skip() {
        return;
    }
    let (lcr, listener) = LcrServer::start();
    let pki = Pki::make(INSPECTOR_CPF, Some(&lcr.base()));
    lcr.serve(listener, pki.h(""));
    let server = start_trusting(&pki.pki.roots_dir());
    assert_eq!(register(&server, &[INSPECTOR_CPF]).status(), 200);

    // A self-signed certificate carrying the right CPF.
    assert_refused(
        attempt(&server, &pki, "selfsigned", &[]),
        "invalid_signature",
        "certificado autoassinado",
    );
    // Expired in 2019, keyEncipherment only.
    assert_refused(
        attempt(&server, &pki, "expired", &["ac"]),
        "invalid_signature",
        "certificado vencido em 31/12/2019",
    );
    // Issued by a "CA" that is no CA (basicConstraints cA false, no keyCertSign).
    assert_refused(
        attempt(&server, &pki, "notca-leaf", &["notca"]),
        "invalid_signature",
        "não é uma autoridade certificadora (basicConstraints sem cA)",
    );
    // Issued by a CA without keyCertSign.
    assert_refused(
        attempt(&server, &pki, "nokcs-leaf", &["nokcs"]),
        "invalid_signature",
        "keyUsage sem keyCertSign",
    );
    // One CA more than the intermediate's pathLenConstraint (0) allows.
    assert_refused(
        attempt(&server, &pki, "deep-leaf", &["deep", "ac"]),
        "invalid_signature",
        "pathLenConstraint",
    );
    // Without its intermediate the leaf has no path.
    assert_refused(
        attempt(&server, &pki, "leaf", &[]),
        "invalid_signature",
        "emissor desconhecido",
    );
    // Revoked by the intermediate's LCR, fetched from the certificate's distribution point.
    assert_refused(
        attempt(&server, &pki, "revoked", &["ac"]),
        "invalid_signature",
        "revogado pela AC",
    );
    // Signed "in the future": after the package reached the central.
    let (mut d, content) = prepared(&server);
    let p7s = pki.sign(
        "leaf",
        &["ac"],
        &content,
        Utc::now() + chrono::Duration::hours(1),
    );
    assert_refused(
        error_code(send(&server, &mut d, &content, &p7s)),
        "invalid_signature",
        "posterior à chegada do laudo",
    );
    // The good one still passes, and the LCRs are cached in the data folder.
    assert_eq!(attempt(&server, &pki, "leaf", &["ac"]).0, 200);
    let cached = std::fs::read_dir(server.data.join("lcr")).unwrap().count();
    assert_eq!(cached, 2, "the intermediate's and the root's LCR");
}

/// §11: the signer must be an inspector the station registered.
#[test]
fn a_cpf_not_registered_for_the_station_cannot_sign() {
    if skip() {
        return;
    }
    let (lcr, listener) = LcrServer::start();
    let pki = Pki::make(INSPECTOR_CPF, Some(&lcr.base()));
    lcr.serve(listener, pki.h(""));
    let server = start_trusting(&pki.pki.roots_dir());

    // Nobody registered yet.
    assert_refused(
        attempt(&server, &pki, "leaf", &["ac"]),
        "unregistered_inspector",
        "o CPF ***.533.447-** que assinou o laudo não é de um vistoriador cadastrado",
    );
    // Another station's inspector does not count for this one.
    let other = common::add_station(&server.data, "ECV-02");
    let response = server
        .client
        .put(server.api("/stations/self/inspectors"))
        .bearer_auth(&other)
        .json(&json!({"inspectors": [{"cpf": INSPECTOR_CPF, "name": "Ana"}]}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_refused(
        attempt(&server, &pki, "leaf", &["ac"]),
        "unregistered_inspector",
        "ECV-01",
    );
    // A list with a bad CPF is refused naming the entry.
    let (status, body) = error_code(register(&server, &[INSPECTOR_CPF, "12345678900"]));
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("inspectors[1].cpf")),
        "{body}"
    );
    // Registered: the same kind of package is accepted, and a refused one goes through on
    // its next commit.
    let (mut d, content) = prepared(&server);
    let id = d.manifest.inspection_id;
    let p7s = pki.sign("leaf", &["ac"], &content, Utc::now());
    assert_eq!(send(&server, &mut d, &content, &p7s).status(), 422);
    assert_eq!(register(&server, &[INSPECTOR_CPF]).status(), 200);
    let response = server.commit(id.as_uuid());
    assert_eq!(response.status(), 200, "{:?}", response.text());
    // Removed from the list later: laudos signed before the removal stay good, new ones not.
    assert_eq!(register(&server, &[]).status(), 200);
    assert_refused(
        attempt(&server, &pki, "leaf", &["ac"]),
        "unregistered_inspector",
        "saiu da lista",
    );
}

/// An LCR that cannot be fetched, with no current copy cached: the signature cannot be judged,
/// so the central answers 503 with Retry-After (the station retries; nothing is refused or
/// lost), and the same package goes through once the CA's server answers.
#[test]
fn an_unreachable_lcr_defers_the_package_instead_of_accepting_it() {
    if skip() {
        return;
    }
    let (lcr, listener) = LcrServer::start();
    let pki = Pki::make(INSPECTOR_CPF, Some(&lcr.base()));
    lcr.serve(listener, pki.h(""));
    let server = start_trusting(&pki.pki.roots_dir());
    assert_eq!(register(&server, &[INSPECTOR_CPF]).status(), 200);

    lcr.down.store(true, Ordering::SeqCst);
    let (mut d, content) = prepared(&server);
    let id = d.manifest.inspection_id;
    let p7s = pki.sign("leaf", &["ac"], &content, Utc::now());
    let response = send(&server, &mut d, &content, &p7s);
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["code"], "revocation_unavailable", "{body}");
    let reason = body["error"].as_str().unwrap();
    assert!(
        reason.contains("não foi possível obter a LCR da AC")
            && reason.contains("não há cópia válida em cache")
            && reason.contains("a estação tentará de novo"),
        "{reason}"
    );
    // Not recorded as a refusal: the package still waits.
    let view: serde_json::Value = server
        .get(&format!("/inspections/{}", id.as_uuid()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(view["rejection"].is_null(), "{view}");

    // The CA's server is back: the station's retry goes through.
    lcr.down.store(false, Ordering::SeqCst);
    let response = server.commit(id.as_uuid());
    assert_eq!(response.status(), 200, "{:?}", response.text());
    // Down again: the cached LCRs (current until their nextUpdate) answer without it.
    lcr.down.store(true, Ordering::SeqCst);
    let hits = lcr.hits.load(Ordering::SeqCst);
    assert_eq!(attempt(&server, &pki, "leaf", &["ac"]).0, 200);
    assert_eq!(
        lcr.hits.load(Ordering::SeqCst),
        hits,
        "served from the cache"
    );
}

/// `serve` does not start without roots to trust.
#[test]
fn serve_refuses_to_start_without_icp_roots() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |extra: &[&str]| {
        std::process::Command::new(BIN)
            .args(["serve", "--data", dir.path().to_str().unwrap()])
            .args(["--addr", "127.0.0.1:0"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = serve(&[]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("informe --icp-roots"), "{stderr}");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = serve(&["--icp-roots", empty.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nenhum certificado raiz legível"),
        "{stderr}"
    );
}
