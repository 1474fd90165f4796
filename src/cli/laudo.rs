//! `vistoria laudo …`: the sample laudo (a simulated inspection with 12 photos) and printing a
//! laudo PDF through CUPS (§10).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Duration as ChronoDuration;
use clap::Subcommand;
use sha2::Digest;
use vistoria_core::domain::PhotoKind;
use vistoria_core::fixtures;
use vistoria_core::laudo::{
    InspectorInfo, Laudo, LaudoInputs, PdfPhoto, PhotoRef, SegmentRef, StationInfo,
};
use vistoria_drivers::printer::IppPrinter;

use super::synthetic;

/// Laudo tools.
#[derive(Subcommand)]
pub enum LaudoCommand {
    /// Writes a complete sample laudo: `laudo.json` (canonical), `laudo.pdf` and the photos.
    Sample {
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
        /// Which sample inspection (different vehicle and result per number).
        #[arg(long, default_value_t = 1)]
        n: u64,
        /// PKCS#11 module: sign `laudo.json` (writing `laudo.p7s`) and print the signature
        /// block; without it the PDF is a draft.
        #[arg(long)]
        module: Option<PathBuf>,
        /// Environment variable with the card's PIN.
        #[arg(long, default_value = "VISTORIA_PIN")]
        pin_env: String,
    },
    /// Prints a laudo PDF on a CUPS queue (A4, colour, 600 dpi) and waits for the job.
    Print {
        /// Queue URI, e.g. ipp://localhost:631/printers/Laudos.
        #[arg(long)]
        printer: String,
        /// Seconds to wait for the job to complete.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// The PDF.
        file: PathBuf,
    },
}

