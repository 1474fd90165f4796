//! A concluded inspection as a real kiosk delivers it: the queried vehicle's checklist filled in,
//! the canonical laudo naming its photos by hash, the inspector's CAdES signature over the laudo
//! made with a software e-CPF key from the openssl test PKI, and the manifest of all that.
//! Tests change one part of it to show the central refuses the contradiction.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration};
use serde_json::Value;
use uuid::Uuid;
use vistoria_core::domain::{Inspection, InspectionId, Plate, Renavam, VehicleIdentity};
use vistoria_core::hashing::{Digests, sha256_hex};
use vistoria_core::laudo::{InspectorInfo, Laudo, LaudoInputs, PhotoRef, StationInfo};
use vistoria_core::signing::test_pki::{self, SoftwareSigner};
use vistoria_core::signing::{SignaturePolicy, sign_detached};
use vistoria_core::wire::{ManifestFile, MediaKind, PackageManifest, Vehicle};

/// CPF of the inspector who signs (valid check digits).
pub const INSPECTOR_CPF: &str = "39053344705";

/// An inspector's e-CPF in software, from the openssl test PKI.
pub struct SoftSigner {
    signer: SoftwareSigner,
    roots: PathBuf,
}

impl SoftSigner {
    /// A test PKI in `dir` with an e-CPF for `cpf`.
    pub fn make(cpf: &str, dir: &Path) -> SoftSigner {
        let pki = test_pki::make(dir, cpf, &test_pki::Options::default()).unwrap();
        SoftSigner {
            signer: SoftwareSigner::of(&pki).unwrap(),
            roots: pki.roots_dir(),
        }
    }

    /// A central that trusts this PKI's root (no LCRs: a test PKI publishes none) and has the
    /// inspector registered for station `ECV-01` (§11).
    pub fn trusting_server(&self) -> super::Server {
        let server = super::Server::start_with(&[
            "--icp-roots",
            self.roots.to_str().unwrap(),
            "--lcr-optional",
        ]);
        let response = server
            .client
            .put(server.api("/stations/self/inspectors"))
            .bearer_auth(&server.token)
            .json(&serde_json::json!({
                "inspectors": [{"cpf": INSPECTOR_CPF, "name": "Ana Paula Souza"}]
            }))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        server
    }

    /// A detached CAdES-BES (AD-RB) signature over `content`, signed now.
    pub fn sign_laudo(&mut self, content: &[u8]) -> Vec<u8> {
        sign_detached(
            &mut self.signer,
            content,
            chrono::Utc::now(),
            &SignaturePolicy::ad_rb_v2_3(),
            &[],
        )
        .unwrap()
    }
}

/// Whether openssl (for the test PKI) is missing; tests then skip, saying so.
pub fn pki_tools_missing() -> bool {
    let missing = test_pki::missing_tools(false);
    if !missing.is_empty() {
        eprintln!("SKIP: sem {missing:?} para a PKI de teste");
    }
    !missing.is_empty()
}

/// One inspection's delivery: the laudo (decoded, to change and re-encode) and the package.
pub struct Delivery {
    pub inspection: Inspection,
    pub laudo: Laudo,
    pub photos: Vec<(String, Vec<u8>)>,
    pub manifest: PackageManifest,
}

