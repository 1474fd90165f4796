//! The keyed audit chain and its anchors at the central (issue 17): the station gets its first
//! key once, every later row carries a MAC only that key's ratchet gives, and
//! `POST /audit/verify` names the first row that was rewritten — which the station's own walk
//! cannot see once the attacker re-chains the hashes. A package re-using an anchored position
//! with another head is refused.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, error_code, manifest, registry, to_value};
use vistoria_core::audit_keying::{self, ensure_keyed, verify_with_central};
use vistoria_core::central_client::{CentralClient, Endpoint};
use vistoria_core::store::{AuditAction, AuditEvent, Store};

fn client(server: &Server) -> CentralClient {
    CentralClient::new(&Endpoint {
        url: server.url.clone(),
        token: server.token.clone(),
        cert_sha256: server.cert_sha256.clone(),
    })
    .unwrap()
}

fn rows(store: &mut Store, n: u32) {
    for i in 0..n {
        store
            .audit(
                AuditEvent::new(None, "op1", AuditAction::InspectionItemRecorded)
                    .detail(serde_json::json!({ "n": i })),
            )
            .unwrap();
    }
}

/// Registers an (interrupted) package anchored at `seq` with `head`; the answer's status and body.
fn anchored_package(server: &Server, seq: u64, head: &str) -> (u16, serde_json::Value) {
    let query = server.query_vehicle(&registry().remove(0));
    let mut m = manifest(&query, "ECV-01", &[]);
    m.audit_sequence = Some(seq);
    m.audit_head = head.to_owned();
    let response = server.post_json("/packages", &to_value(&m));
    let status = response.status().as_u16();
    if status == 201 {
        (status, response.json().unwrap())
    } else {
        error_code(response)
    }
}

#[test]
fn a_rewritten_row_is_named_by_the_central_and_the_key_is_handed_out_once() {
    let server = Server::start();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    rows(&mut store, 5);

    // First sync: keyed from row 6 (the "audit.keyed" row itself is the first keyed one).
    assert_eq!(ensure_keyed(&mut store, &client, None).unwrap(), Some(6));
    assert_eq!(ensure_keyed(&mut store, &client, None).unwrap(), None);
    rows(&mut store, 20);
    let mut all = store.audit_mac_rows(1).unwrap();
    assert_eq!(all.len(), 26);

    // Until a package shows the station has the key, asking again gets the same key (an
    // answer lost on the way must not leave the station unkeyed for good)…
    let again = client.audit_key(6).unwrap();
    assert_eq!(again.start_seq, 6);
    // …a package anchored in the keyed part confirms it, and then nobody gets it again.
    let (seq, head) = store.audit_head().unwrap().unwrap();
    let (status, body) = anchored_package(&server, seq, &head);
    assert_eq!(status, 201, "{body}");
    let refused = client.audit_key(27).unwrap_err();
    assert!(
        audit_keying::already_issued(&audit_keying::KeyingError::Client(refused)),
        "the key is never sent twice once confirmed"
    );

    // The intact chain: every keyed MAC checked, the anchor compared.
    let check = verify_with_central(&all, &client).unwrap();
    assert_eq!(
        (
            check.keyed_from,
            check.macs_checked,
            check.anchors_checked,
            check.divergence.clone()
        ),
        (Some(6), 21, 1, None)
    );

    // Row 9 rewritten and the chain re-hashed from there (what the station's own walk accepts):
    // its MAC no longer fits, and the anchored head no longer matches.
    for row in all.iter_mut().filter(|r| r.seq >= 9) {
        row.hash = vistoria_core::hashing::sha256_hex(format!("forjado {}", row.seq).as_bytes());
    }
    let check = verify_with_central(&all, &client).unwrap();
    let divergence = check.divergence.unwrap();
    assert_eq!(divergence.seq, 9, "{divergence:?}");
    assert!(divergence.reason.contains("MAC"), "{divergence:?}");

    // The MACs recomputed with a guessed key do not help either.
    let mut forged = store.audit_mac_rows(1).unwrap();
    forged[11].mac = Some(vistoria_core::store::row_mac(&[0u8; 32], &forged[11].hash));
    let check = verify_with_central(&forged, &client).unwrap();
    assert_eq!(check.divergence.unwrap().seq, 12);
}

#[test]
fn an_unkeyed_chain_is_still_compared_with_its_anchors() {
    let server = Server::start();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    rows(&mut store, 10);
    let mut all = store.audit_mac_rows(1).unwrap();
    let (status, body) = anchored_package(&server, 4, &all[3].hash);
    assert_eq!(status, 201, "{body}");
    let check = verify_with_central(&all, &client).unwrap();
    assert_eq!((check.anchors_checked, check.divergence), (1, None));
    all[3].hash = "0".repeat(64);
    let check = verify_with_central(&all, &client).unwrap();
    let divergence = check.divergence.unwrap();
    assert_eq!(divergence.seq, 4);
    assert!(divergence.reason.contains("cabeça"), "{divergence:?}");
}

#[test]
fn an_anchored_position_sent_again_with_another_head_is_refused() {
    let server = Server::start();
    let first = "a".repeat(64);
    let (status, body) = anchored_package(&server, 40, &first);
    assert_eq!(status, 201, "{body}");
    // A later package from the same station at the same position with another head: the chain
    // was rewritten (or rolled back and grown again) in between.
    let (status, body) = anchored_package(&server, 40, &"b".repeat(64));
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (422, Some("inconsistent_package"), Some("audit_sequence")),
        "{body}"
    );
    // Out-of-order arrival is not a rewrite: an earlier position arriving later is kept (a
    // package waiting for its signature is queued after younger ones).
    let (status, body) = anchored_package(&server, 12, &"c".repeat(64));
    assert_eq!(status, 201, "{body}");
}
