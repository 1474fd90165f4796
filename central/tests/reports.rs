//! The reports of the Detran portal (issue 22) on a known set of packages: exact figures per
//! station and day, per month and per inspector (outcomes, interruptions and film gaps by
//! cause, late and stuck packages, the OCR rate against the §5 floor of 75 %); the CSV parsed
//! back; the PDF's text extracted with `pdftotext` (poppler-utils) and checked.
//! `REPORT_PDF_OUT=FILE` also keeps the PDF (to look at it: `pdftoppm -png -r 60 FILE out`).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::records::package;
use serde_json::{Value, json};
use uuid::Uuid;
use vistoria_central::portal::reports::{CSV_HEADER, Grouping, Report, Row, compute, csv};
use vistoria_central::storage::PackageRecord;
use vistoria_core::domain::{Interruption, InterruptionCause, Outcome, Verdict};
use vistoria_core::wire::PackageStatus;

/// `h` o'clock on `day` Dec 2026 in Mato Grosso (UTC−4).
fn mt(day: u32, h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, 0, 0, 0).unwrap() + Duration::hours(h + 4)
}

fn now() -> DateTime<Utc> {
    mt(2, 18)
}

struct P {
    station: &'static str,
    seen: DateTime<Utc>,
    outcome: Outcome,
    reading: Option<Value>,
    gaps: Vec<&'static str>,
    late: bool,
    status: PackageStatus,
    inspector: &'static str,
}

fn interrupted(cause: InterruptionCause, at: DateTime<Utc>) -> Outcome {
    Outcome::Interrupted(Interruption {
        cause,
        note: String::new(),
        at,
        unsigned_verdict: None,
    })
}

fn make(p: P) -> PackageRecord {
    let mut r = package(Uuid::new_v4());
    r.station = p.station.into();
    r.manifest.station = p.station.into();
    r.manifest.outcome = p.outcome;
    r.manifest.metadata.clear();
    r.manifest
        .metadata
        .insert("inspector".into(), Value::from(p.inspector));
    if let Some(reading) = p.reading {
        r.manifest.metadata.insert("plate_reading".into(), reading);
    }
    let gaps: Vec<Value> = p
        .gaps
        .iter()
        .map(|c| json!({"start_ms": 1000, "end_ms": 2000, "cause": c, "open_at_stop": false}))
        .collect();
    r.manifest
        .metadata
        .insert("film_gaps".into(), Value::Array(gaps));
    r.first_seen_at = p.seen;
    r.late = p.late;
    r.status = p.status;
    r
}

fn reading(result: &str, corrected: bool) -> Option<Value> {
    let correction = if corrected {
        json!({"typed": "ABC1D23", "by": "Maria", "reason": "reflexo"})
    } else {
        Value::Null
    };
    Some(
        json!({"photo_sha256": "ab", "read": "ABC1D23", "confidence_ppm": 900000,
                "result": result, "correction": correction}),
    )
}

