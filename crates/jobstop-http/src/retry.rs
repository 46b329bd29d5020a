//! Retry policy, backoff and `Retry-After`.

use std::time::{Duration, SystemTime};

use crate::headers::ResponseHeaders;

/// When and how often the HTTP layer retries.
///
/// A call is retried on HTTP 429, 502, 503 and 504 and on connection errors
/// (refused, reset, closed early, per-attempt timeout), never on other 4xx or
/// on 500. Every call gets at most `max_attempts` attempts and must finish
/// within `budget` from its first attempt; a wait that would cross the budget
/// is not started. Waits grow exponentially from `initial_backoff` to
/// `max_backoff` with jitter; a `Retry-After` header (seconds or HTTP date)
/// replaces the computed wait, clamped to `max_retry_after`.
///
/// Stop calls are retried like reads: every vendor stop jobstop calls is
/// idempotent (stopping a stopping or stopped run is harmless), and each
/// adapter documents how a repeated stop is answered.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts per call, including the first (at least 1).
    pub max_attempts: u32,
    /// Total time for one call, all attempts and waits included.
    pub budget: Duration,
    /// The first wait.
    pub initial_backoff: Duration,
    /// The longest computed wait.
    pub max_backoff: Duration,
    /// Growth factor of the wait.
    pub multiplier: f64,
    /// The longest `Retry-After` honoured; longer requests are clamped to it.
    pub max_retry_after: Duration,
    /// Whether to randomise waits (between half and all of the computed wait).
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            budget: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            multiplier: 2.0,
            max_retry_after: Duration::from_secs(30),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries at all: one attempt.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the attempt limit.
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the total time budget.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Sets the backoff range.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets the longest honoured `Retry-After`.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Turns jitter on or off.
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let m = if self.multiplier.is_finite() && self.multiplier >= 1.0 {
            self.multiplier
        } else {
            1.0
        };
        let exp = m.powi(retry.saturating_sub(1).min(64) as i32);
        let raw = self.initial_backoff.as_secs_f64() * exp;
        let capped = raw.min(self.max_backoff.as_secs_f64()).max(0.0);
        let secs = if self.jitter {
            capped / 2.0 + fastrand::f64() * capped / 2.0
        } else {
            capped
        };
        Duration::from_secs_f64(secs)
    }

    /// The wait before the next attempt: `Retry-After` (clamped) when the
    /// server sent one, the computed backoff otherwise.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max_retry_after),
            None => self.backoff(retry),
        }
    }
}

/// Reads `Retry-After` as delta-seconds or an HTTP date. A date in the past
/// gives zero; an unparsable value gives `None`.
pub fn parse_retry_after(headers: &ResponseHeaders) -> Option<Duration> {
    let value = headers.get("retry-after")?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if (0.0..1e9).contains(&secs) {
            return Some(Duration::from_secs_f64(secs));
        }
        return None;
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> ResponseHeaders {
        let mut h = ResponseHeaders::new();
        h.insert("Retry-After", v).unwrap();
        h
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            parse_retry_after(&headers("3")),
            Some(Duration::from_secs(3))
        );
        assert_eq!(parse_retry_after(&headers(" 0 ")), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(&headers("1.5")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after(&headers("-1")), None);
        assert_eq!(parse_retry_after(&headers("soon")), None);
        assert_eq!(
            parse_retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        let future = SystemTime::now() + Duration::from_secs(120);
        let d = parse_retry_after(&headers(&httpdate::fmt_http_date(future))).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after(&ResponseHeaders::new()), None);
    }

    #[test]
    fn backoff_grows_caps_and_jitters_within_bounds() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(800))
            .with_jitter(false);
        let waits: Vec<_> = (1..=6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 800, 800]);
        let j = p.clone().with_jitter(true);
        for n in 1..=6 {
            let full = p.backoff(n);
            for _ in 0..50 {
                let d = j.backoff(n);
                assert!(d >= full / 2 && d <= full, "{d:?} vs {full:?}");
            }
        }
        assert_eq!(p.backoff(u32::MAX), Duration::from_millis(800));
    }

    #[test]
    fn retry_after_is_clamped() {
        let p = RetryPolicy::default().with_max_retry_after(Duration::from_secs(10));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(10)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }
}