impl Delivery {
    /// The concluded inspection of the vehicle `vehicle` queried by `query` (both JSON as the
    /// central returned them), all items conforming, with two photos. When the query named an
    /// inspection, it is that one and its laudo carries the number the central allocated to it,
    /// as a kiosk's does.
    pub fn concluded(query: &Value, vehicle: &Value, station: &str) -> Delivery {
        let vehicle: Vehicle = serde_json::from_value(vehicle.clone()).unwrap();
        let query_id: Uuid = serde_json::from_value(query["query_id"].clone()).unwrap();
        let queried_at: DateTime<chrono::Utc> =
            serde_json::from_value(query["queried_at"].clone()).unwrap();
        let identity = VehicleIdentity::new(
            Plate::parse(&vehicle.plate).unwrap(),
            Some(Renavam::parse(&vehicle.renavam).unwrap()),
            None,
        )
        .unwrap();
        let id: Option<InspectionId> =
            serde_json::from_value(query["inspection_id"].clone()).unwrap();
        let number = query["laudo_number"]
            .as_str()
            .map_or_else(|| format!("{station}-TESTE"), str::to_owned);
        let mut inspection = Inspection::open_with_id(
            id.unwrap_or_default(),
            query_id,
            identity,
            vehicle.data,
            queried_at,
        );
        let start = queried_at + Duration::milliseconds(10);
        inspection.start_capture(start).unwrap();
        vistoria_core::fixtures::fill_checklist(&mut inspection, 0, start);
        let verdict = inspection.checklist().verdict().unwrap();
        inspection
            .conclude(verdict, start + Duration::milliseconds(10))
            .unwrap();
        let photos: Vec<(String, Vec<u8>)> = ["front", "rear"]
            .iter()
            .enumerate()
            .map(|(i, kind)| (format!("{kind}.jpg"), super::bytes(2_000 + i, i as u8)))
            .collect();
        let refs = photos
            .iter()
            .map(|(name, bytes)| PhotoRef {
                kind: name.trim_end_matches(".jpg").to_owned(),
                label: name.clone(),
                sha256: sha256_hex(bytes),
                captured_at: start,
            })
            .collect();
        let laudo = Laudo::from_inspection(
            &inspection,
            LaudoInputs {
                number,
                station: StationInfo {
                    code: station.to_owned(),
                    name: "Vistoria Teste".into(),
                    city: "Cuiabá/MT".into(),
                },
                inspector: InspectorInfo {
                    name: "Ana Paula Souza".into(),
                    cpf: INSPECTOR_CPF.into(),
                },
                photos: refs,
                panoramic_segments: Vec::new(),
                biometric_check: vistoria_core::fixtures::simulated_check(start).unwrap(),
                plate_reading: None,
                film_gaps: Vec::new(),
                issued_at: start,
                verify_base_url: vistoria_core::laudo::verify_base_url("https://central.example"),
            },
        )
        .unwrap();
        let manifest = PackageManifest {
            inspection_id: inspection.id(),
            station: station.to_owned(),
            query_id,
            plate: inspection.vehicle().plate().clone(),
            concluded_at: inspection.last_event_at(),
            outcome: inspection.outcome().unwrap(),
            checklist: inspection.checklist().clone(),
            metadata: Default::default(),
            audit_head: sha256_hex(b"audit"),
            audit_sequence: None,
            files: Vec::new(),
        };
        Delivery {
            inspection,
            laudo,
            photos,
            manifest,
        }
    }

    /// The files to send: the photos, the laudo's canonical bytes and `signer`'s signature over
    /// them. The manifest lists exactly these, with their digests.
    pub fn files(&mut self, signer: &mut SoftSigner) -> Vec<(String, Vec<u8>)> {
        let laudo = self.laudo.canonical_bytes();
        let p7s = signer.sign_laudo(&laudo);
        let mut files = self.photos.clone();
        files.push(("laudo.json".into(), laudo));
        files.push(("laudo.p7s".into(), p7s));
        self.relist(&files);
        files
    }

    /// Lists exactly `files` in the manifest, with their digests (after a test changed some).
    pub fn relist(&mut self, files: &[(String, Vec<u8>)]) {
        self.manifest.files = files
            .iter()
            .map(|(name, bytes)| {
                let d = Digests::of(bytes);
                ManifestFile {
                    name: name.clone(),
                    kind: match name.as_str() {
                        "laudo.json" => MediaKind::Laudo,
                        "laudo.p7s" => MediaKind::Signature,
                        n if n.starts_with("video_segment") => MediaKind::VideoSegment,
                        n if n.starts_with("panoramic_manifest") => MediaKind::Other,
                        _ => MediaKind::Photo,
                    },
                    size: d.size,
                    md5: d.md5,
                    sha256: d.sha256,
                }
            })
            .collect();
    }
}