/// Runs a `vistoria laudo` subcommand.
pub fn run(command: &LaudoCommand) -> anyhow::Result<ExitCode> {
    match command {
        LaudoCommand::Sample {
            out,
            n,
            module,
            pin_env,
        } => {
            let mut card = match module {
                Some(m) => Some(super::sign::open_card(Some(m.as_path()), pin_env, None)?),
                None => None,
            };
            let written = write_sample(out, *n, card.as_mut())?;
            println!(
                "{}",
                serde_json::json!({ "laudo": written.0, "pdf": written.1 })
            );
            Ok(ExitCode::SUCCESS)
        }
        LaudoCommand::Print {
            printer,
            timeout,
            file,
        } => {
            let pdf = std::fs::read(file).with_context(|| format!("lendo {}", file.display()))?;
            let title = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "laudo".into());
            let report =
                IppPrinter::new(printer)?.print_pdf(pdf, &title, Duration::from_secs(*timeout))?;
            println!(
                "{}",
                serde_json::json!({ "printed": file.display().to_string(), "job_id": report.job_id })
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A sample laudo and its photos: the `n`th fixture inspection, concluded, with one photo of
/// every kind (§7, 12 photos) and four panoramic segments.
pub fn sample(n: u64) -> anyhow::Result<(Laudo, Vec<PdfPhoto>)> {
    let mut inspection = fixtures::sample_inspection(n);
    let start = fixtures::sample_time(n) + ChronoDuration::minutes(3);
    inspection.start_capture(start)?;
    fixtures::fill_checklist(&mut inspection, n, start + ChronoDuration::minutes(10));
    let verdict = inspection
        .checklist()
        .verdict()
        .context("checklist completo")?;
    let end = start + ChronoDuration::minutes(14);
    inspection.conclude(verdict, end)?;

    let mut photos = Vec::new();
    let mut refs = Vec::new();
    // One photo of every §7 kind, plus extra ones (§7 k) up to the 12 of a full inspection.
    let mut kinds = PhotoKind::ALL.to_vec();
    while kinds.len() < 12 {
        kinds.push(PhotoKind::Additional);
    }
    for (i, kind) in kinds.iter().enumerate() {
        let jpeg = synthetic::photo_jpeg(1600, 1200, n * 100 + i as u64)?;
        let captured_at = start + ChronoDuration::seconds(40 * i as i64);
        refs.push(PhotoRef {
            kind: kind.code().to_owned(),
            label: kind.label_pt().to_owned(),
            sha256: hex(&sha2::Sha256::digest(&jpeg)),
            captured_at,
        });
        photos.push(PdfPhoto {
            label: kind.label_pt().to_owned(),
            captured_at,
            jpeg,
        });
    }
    let segments = (0..4)
        .map(|i| SegmentRef {
            index: i,
            sha256: hex(&sha2::Sha256::digest(
                format!("segmento {n}-{i}").as_bytes(),
            )),
        })
        .collect();
    let issued = end + ChronoDuration::minutes(1);
    let laudo = Laudo::from_inspection(
        &inspection,
        LaudoInputs {
            number: format!("MT-{:06}-2026", 4100 + n),
            station: StationInfo {
                code: "ECV-0042".into(),
                name: "Vistoria Modelo Cuiabá".into(),
                city: "CUIABÁ/MT".into(),
            },
            inspector: InspectorInfo {
                name: "Fulano de Tal".into(),
                cpf: "52998224725".into(),
            },
            photos: refs,
            panoramic_segments: segments,
            // A real match of the simulated finger: a laudo has no other way to carry one.
            biometric_check: fixtures::simulated_check(issued - ChronoDuration::seconds(20))?,
            plate_reading: None,
            film_gaps: Vec::new(),
            issued_at: issued,
            verify_base_url: vistoria_core::laudo::verify_base_url(
                "https://central.vistoria.example",
            ),
        },
    )?;
    Ok((laudo, photos))
}

/// Writes the sample into `out`; returns the paths of `laudo.json` and `laudo.pdf`.
pub fn write_sample(
    out: &Path,
    n: u64,
    card: Option<&mut vistoria_drivers::smartcard::Pkcs11Signer>,
) -> anyhow::Result<(String, String)> {
    std::fs::create_dir_all(out.join("fotos"))
        .with_context(|| format!("criando {}", out.display()))?;
    let (laudo, photos) = sample(n)?;
    for (i, (photo, reference)) in photos.iter().zip(&laudo.photos).enumerate() {
        let name = format!("{:02}-{}.jpg", i + 1, reference.kind);
        std::fs::write(out.join("fotos").join(name), &photo.jpeg)?;
    }
    let json = out.join("laudo.json");
    let canonical = laudo.canonical_bytes();
    std::fs::write(&json, &canonical)?;
    let block = match card {
        Some(card) => {
            use vistoria_core::signing::{self, EcpfCertificate, Signer as _};
            let certificate = EcpfCertificate::from_der(card.certificate_der())?;
            let p7s = signing::sign_detached(
                card,
                &canonical,
                laudo.times.issued_at,
                &signing::SignaturePolicy::ad_rb_v2_3(),
                &[],
            )?;
            std::fs::write(out.join("laudo.p7s"), &p7s)?;
            Some(vistoria_core::laudo::SignatureBlock {
                signer_name: certificate.holder_name(),
                masked_cpf: certificate
                    .cpf()
                    .map(signing::mask_cpf)
                    .unwrap_or_else(|| "—".into()),
                certificate_serial: certificate.serial_hex(),
                signed_at: laudo.times.issued_at,
                p7s_sha256: hex(&sha2::Sha256::digest(&p7s)),
            })
        }
        None => None,
    };
    let pdf = out.join("laudo.pdf");
    std::fs::write(
        &pdf,
        vistoria_core::laudo::render(&laudo, &photos, block.as_ref())?,
    )?;
    Ok((json.display().to_string(), pdf.display().to_string()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `vistoria bench laudo`: p50/p95 of the canonical document, the PDF with 12 photos and, when
/// a PKCS#11 module is given, the signature on the token. One JSON line.
pub fn bench(
    iterations: u32,
    module: Option<&Path>,
    pin_env: &str,
    token: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use std::time::Instant;
    anyhow::ensure!(iterations > 0, "--iterations deve ser maior que zero");
    if module.is_none() && vistoria_core::signing::test_pki::missing_tools(true).is_empty() {
        return bench_on_softhsm(iterations, pin_env);
    }
    let (laudo, photos) = sample(1)?;
    let mut canonical = Vec::new();
    let mut pdf = Vec::new();
    let mut sign = Vec::new();
    let mut pdf_bytes = 0;
    let mut card = match module {
        Some(m) => Some(super::sign::open_card(Some(m), pin_env, token)?),
        None => None,
    };
    let policy = vistoria_core::signing::SignaturePolicy::ad_rb_v2_3();
    for _ in 0..iterations {
        let t = Instant::now();
        let bytes = std::hint::black_box(laudo.canonical_bytes());
        canonical.push(t.elapsed());
        let t = Instant::now();
        pdf_bytes =
            std::hint::black_box(vistoria_core::laudo::render(&laudo, &photos, None)?).len();
        pdf.push(t.elapsed());
        if let Some(card) = card.as_mut() {
            let t = Instant::now();
            std::hint::black_box(vistoria_core::signing::sign_detached(
                card,
                &bytes,
                laudo.times.issued_at,
                &policy,
                &[],
            )?);
            sign.push(t.elapsed());
        }
    }
    let stats = |samples: &mut Vec<Duration>| {
        samples.sort();
        let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
        let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        if samples.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!({ "p50_ms": ms(pct(0.5)), "p95_ms": ms(pct(0.95)) })
        }
    };
    let line = serde_json::json!({
        "bench": "laudo",
        "iterations": iterations,
        "photos": photos.len(),
        "canonical_bytes": laudo.canonical_bytes().len(),
        "pdf_bytes": pdf_bytes,
        "canonical": stats(&mut canonical),
        "pdf": stats(&mut pdf),
        "sign_pkcs11": stats(&mut sign),
    });
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

/// `bench laudo` without `--module`: times the signature on a SoftHSM2 token made for the
/// run (the demo's recipe), in a child process whose `SOFTHSM2_CONF` names it (SoftHSM2 reads
/// it from the environment only).
fn bench_on_softhsm(iterations: u32, pin_env: &str) -> anyhow::Result<ExitCode> {
    use vistoria_core::signing::test_pki;
    let dir = std::env::temp_dir().join(format!("vistoria-bench-token-{}", std::process::id()));
    let options = test_pki::Options {
        softhsm: true,
        ..test_pki::Options::default()
    };
    let made = test_pki::make(&dir, "39053344705", &options);
    let status = made.map_err(anyhow::Error::msg).and_then(|pki| {
        let module = pki.module().context("módulo do SoftHSM2")?;
        Ok(std::process::Command::new(std::env::current_exe()?)
            .args(["bench", "laudo", "--iterations", &iterations.to_string()])
            .arg("--module")
            .arg(module)
            .args(["--token", test_pki::TOKEN_LABEL, "--pin-env", pin_env])
            .env("SOFTHSM2_CONF", pki.softhsm_conf())
            .env(pin_env, test_pki::TOKEN_PIN)
            .status()?)
    });
    let _ = std::fs::remove_dir_all(&dir);
    Ok(if status?.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
