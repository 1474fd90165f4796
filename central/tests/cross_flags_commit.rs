//! Cross-station flags computed by a real `vistoria-central serve` when packages are committed
//! (issue 22): two stations deliver, over TLS through the station API, an inspection each whose
//! photos are the same picture (the second re-encoded smaller); the central hashes the stored
//! bytes after the commit and stores the flag on both, pointing at each other; a third package
//! with a different picture raises nothing. Read back from the data folder's database, as
//! another instance would.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;
use std::time::{Duration, Instant};

use common::{Server, add_station, manifest};
use vistoria_central::storage::PackageKey;
use vistoria_central::storage::cross_flags::CrossFlags;
use vistoria_central::storage::cross_flags::CrossKind;
use vistoria_central::storage::sqlite::SqliteMetadata;

/// A real JPEG of `w`×`h` with a pattern of its own (`seed`), re-encoded at `quality`.
fn picture(seed: u32, w: u32, h: u32, quality: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        // Large soft shapes, as a photo has: what a dHash sees at 9×8.
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let s = seed as f32;
        let v = ((fx * (3.0 + s)).sin() * (fy * (2.0 + s * 0.7)).cos() * 0.5 + 0.5) * 255.0;
        let u = ((fx * fy * (5.0 + s)).sin() * 0.5 + 0.5) * 255.0;
        image::Rgb([v as u8, u as u8, (255.0 - v) as u8])
    });
    let mut out = Vec::new();
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), quality);
    image::DynamicImage::ImageRgb8(image)
        .to_rgb8()
        .write_with_encoder(encoder)
        .unwrap();
    out
}

/// Delivers and commits one package with `photo`, as the station whose token `server` holds.
fn deliver(server: &Server, station: &str, plate_pick: usize, photo: Vec<u8>) -> PackageKey {
    // A vehicle of its own for each: only the photos are alike.
    let vehicle = common::registry()[plate_pick].clone();
    let query = server.query_vehicle(&vehicle);
    let m = manifest(&query, station, &[("traseira.jpg", &photo)]);
    let response = server.deliver(&m, &[("traseira.jpg".to_owned(), photo)]);
    assert!(
        response.status().is_success(),
        "{}",
        response.text().unwrap()
    );
    let id = m.inspection_id.as_uuid();
    let response = server.commit(id);
    assert!(
        response.status().is_success(),
        "{}",
        response.text().unwrap()
    );
    PackageKey::new(station, id)
}

fn flags_when_settled(
    store: &SqliteMetadata,
    key: &PackageKey,
    want: usize,
) -> Vec<vistoria_central::storage::cross_flags::CrossFlagRecord> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let flags = store.cross_flags_of(key).unwrap();
        if flags.len() >= want || Instant::now() > deadline {
            return flags;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_near_duplicate_photo_at_two_stations_is_flagged_on_both_after_commit() {
    let mut server = Server::start();
    let first = deliver(&server, "ECV-01", 0, picture(1, 800, 600, 90));
    server.token = add_station(&server.data, "ECV-02");
    let second = deliver(&server, "ECV-02", 1, picture(1, 480, 360, 60));
    let third = deliver(&server, "ECV-02", 2, picture(7, 800, 600, 90));

    let store = SqliteMetadata::open(&server.data.join("central.sqlite")).unwrap();
    let on_second = flags_when_settled(&store, &second, 1);
    assert_eq!(on_second.len(), 1, "{on_second:?}");
    assert_eq!(on_second[0].kind, CrossKind::PhotoNearDuplicate);
    assert_eq!(on_second[0].other, Some(first.clone()));
    assert_eq!(on_second[0].other_photo.as_deref(), Some("traseira.jpg"));
    let on_first = flags_when_settled(&store, &first, 1);
    assert_eq!(on_first.len(), 1, "{on_first:?}");
    assert_eq!(on_first[0].other, Some(second.clone()));
    // Every verified package was analysed, the third too, and it raised nothing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !store.unanalyzed(10).unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(store.unanalyzed(10).unwrap().is_empty());
    assert!(store.cross_flags_of(&third).unwrap().is_empty());
}
