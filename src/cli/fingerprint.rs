//! `vistoria bench fingerprint --fvc DIR [--synthetic tune|held-out|scale=F] [--seed N]`: the FVC
//! protocol on one "B" set (80 images `FFF_I.tif`, 10 fingers × 8 impressions): every genuine
//! pair and every impostor pair, EER, FNMR at FMR = 1 % and 0.1 %, the rates at the threshold in
//! use, extraction and match times on one core. With `--synthetic` every image is first made
//! harder (`biometrics::synthesis`: dry, wet, partial, turned, faint, rescaled, noisy). Ends with
//! one JSON line.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use vistoria_core::biometrics::evaluation::{self, Rates};
use vistoria_core::biometrics::synthesis::{self, Split};
use vistoria_core::biometrics::{self, Prepared};

/// Runs the benchmark on the set in `dir`, made harder when `synthetic` names a split.
pub fn bench(dir: &Path, synthetic: Option<&str>, seed: u64) -> anyhow::Result<ExitCode> {
    let split = synthetic
        .map(|s| {
            Split::parse(s)
                .with_context(|| format!("--synthetic {s:?}: use \"tune\", \"held-out\" ou \"scale=F\" (F de 0.5 a 2, ex.: scale=0.8)"))
        })
        .transpose()?;
    let mut set = evaluation::load_fvc(dir)
        .with_context(|| format!("pasta FVC ilegível: {}", dir.display()))?;
    anyhow::ensure!(
        !set.is_empty(),
        "nenhuma imagem FFF_I.tif em {}",
        dir.display()
    );
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    if let Some(split) = split {
        for imp in &mut set {
            let (img, applied) =
                synthesis::synthesise(&imp.image, split, seed, imp.finger, imp.impression);
            imp.image = img;
            for k in applied {
                *kinds.entry(k.name()).or_default() += 1;
            }
        }
    }

    let mut extract_ms = Vec::with_capacity(set.len());
    let mut prepared = Vec::with_capacity(set.len());
    let mut minutiae = 0usize;
    for imp in &set {
        let clock = Clock::start();
        let template = biometrics::extract(&imp.image);
        let p = Prepared::new(&template);
        extract_ms.push(clock.ms());
        minutiae += template.minutiae.len();
        prepared.push(p);
    }
    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    let mut match_ms = Vec::new();
    let mut by_pair: BTreeMap<(usize, usize), f32> = BTreeMap::new();
    for i in 0..set.len() {
        for j in i + 1..set.len() {
            let clock = Clock::start();
            let s = biometrics::matcher::score(&prepared[i], &prepared[j]);
            match_ms.push(clock.ms());
            by_pair.insert((i, j), s);
            if set[i].finger == set[j].finger {
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
            .filter(|((i, j), _)| set[*i].finger == set[*j].finger)
            .collect();
        g.sort_by(|a, b| a.1.total_cmp(b.1));
        for ((i, j), s) in g.iter().take(15) {
            eprintln!(
                "genuíno baixo {} × {}: {s:.3}",
                set[*i].path.display(),
                set[*j].path.display()
            );
        }
        let im = rates.impostor();
        eprintln!(
            "impostores mais altos: {:?}",
            &im[im.len().saturating_sub(10)..]
        );
    }
    eprintln!(
        "{} imagens, {:.1} minúcias por imagem, limiar FMR 0,1 %: {:.4} (em uso: {:.4}), tempos em CPU da thread: {}",
        set.len(),
        minutiae as f64 / set.len() as f64,
        rates.threshold_for(0.001),
        biometrics::THRESHOLD,
        if thread_cpu_ns().is_some() {
            "sim"
        } else {
            "não (relógio de parede)"
        }
    );
    let round = |v: f64| (v * 1e4).round() / 1e4;
    let mut extract_sorted = extract_ms.clone();
    let mut line = serde_json::json!({
        "genuine": genuine.len(),
        "impostor": impostor.len(),
        "eer": round(rates.eer),
        "fmr100": round(rates.fnmr_at_fmr(0.01)),
        "fmr1000": round(rates.fnmr_at_fmr(0.001)),
        "threshold": biometrics::THRESHOLD,
        "fmr_at_threshold": round(rates.fmr_at(biometrics::THRESHOLD)),
        "fnmr_at_threshold": round(rates.fnmr_at(biometrics::THRESHOLD)),
        "extract_ms_p50": round(median(&mut extract_ms)),
        "extract_ms_p95": round(percentile(&mut extract_sorted, 0.95)),
        "match_ms_p50": round(median(&mut match_ms)),
    });
    if let Some(split) = split {
        line["synthetic"] = serde_json::json!({
            "split": split.name(),
            "seed": seed,
            "degradations": kinds,
        });
    }
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
    percentile(v, 0.5)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let at = ((v.len().saturating_sub(1)) as f64 * p).round() as usize;
    v.get(at).copied().unwrap_or(0.0)
}
