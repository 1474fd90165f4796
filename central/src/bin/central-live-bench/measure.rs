//! What the ramp measures and how it decides: processes' CPU time and peak memory from
//! `/proc`, latency percentiles, and the rule that says whether the central kept up with a step.

use std::path::Path;

/// Clock ticks per second of `/proc/PID/stat` (USER_HZ: 100 on every Linux ABI we run on).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user + system, all threads) from the text of `/proc/PID/stat`.
pub fn cpu_seconds(stat: &str) -> Option<f64> {
    // The command name is in parentheses and may hold spaces or parentheses itself: the fields
    // are counted after the last `)`. utime and stime are the 14th and 15th fields, the 12th
    // and 13th after the name.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// Peak resident memory in kB (`VmHWM`) from the text of `/proc/PID/status`.
pub fn peak_rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// A process's CPU seconds so far (`proc` is `/proc/PID` or `/proc/self`).
pub fn cpu_of(proc: &Path) -> f64 {
    std::fs::read_to_string(proc.join("stat"))
        .ok()
        .and_then(|s| cpu_seconds(&s))
        .unwrap_or(0.0)
}

/// A process's peak resident memory in MB.
pub fn peak_rss_mb(proc: &Path) -> f64 {
    let kb = std::fs::read_to_string(proc.join("status"))
        .ok()
        .and_then(|s| peak_rss_kb(&s))
        .unwrap_or(0);
    (kb as f64 / 102.4).round() / 10.0
}

/// The `q` quantile (0–1) of sorted samples, nearest rank; 0 when there are none.
pub fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// What one step of the ramp saw at the load generator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Frames the stations should have posted in the window (stations × fps × seconds).
    pub expected: f64,
    /// Frames the central answered with 200 and `stream: true`.
    pub delivered: u64,
    /// Posts that failed (refused, cut, timed out, any other status).
    pub errors: u64,
    /// 95th percentile of a post's time, request written to answer read, in ms.
    pub p95_ms: f64,
    /// One frame interval in ms (1000 / fps).
    pub interval_ms: f64,
    /// Frames the viewers' streams should have shown (streams × fps × seconds).
    pub viewer_expected: f64,
    /// JPEG parts they received.
    pub viewer_frames: u64,
    /// Viewer streams refused or cut.
    pub viewer_errors: u64,
}

/// Delivered frames below this share of the expected ones mean the stations fell behind.
pub const MIN_DELIVERED_SHARE: f64 = 0.95;
/// Frames shown below this share of the stations' mean the viewers fell behind (looser than
/// the stations': a stream polls for a newer frame every 150 ms, and two frames arriving
/// within one poll show as one).
pub const MIN_VIEWED_SHARE: f64 = 0.9;

/// Whether the central kept up with a step; if not, why. It keeps up when no post failed, at
/// least [`MIN_DELIVERED_SHARE`] of the frames due went out (a station whose post is slow skips
/// the frames that fall due meanwhile, as the kiosk's streamer does), and the 95th percentile
/// post takes no longer than one frame interval (else most stations' next frame waits); and
/// the portal's viewers get their pictures: no stream refused or cut, and at least
/// [`MIN_VIEWED_SHARE`] of the frames their stations sent.
pub fn kept_up(step: &Step) -> Result<(), String> {
    if step.errors > 0 {
        return Err(format!("{} posts failed", step.errors));
    }
    if (step.delivered as f64) < step.expected * MIN_DELIVERED_SHARE {
        return Err(format!(
            "{} of {:.0} frames due were delivered (< {:.0} %)",
            step.delivered,
            step.expected,
            MIN_DELIVERED_SHARE * 100.0
        ));
    }
    if step.p95_ms > step.interval_ms {
        return Err(format!(
            "p95 post {:.0} ms > one frame interval ({:.0} ms)",
            step.p95_ms, step.interval_ms
        ));
    }
    if step.viewer_errors > 0 {
        return Err(format!("{} viewer streams failed", step.viewer_errors));
    }
    if (step.viewer_frames as f64) < step.viewer_expected * MIN_VIEWED_SHARE {
        return Err(format!(
            "viewers got {} of {:.0} frames (< {:.0} %)",
            step.viewer_frames,
            step.viewer_expected,
            MIN_VIEWED_SHARE * 100.0
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_read_after_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 \
                    9 0 12345 1000000 500 18446744073709551615";
        assert_eq!(cpu_seconds(stat), Some(3.25));
        assert_eq!(cpu_seconds("4242 (x) S 1 2"), None);
        assert_eq!(cpu_seconds("garbage"), None);
    }

    #[test]
    fn peak_rss_is_vmhwm() {
        let status = "Name:\tvistoria-central\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\n\
                      VmRSS:\t   40000 kB\n";
        assert_eq!(peak_rss_kb(status), Some(51200));
        assert_eq!(peak_rss_kb("Name:\tx\n"), None);
    }

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&samples, 0.5), 51);
        assert_eq!(quantile(&samples, 0.95), 95);
        assert_eq!(quantile(&samples, 1.0), 100);
        assert_eq!(quantile(&[], 0.95), 0);
    }

    fn step(delivered: u64, errors: u64, p95_ms: f64) -> Step {
        Step {
            expected: 1000.0,
            delivered,
            errors,
            p95_ms,
            interval_ms: 333.0,
            viewer_expected: 100.0,
            viewer_frames: 100,
            viewer_errors: 0,
        }
    }

    #[test]
    fn a_step_holds_only_without_errors_with_the_frames_due_and_a_short_p95() {
        assert_eq!(kept_up(&step(1000, 0, 20.0)), Ok(()));
        assert_eq!(kept_up(&step(950, 0, 333.0)), Ok(()));
        let failed = kept_up(&step(1000, 1, 20.0)).unwrap_err();
        assert!(failed.contains("1 posts failed"), "{failed}");
        let late = kept_up(&step(949, 0, 20.0)).unwrap_err();
        assert!(late.contains("949 of 1000"), "{late}");
        let slow = kept_up(&step(1000, 0, 334.0)).unwrap_err();
        assert!(slow.contains("p95 post 334 ms"), "{slow}");
    }

    #[test]
    fn a_step_fails_when_the_viewers_lose_their_pictures() {
        let cut = Step {
            viewer_errors: 2,
            ..step(1000, 0, 20.0)
        };
        assert_eq!(kept_up(&cut), Err("2 viewer streams failed".into()));
        let starved = Step {
            viewer_frames: 89,
            ..step(1000, 0, 20.0)
        };
        let why = kept_up(&starved).unwrap_err();
        assert!(why.contains("viewers got 89 of 100"), "{why}");
        let enough = Step {
            viewer_frames: 90,
            ..step(1000, 0, 20.0)
        };
        assert_eq!(kept_up(&enough), Ok(()));
    }
}
