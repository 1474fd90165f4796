//! What the portal's filter forms (search, reports) have in common: the fields read from the
//! query string, the days typed in the date inputs, the station a viewer may ask for, and the
//! query string written back into links.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use vistoria_core::clock::STATION_UTC_OFFSET_HOURS;

use super::web::Viewer;

/// A query string's fields, each value trimmed (the last one kept when a name repeats).
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub fn parse(query: Option<&str>) -> Fields {
        Fields(
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
                .collect(),
        )
    }

    /// The field's value, empty when absent.
    pub fn take(&mut self, name: &str) -> String {
        self.0.remove(name).unwrap_or_default()
    }
}

/// The query string of the non-empty fields, for links that keep the filters.
pub fn query_string(fields: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        if !value.is_empty() {
            out.append_pair(name, value);
        }
    }
    out.finish()
}

/// A day typed as `aaaa-mm-dd` (the date input's value); `None` when empty, and when not a day
/// with a message in `errors` saying so under `label`.
pub fn typed_day(text: &str, label: &str, errors: &mut Vec<String>) -> Option<NaiveDate> {
    if text.is_empty() {
        return None;
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    if day.is_none() {
        errors.push(format!(
            "{label} «{text}» inválida; use o seletor de data (dia/mês/ano)."
        ));
    }
    day
}

/// Midnight starting `day` in Mato Grosso, as a central instant.
pub fn local_midnight(day: NaiveDate) -> DateTime<Utc> {
    (day.and_time(NaiveTime::MIN) - Duration::hours(STATION_UTC_OFFSET_HOURS.into())).and_utc()
}

/// The station a filter is about: a manager's own, whatever was typed; else the one typed (in
/// capitals), or none. The flag says a manager typed another station's code.
pub fn station_scope(viewer: &Viewer, typed: &str) -> (Option<String>, bool) {
    match (viewer.account.role.station(), typed) {
        (Some(own), typed) => (
            Some(own.to_owned()),
            !typed.is_empty() && !typed.eq_ignore_ascii_case(own),
        ),
        (None, "") => (None, false),
        (None, typed) => (Some(typed.to_uppercase()), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_trimmed_and_absent_ones_empty() {
        let mut f = Fields::parse(Some("placa=+abc1d23+&de=2026-12-01&de=2026-12-02"));
        assert_eq!(f.take("placa"), "abc1d23");
        assert_eq!(f.take("de"), "2026-12-02");
        assert_eq!(f.take("ate"), "");
        assert_eq!(
            query_string(&[("placa", "ABC 1"), ("de", ""), ("ate", "x")]),
            "placa=ABC+1&ate=x"
        );
    }

    #[test]
    fn days_are_read_or_explained() {
        let mut errors = Vec::new();
        assert_eq!(typed_day("", "Data inicial", &mut errors), None);
        assert!(errors.is_empty());
        let day = typed_day("2026-12-07", "Data inicial", &mut errors);
        assert_eq!(
            day.map(|d| local_midnight(d).to_rfc3339()).as_deref(),
            Some("2026-12-07T04:00:00+00:00")
        );
        assert_eq!(typed_day("07/12/2026", "Data final", &mut errors), None);
        assert_eq!(
            errors,
            ["Data final «07/12/2026» inválida; use o seletor de data (dia/mês/ano)."]
        );
    }
}
