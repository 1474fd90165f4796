//! `cargo xtask bench search`: the Detran API's search by plate over a million stored
//! inspections on PostgreSQL (issue 21's target: p95 ≤ 100 ms). Generates `--rows` packages in
//! the database (`INSERT … SELECT generate_series`, each plate on two inspections of two
//! stations over five years, a valid manifest in each), migrated by `PgMetadata` like a real
//! central's, then times `search_packages` through `PgMetadata` for random plates — the call
//! behind `GET /api/v1/detran/inspections?plate=…` — and for one station over one month. Prints
//! one JSON line per kind of search.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{TimeZone as _, Utc};
use clap::Parser;
use serde_json::json;
use vistoria_central::storage::directory::{Directory as _, InspectionFilter};
use vistoria_central::storage::postgres::PgMetadata;
use vistoria_core::domain::{
    Checklist, InspectionId, Interruption, InterruptionCause, Outcome, Plate, VehicleClass,
};
use vistoria_core::wire::PackageManifest;

/// Search by plate over many stored inspections.
#[derive(Parser)]
struct Args {
    /// PostgreSQL (an empty database: the run fills it).
    #[arg(long)]
    database: String,
    /// Inspections to generate.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Searches timed per kind.
    #[arg(long, default_value_t = 500)]
    searches: usize,
}

/// Plate of generated row `i`: two rows per plate (`i / 2`), old format `LLLNNNN`.
fn plate_of(i: u64) -> String {
    let n = i / 2;
    let letter = |k: u64| char::from(b'A' + u8::try_from(k % 26).unwrap_or(0));
    format!(
        "{}{}{}{:04}",
        letter(n / 10_000 / 676),
        letter(n / 10_000 / 26),
        letter(n / 10_000),
        n % 10_000
    )
}

/// The same plate as SQL computes it for row `i` (kept in step with [`plate_of`]).
const PLATE_SQL: &str = "chr(65 + ((i / 2) / 10000 / 676) % 26) || chr(65 + ((i / 2) / 10000 / 26) % 26) \
     || chr(65 + ((i / 2) / 10000) % 26) || lpad(((i / 2) % 10000)::text, 4, '0')";

fn manifest_template() -> anyhow::Result<String> {
    let at = Utc
        .with_ymd_and_hms(2026, 1, 5, 10, 0, 0)
        .single()
        .context("data")?;
    let manifest = PackageManifest {
        inspection_id: InspectionId::new(),
        station: "ECV-GERADA".into(),
        query_id: uuid::Uuid::new_v4(),
        plate: Plate::parse("ABC1234")?,
        concluded_at: at,
        outcome: Outcome::Interrupted(Interruption {
            cause: InterruptionCause::CustomerGaveUp,
            note: String::new(),
            at,
            unsigned_verdict: None,
        }),
        checklist: Checklist::new(VehicleClass::PassengerCar),
        metadata: Default::default(),
        audit_head: "0".repeat(64),
        audit_sequence: None,
        files: Vec::new(),
    };
    Ok(manifest.to_json()?.to_string())
}

fn percentiles(mut times: Vec<Duration>) -> serde_json::Value {
    times.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    json!({"p50_ms": ms(at(0.5)), "p95_ms": ms(at(0.95)), "max_ms": ms(times[times.len() - 1])})
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let store = PgMetadata::connect(&args.database, 4)?;
    let mut client = postgres::Client::connect(&args.database, postgres::NoTls)?;
    let started = Instant::now();
    // 200 stations; five years of first arrivals, one every ~158 s over a million rows.
    let generated = client.execute(
        &format!(
            "INSERT INTO packages (station, inspection_id, query_id, plate, manifest, \
             manifest_sha256, audit_sequence, audit_head, first_seen_at, deadline, late, status) \
             SELECT 'ECV-' || lpad((i % 200)::text, 3, '0'), gen_random_uuid(), gen_random_uuid(), \
             {PLATE_SQL}, $1, md5(i::text), NULL, repeat('0', 64), \
             timestamptz '2021-06-01' + (i * interval '158 seconds'), \
             timestamptz '2021-06-01' + (i * interval '158 seconds') + interval '4 hours', \
             false, 'receiving' \
             FROM generate_series(0, $2::int - 1) AS i"
        ),
        &[&manifest_template()?, &i32::try_from(args.rows)?],
    )?;
    client.batch_execute("ANALYZE packages")?;
    let fill_s = started.elapsed().as_secs_f64();

    let mut seed = 0x5eed_u64;
    let mut next = move |bound: u64| {
        // xorshift: a fixed sequence of plates, the same every run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let mut by_plate = Vec::new();
    let mut found = 0usize;
    for n in 0..args.searches + 50 {
        let filter = InspectionFilter {
            plates: vec![plate_of(next(args.rows))],
            limit: 50,
            ..InspectionFilter::default()
        };
        let t = Instant::now();
        let rows = store.search_packages(&filter)?;
        // The first 50 warm the pool and the cache.
        if n >= 50 {
            by_plate.push(t.elapsed());
            found += rows.len();
        }
    }
    anyhow::ensure!(
        found >= args.searches,
        "a busca por placa não achou as vistorias geradas"
    );
    let mut by_station = Vec::new();
    let mut found_by_station = 0usize;
    for _ in 0..args.searches {
        let start = Utc
            .with_ymd_and_hms(2021, 7, 1, 0, 0, 0)
            .single()
            .context("data")?
            + chrono::Duration::days(i64::try_from(next(1700))?);
        let filter = InspectionFilter {
            station: Some(format!("ECV-{:03}", next(200))),
            from: Some(start),
            to: Some(start + chrono::Duration::days(30)),
            limit: 50,
            ..InspectionFilter::default()
        };
        let t = Instant::now();
        found_by_station += store.search_packages(&filter)?.len();
        by_station.push(t.elapsed());
    }
    let rows = generated;
    let mut line = json!({"bench": "search_by_plate", "backend": "postgres", "rows": rows,
        "fill_s": (fill_s * 10.0).round() / 10.0, "searches": args.searches,
        "found_per_search": found as f64 / args.searches as f64});
    extend(&mut line, percentiles(by_plate));
    println!("{line}");
    let mut line = json!({"bench": "search_station_month", "backend": "postgres", "rows": rows,
        "searches": args.searches, "limit": 50,
        "found_per_search": found_by_station as f64 / args.searches as f64});
    extend(&mut line, percentiles(by_station));
    println!("{line}");
    Ok(())
}

fn extend(line: &mut serde_json::Value, more: serde_json::Value) {
    if let (Some(line), serde_json::Value::Object(more)) = (line.as_object_mut(), more) {
        line.extend(more);
    }
}
