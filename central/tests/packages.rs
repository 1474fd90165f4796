//! End-to-end: package upload, commit, receipt, idempotency, tampering, resume, bad input.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, bytes, error_code, manifest, registry, to_value};
use serde_json::{Value, json};
use vistoria_central::keys::verify_receipt;
use vistoria_core::wire::{InspectionView, Receipt, UploadState, manifest_sha256};

#[test]
fn upload_commit_receipt_retry_and_report() {
    let server = Server::start();
    let vehicle = registry().remove(0);
    let query = server.query_vehicle(&vehicle);
    let big = bytes(3 * 1024 * 1024 + 17, 1);
    let small = bytes(1000, 2);
    let m = manifest(
        &query,
        "ECV-01",
        &[("rear.jpg", &small), ("panoramic-0001.mp4", &big)],
    );
    let id = m.inspection_id.as_uuid();
    let value = to_value(&m);

    let response = server.post_json("/packages", &value);
    assert_eq!(response.status(), 201);
    let state: UploadState = response.json().unwrap();
    assert_eq!(
        state.missing,
        vec!["rear.jpg".to_owned(), "panoramic-0001.mp4".to_owned()]
    );
    assert_eq!(state.manifest_sha256, manifest_sha256(&value));
    // Posting the same manifest again is a harmless retry.
    assert_eq!(server.post_json("/packages", &value).status(), 200);

    let state: UploadState = server
        .put_file(id, "rear.jpg", 0, small.clone())
        .json()
        .unwrap();
    assert_eq!(state.missing, vec!["panoramic-0001.mp4".to_owned()]);
    assert_eq!(state.files[0].digests_match, Some(true));
    // Committing with a file missing is refused, and stores nothing.
    let (status, body) = error_code(server.commit(id));
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("incomplete_package"))
    );
    let state: UploadState = server
        .put_file(id, "panoramic-0001.mp4", 0, big.clone())
        .json()
        .unwrap();
    assert!(state.missing.is_empty());

    let response = server.commit(id);
    assert_eq!(response.status(), 200);
    let receipt: Receipt = response.json().unwrap();
    assert_eq!(receipt.inspection_id, m.inspection_id);
    assert_eq!(receipt.manifest_sha256, manifest_sha256(&value));
    assert_eq!(receipt.manifest_sha256, m.content_sha256().unwrap());
    assert!(
        receipt.laudo_number.starts_with("MT-"),
        "{}",
        receipt.laudo_number
    );
    let time: Value = server.get("/time").send().unwrap().json().unwrap();
    let key = time["server_key"].as_str().unwrap();
    assert!(
        verify_receipt(&receipt, key),
        "receipt signature must verify"
    );

    // A retry after a lost response gets the very same receipt (2s, §12: no duplicate).
    let again: Receipt = server.commit(id).json().unwrap();
    assert_eq!(again, receipt);
    let state: UploadState = server.post_json("/packages", &value).json().unwrap();
    assert_eq!(state.receipt.as_ref(), Some(&receipt));
    // Another manifest under the same inspection id is a conflict.
    let mut other = m.clone();
    other.audit_head = "1".repeat(64);
    let (status, body) = error_code(server.post_json("/packages", &to_value(&other)));
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("manifest_conflict"))
    );
    // Verified files can no longer be written.
    let (status, _) = error_code(server.put_file(id, "rear.jpg", 0, small.clone()));
    assert_eq!(status, 409);

    let view: Value = server
        .get(&format!("/inspections/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(view["status"], "verified");
    assert_eq!(view["station"], "ECV-01");
    // The kiosk reads it with the shared wire type.
    let typed: InspectionView = serde_json::from_value(view.clone()).unwrap();
    assert_eq!(typed.upload.receipt.as_ref(), Some(&receipt));
    assert_eq!(typed.outcome, m.outcome);
    assert_eq!(view["late"], false);
    assert_eq!(
        view["receipt"]["laudo_number"].as_str(),
        Some(receipt.laudo_number.as_str())
    );
    assert_eq!(view["files"][1]["received"], big.len() as u64);

    // Stored once: exactly the two files, under their names.
    let media = server
        .data
        .join("media")
        .join("ECV-01")
        .join(id.to_string());
    let mut stored: Vec<String> = std::fs::read_dir(&media)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        vec!["panoramic-0001.mp4".to_owned(), "rear.jpg".to_owned()]
    );
    assert_eq!(
        std::fs::read(media.join("panoramic-0001.mp4")).unwrap(),
        big
    );

    let lines = server.report();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["inspection_id"], id.to_string());
    assert_eq!(lines[0]["verification"], "verified");
    assert_eq!(
        lines[1],
        json!({"inspections": 1, "verified": 1, "rejected": 0, "duplicates_stored": 0})
    );
}

