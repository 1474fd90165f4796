//! `vistoria ocr FILE…` (one JSON line per image) and the OCR and capture benchmarks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use image::RgbImage;
use vistoria_core::ocr::{PlateReader, Rect, calibration};

/// Reads the plate in each photo.
#[derive(Args)]
pub struct OcrArgs {
    /// Photos (JPEG or PNG).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Prints `{"file","plate","confidence","ms","box"}` for each file.
pub fn run(args: &OcrArgs) -> anyhow::Result<ExitCode> {
    let mut reader = PlateReader::tesseract()?;
    let mut failed = false;
    for file in &args.files {
        let line = match read_file(&mut reader, file) {
            Ok(r) => serde_json::json!({
                "file": file.display().to_string(),
                "plate": r.plate.as_ref().map(ToString::to_string),
                "confidence": (r.confidence * 1000.0).round() / 1000.0,
                "ms": (r.ms * 100.0).round() / 100.0,
                "box": r.plate_box,
            }),
            Err(e) => {
                failed = true;
                serde_json::json!({"file": file.display().to_string(), "error": format!("{e:#}")})
            }
        };
        println!("{line}");
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn read_file(
    reader: &mut PlateReader<vistoria_core::ocr::TesseractEngine>,
    file: &Path,
) -> anyhow::Result<vistoria_core::ocr::PlateReading> {
    let img =
        image::open(file).with_context(|| format!("não foi possível abrir {}", file.display()))?;
    Ok(reader.read(&img.to_rgb8())?)
}

/// Trains the glyph classifier on characters rendered from fonts.
#[derive(Args)]
pub struct ModelArgs {
    /// TrueType/OpenType fonts to draw the characters from (repeat).
    #[arg(long = "font", required = true)]
    pub fonts: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long, default_value = "assets/ocr/glyphs.bin")]
    pub out: PathBuf,
    /// Samples of each character from each font.
    #[arg(long, default_value_t = 160)]
    pub per_font: usize,
    /// Passes over the samples.
    #[arg(long, default_value_t = 14)]
    pub epochs: usize,
}

/// `ocr-model`: trains, writes the model, prints the report as JSON.
pub fn train_model(args: &ModelArgs) -> anyhow::Result<ExitCode> {
    use vistoria_core::ocr::train::{TrainOptions, train};
    let mut fonts = args
        .fonts
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path)
                .with_context(|| format!("não foi possível ler a fonte {}", path.display()))?;
            vistoria_core::ocr::train::font(bytes)
                .ok_or_else(|| anyhow::anyhow!("{} não é uma fonte válida", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Our drawings of the plates' typefaces are always in: the grey plates' alone, and both
    // as cut from whole plates drawn as on a car.
    {
        use vistoria_core::domain::PlateFormat;
        use vistoria_core::ocr::train::Typeface;
        fonts.push(Typeface::GreyPlate);
        fonts.push(Typeface::Plates(PlateFormat::Mercosul));
        fonts.push(Typeface::Plates(PlateFormat::Old));
    }
    let options = TrainOptions {
        per_font: args.per_font,
        epochs: args.epochs,
        ..TrainOptions::default()
    };
    let (model, report) = train(&fonts, &options);
    std::fs::write(&args.out, model.to_bytes())
        .with_context(|| format!("não foi possível gravar {}", args.out.display()))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

struct Label {
    file: PathBuf,
    rect: Rect,
    plate: String,
}

fn labels(path: &Path) -> anyhow::Result<Vec<Label>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("não foi possível ler {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 6 || f[1] == "x" {
            continue;
        }
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .with_context(|| format!("linha {}: número inválido {s:?}", n + 1))
        };
        out.push(Label {
            file: dir.join(f[0]),
            rect: Rect {
                x: num(f[1])?,
                y: num(f[2])?,
                w: num(f[3])?,
                h: num(f[4])?,
            },
            plate: f[5].trim().to_uppercase(),
        });
    }
    anyhow::ensure!(!out.is_empty(), "nenhuma imagem em {}", path.display());
    Ok(out)
}

