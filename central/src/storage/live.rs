//! The live view of the panoramic camera (§7: "deverá transmitir o ambiente de vistoria durante
//! todo o expediente da empresa credenciada, para fins de fiscalização no Portal"): each
//! station's business hours, set at the central, and the newest frame each station streamed.
//!
//! Both live in the metadata store, not in an instance's memory: behind a load balancer the
//! instance that receives a station's stream is rarely the one an auditor's browser reaches, and
//! every instance must serve the same newest frame and the same hours.
//!
//! Both metadata backends implement [`Live`] (`sqlite/live.rs`, schema version 11;
//! `postgres/live.rs`, migration 11).

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

use super::StorageResult;

/// The days of the week as the command and the pages name them, Monday first (chrono's
/// `num_days_from_monday` order).
pub const DAY_NAMES: [&str; 7] = ["seg", "ter", "qua", "qui", "sex", "sab", "dom"];

/// A station's business hours: the days it opens and the periods of each of those days, in the
/// station's local time (`utc_offset_minutes` from UTC; Mato Grosso is −240, no summer time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// Open on each day, Monday first.
    pub days: [bool; 7],
    /// `(start, end)` minutes of the local day, `start < end <= 1440`, sorted, not overlapping.
    pub periods: Vec<(u16, u16)>,
    /// The station's offset from UTC, in minutes.
    pub utc_offset_minutes: i32,
}

impl Default for BusinessHours {
    /// Monday to Friday 07:00–18:00 at UTC−4: what a station without configured hours streams.
    fn default() -> Self {
        BusinessHours {
            days: [true, true, true, true, true, false, false],
            periods: vec![(7 * 60, 18 * 60)],
            utc_offset_minutes: -4 * 60,
        }
    }
}

impl BusinessHours {
    /// Reads the command's three arguments: `days` (`seg-sex`, `seg,qua,sex`, `seg-sab`, `dom`…),
    /// `periods` (`07:00-11:00,13:00-17:00`; `24:00` ends a day) and `offset` (`-04:00`, `-4`,
    /// `UTC-4`). The error says, in Portuguese, what to write instead.
    pub fn parse(days: &str, periods: &str, offset: &str) -> Result<BusinessHours, String> {
        Ok(BusinessHours {
            days: parse_days(days)?,
            periods: parse_periods(periods)?,
            utc_offset_minutes: parse_offset(offset)?,
        })
    }

    /// Whether the station is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at + Duration::minutes(i64::from(self.utc_offset_minutes));
        let day = local.weekday().num_days_from_monday() as usize;
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.days[day] && self.periods.iter().any(|&(s, e)| s <= minute && minute < e)
    }

    /// The days as stored and shown: `seg,ter,qua,qui,sex`.
    pub fn days_text(&self) -> String {
        DAY_NAMES
            .iter()
            .zip(self.days)
            .filter(|(_, open)| *open)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The periods as stored and shown: `07:00-11:00,13:00-17:00`.
    pub fn periods_text(&self) -> String {
        self.periods
            .iter()
            .map(|&(s, e)| format!("{}-{}", hhmm(s), hhmm(e)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The offset as shown: `UTC-04:00`.
    pub fn offset_text(&self) -> String {
        let sign = if self.utc_offset_minutes < 0 {
            '-'
        } else {
            '+'
        };
        let m = self.utc_offset_minutes.unsigned_abs();
        format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
    }

    /// One line for people: `seg,ter,qua,qui,sex 07:00-18:00 (UTC-04:00)`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} ({})",
            self.days_text(),
            self.periods_text(),
            self.offset_text()
        )
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn day_index(name: &str) -> Option<usize> {
    let name = name.trim().to_lowercase().replace('á', "a");
    DAY_NAMES.iter().position(|d| *d == name)
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let bad = |part: &str| {
        format!(
            "dias «{part}» não reconhecidos: use seg, ter, qua, qui, sex, sab, dom, separados por \
             vírgula ou em intervalo (ex.: seg-sex ou seg,qua,sex)"
        )
    };
    let mut days = [false; 7];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => {
                let (Some(from), Some(to)) = (day_index(from), day_index(to)) else {
                    return Err(bad(part));
                };
                if from > to {
                    return Err(format!(
                        "intervalo de dias «{part}» invertido: escreva do primeiro ao último \
                         (ex.: seg-sex)"
                    ));
                }
                days[from..=to].iter_mut().for_each(|d| *d = true);
            }
            None => days[day_index(part).ok_or_else(|| bad(part))?] = true,
        }
    }
    if !days.contains(&true) {
        return Err("informe ao menos um dia de funcionamento (ex.: seg-sex)".into());
    }
    Ok(days)
}

fn parse_time(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

fn parse_periods(text: &str) -> Result<Vec<(u16, u16)>, String> {
    let mut periods = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let parsed = part
            .split_once('-')
            .and_then(|(s, e)| Some((parse_time(s)?, parse_time(e)?)));
        let Some((start, end)) = parsed else {
            return Err(format!(
                "período «{part}» inválido: use HH:MM-HH:MM, separados por vírgula \
                 (ex.: 07:00-11:00,13:00-17:00)"
            ));
        };
        if start >= end {
            return Err(format!(
                "período «{part}» termina antes de começar: um período não atravessa a \
                 meia-noite (use 24:00 para o fim do dia)"
            ));
        }
        periods.push((start, end));
    }
    if periods.is_empty() {
        return Err("informe ao menos um período (ex.: 07:00-18:00)".into());
    }
    periods.sort_unstable();
    if let Some(w) = periods.windows(2).find(|w| w[1].0 < w[0].1) {
        return Err(format!(
            "os períodos {}-{} e {}-{} se sobrepõem: junte-os em um só",
            hhmm(w[0].0),
            hhmm(w[0].1),
            hhmm(w[1].0),
            hhmm(w[1].1)
        ));
    }
    Ok(periods)
}

fn parse_offset(text: &str) -> Result<i32, String> {
    let bad = || {
        format!(
            "fuso «{text}» inválido: use a diferença para UTC, como -04:00 (Mato Grosso) ou \
             -03:00 (Brasília)"
        )
    };
    let t = text.trim();
    let t = t.strip_prefix("UTC").unwrap_or(t);
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

/// A station's hours as stored: `days_text`, `periods_text`, the offset in minutes.
pub(crate) fn from_stored(days: &str, periods: &str, offset: i32) -> StorageResult<BusinessHours> {
    let corrupt =
        |e: String| super::StorageError::Corrupt(format!("horário de funcionamento: {e}"));
    Ok(BusinessHours {
        days: parse_days(days).map_err(corrupt)?,
        periods: parse_periods(periods).map_err(corrupt)?,
        utc_offset_minutes: offset,
    })
}

/// The newest frame a station streamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFrame {
    /// Station code.
    pub station: String,
    /// Counts every frame the station ever sent, over every stream and instance (the store
    /// numbers them: a viewer asks for one newer than the one it shows).
    pub seq: u64,
    /// When the station captured it (its clock).
    pub captured_at: DateTime<Utc>,
    /// When an instance of the central received it.
    pub received_at: DateTime<Utc>,
    /// The JPEG.
    pub jpeg: Vec<u8>,
}

/// A frame's facts without its bytes (the pages' state line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStatus {
    /// The newest frame's number.
    pub seq: u64,
    /// When the station captured it.
    pub captured_at: DateTime<Utc>,
    /// When the central received it.
    pub received_at: DateTime<Utc>,
}

