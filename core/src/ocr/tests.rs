//! End-to-end tests of plate reading on synthetic photos and of the §6 correction flow.

#![allow(clippy::unwrap_used)]

use super::correction::{self, CorrectionError, CorrectionForm, PlateCheck};
use super::{PlateReader, synth};
use crate::clock::CentralStamp;
use crate::domain::{Plate, PlateFormat};
use crate::fixtures;
use crate::store::{AuditAction, AuditEvent, NewMedia, Store};

/// A fixed seeded set of rear photos, both formats, with perspective, blur, noise and light.
#[test]
fn synthetic_plates_read_at_least_95_percent_exact() {
    let mut reader = PlateReader::tesseract().unwrap();
    let total = 40;
    let mut exact = 0;
    let mut misses = Vec::new();
    for seed in 0..total {
        let scene = synth::scene(1000 + seed, 1024, 768);
        let reading = reader.read(&scene.image).unwrap();
        if reading.plate.as_ref() == Some(&scene.plate) {
            exact += 1;
        } else {
            misses.push(format!(
                "{} → {:?}",
                scene.plate,
                reading.plate.map(|p| p.to_string())
            ));
        }
    }
    let rate = exact as f32 / total as f32;
    assert!(rate >= 0.95, "{exact}/{total} exact; misses: {misses:?}");
}

/// A grey plate in dim light on a white car: the wide threshold merges its characters with
/// the plate into one dark blob; the tight pass finds and reads them.
#[test]
fn a_dim_plate_on_a_light_car_is_found_by_the_tight_pass() {
    let plate = Plate::parse("JQS5683").unwrap();
    let rendered = synth::render_plate(&plate, 190);
    let mut photo = image::RgbImage::from_pixel(1280, 960, image::Rgb([236, 236, 234]));
    for (x, y, p) in rendered.enumerate_pixels() {
        // A shadowed plate: its grey and its characters both dark, 40 levels apart.
        let dim = p.0.map(|v| 60 + (u16::from(v) * 55 / 255) as u8);
        photo.put_pixel(540 + x, 600 + y, image::Rgb(dim));
    }
    let gray = image::DynamicImage::ImageRgb8(photo.clone()).to_luma8();
    let wide = super::locator::locate(&gray, 6);
    let on_plate = |c: &super::locator::Candidate| {
        let b = c.plate_box(gray.width(), gray.height());
        b.x >= 530 && b.right() <= 740 && b.y >= 590 && b.bottom() <= 670
    };
    // The wide dark pass does not find the characters (the light pass may chain the gaps
    // between them, joined to the plate's edge, as touching characters; that reads nothing).
    assert!(
        !wide
            .iter()
            .any(|c| c.dark && on_plate(c) && c.chars.len() >= 6),
        "{wide:?}"
    );
    let tight = super::locator::locate_tight(&gray, 6);
    assert!(tight.iter().any(on_plate), "{tight:?}");
    let reading = PlateReader::tesseract().unwrap().read(&photo).unwrap();
    assert_eq!(reading.plate, Some(plate));
}

#[test]
fn an_empty_scene_reads_nothing() {
    let mut reader = PlateReader::tesseract().unwrap();
    let gray = image::GrayImage::from_pixel(800, 600, image::Luma([128]));
    let reading = reader.read_gray(&gray).unwrap();
    assert!(reading.plate.is_none());
    assert_eq!(reading.confidence, 0.0);
}

#[test]
fn comparison_with_the_typed_plate() {
    let typed = Plate::parse("ABC1234").unwrap();
    assert_eq!(
        correction::compare(&typed, Some(&Plate::parse("ABC1C34").unwrap())),
        PlateCheck::Match
    );
    let other = Plate::parse("ABC1284").unwrap();
    assert_eq!(
        correction::compare(&typed, Some(&other)),
        PlateCheck::Mismatch { read: other }
    );
    assert!(correction::compare(&typed, None).needs_correction());
}

