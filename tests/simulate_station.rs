//! `vistoria simulate` runs the station a kiosk runs (issue 18): what reaches the central from
//! a simulated run carries the real capture pipeline's marks — the tarja burned into every
//! photo (§7), a JFIF JPEG at 96 dpi with the station's coordinates in EXIF GPS (2r) — and a
//! laudo whose `.p7s`, made on the demo SoftHSM2 e-CPF token, `openssl cms -verify` accepts
//! against the demo CA (§14).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Central;

const STATION: &str = "ECV-SIM-02";

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .status()
        .is_ok_and(|s| s.success())
}

fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    found
}

/// The tarja is the dark band at the bottom (every channel a fifth of the scene's) with white
/// text in it: its rows are dark on average and hold bright pixels, the rows above are not.
fn has_tarja(jpeg: &[u8]) -> bool {
    let image = image::load_from_memory(jpeg).unwrap().to_rgb8();
    let (w, h) = image.dimensions();
    let line_h = (h / 36).max(12);
    let band = line_h * 2 + line_h / 2;
    let stats = |rows: std::ops::Range<u32>| {
        let (mut sum, mut bright, mut n) = (0u64, 0u64, 0u64);
        for y in rows {
            for x in 0..w {
                let p = image.get_pixel(x, y).0;
                let luma = (u64::from(p[0]) + u64::from(p[1]) + u64::from(p[2])) / 3;
                sum += luma;
                bright += u64::from(luma > 200);
                n += 1;
            }
        }
        (sum / n, bright)
    };
    let (band_mean, band_bright) = stats(h - band + 2..h - 2);
    let (above_mean, _) = stats(h - 3 * band..h - band - 2);
    band_mean < 70 && band_bright > 500 && above_mean > band_mean + 30
}

/// JFIF APP0 with 96 dots per inch, and an EXIF APP1 whose IFD0 points to a GPS IFD.
fn jfif_96_dpi_with_gps(jpeg: &[u8]) -> bool {
    let Some(app0) = jpeg.windows(5).position(|w| w == b"JFIF\0") else {
        return false;
    };
    let dpi = jpeg[app0 + 7] == 1
        && u16::from_be_bytes([jpeg[app0 + 8], jpeg[app0 + 9]]) == 96
        && u16::from_be_bytes([jpeg[app0 + 10], jpeg[app0 + 11]]) == 96;
    let Some(exif) = jpeg.windows(6).position(|w| w == b"Exif\0\0") else {
        return false;
    };
    // Little-endian TIFF: IFD0's first entry is the GPS IFD pointer, tag 0x8825.
    let tiff = &jpeg[exif + 6..];
    let gps = tiff.starts_with(b"II") && tiff[10..12] == [0x25, 0x88];
    dpi && gps
}

#[test]
fn a_simulated_run_delivers_what_the_station_pipeline_makes() {
    if !have("softhsm2-util") || !have("openssl") {
        eprintln!("SKIP: softhsm2-util or openssl missing (run installer/setup-dev.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&dir.path().join("central"));
    let token = central.add_station(STATION);
    let run = Command::new(env!("CARGO_BIN_EXE_vistoria"))
        .args(["simulate", "--central", &central.url, "--token", &token])
        .args(["--cert-sha256", central.cert_sha256.as_deref().unwrap()])
        .args(["--station", STATION, "--inspections", "3", "--seed", "5"])
        .arg("--data")
        .arg(dir.path().join("kiosk"))
        .arg("--pki")
        .arg(&central.pki)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["delivered"], 3, "{stdout}");

    let (lines, totals) = central.report();
    assert_eq!(totals["verified"], 3, "{lines:#?}");

    let media = dir.path().join("central").join("media").join(STATION);
    let mut signed = 0;
    for inspection in std::fs::read_dir(&media).unwrap() {
        let folder = inspection.unwrap().path();
        let photos = files_with(&folder, ".jpg");
        assert!(photos.len() >= 3, "{}: {photos:?}", folder.display());
        for photo in &photos {
            let bytes = std::fs::read(photo).unwrap();
            assert!(has_tarja(&bytes), "no tarja in {}", photo.display());
            assert!(
                jfif_96_dpi_with_gps(&bytes),
                "not JFIF 96 dpi with GPS: {}",
                photo.display()
            );
        }
        let (laudos, p7s) = (files_with(&folder, ".json"), files_with(&folder, ".p7s"));
        if let ([laudo], [p7s]) = (&laudos[..], &p7s[..]) {
            let verified = Command::new("openssl")
                .args(["cms", "-verify", "-inform", "DER", "-binary"])
                .args(["-out", "/dev/null", "-purpose", "any"])
                .arg("-in")
                .arg(p7s)
                .arg("-content")
                .arg(laudo)
                .arg("-CAfile")
                .arg(central.pki.join("ca.pem"))
                .output()
                .unwrap();
            assert!(
                verified.status.success(),
                "{}",
                String::from_utf8_lossy(&verified.stderr)
            );
            let laudo: serde_json::Value =
                serde_json::from_slice(&std::fs::read(laudo).unwrap()).unwrap();
            // §14: the score is the station's own match, above the threshold it states.
            let check = &laudo["biometric_check"];
            assert!(
                check["score_ppm"].as_u64().unwrap() >= check["threshold_ppm"].as_u64().unwrap(),
                "{check}"
            );
            signed += 1;
        }
    }
    // Inspections 0 and 1 of a run are signed, 2 is interrupted (no laudo).
    assert_eq!(signed, 2);
}