/// How a photo is altered by `bench ocr --variants`.
#[derive(Debug, Clone, Copy)]
enum Variant {
    /// Shrunk to 70 %: a camera farther away or with fewer pixels.
    Shrunk,
    /// Turned by this many degrees about the centre: a camera not quite level.
    Turned(f32),
    /// Darkened to 60 % and recompressed at JPEG quality 60: dusk and a cheaper encoder.
    Dark,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Shrunk => "reduzida",
            Variant::Turned(_) => "girada",
            Variant::Dark => "escura",
        }
    }

    /// The altered photo, and where the plate's box went.
    fn apply(self, photo: &RgbImage, plate: Rect) -> anyhow::Result<(RgbImage, Rect)> {
        let centre = |r: &Rect| (r.x as f32 + r.w as f32 / 2.0, r.y as f32 + r.h as f32 / 2.0);
        Ok(match self {
            Variant::Shrunk => {
                let k = 0.7;
                let (w, h) = (photo.width() as f32 * k, photo.height() as f32 * k);
                let small = image::imageops::resize(
                    photo,
                    w as u32,
                    h as u32,
                    image::imageops::FilterType::Triangle,
                );
                let scale = |v: u32| (v as f32 * k) as u32;
                let rect = Rect {
                    x: scale(plate.x),
                    y: scale(plate.y),
                    w: scale(plate.w),
                    h: scale(plate.h),
                };
                (small, rect)
            }
            Variant::Turned(degrees) => {
                let theta = degrees.to_radians();
                let turned = imageproc::geometric_transformations::rotate_about_center(
                    photo,
                    theta,
                    imageproc::geometric_transformations::Interpolation::Bilinear,
                    image::Rgb([128, 128, 128]),
                );
                // The box's centre turns with the photo; its size stays.
                let (ox, oy) = (photo.width() as f32 / 2.0, photo.height() as f32 / 2.0);
                let (cx, cy) = centre(&plate);
                let (dx, dy) = (cx - ox, cy - oy);
                let nx = ox + dx * theta.cos() - dy * theta.sin();
                let ny = oy + dx * theta.sin() + dy * theta.cos();
                let rect = Rect {
                    x: (nx - plate.w as f32 / 2.0).max(0.0) as u32,
                    y: (ny - plate.h as f32 / 2.0).max(0.0) as u32,
                    w: plate.w,
                    h: plate.h,
                };
                (turned, rect)
            }
            Variant::Dark => {
                let mut dark = photo.clone();
                for p in dark.pixels_mut() {
                    for c in &mut p.0 {
                        *c = (f32::from(*c) * 0.6).round() as u8;
                    }
                }
                let mut jpeg = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 60)
                    .encode_image(&dark)?;
                (image::load_from_memory(&jpeg)?.to_rgb8(), plate)
            }
        })
    }
}

/// What `bench ocr` reads and how.
pub struct OcrBench {
    /// Labelled photos (`file x y w h plate`).
    pub labels: Option<PathBuf>,
    /// Read the labelled photos as other cameras might see them.
    pub variants: bool,
    /// Rendered scenes of this kind (`mercosul` or `grey`) instead of the labels.
    pub synthetic: Option<String>,
    /// How many scenes.
    pub count: usize,
    /// Seed of the first scene.
    pub seed: u64,
    /// Frame sizes, `WxH`, comma-separated.
    pub frames: String,
    /// Fit the confidence's calibration to the set and print it.
    pub fit_calibration: bool,
    /// Write the synthetic scenes here, with a labels file.
    pub save: Option<PathBuf>,
}

/// One photo to read: its name, the variant it is, the photo, the plate's box and text.
struct Shot {
    name: String,
    variant: Option<Variant>,
    photo: RgbImage,
    rect: Rect,
    plate: String,
}

fn frames(spec: &str) -> anyhow::Result<Vec<(u32, u32)>> {
    spec.split(',')
        .map(|f| {
            let (w, h) = f
                .trim()
                .split_once(['x', 'X'])
                .ok_or_else(|| anyhow::anyhow!("quadro inválido {f:?}: use LARGURAxALTURA"))?;
            let (w, h): (u32, u32) = (w.parse()?, h.parse()?);
            anyhow::ensure!(
                (320..=8192).contains(&w) && (240..=8192).contains(&h),
                "quadro {f:?} fora de 320x240 a 8192x8192"
            );
            Ok((w, h))
        })
        .collect()
}