/// §6: on a mismatch the identified user types plate + RENAVAM + reason; the photo and the
/// original reading are kept and the correction is audited under the user.
#[test]
fn correction_flow_keeps_photo_and_original_reading() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    let inspection = fixtures::sample_inspection(0);
    let at = CentralStamp {
        at: fixtures::sample_time(0),
        sync_age_ms: 0,
    };
    store
        .save_inspection(
            &inspection,
            AuditEvent::new(Some(at), "op1", AuditAction::InspectionOpened),
        )
        .unwrap();
    let scene = synth::scene(5, 800, 600);
    let mut jpg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpg)
        .encode_image(&scene.image)
        .unwrap();
    let photo = store
        .store_media(
            NewMedia {
                inspection_id: inspection.id(),
                kind: "rear_with_plate",
                extension: "jpg",
                captured_at: at,
                bytes: &jpg,
            },
            "op1",
        )
        .unwrap();
    let vehicle = inspection.vehicle().clone();
    let wrong_read = Plate::parse(if vehicle.plate().format() == PlateFormat::Old {
        "ZZZ9999"
    } else {
        "ZZZ9Z99"
    })
    .unwrap();
    // The reading as the capture stored it: the correction takes the original from here.
    correction::record_reading(
        &mut store,
        &inspection,
        &photo,
        Some(&wrong_read),
        0.4,
        None,
        at,
        "op1",
    )
    .unwrap();
    let renavam = vehicle
        .renavam()
        .map(|r| r.as_str().to_owned())
        .unwrap_or_else(|| "00000000019".into());
    let form = |user: &'static str, plate: String, renavam: String, reason: &'static str| {
        (user, plate, renavam, reason)
    };
    let cases = [
        (
            form(
                "",
                vehicle.plate().to_string(),
                renavam.clone(),
                "placa suja, OCR falhou",
            ),
            "NoUser",
        ),
        (
            form(
                "op1",
                "ZZZ9999".into(),
                renavam.clone(),
                "placa suja, OCR falhou",
            ),
            "PlateDiffers",
        ),
        (
            form("op1", vehicle.plate().to_string(), renavam.clone(), "suja"),
            "NoReason",
        ),
    ];
    for ((user, plate, renavam, reason), expected) in cases {
        let f = CorrectionForm {
            user,
            plate: &plate,
            renavam: &renavam,
            reason,
        };
        let err = correction::record(&mut store, &inspection, &photo.id, &f, at).unwrap_err();
        assert!(format!("{err:?}").starts_with(expected), "{err:?}");
    }
    if vehicle.renavam().is_some() {
        let f = CorrectionForm {
            user: "op1",
            plate: vehicle.plate().as_str(),
            renavam: "00000000019",
            reason: "placa suja, OCR falhou",
        };
        let err = correction::record(&mut store, &inspection, &photo.id, &f, at).unwrap_err();
        assert!(
            matches!(
                err,
                CorrectionError::RenavamDiffers | CorrectionError::Renavam(_)
            ),
            "{err:?}"
        );
    }
    let plate_typed = vehicle.plate().pretty().to_lowercase();
    let f = CorrectionForm {
        user: "op1",
        plate: &plate_typed,
        renavam: &renavam,
        reason: "placa suja, OCR falhou",
    };
    let row = correction::record(&mut store, &inspection, &photo.id, &f, at).unwrap();
    assert_eq!(row.actor, "op1");
    assert_eq!(row.action, "ocr.corrected");
    let detail: serde_json::Value = serde_json::from_str(&row.detail).unwrap();
    assert_eq!(detail["ocr_plate"], wrong_read.to_string());
    assert_eq!(detail["typed_plate"], vehicle.plate().to_string());
    assert_eq!(detail["photo_sha256"], photo.digests.sha256);
    assert_eq!(detail["check"]["result"], "mismatch");
    assert!((detail["ocr_confidence"].as_f64().unwrap() - 0.4).abs() < 1e-6);
    // Stored, not only audited: the gate reads it back.
    let gate = correction::PlateGate::of(&store, &inspection).unwrap();
    assert!(!gate.pending_correction());
    assert_eq!(gate.reading.unwrap().read, Some(wrong_read.to_string()));
    assert_eq!(gate.correction.unwrap().user, "op1");
    // The photo is still there, byte for byte.
    assert_eq!(store.read_media(&photo).unwrap(), jpg);
    assert!(store.verify_audit().is_ok());
}

/// A frame three times the working width with a small plate and one with a large plate: the
/// small one's characters vanish at the working width and are found a level finer; the large
/// one is read at the working width, and its row from a coarser level of the pyramid.
#[test]
fn the_pyramid_finds_small_and_large_plates_in_a_large_frame() {
    use super::{locator, pyramid};
    let frame = |plate: &Plate, width: u32| {
        let rendered = synth::render_plate(plate, width);
        let mut photo = image::RgbImage::from_pixel(2400, 1800, image::Rgb([120, 60, 50]));
        image::imageops::replace(&mut photo, &rendered, 900, 1100);
        photo
    };
    let mut reader = PlateReader::tesseract().unwrap();
    let small = Plate::parse("KMN4275").unwrap();
    let photo = frame(&small, 150);
    let gray = image::DynamicImage::ImageRgb8(photo.clone()).to_luma8();
    let levels = pyramid::Pyramid::new(gray.clone());
    let (work, scale) = levels.at_width(locator::WORK_WIDTH);
    let coarse = locator::find(&work, scale, gray.dimensions(), 6, &locator::WIDE);
    let on_plate = |c: &locator::Candidate| {
        let b = c.plate_box(2400, 1800);
        b.x >= 880 && b.right() <= 1070 && b.y >= 1090 && b.bottom() <= 1160
    };
    assert!(!coarse.iter().any(on_plate), "{coarse:?}");
    let reading = reader.read(&photo).unwrap();
    assert_eq!(reading.plate, Some(small));
    let large = Plate::parse("RTD2B47").unwrap();
    let photo = frame(&large, 640);
    let gray = image::DynamicImage::ImageRgb8(photo.clone()).to_luma8();
    let levels = pyramid::Pyramid::new(gray);
    // Its 100 px characters are read from the half-size level, at 50 px.
    assert_eq!(
        levels.for_characters(100.0, super::reader::CHAR_HEIGHT as f32),
        1
    );
    let reading = reader.read(&photo).unwrap();
    assert_eq!(reading.plate, Some(large));
    let b = reading.plate_box.unwrap();
    assert!(b.x >= 890 && b.right() <= 1550, "{b:?}");
}

/// §6 on doubt: a reading that agrees with the typed plate but is unsure asks for the
/// correction; a sure one does not; a mismatch does whatever its confidence.
#[test]
fn a_doubtful_reading_asks_for_the_correction() {
    let typed = Plate::parse("BRA2E19").unwrap();
    let reading = |plate: &str, confidence: f32| super::PlateReading {
        plate: Some(Plate::parse(plate).unwrap()),
        confidence,
        scores: (confidence, confidence),
        plate_box: None,
        ms: 1.0,
    };
    assert_eq!(
        correction::check(&typed, &reading("BRA2E19", 0.97)),
        PlateCheck::Match
    );
    let unsure = correction::check(&typed, &reading("BRA2E19", 0.6));
    assert_eq!(unsure, PlateCheck::Doubtful { confidence: 0.6 });
    assert!(unsure.needs_correction());
    assert!(correction::check(&typed, &reading("BRA2E18", 0.99)).needs_correction());
}