fn known_set() -> Vec<PackageRecord> {
    let verified = PackageStatus::Verified;
    let conforming = || Outcome::Verdict(Verdict::Conforming);
    vec![
        // ECV-01, 1 Dec: a conforming one read right, with two film gaps.
        make(P {
            station: "ECV-01",
            seen: mt(1, 9),
            outcome: conforming(),
            reading: reading("match", false),
            gaps: vec!["connection_lost", "no_frames"],
            late: false,
            status: verified,
            inspector: "Maria Souza",
        }),
        // A non-conforming one, late (§9), its plate corrected by hand (§6).
        make(P {
            station: "ECV-01",
            seen: mt(1, 10),
            outcome: Outcome::Verdict(Verdict::NonConforming { items: vec![] }),
            reading: reading("mismatch", true),
            gaps: vec![],
            late: true,
            status: verified,
            inspector: "Maria Souza",
        }),
        // An interruption never verified, arrived long ago: stuck.
        make(P {
            station: "ECV-01",
            seen: mt(1, 11),
            outcome: interrupted(InterruptionCause::CustomerGaveUp, mt(1, 11)),
            reading: None,
            gaps: vec![],
            late: false,
            status: PackageStatus::Rejected,
            inspector: "Maria Souza",
        }),
        // ECV-01, 2 Dec: read as typed but doubtful and confirmed by hand: not an OCR success.
        make(P {
            station: "ECV-01",
            seen: mt(2, 9),
            outcome: conforming(),
            reading: reading("doubtful", true),
            gaps: vec![],
            late: false,
            status: verified,
            inspector: "João Lima",
        }),
        // ECV-02, 1 Dec: one read right; on 2 Dec one interrupted by a failing camera, still
        // arriving (ten minutes ago: not stuck), with a film gap.
        make(P {
            station: "ECV-02",
            seen: mt(1, 15),
            outcome: conforming(),
            reading: reading("match", false),
            gaps: vec![],
            late: false,
            status: verified,
            inspector: "Ana Reis",
        }),
        make(P {
            station: "ECV-02",
            seen: now() - Duration::minutes(10),
            outcome: interrupted(InterruptionCause::EquipmentFailure, mt(1, 17)),
            reading: Some(json!(null)),
            gaps: vec!["system_failure"],
            late: false,
            status: PackageStatus::Receiving,
            inspector: "Ana Reis",
        }),
        // An unread rear photo (never reached OCR) counts no reading. 21:00 on 1 Dec in Mato
        // Grosso is 2 Dec in UTC: the report counts it on 1 Dec, the day there.
        make(P {
            station: "ECV-02",
            seen: mt(1, 21),
            outcome: conforming(),
            reading: reading("unread", false),
            gaps: vec![],
            late: false,
            status: verified,
            inspector: "Ana Reis",
        }),
    ]
}

fn report(grouping: Grouping) -> Report {
    let range = (
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
    );
    compute(&known_set(), range, grouping, None, now())
}

fn row<'a>(rows: &'a [Row], station: &str, label: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.station == station && r.label == label)
        .unwrap_or_else(|| panic!("no row {station} {label} in {rows:?}"))
}

fn causes(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect()
}