/// The shots of a synthetic set, made one at a time as they are read (a 12 MP frame is
/// 36 MB; the set is never held whole).
fn synthetic_shot(kind: &str, seed: u64, frame: (u32, u32)) -> Shot {
    use vistoria_core::domain::PlateFormat;
    let format = if kind == "mercosul" {
        PlateFormat::Mercosul
    } else {
        PlateFormat::Old
    };
    let scene = vistoria_core::ocr::scenes::scene(format, seed, frame.0, frame.1);
    let xs = scene.corners.map(|c| c.0);
    let ys = scene.corners.map(|c| c.1);
    let x0 = xs.iter().copied().fold(f32::MAX, f32::min).max(0.0);
    let y0 = ys.iter().copied().fold(f32::MAX, f32::min).max(0.0);
    let x1 = xs.iter().copied().fold(f32::MIN, f32::max);
    let y1 = ys.iter().copied().fold(f32::MIN, f32::max);
    Shot {
        name: format!("{kind}-{seed}-{}x{}", frame.0, frame.1),
        variant: None,
        photo: scene.image,
        rect: Rect {
            x: x0 as u32,
            y: y0 as u32,
            w: (x1 - x0).max(1.0) as u32,
            h: (y1 - y0).max(1.0) as u32,
        },
        plate: scene.plate.to_string(),
    }
}

/// A score rounded to thousandths (as an `f64`, so it prints as such).
fn milli(x: f32) -> f64 {
    (f64::from(x) * 1000.0).round() / 1000.0
}

