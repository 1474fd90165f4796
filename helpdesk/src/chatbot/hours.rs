//! Business hours (seed 003: "de 7h às 11h e de 13h às 17h de segunda à sexta-feira"), in the
//! stations' time zone. Outside them the chatbot still takes the ticket and says when the team is
//! back.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, Timelike, Utc,
};
use serde::{Deserialize, Serialize};

/// When the support team works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Offset from UTC in hours. Default −4: Mato Grosso (America/Cuiaba, no daylight saving
    /// since 2019), the same zone as the kiosk's `core::clock::STATION_UTC_OFFSET_HOURS`.
    #[serde(default = "default_offset")]
    pub utc_offset_hours: i32,
    /// Working days, ISO numbers (1 Monday … 7 Sunday).
    #[serde(default = "default_days")]
    pub days: Vec<u8>,
    /// Working periods of each working day, `"HH:MM"` to `"HH:MM"`.
    #[serde(default = "default_periods")]
    pub periods: Vec<Period>,
    /// Days off (holidays), `YYYY-MM-DD`.
    #[serde(default)]
    pub closed_dates: Vec<NaiveDate>,
}

/// One working period of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Start, inclusive.
    pub start: NaiveTime,
    /// End, exclusive.
    pub end: NaiveTime,
}

fn default_offset() -> i32 {
    -4
}

fn default_days() -> Vec<u8> {
    vec![1, 2, 3, 4, 5]
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

fn default_periods() -> Vec<Period> {
    vec![
        Period {
            start: hm(7, 0),
            end: hm(11, 0),
        },
        Period {
            start: hm(13, 0),
            end: hm(17, 0),
        },
    ]
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            utc_offset_hours: default_offset(),
            days: default_days(),
            periods: default_periods(),
            closed_dates: Vec::new(),
        }
    }
}

const WEEKDAYS_PT: [&str; 7] = [
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
];