/// Business hours and newest frames, kept by the metadata store.
pub trait Live {
    /// Sets a station's hours (replacing any).
    fn set_business_hours(
        &self,
        station: &str,
        hours: &BusinessHours,
        at: DateTime<Utc>,
    ) -> StorageResult<()>;

    /// A station's configured hours (`None`: never set; the default applies).
    fn business_hours(&self, station: &str) -> StorageResult<Option<BusinessHours>>;

    /// Stores `station`'s newest frame in place of the last one, numbering it one past it (the
    /// `seq` of the argument is ignored); returns the number given.
    fn put_live_frame(&self, frame: &LiveFrame) -> StorageResult<u64>;

    /// The station's newest frame, if its number is above `after` (`None`: any).
    fn live_frame(&self, station: &str, after: Option<u64>) -> StorageResult<Option<LiveFrame>>;

    /// The newest frame's facts, without reading its bytes.
    fn live_status(&self, station: &str) -> StorageResult<Option<LiveStatus>>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_default_is_weekdays_seven_to_six_in_mato_grosso() {
        let h = BusinessHours::default();
        // Monday 2026-12-07 10:59 UTC is 06:59 in Cuiabá: closed; 11:00 UTC is 07:00: open.
        assert!(!h.is_open(Utc.with_ymd_and_hms(2026, 12, 7, 10, 59, 0).unwrap()));
        assert!(h.is_open(Utc.with_ymd_and_hms(2026, 12, 7, 11, 0, 0).unwrap()));
        // 18:00 in Cuiabá ends the day; Saturday is closed.
        assert!(!h.is_open(Utc.with_ymd_and_hms(2026, 12, 7, 22, 0, 0).unwrap()));
        assert!(!h.is_open(Utc.with_ymd_and_hms(2026, 12, 12, 14, 0, 0).unwrap()));
        // Monday 01:00 UTC is still Sunday 21:00 in Cuiabá.
        assert!(!h.is_open(Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap()));
        assert_eq!(h.describe(), "seg,ter,qua,qui,sex 07:00-18:00 (UTC-04:00)");
    }

    #[test]
    fn the_command_arguments_are_read_or_refused_with_advice() {
        let h = BusinessHours::parse("seg-sex,sáb", "13:00-17:00,07:00-11:00", "-03:00").unwrap();
        assert_eq!(h.days, [true, true, true, true, true, true, false]);
        assert_eq!(h.periods, vec![(420, 660), (780, 1020)]);
        assert_eq!(h.utc_offset_minutes, -180);
        // Monday 11:30 at UTC−3 (14:30 UTC) is the lunch break.
        assert!(!h.is_open(Utc.with_ymd_and_hms(2026, 12, 7, 14, 30, 0).unwrap()));
        assert!(h.is_open(Utc.with_ymd_and_hms(2026, 12, 7, 16, 0, 0).unwrap()));
        let all = BusinessHours::parse("seg-dom", "00:00-24:00", "UTC-4").unwrap();
        assert!(all.is_open(Utc.with_ymd_and_hms(2026, 12, 13, 3, 59, 0).unwrap()));
        assert!(BusinessHours::parse("sex-seg", "07:00-18:00", "-4").is_err());
        assert!(BusinessHours::parse("segunda", "07:00-18:00", "-4").is_err());
        assert!(BusinessHours::parse("seg", "18:00-07:00", "-4").is_err());
        assert!(BusinessHours::parse("seg", "07:00-12:00,11:00-13:00", "-4").is_err());
        assert!(BusinessHours::parse("seg", "7h-18h", "-4").is_err());
        assert!(BusinessHours::parse("seg", "07:00-18:00", "Cuiabá").is_err());
        let back = from_stored(&h.days_text(), &h.periods_text(), h.utc_offset_minutes).unwrap();
        assert_eq!(back, h);
    }
}