/// `bench ocr --labels TSV [--variants]` or `bench ocr --synthetic KIND [--count N] [--seed S]
/// [--frame WxH,…]`: one JSON line per image, then the summary line (with the confidence's
/// reliability table).
pub fn bench_ocr(bench: &OcrBench) -> anyhow::Result<ExitCode> {
    let mut reader = PlateReader::tesseract()?;
    let (mut exact, mut chars, mut located) = (0usize, 0usize, 0usize);
    let mut times = Vec::new();
    let mut said: Vec<(f32, bool)> = Vec::new();
    let mut scores: Vec<(f32, f32, bool)> = Vec::new();
    let mut read_one = |shot: Shot| -> anyhow::Result<()> {
        let started = Instant::now();
        let r = reader.read(&shot.photo)?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        times.push(ms);
        let read = r
            .plate
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let ok = read == shot.plate;
        exact += usize::from(ok);
        chars += read
            .chars()
            .zip(shot.plate.chars())
            .filter(|(a, b)| a == b)
            .count();
        let rect = shot.rect;
        let hit = r.plate_box.is_some_and(|b| {
            let (cx, cy) = (b.x + b.w / 2, b.y + b.h / 2);
            cx >= rect.x && cx < rect.right() && cy >= rect.y && cy < rect.bottom()
        });
        located += usize::from(hit);
        said.push((r.confidence, ok));
        if r.plate.is_some() {
            scores.push((r.scores.0, r.scores.1, ok));
        }
        println!(
            "{}",
            serde_json::json!({"file": shot.name,
                "variant": shot.variant.map(Variant::name),
                "expected": shot.plate, "plate": read, "ok": ok, "located": hit,
                "confidence": milli(r.confidence),
                "scores": [milli(r.scores.0), milli(r.scores.1)],
                "ms": (ms * 100.0).round() / 100.0})
        );
        Ok(())
    };
    if let Some(kind) = &bench.synthetic {
        anyhow::ensure!(bench.count > 0, "--count deve ser maior que zero");
        let sizes = frames(&bench.frames)?;
        let mut saved = String::from("file\tx\ty\tw\th\tplate\n");
        if let Some(dir) = &bench.save {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("não foi possível criar {}", dir.display()))?;
        }
        for i in 0..bench.count {
            let seed = bench.seed + i as u64;
            let shot = synthetic_shot(kind, seed, sizes[i % sizes.len()]);
            if let Some(dir) = &bench.save {
                let file = format!("{}.jpg", shot.name);
                let mut jpeg = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
                    .encode_image(&shot.photo)?;
                std::fs::write(dir.join(&file), jpeg)
                    .with_context(|| format!("não foi possível gravar {file}"))?;
                let r = shot.rect;
                saved += &format!(
                    "{file}\t{}\t{}\t{}\t{}\t{}\n",
                    r.x, r.y, r.w, r.h, shot.plate
                );
            }
            read_one(shot)?;
        }
        if let Some(dir) = &bench.save {
            std::fs::write(dir.join("labels.tsv"), saved)
                .with_context(|| format!("não foi possível gravar {}", dir.display()))?;
        }
    } else {
        let path = bench
            .labels
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("informe --labels ou --synthetic"))?;
        for (n, label) in labels(path)?.iter().enumerate() {
            let img = image::open(&label.file)
                .with_context(|| format!("não foi possível abrir {}", label.file.display()))?;
            // Decoding the JPEG is not part of recognition; the kiosk has the frame in memory.
            let original = img.to_rgb8();
            let tilt = if n % 2 == 0 { 3.5 } else { -3.5 };
            let name = label
                .file
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            let shots: Vec<(Option<Variant>, RgbImage, Rect)> = if bench.variants {
                [Variant::Shrunk, Variant::Turned(tilt), Variant::Dark]
                    .into_iter()
                    .map(|v| v.apply(&original, label.rect).map(|(p, r)| (Some(v), p, r)))
                    .collect::<anyhow::Result<_>>()?
            } else {
                vec![(None, original, label.rect)]
            };
            for (variant, photo, rect) in shots {
                read_one(Shot {
                    name: name.clone(),
                    variant,
                    photo,
                    rect,
                    plate: label.plate.clone(),
                })?;
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    let n = times.len() as f64;
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let (table, error) = calibration::reliability(&said, 10);
    let table: Vec<serde_json::Value> = table
        .iter()
        .map(|b| {
            serde_json::json!({
                "from": round(f64::from(b.from)), "to": round(f64::from(b.to)), "n": b.n,
                "said": round(f64::from(b.said)), "right": round(f64::from(b.right)),
            })
        })
        .collect();
    let mut summary = serde_json::json!({
        "images": times.len(),
        "exact": round(exact as f64 / n),
        "char_accuracy": round(chars as f64 / (n * 7.0)),
        "located": round(located as f64 / n),
        "p50_ms": round(pct(0.5)),
        "p95_ms": round(pct(0.95)),
        "calibration": table,
        "calibration_error": round(f64::from(error)),
    });
    if bench.fit_calibration {
        summary["fitted"] = serde_json::to_value(calibration::Calibration::fit(&scores))?;
    }
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// `bench capture`: one 1600×1024 frame to stored evidence, per-stage medians and the p50.
pub fn bench_capture(data: &Path, iterations: u32) -> anyhow::Result<ExitCode> {
    use vistoria_core::capture::{self, QualityLimits, ReuseIndex, Shot, StationInfo};
    use vistoria_core::clock::CentralStamp;
    use vistoria_core::domain::PhotoKind;
    use vistoria_core::fixtures;
    use vistoria_core::ocr::synth;
    use vistoria_core::store::{AuditAction, AuditEvent, Store};

    anyhow::ensure!(iterations > 0, "--iterations deve ser maior que zero");
    let (mut store, _) = Store::open(data)?;
    let mut index = ReuseIndex::open(&data.join("phash.jsonl"))?;
    let inspection = fixtures::sample_inspection(0);
    let at = CentralStamp {
        at: fixtures::sample_time(0),
        sync_age_ms: 0,
    };
    store.save_inspection(
        &inspection,
        AuditEvent::new(Some(at), "bench", AuditAction::InspectionOpened),
    )?;
    let station = StationInfo {
        name: "ECV Demonstração".into(),
        code: "MT-0001".into(),
        latitude: -15.601_4,
        longitude: -56.097_9,
    };
    let frames: Vec<_> = (0..4)
        .map(|seed| synth::scene(seed, 1600, 1024).image)
        .collect();
    let limits = QualityLimits::default();
    let mut totals = Vec::new();
    let mut stages: Vec<[f64; 6]> = Vec::new();
    for i in 0..iterations as usize {
        let frame = frames[i % frames.len()].clone();
        let started = Instant::now();
        let ev = capture::capture(
            &mut store,
            &mut index,
            &station,
            &limits,
            frame,
            Shot {
                inspection: inspection.id(),
                kind: PhotoKind::RearWithPlate,
                at,
                actor: "bench",
                retake_reason: None,
                source: capture::Source::StillCamera,
                device: "bench",
                reason: None,
            },
        )?;
        totals.push(started.elapsed().as_secs_f64() * 1000.0);
        let t = ev.timings;
        stages.push(
            [t.format, t.quality, t.tarja, t.jpeg, t.phash, t.store]
                .map(|d| d.as_secs_f64() * 1000.0),
        );
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[(v.len() - 1) / 2] * 100.0).round() / 100.0
    };
    let stage = |k: usize| median(stages.iter().map(|s| s[k]).collect());
    let mut sorted = totals.clone();
    sorted.sort_by(f64::total_cmp);
    let p95 = (sorted[((sorted.len() - 1) as f64 * 0.95).round() as usize] * 100.0).round() / 100.0;
    println!(
        "{}",
        serde_json::json!({
            "bench": "capture", "iterations": iterations,
            "format_ms": stage(0), "quality_ms": stage(1), "tarja_ms": stage(2),
            "jpeg_ms": stage(3), "phash_ms": stage(4), "store_ms": stage(5),
            "p50_ms": median(totals), "p95_ms": p95,
        })
    );
    store.close()?;
    Ok(ExitCode::SUCCESS)
}