#[test]
fn tampered_bytes_are_rejected_naming_the_file() {
    let server = Server::start();
    let query = server.query_vehicle(&registry().remove(1));
    let good = bytes(5000, 3);
    let m = manifest(
        &query,
        "ECV-01",
        &[("front.jpg", &good), ("rear.jpg", &good)],
    );
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);
    let mut tampered = good.clone();
    tampered[100] ^= 0xff;
    server.put_file(id, "front.jpg", 0, good.clone());
    let state: UploadState = server.put_file(id, "rear.jpg", 0, tampered).json().unwrap();
    assert_eq!(state.files[1].digests_match, Some(false));

    let (status, body) = error_code(server.commit(id));
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("hash_mismatch"))
    );
    assert_eq!(body["file"], "rear.jpg");
    assert!(body["error"].as_str().unwrap().contains("rear.jpg"));
    // The bad bytes were dropped for re-upload; nothing was sealed.
    let state: UploadState = server
        .get(&format!("/packages/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(state.missing, vec!["rear.jpg".to_owned()]);
    assert_eq!(serde_json::to_value(state.status).unwrap(), "rejected");
    assert!(server.report().last().unwrap()["rejected"] == 1);

    server.put_file(id, "rear.jpg", 0, good.clone());
    let receipt: Receipt = server.commit(id).json().unwrap();
    assert_eq!(receipt.inspection_id, m.inspection_id);
    let summary = server.report().pop().unwrap();
    assert_eq!(
        summary,
        json!({"inspections": 1, "verified": 1, "rejected": 0, "duplicates_stored": 0})
    );
}

/// A body that yields `limit` bytes and then fails, like a connection cut mid-file.
struct CutReader {
    data: Vec<u8>,
    pos: usize,
    limit: usize,
}

impl std::io::Read for CutReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "cabo puxado",
            ));
        }
        let n = buf.len().min(self.limit - self.pos).min(64 * 1024);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn upload_cut_mid_file_resumes_from_what_was_received() {
    let server = Server::start();
    let query = server.query_vehicle(&registry().remove(2));
    let video = bytes(4 * 1024 * 1024, 4);
    let m = manifest(&query, "ECV-01", &[("seg-0001.mp4", &video)]);
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);

    let cut = server
        .client
        .put(server.api(&format!("/packages/{id}/files/seg-0001.mp4?offset=0")))
        .bearer_auth(&server.token)
        .header("content-type", "application/octet-stream")
        .body(reqwest::blocking::Body::new(CutReader {
            data: video.clone(),
            pos: 0,
            limit: 2_500_000,
        }))
        .send();
    assert!(cut.is_err(), "the client side of the cut fails");

    // The server kept what arrived as a resumable partial; wait for its upload to wind down.
    let mut received = 0;
    for _ in 0..100 {
        let state: UploadState = server
            .get(&format!("/packages/{id}"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        received = state.files[0].received;
        if received > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        received > 0 && received < video.len() as u64,
        "received {received}"
    );
    // Committing a partial is refused.
    assert_eq!(server.commit(id).status(), 409);
    // Resuming past what the server holds is refused and says where to resume.
    // Until the server has noticed the cut, the file is still busy.
    let started = std::time::Instant::now();
    let (status, body) = loop {
        let (status, body) =
            error_code(server.put_file(id, "seg-0001.mp4", video.len() as u64, vec![]));
        if body["code"] != "upload_in_progress" || started.elapsed().as_secs() > 20 {
            break (status, body);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    eprintln!("cut noticed after {:?}", started.elapsed());
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("offset_mismatch"))
    );
    let held = body["received"].as_u64().unwrap();
    assert!(held >= received);

    // Resume at the reported offset with the rest of the file.
    let mut response = server.put_file(id, "seg-0001.mp4", held, video[held as usize..].to_vec());
    for _ in 0..50 {
        if response.status() != 409 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        response = server.put_file(id, "seg-0001.mp4", held, video[held as usize..].to_vec());
    }
    let state: UploadState = response.json().unwrap();
    assert!(state.missing.is_empty(), "{state:?}");
    assert_eq!(state.files[0].digests_match, Some(true));
    let receipt: Receipt = server.commit(id).json().unwrap();
    assert_eq!(receipt.inspection_id, m.inspection_id);
    let media = server
        .data
        .join("media")
        .join("ECV-01")
        .join(id.to_string())
        .join("seg-0001.mp4");
    assert_eq!(std::fs::read(media).unwrap(), video);
}

#[test]
fn path_tricks_content_types_and_limits_are_4xx() {
    let server = Server::start();
    let query = server.query_vehicle(&registry().remove(3));
    let data = bytes(10, 5);

    for bad in [
        "../etc/passwd",
        "a/b.jpg",
        ".hidden",
        "a\0b",
        &"x".repeat(300),
    ] {
        let m = manifest(&query, "ECV-01", &[(bad, &data)]);
        let (status, body) = error_code(server.post_json("/packages", &to_value(&m)));
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_file_name")),
            "{bad:?}"
        );
    }

    let m = manifest(&query, "ECV-01", &[("ok.jpg", &data)]);
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);
    let long = "y".repeat(300);
    for bad in [
        "..%2F..%2Fcentral.sqlite",
        "a%00b",
        ".partial",
        long.as_str(),
        "a%5Cb",
    ] {
        let (status, body) = error_code(server.put_file(id, bad, 0, data.clone()));
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_file_name")),
            "{bad}"
        );
    }
    let (status, body) = error_code(server.put_file(id, "other.jpg", 0, data.clone()));
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown_file")));
    // More bytes than declared.
    let (status, body) = error_code(server.put_file(id, "ok.jpg", 0, bytes(11, 5)));
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("file_too_large"))
    );
    // Wrong content type for an upload.
    let response = server
        .client
        .put(server.api(&format!("/packages/{id}/files/ok.jpg")))
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body(data.clone())
        .send()
        .unwrap();
    let (status, body) = error_code(response);
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    // Nothing half-stored: the file is still wholly missing.
    let state: UploadState = server
        .get(&format!("/packages/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(state.files[0].received, 0);

    // Manifest over 1 MB.
    let mut huge = to_value(&m);
    huge["metadata"]["padding"] = Value::from("x".repeat(1024 * 1024));
    let (status, body) = error_code(server.post_json("/packages", &huge));
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    // Malformed manifest field.
    let mut broken = to_value(&m);
    broken["files"][0]["sha256"] = Value::from("XYZ");
    let (status, body) = error_code(server.post_json("/packages", &broken));
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("files[0].sha256"))
    );
    // A manifest for another station, an unknown query.
    let mut foreign = manifest(&query, "ECV-02", &[]);
    let (status, _) = error_code(server.post_json("/packages", &to_value(&foreign)));
    assert_eq!(status, 403);
    foreign.station = "ECV-01".into();
    foreign.query_id = uuid::Uuid::new_v4();
    let (status, body) = error_code(server.post_json("/packages", &to_value(&foreign)));
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("unknown_query"))
    );
    // Unknown route.
    let (status, body) = error_code(server.get("/nothing").send().unwrap());
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}

