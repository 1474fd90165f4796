//! A package manifest as the central reads it (`POST /packages`): JSON value, its canonical
//! form and hash, the typed manifest, and every file name through the central's check. The
//! raw input is also tried as a file name (`PUT /packages/{id}/files/{name}`).
//!
//! `names.rs` is compiled here from the central's own source file (it depends only on
//! `vistoria-core`), so the instrumented build does not pull axum, rustls and tokio.
#![no_main]

#[allow(dead_code)]
#[path = "../../central/src/names.rs"]
mod names;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vistoria_core::wire::{PackageManifest, canonical_json, manifest_sha256};

fn check_name(name: &str) {
    if names::check_file_name(name).is_ok() {
        assert!(!name.is_empty() && name.len() <= 128);
        assert!(!name.starts_with('.') && !name.contains(".."));
        assert!(!name.contains(['/', '\\', '\0']));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(name) = std::str::from_utf8(data) {
        check_name(name);
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let canonical = canonical_json(&value);
    assert_eq!(manifest_sha256(&value).len(), 64);
    let reparsed: Value = serde_json::from_str(&canonical).expect("canonical JSON parses");
    assert_eq!(
        canonical_json(&reparsed),
        canonical,
        "canonical form is stable"
    );
    if let Ok(manifest) = serde_json::from_value::<PackageManifest>(value) {
        for file in &manifest.files {
            check_name(&file.name);
        }
        let json = manifest.to_json().expect("a manifest serialises");
        let again: PackageManifest = serde_json::from_value(json).expect("round trip");
        assert_eq!(again, manifest);
        let _ = manifest.content_sha256();
    }
});