impl BusinessHours {
    /// Every problem, in Portuguese, naming the field.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(-12..=14).contains(&self.utc_offset_hours) {
            out.push("horario.utc_offset_hours: deve ficar entre -12 e 14".to_owned());
        }
        if self.days.is_empty() || self.days.iter().any(|d| !(1..=7).contains(d)) {
            out.push("horario.days: informe os dias de 1 (segunda) a 7 (domingo)".to_owned());
        }
        if self.periods.is_empty() {
            out.push("horario.periods: informe ao menos um período".to_owned());
        }
        for (i, p) in self.periods.iter().enumerate() {
            if p.start >= p.end {
                out.push(format!(
                    "horario.periods[{i}]: o início deve ser antes do fim"
                ));
            }
        }
        out
    }

    fn zone(&self) -> FixedOffset {
        // An offset out of range is reported by `problems`; UTC stands in until it is fixed.
        FixedOffset::east_opt(self.utc_offset_hours * 3600).unwrap_or(Utc.fix())
    }

    fn works_on(&self, date: NaiveDate) -> bool {
        let iso = u8::try_from(date.weekday().number_from_monday()).unwrap_or(0);
        self.days.contains(&iso) && !self.closed_dates.contains(&date)
    }

    /// Whether the team is working at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.zone());
        self.works_on(local.date_naive())
            && self.periods.iter().any(|p| {
                let t = local.time();
                t >= p.start && t < p.end
            })
    }

    /// The next moment the team starts working after `at` (`None` if never within 60 days).
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
        let zone = self.zone();
        let local = at.with_timezone(&zone);
        let mut starts: Vec<NaiveTime> = self.periods.iter().map(|p| p.start).collect();
        starts.sort();
        for day in 0..60 {
            let date = local.date_naive() + Duration::days(day);
            if !self.works_on(date) {
                continue;
            }
            for start in &starts {
                let candidate = date.and_time(*start).and_local_timezone(zone).single()?;
                if candidate > local {
                    return Some(candidate);
                }
            }
        }
        None
    }

    /// "hoje às 13:00", "amanhã às 07:00", "segunda-feira (09/03) às 07:00".
    pub fn describe_return(&self, at: DateTime<Utc>) -> String {
        let Some(next) = self.next_opening(at) else {
            return "assim que possível".to_owned();
        };
        let today = at.with_timezone(&self.zone()).date_naive();
        let time = format!("{:02}:{:02}", next.hour(), next.minute());
        let date = next.date_naive();
        if date == today {
            format!("hoje às {time}")
        } else if date == today + Duration::days(1) {
            format!("amanhã às {time}")
        } else {
            let idx = usize::try_from(date.weekday().num_days_from_monday()).unwrap_or(0);
            format!(
                "{} ({:02}/{:02}) às {time}",
                WEEKDAYS_PT.get(idx).copied().unwrap_or(""),
                date.day(),
                date.month()
            )
        }
    }

    /// "de segunda a sexta-feira, das 07:00 às 11:00 e das 13:00 às 17:00".
    pub fn describe(&self) -> String {
        let mut days = self.days.clone();
        days.sort_unstable();
        days.dedup();
        let name = |d: u8| {
            WEEKDAYS_PT
                .get(usize::from(d.saturating_sub(1)))
                .copied()
                .unwrap_or("")
        };
        let contiguous = days.windows(2).all(|w| w[1] == w[0] + 1);
        let day_text = match (days.first(), days.last()) {
            (Some(&a), Some(&b)) if contiguous && a != b => {
                format!("de {} a {}", name(a).trim_end_matches("-feira"), name(b))
            }
            _ => days.iter().map(|d| name(*d)).collect::<Vec<_>>().join(", "),
        };
        let periods: Vec<String> = self
            .periods
            .iter()
            .map(|p| {
                format!(
                    "das {} às {}",
                    p.start.format("%H:%M"),
                    p.end.format("%H:%M")
                )
            })
            .collect();
        format!("{day_text}, {}", periods.join(" e "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// A Cuiabá local time (UTC−4) as UTC.
    fn cuiaba(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        // March 2026: the 2nd is a Monday.
        Utc.with_ymd_and_hms(2026, 3, d, h + 4, m, 0)
            .single()
            .unwrap()
    }

    #[test]
    fn the_seeds_hours_in_cuiaba_time() {
        let h = BusinessHours::default();
        assert!(h.problems().is_empty());
        assert!(!h.is_open(cuiaba(2, 6, 59)));
        assert!(h.is_open(cuiaba(2, 7, 0)));
        assert!(h.is_open(cuiaba(2, 10, 59)));
        assert!(!h.is_open(cuiaba(2, 11, 0)), "lunch break");
        assert!(h.is_open(cuiaba(2, 13, 0)));
        assert!(!h.is_open(cuiaba(2, 17, 0)));
        assert!(!h.is_open(cuiaba(7, 9, 0)), "Saturday");
        assert_eq!(h.describe_return(cuiaba(2, 11, 30)), "hoje às 13:00");
        assert_eq!(h.describe_return(cuiaba(2, 18, 0)), "amanhã às 07:00");
        assert_eq!(
            h.describe_return(cuiaba(6, 17, 30)),
            "segunda-feira (09/03) às 07:00"
        );
        assert_eq!(
            h.describe(),
            "de segunda a sexta-feira, das 07:00 às 11:00 e das 13:00 às 17:00"
        );
    }

    #[test]
    fn holidays_and_bad_settings() {
        let mut h = BusinessHours::default();
        h.closed_dates
            .push(NaiveDate::from_ymd_opt(2026, 3, 3).unwrap());
        assert!(!h.is_open(cuiaba(3, 9, 0)));
        assert_eq!(
            h.describe_return(cuiaba(2, 18, 0)),
            "quarta-feira (04/03) às 07:00"
        );
        h.periods.push(Period {
            start: hm(12, 0),
            end: hm(12, 0),
        });
        h.days.push(9);
        assert_eq!(h.problems().len(), 2);
    }
}