#[test]
fn interrupted_inspection_without_files_is_received() {
    let server = Server::start();
    let query = server.query_vehicle(&registry().remove(4));
    // An empty file (e.g. an audit export with nothing in it) needs no upload.
    let mut m = manifest(&query, "ECV-01", &[("empty.log", b"")]);
    m.outcome = serde_json::from_value(json!({"interrupted": {
        "cause": "customer_gave_up", "note": "", "at": query["queried_at"], "unsigned_verdict": null
    }}))
    .unwrap();
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);
    let receipt: Receipt = server.commit(id).json().unwrap();
    assert_eq!(receipt.inspection_id, m.inspection_id);
    let view: Value = server
        .get(&format!("/inspections/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(view["outcome"]["interrupted"]["cause"], "customer_gave_up");
}

/// Generates `len` deterministic bytes on the fly, so the test holds none of them.
struct Generated {
    len: u64,
    pos: u64,
}

impl std::io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.len - self.pos).min(buf.len() as u64) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = ((self.pos + i as u64).wrapping_mul(2_654_435_761) >> 8) as u8;
        }
        self.pos += n as u64;
        Ok(n)
    }
}

#[test]
fn a_large_file_streams_without_being_held_in_memory() {
    let server = Server::start();
    let query = server.query_vehicle(&registry().remove(7));
    let len: u64 = 128 * 1024 * 1024;
    let digests = vistoria_core::hashing::Digests::of_reader(Generated { len, pos: 0 }).unwrap();
    let mut m = manifest(&query, "ECV-01", &[]);
    m.files.push(vistoria_core::wire::ManifestFile {
        name: "panoramic-0001.mp4".into(),
        kind: vistoria_core::wire::MediaKind::VideoSegment,
        size: digests.size,
        md5: digests.md5,
        sha256: digests.sha256,
    });
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);
    let before = server.peak_rss_kib();
    let started = std::time::Instant::now();
    let response = server
        .client
        .put(server.api(&format!("/packages/{id}/files/panoramic-0001.mp4")))
        .bearer_auth(&server.token)
        .header("content-type", "application/octet-stream")
        .body(reqwest::blocking::Body::sized(
            Generated { len, pos: 0 },
            len,
        ))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt: Receipt = server.commit(id).json().unwrap();
    assert_eq!(receipt.inspection_id, m.inspection_id);
    let elapsed = started.elapsed();
    let growth_mib = server.peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!(
        "128 MiB uploaded and verified in {elapsed:?}; server peak memory grew {growth_mib} MiB"
    );
    assert!(
        growth_mib < 48,
        "the server held the file in memory: +{growth_mib} MiB"
    );
}