#[test]
fn figures_per_station_and_day_month_and_inspector() {
    let by_day = report(Grouping::Day);
    assert_eq!(by_day.periods.len(), 4);
    let d1 = &row(&by_day.periods, "ECV-01", "2026-12-01").figures;
    assert_eq!(
        (
            d1.inspections,
            d1.conforming,
            d1.non_conforming,
            d1.interrupted
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(d1.interruptions, causes(&[("customer_gave_up", 1)]));
    assert_eq!(
        d1.film_gaps,
        causes(&[("connection_lost", 1), ("no_frames", 1)])
    );
    assert_eq!((d1.late, d1.stuck), (1, 1));
    assert_eq!((d1.ocr_readings, d1.ocr_matched), (2, 1));
    assert_eq!(d1.ocr_text(), "50,0 %");
    assert!(d1.below_floor());
    let d2 = &row(&by_day.periods, "ECV-01", "2026-12-02").figures;
    assert_eq!((d2.inspections, d2.ocr_readings, d2.ocr_matched), (1, 1, 0));
    let e2 = &row(&by_day.periods, "ECV-02", "2026-12-01").figures;
    assert_eq!(
        (e2.inspections, e2.conforming, e2.interrupted, e2.stuck),
        (2, 2, 0, 0)
    );
    assert!(e2.interruptions.is_empty() && e2.film_gaps.is_empty());
    assert_eq!((e2.ocr_readings, e2.ocr_matched), (1, 1));
    let e3 = &row(&by_day.periods, "ECV-02", "2026-12-02").figures;
    assert_eq!((e3.inspections, e3.interrupted, e3.stuck), (1, 1, 0));
    assert_eq!(e3.interruptions, causes(&[("equipment_failure", 1)]));
    assert_eq!(e3.film_gaps, causes(&[("system_failure", 1)]));
    assert_eq!((e3.ocr_readings, e3.ocr_text()), (0, "—".into()));
    assert_eq!(e2.ocr_text(), "100,0 %");
    assert!(!e2.below_floor());

    let t = &by_day.total;
    assert_eq!(
        (
            t.inspections,
            t.conforming,
            t.non_conforming,
            t.interrupted,
            t.late,
            t.stuck
        ),
        (7, 4, 1, 2, 1, 1)
    );
    assert_eq!(
        (t.ocr_readings, t.ocr_matched, t.ocr_text()),
        (4, 2, "50,0 %".into())
    );

    let by_month = report(Grouping::Month);
    assert_eq!(by_month.periods.len(), 2);
    let m1 = &row(&by_month.periods, "ECV-01", "2026-12").figures;
    assert_eq!((m1.inspections, m1.ocr_readings, m1.ocr_matched), (4, 3, 1));
    assert_eq!(m1.ocr_text(), "33,3 %");
    let inspectors: Vec<(&str, &str, u64)> = by_month
        .inspectors
        .iter()
        .map(|r| (r.station.as_str(), r.label.as_str(), r.figures.inspections))
        .collect();
    assert_eq!(
        inspectors,
        [
            ("ECV-01", "João Lima", 1),
            ("ECV-01", "Maria Souza", 3),
            ("ECV-02", "Ana Reis", 3)
        ]
    );
}

#[test]
fn the_csv_reads_back_to_the_same_figures() {
    let text = csv(&report(Grouping::Day));
    let text = text.strip_prefix('\u{feff}').unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(lines.next().unwrap(), CSV_HEADER);
    let header: Vec<&str> = CSV_HEADER.split(';').collect();
    let rows: Vec<BTreeMap<&str, &str>> = lines
        .map(|l| header.iter().copied().zip(l.split(';')).collect())
        .collect();
    assert_eq!(rows.len(), 4 + 3);
    let d1 = rows
        .iter()
        .find(|r| {
            r["tipo"] == "periodo"
                && r["estacao"] == "ECV-01"
                && r["periodo_ou_vistoriador"] == "2026-12-01"
        })
        .unwrap();
    assert_eq!(d1["vistorias"], "3");
    assert_eq!(d1["conformes"], "1");
    assert_eq!(d1["nao_conformes"], "1");
    assert_eq!(d1["interrompidas"], "1");
    assert_eq!(d1["interrupcoes_por_causa"], "customer_gave_up=1");
    assert_eq!(
        d1["lacunas_de_filme_por_causa"],
        "connection_lost=1,no_frames=1"
    );
    assert_eq!(d1["atrasadas"], "1");
    assert_eq!(d1["paradas"], "1");
    assert_eq!((d1["leituras_ocr"], d1["ocr_sem_correcao"]), ("2", "1"));
    assert_eq!((d1["taxa_ocr"], d1["abaixo_de_75"]), ("50,0 %", "sim"));
    let ana = rows
        .iter()
        .find(|r| r["tipo"] == "vistoriador" && r["periodo_ou_vistoriador"] == "Ana Reis")
        .unwrap();
    assert_eq!(
        (ana["estacao"], ana["vistorias"], ana["abaixo_de_75"]),
        ("ECV-02", "3", "nao")
    );
}

#[test]
fn the_pdf_says_the_same() {
    if std::process::Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: pdftotext (poppler-utils) is not installed");
        return;
    }
    let pdf = vistoria_central::report_pdf::render(&report(Grouping::Day)).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relatorio.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if let Ok(keep) = std::env::var("REPORT_PDF_OUT") {
        std::fs::write(keep, &pdf).unwrap();
    }
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for words in [
        "Relatório de vistorias — todas as estações",
        "Período: 01/12/2026 a 02/12/2026",
        "Total: 7 vistorias — 4 conformes, 1 não conformes, 2 interrompidas; 1 atrasadas",
        "OCR sem correção 50,0 % (2 de 4; mínimo 75 %, §5)",
        "Por estação e dia",
        "Por vistoriador",
        "João Lima",
        "Desistência do cliente: 1",
        "conexão: 1, sem imagem: 1",
        "1/2 50,0 % abaixo",
        "1/1 100,0 %",
    ] {
        assert!(text.contains(words), "«{words}» missing from:\n{text}");
    }
    // Each day row of ECV-01 with its figures in order.
    let line = text
        .lines()
        .find(|l| l.contains("ECV-01") && l.contains("2026-12-01"))
        .unwrap();
    let numbers: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&numbers[2..6], ["3", "1", "1", "1"], "{line}");
}
