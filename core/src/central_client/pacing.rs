//! Keeping under the central's request limit, and waiting when it says "not now".
//!
//! The central limits each station to a sustained rate with a burst (a token bucket) and
//! announces both at clock sync. A station coming back from an outage with a backlog would
//! otherwise send as fast as it can, be answered 429 and count each throttled package as a
//! failed attempt (§12 allows five). Instead the client mirrors the central's bucket, a little
//! under its rate, so a backlog drains at the highest rate allowed; and when the central still
//! answers 429 (or 503 with `Retry-After`) the client waits what it asks, bounded, and goes on
//! within the same attempt. Waiting is not failing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::wire::RateLimits;

/// Share of the announced rate the client uses: what the network adds to one request's
/// spacing it may take away from the next, and the two buckets' clocks are not the same.
const RATE_MARGIN: f64 = 0.95;

/// Longest single wait a `Retry-After` may ask for; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Longest one call may spend waiting on 429/503 answers before it gives up (the attempt then
/// fails as a transient error and the outbox's schedule takes over).
pub const MAX_WAIT_PER_CALL: Duration = Duration::from_secs(600);

/// What the pacing cost so far (for benchmarks and the technician's log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacingStats {
    /// Time spent waiting for the mirrored bucket before sending.
    pub paced: Duration,
    /// Answers 429 (or 503 with `Retry-After`) received.
    pub throttled: u64,
    /// Time spent waiting because of those answers.
    pub throttled_wait: Duration,
}

#[derive(Debug)]
struct Bucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

/// The client's side of the central's rate limit. Shared by the clones of one client.
#[derive(Debug, Default)]
pub struct Pacer {
    bucket: Mutex<Option<Bucket>>,
    paced_us: AtomicU64,
    throttled: AtomicU64,
    throttled_us: AtomicU64,
}

impl Pacer {
    /// Adopts the limits the central announced. The bucket starts half full: requests made
    /// before the limits were known may have drawn on the central's.
    pub fn set_limits(&self, limits: &RateLimits) {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let per_second = limits.requests_per_second * RATE_MARGIN;
        let burst = f64::from(limits.burst.max(1));
        match bucket.as_mut() {
            Some(b) => {
                b.per_second = per_second;
                b.burst = burst;
                b.tokens = b.tokens.min(burst);
            }
            None => {
                *bucket = Some(Bucket {
                    per_second,
                    burst,
                    tokens: burst / 2.0,
                    last: Instant::now(),
                });
            }
        }
    }

    /// Takes one request's token, sleeping until there is one. Without known limits, at once.
    pub fn before_request(&self) {
        let wait = {
            let mut guard = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(bucket) = guard.as_mut() else { return };
            take(bucket, Instant::now())
        };
        if !wait.is_zero() {
            self.paced_us
                .fetch_add(wait.as_micros() as u64, Ordering::Relaxed);
            std::thread::sleep(wait);
        }
    }

    /// Waits what a 429/503 asked for (cut to [`MAX_RETRY_AFTER`]); `spent` is what this call
    /// already waited. `false` when the call's waiting budget is used up.
    pub fn after_throttled(&self, retry_after: Duration, spent: &mut Duration) -> bool {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let wait = retry_after.clamp(Duration::from_millis(100), MAX_RETRY_AFTER);
        if *spent + wait > MAX_WAIT_PER_CALL {
            return false;
        }
        *spent += wait;
        self.throttled_us
            .fetch_add(wait.as_micros() as u64, Ordering::Relaxed);
        // The central's bucket is empty: so is ours.
        if let Some(b) = self
            .bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            b.tokens = 0.0;
            b.last = Instant::now() + wait;
        }
        std::thread::sleep(wait);
        true
    }

    /// What pacing cost so far.
    pub fn stats(&self) -> PacingStats {
        PacingStats {
            paced: Duration::from_micros(self.paced_us.load(Ordering::Relaxed)),
            throttled: self.throttled.load(Ordering::Relaxed),
            throttled_wait: Duration::from_micros(self.throttled_us.load(Ordering::Relaxed)),
        }
    }
}

/// Takes a token from `bucket` at `now`; the wait until it is there (zero if it was).
fn take(bucket: &mut Bucket, now: Instant) -> Duration {
    let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * bucket.per_second).min(bucket.burst);
    bucket.last = bucket.last.max(now);
    bucket.tokens -= 1.0;
    if bucket.tokens >= 0.0 || bucket.per_second <= 0.0 {
        return Duration::ZERO;
    }
    // In debt: the token is ours once the bucket refills to zero.
    Duration::from_secs_f64(-bucket.tokens / bucket.per_second)
}

/// The seconds of a `Retry-After` header (delta-seconds; an HTTP date is not sent by our central
/// and is read as "a second").
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let value = value?.trim();
    Some(match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => Duration::from_secs(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(per_second: f64, burst: f64, tokens: f64, last: Instant) -> Bucket {
        Bucket {
            per_second,
            burst,
            tokens,
            last,
        }
    }

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_spaces_requests_at_the_rate() {
        let t0 = Instant::now();
        let mut b = bucket(5.0, 3.0, 3.0, t0);
        for _ in 0..3 {
            assert_eq!(take(&mut b, t0), Duration::ZERO);
        }
        // The fourth waits one token's worth, the fifth two.
        assert_eq!(take(&mut b, t0), Duration::from_millis(200));
        assert_eq!(take(&mut b, t0), Duration::from_millis(400));
    }

    #[test]
    fn time_refills_the_bucket_up_to_its_burst() {
        let t0 = Instant::now();
        let mut b = bucket(10.0, 2.0, 0.0, t0);
        // A minute later it holds two, not six hundred.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(take(&mut b, later), Duration::ZERO);
        assert_eq!(take(&mut b, later), Duration::ZERO);
        assert!(take(&mut b, later) > Duration::ZERO);
    }

    #[test]
    fn a_sustained_run_never_goes_faster_than_the_rate() {
        // 100 requests sent as soon as allowed: the last leaves no earlier than
        // (100 − burst) / rate after the first.
        let t0 = Instant::now();
        let mut b = bucket(4.0, 10.0, 10.0, t0);
        let mut now = t0;
        for _ in 0..100 {
            now += take(&mut b, now);
        }
        let span = now.duration_since(t0).as_secs_f64();
        assert!((span - 90.0 / 4.0).abs() < 0.01, "{span}");
    }

    #[test]
    fn unknown_limits_do_not_wait() {
        let pacer = Pacer::default();
        let t = Instant::now();
        for _ in 0..1000 {
            pacer.before_request();
        }
        assert_eq!(pacer.stats().paced, Duration::ZERO);
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn retry_after_is_bounded_and_a_call_gives_up_when_its_budget_is_spent() {
        assert_eq!(parse_retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2026 07:28:00 GMT")),
            Some(Duration::from_secs(1))
        );
        assert_eq!(parse_retry_after(None), None);
        let pacer = Pacer::default();
        let mut spent = MAX_WAIT_PER_CALL - Duration::from_millis(50);
        assert!(!pacer.after_throttled(Duration::from_secs(1), &mut spent));
        assert_eq!(pacer.stats().throttled, 1);
        assert_eq!(pacer.stats().throttled_wait, Duration::ZERO);
    }
}
