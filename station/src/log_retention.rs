//! §15 c, log retention: the station keeps its daily log files (`vistoria.YYYY-MM-DD.log`,
//! named by their UTC day) as many days as the central's security policy says, 14 without one.
//! The housekeeping thread prunes hourly, whether or not the central answers, so a station
//! offline for weeks does not keep more than it may. (The log writer itself keeps up to the
//! policy's ceiling and leaves the choice to this rule.)

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::Station;

/// Days kept without a security policy.
pub const DEFAULT_LOG_DAYS: u32 = 14;

impl Station {
    /// Days the station keeps its logs now.
    pub fn log_retention_days(&self) -> u32 {
        match self.security_policy() {
            Ok(Some(policy)) => policy.log_retention_days,
            _ => DEFAULT_LOG_DAYS,
        }
    }

    /// Deletes the log files of days the retention no longer covers at `today`; returns them.
    pub fn prune_logs(&self, today: NaiveDate) -> std::io::Result<Vec<PathBuf>> {
        prune(&self.0.log_dir, self.log_retention_days(), today)
    }
}

/// The daily log files in `dir` older than the `keep_days` days ending at `today` (today
/// counts as one), deleted. Other files (the panic log, a technician's notes) stay.
pub(crate) fn prune(dir: &Path, keep_days: u32, today: NaiveDate) -> std::io::Result<Vec<PathBuf>> {
    let Some(first_kept) =
        today.checked_sub_days(chrono::Days::new(u64::from(keep_days.max(1)) - 1))
    else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(day) = name
            .to_str()
            .and_then(|n| n.strip_prefix("vistoria."))
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        if day < first_kept {
            std::fs::remove_file(entry.path())?;
            removed.push(entry.path());
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_daily_logs_older_than_the_retention_go() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "vistoria.2026-11-20.log",
            "vistoria.2026-11-21.log",
            "vistoria.2026-12-07.log",
            "vistoria-panic.log",
            "vistoria.notas.log",
        ] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        // 17 days: 2026-11-21 is the first kept.
        let removed = prune(dir.path(), 17, today).unwrap();
        assert_eq!(removed, vec![dir.path().join("vistoria.2026-11-20.log")]);
        // One day: only today's.
        let removed = prune(dir.path(), 1, today).unwrap();
        assert_eq!(removed, vec![dir.path().join("vistoria.2026-11-21.log")]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "vistoria-panic.log",
                "vistoria.2026-12-07.log",
                "vistoria.notas.log"
            ]
        );
        // A folder not made yet is nothing to prune.
        assert!(
            prune(&dir.path().join("nada"), 14, today)
                .unwrap()
                .is_empty()
        );
    }
}
