//! Signed policies on bytes: a good one taken, a tampered one, another key's, another kind's, an
//! older one and one out of bounds refused (§15).

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::TimeZone as _;
use ed25519_dalek::{Signer as _, SigningKey};

use super::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(key: &SigningKey) -> String {
    STANDARD.encode(key.verifying_key().as_bytes())
}

fn signer(key: &SigningKey) -> impl FnOnce(&[u8]) -> String + '_ {
    move |bytes| STANDARD.encode(key.sign(bytes).to_bytes())
}

fn security(version: u64) -> SecurityPolicy {
    SecurityPolicy {
        version,
        issued_at: Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap(),
        password_min_length: 10,
        failures_before_lock: 5,
        lock_minutes: 15,
        idle_minutes: 5,
        usb_storage: false,
        log_retention_days: 90,
    }
}

fn software() -> SoftwarePolicy {
    SoftwarePolicy {
        version: 1,
        issued_at: Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap(),
        packages: vec!["vistoria".into(), "lib*".into(), "systemd".into()],
        executables: vec!["/usr/bin/vistoria".into(), "/usr/lib/systemd/*".into()],
        modules: vec!["usbhid".into(), "snd_*".into()],
        usb: vec!["05ba:000a".into(), "1d6b:*".into()],
        block: true,
    }
}

#[test]
fn a_signed_policy_verifies_and_reads_back() {
    let k = key(7);
    let signed = SignedPolicy::sign(&security(3), signer(&k)).unwrap();
    // Through the wire and back.
    let wire: SignedPolicy =
        serde_json::from_str(&serde_json::to_string(&signed).unwrap()).unwrap();
    assert_eq!(wire.verify::<SecurityPolicy>(&public(&k)), Ok(security(3)));
}

#[test]
fn every_changed_byte_of_the_document_fails_the_signature() {
    let k = key(7);
    let signed = SignedPolicy::sign(&security(3), signer(&k)).unwrap();
    let text = serde_json::to_string(&signed.document).unwrap();
    let mut refused = 0;
    for i in 0..text.len() {
        let mut bytes = text.clone().into_bytes();
        bytes[i] = if bytes[i] == b'9' { b'8' } else { b'9' };
        // Only mutations that still parse as JSON reach the check.
        let Ok(document) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        if document == signed.document {
            continue;
        }
        let forged = SignedPolicy {
            document,
            ..signed.clone()
        };
        assert_eq!(
            forged.verify::<SecurityPolicy>(&public(&k)),
            Err(PolicyError::BadSignature(PolicyKind::Security.label())),
            "byte {i} of {text}"
        );
        refused += 1;
    }
    assert!(refused > 10, "only {refused} mutations were checked");
}

#[test]
fn an_unknown_field_is_covered_by_the_signature() {
    let k = key(7);
    let mut document = serde_json::to_value(security(3)).unwrap();
    document["future_rule"] = serde_json::json!(true);
    let signature = STANDARD.encode(
        k.sign(&signing_bytes(PolicyKind::Security, &document))
            .to_bytes(),
    );
    let signed = SignedPolicy {
        kind: PolicyKind::Security,
        document: document.clone(),
        signature,
    };
    assert_eq!(
        signed.verify::<SecurityPolicy>(&public(&k)),
        Ok(security(3))
    );
    let mut dropped = signed.clone();
    dropped
        .document
        .as_object_mut()
        .unwrap()
        .remove("future_rule");
    assert!(dropped.verify::<SecurityPolicy>(&public(&k)).is_err());
}

#[test]
fn another_key_another_kind_and_a_receipt_signature_are_refused() {
    let (k, other) = (key(7), key(8));
    let signed = SignedPolicy::sign(&security(3), signer(&other)).unwrap();
    assert!(matches!(
        signed.verify::<SecurityPolicy>(&public(&k)),
        Err(PolicyError::BadSignature(_))
    ));
    // The same signed bytes presented as another kind.
    let signed = SignedPolicy::sign(&security(3), signer(&k)).unwrap();
    let moved = SignedPolicy {
        kind: PolicyKind::Version,
        ..signed.clone()
    };
    assert!(moved.verify::<VersionPolicy>(&public(&k)).is_err());
    assert!(signed.verify::<VersionPolicy>(&public(&k)).is_err());
    // A signature over the bare canonical JSON (no prefix, as another protocol might sign).
    let bare = SignedPolicy {
        signature: STANDARD.encode(
            k.sign(canonical_json(&signed.document).as_bytes())
                .to_bytes(),
        ),
        ..signed.clone()
    };
    assert!(bare.verify::<SecurityPolicy>(&public(&k)).is_err());
    // Garbage signature and an unknown key.
    let garbage = SignedPolicy {
        signature: "não é base64".into(),
        ..signed.clone()
    };
    assert!(garbage.verify::<SecurityPolicy>(&public(&k)).is_err());
    assert_eq!(signed.verify::<SecurityPolicy>(""), Err(PolicyError::NoKey));
}

