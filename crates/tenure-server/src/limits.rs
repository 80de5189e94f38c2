//! Per-key rate limits: a token bucket per API key, user session, write key
//! or login address.
//!
//! Why not tower_governor: its key extractors run before authentication and
//! see only the raw request, so keying by API key would mean parsing (and
//! holding) the secret in a second place. Here the bucket is chosen after
//! authentication, by the key's id, in the same extractor that checks the
//! key; the whole limiter is a map of buckets behind a mutex.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Rate-limit settings: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 50.0,
            burst: 200,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets by key.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Buckets kept before idle, full ones are dropped.
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `key`'s bucket; when it is empty, returns how
    /// long until the next token.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(f64::MIN_POSITIVE);
        let mut map = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() >= MAX_BUCKETS {
            map.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate < burst
            });
        }
        let b = map.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

/// Failed logins in a row that lock an email out.
pub const LOCKOUT_FAILURES: u32 = 10;
/// How long a locked-out email stays locked.
pub const LOCKOUT_FOR: Duration = Duration::from_secs(15 * 60);

/// Failed password attempts by email: after [`LOCKOUT_FAILURES`] in a row
/// the email is locked for [`LOCKOUT_FOR`], the right password included;
/// a successful login clears the count. Kept in memory, like the rate
/// limits: a restart clears it.
#[derive(Debug, Default)]
pub struct Lockout {
    failures: Mutex<HashMap<String, (u32, Option<Instant>)>>,
}

impl Lockout {
    /// Err with the time left while `email` is locked.
    pub fn check(&self, email: &str) -> Result<(), Duration> {
        self.check_at(email, Instant::now())
    }

    fn check_at(&self, email: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.lock();
        match map.get(email) {
            Some((_, Some(until))) if *until > now => Err(*until - now),
            Some((_, Some(_))) => {
                // The lock ran out: a fresh count.
                map.remove(email);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Records a failed attempt; true when it locked the email.
    pub fn failed(&self, email: &str) -> bool {
        self.failed_at(email, Instant::now())
    }

    fn failed_at(&self, email: &str, now: Instant) -> bool {
        let mut map = self.lock();
        if map.len() >= MAX_BUCKETS {
            map.retain(|_, (_, until)| until.is_some_and(|u| u > now));
        }
        let e = map.entry(email.to_string()).or_insert((0, None));
        e.0 += 1;
        if e.0 >= LOCKOUT_FAILURES && e.1.is_none() {
            e.1 = Some(now + LOCKOUT_FOR);
            return true;
        }
        false
    }

    /// A successful login: the count starts again.
    pub fn succeeded(&self, email: &str) {
        self.lock().remove(email);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Option<Instant>)>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_in_a_row_lock_an_email_for_fifteen_minutes() {
        let l = Lockout::default();
        let t = Instant::now();
        for _ in 0..LOCKOUT_FAILURES - 1 {
            assert!(!l.failed_at("a@x", t));
        }
        // A success clears the count.
        l.succeeded("a@x");
        for k in 0..LOCKOUT_FAILURES {
            assert_eq!(l.failed_at("a@x", t), k == LOCKOUT_FAILURES - 1);
        }
        assert_eq!(l.check_at("a@x", t), Err(LOCKOUT_FOR));
        assert!(l.check_at("b@x", t).is_ok(), "another email is not locked");
        let later = t + LOCKOUT_FOR;
        assert!(l.check_at("a@x", later).is_ok(), "the lock runs out");
        assert!(!l.failed_at("a@x", later), "and the count starts again");
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills() {
        let l = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at("k", t).is_ok());
        }
        let wait = l.check_at("k", t).unwrap_err();
        assert!(wait <= Duration::from_millis(500));
        assert!(
            l.check_at("other", t).is_ok(),
            "keys have their own buckets"
        );
        assert!(l.check_at("k", t + Duration::from_millis(600)).is_ok());
    }
}
