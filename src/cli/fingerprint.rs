//! `vistoria bench fingerprint --fvc DIR`: the FVC protocol on one "B" set (80 images
//! `FFF_I.tif`, 10 fingers × 8 impressions): every genuine pair and every impostor pair, EER,
//! FNMR at FMR = 1 % and 0.1 %, extraction and match times on one core. Ends with one JSON line.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use vistoria_core::biometrics::{self, GrayImage, Prepared};

/// Runs the benchmark on the set in `dir`.
pub fn bench(dir: &Path) -> anyhow::Result<ExitCode> {
    let mut files: Vec<(u32, u32, std::path::PathBuf)> = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("pasta FVC ausente: {}", dir.display()))?
    {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let is_tif = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("tif") || e.eq_ignore_ascii_case("tiff"));
        let Some((finger, impression)) = stem.split_once('_') else {
            continue;
        };
        if let (true, Ok(f), Ok(i)) = (is_tif, finger.parse(), impression.parse()) {
            files.push((f, i, path));
        }
    }
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "nenhuma imagem FFF_I.tif em {}",
        dir.display()
    );

    let mut extract_ms = Vec::with_capacity(files.len());
    let mut prepared = Vec::with_capacity(files.len());
    let mut minutiae = 0usize;
    for (_, _, path) in &files {
        let bytes = std::fs::read(path).with_context(|| format!("lendo {}", path.display()))?;
        let img = GrayImage::from_tiff(&bytes).with_context(|| path.display().to_string())?;
        let clock = Clock::start();
        let template = biometrics::extract(&img);
        let p = Prepared::new(&template);
        extract_ms.push(clock.ms());
        minutiae += template.minutiae.len();
        prepared.push(p);
    }
    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    let mut match_ms = Vec::new();
    let mut by_pair: BTreeMap<(usize, usize), f32> = BTreeMap::new();
    for i in 0..files.len() {
        for j in i + 1..files.len() {
            let clock = Clock::start();
            let s = biometrics::matcher::score(&prepared[i], &prepared[j]);
            match_ms.push(clock.ms());
            by_pair.insert((i, j), s);
            if files[i].0 == files[j].0 {
                genuine.push(s);
            } else {
                impostor.push(s);
            }
        }
    }
    let rates = Rates::new(&genuine, &impostor);
    if std::env::var_os("VISTORIA_BENCH_VERBOSE").is_some() {
        let mut g: Vec<_> = by_pair
            .iter()
            .filter(|((i, j), _)| files[*i].0 == files[*j].0)
            .collect();
        g.sort_by(|a, b| a.1.total_cmp(b.1));
        for ((i, j), s) in g.iter().take(15) {
            eprintln!(
                "genuíno baixo {} × {}: {s:.3}",
                files[*i].2.display(),
                files[*j].2.display()
            );
        }
        let mut im = impostor.clone();
        im.sort_by(|a, b| b.total_cmp(a));
        eprintln!("impostores mais altos: {:?}", &im[..im.len().min(10)]);
    }
    eprintln!(
        "{} imagens, {:.1} minúcias por imagem, limiar FMR 0,1 %: {:.4} (em uso: {:.4}), tempos em CPU da thread: {}",
        files.len(),
        minutiae as f64 / files.len() as f64,
        rates.threshold_fmr1000,
        biometrics::THRESHOLD,
        if thread_cpu_ns().is_some() {
            "sim"
        } else {
            "não (relógio de parede)"
        }
    );
    let round = |v: f64| (v * 1e4).round() / 1e4;
    let line = serde_json::json!({
        "genuine": genuine.len(),
        "impostor": impostor.len(),
        "eer": round(rates.eer),
        "fmr100": round(rates.fnmr_at(&genuine, 0.01)),
        "fmr1000": round(rates.fnmr_at(&genuine, 0.001)),
        "extract_ms_p50": round(median(&mut extract_ms)),
        "match_ms_p50": round(median(&mut match_ms)),
    });
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

/// Times one operation by this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, nanosecond
/// resolution) so other processes on a shared machine do not inflate it; wall time where that
/// is missing. (`/proc/thread-self/schedstat` only moves at scheduler ticks: a 2 ms match
/// read as 0.)
struct Clock {
    cpu_ns: Option<u64>,
    wall: Instant,
}

fn thread_cpu_ns() -> Option<u64> {
    use nix::time::{ClockId, clock_gettime};
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    u64::try_from(t.tv_sec())
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(u64::try_from(t.tv_nsec()).ok()?)
}

impl Clock {
    fn start() -> Clock {
        Clock {
            cpu_ns: thread_cpu_ns(),
            wall: Instant::now(),
        }
    }

    fn ms(&self) -> f64 {
        match (self.cpu_ns, thread_cpu_ns()) {
            (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e6,
            _ => self.wall.elapsed().as_secs_f64() * 1e3,
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

struct Rates {
    impostor: Vec<f32>,
    eer: f64,
    threshold_fmr1000: f32,
}

impl Rates {
    fn new(genuine: &[f32], impostor: &[f32]) -> Rates {
        let mut imp = impostor.to_vec();
        imp.sort_by(f32::total_cmp);
        // Sweep every observed score as a threshold (accept when score ≥ t).
        let mut thresholds: Vec<f32> = genuine.iter().chain(impostor).copied().collect();
        thresholds.push(f32::MAX);
        thresholds.sort_by(f32::total_cmp);
        thresholds.dedup();
        let mut eer = 1.0;
        let mut best_gap = f64::MAX;
        for &t in &thresholds {
            let fmr = fraction(impostor, |s| s >= t);
            let fnmr = fraction(genuine, |s| s < t);
            let gap = (fmr - fnmr).abs();
            if gap < best_gap {
                best_gap = gap;
                eer = (fmr + fnmr) / 2.0;
            }
        }
        let mut r = Rates {
            impostor: imp,
            eer,
            threshold_fmr1000: 0.0,
        };
        r.threshold_fmr1000 = r.threshold_for(0.001);
        r
    }

    /// Lowest threshold whose FMR is at most `fmr`.
    fn threshold_for(&self, fmr: f64) -> f32 {
        let n = self.impostor.len();
        let allowed = (fmr * n as f64).floor() as usize;
        // Accepting scores strictly above the (n − allowed)-th smallest impostor score.
        let idx = n.saturating_sub(allowed + 1);
        self.impostor.get(idx).map_or(0.0, |s| s.next_up())
    }

    fn fnmr_at(&self, genuine: &[f32], fmr: f64) -> f64 {
        let t = self.threshold_for(fmr);
        fraction(genuine, |s| s < t)
    }
}

fn fraction(v: &[f32], pred: impl Fn(f32) -> bool) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.iter().filter(|&&s| pred(s)).count() as f64 / v.len() as f64
}