#[test]
fn accept_takes_only_newer_signed_documents_within_bounds() {
    let k = key(7);
    let pk = public(&k);
    let v3 = SignedPolicy::sign(&security(3), signer(&k)).unwrap();
    let check = |p: &SecurityPolicy| p.check();
    assert_eq!(accept(&v3, None, &pk, check), Acceptance::New(security(3)));
    assert_eq!(
        accept(&v3, Some(2), &pk, check),
        Acceptance::New(security(3))
    );
    assert_eq!(
        accept::<SecurityPolicy>(&v3, Some(3), &pk, check),
        Acceptance::Same
    );
    assert_eq!(
        accept::<SecurityPolicy>(&v3, Some(4), &pk, check),
        Acceptance::Older {
            offered: 3,
            in_force: 4
        }
    );
    let weak = SecurityPolicy {
        password_min_length: 2,
        ..security(5)
    };
    let weak = SignedPolicy::sign(&weak, signer(&k)).unwrap();
    assert!(matches!(
        accept::<SecurityPolicy>(&weak, Some(4), &pk, check),
        Acceptance::Refused(PolicyError::OutOfBounds { .. })
    ));
    let forged = SignedPolicy::sign(&security(9), signer(&key(9))).unwrap();
    assert!(matches!(
        accept::<SecurityPolicy>(&forged, Some(4), &pk, check),
        Acceptance::Refused(PolicyError::BadSignature(_))
    ));
}

#[test]
fn version_policy_minimum_and_update() {
    let policy = VersionPolicy {
        version: 1,
        issued_at: Utc::now(),
        current: "0.3.0".into(),
        package_sha256: "00".repeat(32),
        package_size: 1,
        package_path: "/releases/0.3.0".into(),
        minimum: "0.2.0".into(),
    };
    assert!(policy.below_minimum("0.1.9"));
    assert!(!policy.below_minimum("0.2.0"));
    assert!(policy.update_available("0.2.5"));
    assert!(!policy.update_available("0.3.0"));
}

#[test]
fn offenders_are_what_no_pattern_allows() {
    let inventory = Inventory {
        collected_at: Utc::now(),
        running_version: "0.1.0".into(),
        packages: vec![
            InstalledPackage {
                name: "vistoria".into(),
                version: "0.1.0".into(),
            },
            InstalledPackage {
                name: "libc6:amd64".into(),
                version: "2.36".into(),
            },
            InstalledPackage {
                name: "anydesk".into(),
                version: "6.3".into(),
            },
        ],
        executables: vec![
            "/usr/bin/vistoria".into(),
            "/usr/lib/systemd/systemd-udevd".into(),
            "/usr/bin/anydesk".into(),
        ],
        modules: vec![
            "usbhid".into(),
            "snd_hda_intel".into(),
            "usb_storage".into(),
        ],
        usb: vec!["05ba:000a".into(), "1d6b:0002".into(), "0781:5567".into()],
    };
    let offenders: Vec<String> = software()
        .offenders(&inventory)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        offenders,
        [
            "pacote anydesk 6.3",
            "programa em execução /usr/bin/anydesk",
            "módulo do kernel usb_storage",
            "dispositivo USB 0781:5567",
        ]
    );
}

#[test]
fn patterns() {
    for (p, t) in [
        ("*", ""),
        ("*", "x"),
        ("lib*", "libc6"),
        ("*-dev", "libx-dev"),
        ("a*b*c", "aXbYc"),
        ("a*b*c", "abc"),
        ("exact", "exact"),
    ] {
        assert!(pattern_matches(p, t), "{p} ~ {t}");
    }
    for (p, t) in [
        ("lib*", "xlib"),
        ("a*b*c", "acb"),
        ("ab*ba", "aba"),
        ("exact", "exactly"),
        ("", "x"),
    ] {
        assert!(!pattern_matches(p, t), "{p} !~ {t}");
    }
}
