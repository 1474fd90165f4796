//! Per-station rate limit: a token bucket per authenticated station.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Token buckets by station code.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` tokens refill each second, up to `burst`.
    pub fn new(per_second: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            per_second,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `station`, or says how many seconds until one is available.
    pub fn take(&self, station: &str) -> Result<(), u64> {
        self.take_at(station, Instant::now())
    }

    fn take_at(&self, station: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = buckets
            .entry(station.to_owned())
            .or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else if self.per_second > 0.0 {
            Err(((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64)
        } else {
            Err(3600)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_empties_and_refills() {
        let limiter = RateLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take_at("A", t0), Ok(()));
        }
        assert_eq!(limiter.take_at("A", t0), Err(1));
        // Another station has its own bucket.
        assert_eq!(limiter.take_at("B", t0), Ok(()));
        assert_eq!(
            limiter.take_at("A", t0 + Duration::from_millis(500)),
            Ok(())
        );
        assert!(
            limiter
                .take_at("A", t0 + Duration::from_millis(500))
                .is_err()
        );
    }
}
