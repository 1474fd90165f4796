//! The service's figures per station and per technician (seed 004's stages): how many tickets,
//! how long to the first answer and to the solution, reopenings and the requesters' ratings. Data
//! only; the console draws it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Status, Ticket};

/// One station's or technician's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// Station code or technician login ("—" when none).
    pub key: String,
    /// Tickets.
    pub tickets: usize,
    /// Not closed yet.
    pub open: usize,
    /// With a first answer.
    pub answered: usize,
    /// Mean minutes from intake to the first answer.
    pub first_answer_minutes: Option<f64>,
    /// With a (current) solution.
    pub solved: usize,
    /// Mean minutes from intake to the solution.
    pub resolution_minutes: Option<f64>,
    /// Solutions refused by the requester.
    pub reopened: u32,
    /// Ratings given.
    pub ratings: usize,
    /// Mean rating (1–5).
    pub rating_mean: Option<f64>,
}

/// Figures per station and per technician.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// By station code.
    pub by_station: Vec<ReportRow>,
    /// By technician login.
    pub by_technician: Vec<ReportRow>,
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn minutes(from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 60.0
}

fn row(key: String, tickets: &[&Ticket]) -> ReportRow {
    let first: Vec<f64> = tickets
        .iter()
        .filter_map(|t| t.first_answer_at.map(|a| minutes(t.created_at, a)))
        .collect();
    let resolution: Vec<f64> = tickets
        .iter()
        .filter_map(|t| t.solved_at.map(|s| minutes(t.created_at, s)))
        .collect();
    let ratings: Vec<f64> = tickets
        .iter()
        .filter_map(|t| t.rating.map(f64::from))
        .collect();
    ReportRow {
        key,
        tickets: tickets.len(),
        open: tickets
            .iter()
            .filter(|t| t.status != Status::Closed)
            .count(),
        answered: first.len(),
        first_answer_minutes: mean(&first),
        solved: resolution.len(),
        resolution_minutes: mean(&resolution),
        reopened: tickets.iter().map(|t| t.reopened).sum(),
        ratings: ratings.len(),
        rating_mean: mean(&ratings),
    }
}

fn group(tickets: &[Ticket], key: impl Fn(&Ticket) -> Option<String>) -> Vec<ReportRow> {
    let mut groups: BTreeMap<String, Vec<&Ticket>> = BTreeMap::new();
    for t in tickets {
        groups
            .entry(key(t).unwrap_or_else(|| "—".to_owned()))
            .or_default()
            .push(t);
    }
    groups.into_iter().map(|(k, ts)| row(k, &ts)).collect()
}

/// The report over `tickets`.
pub fn build(tickets: &[Ticket]) -> Report {
    Report {
        by_station: group(tickets, |t| t.station.clone()),
        by_technician: group(tickets, |t| t.technician.clone()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::model::{Channel, ContactId, TicketId, TicketKind};

    fn ticket(
        id: i64,
        station: &str,
        tech: Option<&str>,
        answer: Option<i64>,
        solve: Option<i64>,
        rating: Option<u8>,
    ) -> Ticket {
        let created = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).single().unwrap();
        Ticket {
            id: TicketId(id),
            version: 1,
            channel: Channel::Kiosk,
            contact_id: ContactId(1),
            station: Some(station.into()),
            category: "x".into(),
            title: "t".into(),
            description: "d".into(),
            urgency: 3,
            kind: TicketKind::Incident,
            status: if rating.is_some() {
                Status::Closed
            } else {
                Status::Assigned
            },
            technician: tech.map(str::to_owned),
            created_at: created,
            confirmed_at: None,
            assigned_at: None,
            first_answer_at: answer.map(|m| created + Duration::minutes(m)),
            solved_at: solve.map(|m| created + Duration::minutes(m)),
            feedback_asked_at: None,
            closed_at: None,
            rating,
            rating_comment: None,
            reopened: u32::from(id == 2),
            glpi_id: None,
            glpi_status: None,
        }
    }

    #[test]
    fn figures_per_station_and_technician() {
        let tickets = vec![
            ticket(1, "ECV-01", Some("ana"), Some(10), Some(60), Some(5)),
            ticket(2, "ECV-01", Some("bruno"), Some(30), None, None),
            ticket(3, "ECV-02", Some("ana"), Some(20), Some(120), Some(3)),
            ticket(4, "ECV-02", None, None, None, None),
        ];
        let r = build(&tickets);
        let ecv1 = &r.by_station[0];
        assert_eq!(
            (ecv1.key.as_str(), ecv1.tickets, ecv1.open, ecv1.reopened),
            ("ECV-01", 2, 1, 1)
        );
        assert_eq!(ecv1.first_answer_minutes, Some(20.0));
        assert_eq!(ecv1.resolution_minutes, Some(60.0));
        let ana = r.by_technician.iter().find(|r| r.key == "ana").unwrap();
        assert_eq!((ana.tickets, ana.solved), (2, 2));
        assert_eq!(ana.resolution_minutes, Some(90.0));
        assert_eq!(ana.rating_mean, Some(4.0));
        assert_eq!(
            r.by_technician
                .iter()
                .find(|r| r.key == "—")
                .unwrap()
                .answered,
            0
        );
    }
}