/// A body that sends `limit` bytes, then goes silent for longer than the server's idle timeout.
struct StallReader {
    data: Vec<u8>,
    pos: usize,
    limit: usize,
}

impl std::io::Read for StallReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.limit {
            std::thread::sleep(std::time::Duration::from_secs(4));
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "rede parada",
            ));
        }
        let n = buf.len().min(self.limit - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn a_stalled_upload_is_cut_and_keeps_what_arrived() {
    let server = Server::start_with(&["--idle-timeout-secs", "1"]);
    let query = server.query_vehicle(&registry().remove(8));
    let data = bytes(200_000, 9);
    let m = manifest(&query, "ECV-01", &[("rear.jpg", &data)]);
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);
    let response = server
        .client
        .put(server.api(&format!("/packages/{id}/files/rear.jpg")))
        .bearer_auth(&server.token)
        .header("content-type", "application/octet-stream")
        .body(reqwest::blocking::Body::new(StallReader {
            data: data.clone(),
            pos: 0,
            limit: 120_000,
        }))
        .send();
    // The server answers 408 while the client is stuck, or the client only sees the cut.
    if let Ok(response) = response {
        let (status, body) = error_code(response);
        assert_eq!((status, body["code"].as_str()), (408, Some("timeout")));
    }
    let held = server.held_when_settled(id, 0);
    assert!(held > 0 && held <= 120_000, "held {held}");
    let state: UploadState = server
        .put_file_when_free(id, "rear.jpg", held, &data[held as usize..])
        .json()
        .unwrap();
    assert_eq!(state.files[0].digests_match, Some(true));
    assert_eq!(server.commit(id).status(), 200);
}

#[test]
fn a_file_whose_check_was_never_recorded_is_marked_checked_at_commit() {
    let server = Server::start();
    let query = server.query_vehicle(&registry().remove(2));
    let photo = bytes(300_000, 6);
    let m = manifest(&query, "ECV-01", &[("front.jpg", &photo)]);
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);
    // What an instance leaves when it dies (or loses its database) after keeping the bytes of
    // an upload and before recording their check (issue 21): the whole file, no check.
    let partial = server
        .data
        .join("media/ECV-01")
        .join(id.to_string())
        .join(".partial");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("front.jpg"), &photo).unwrap();
    let state: UploadState = server
        .get(&format!("/packages/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(state.files[0].received, photo.len() as u64);
    assert_eq!(state.files[0].digests_match, None);
    // The station sees nothing missing and commits; the commit re-hashes the bytes and records
    // the check, so a verified package never lists a file as unchecked.
    let receipt: Receipt = server.commit(id).json().unwrap();
    assert_eq!(receipt.inspection_id, m.inspection_id);
    let state: UploadState = server
        .get(&format!("/packages/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(state.files[0].digests_match, Some(true), "{state:?}");
}
