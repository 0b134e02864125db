//! The rate-limit seam: a fixed-window counter per key. In-process here; Redis in `api`, so that
//! replicas share one budget.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Outcome of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed; `remaining` attempts are left in this window.
    Allowed { remaining: u32 },
    /// Refused; the window resets in `retry_after_s` seconds.
    Limited { retry_after_s: u64 },
}

/// The state of a token bucket after one take, for `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Tokens per minute (and the bucket's size).
    pub limit: u32,
    /// Tokens left.
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_s: u64,
    /// Set when the take was refused: seconds until one token is back.
    pub retry_after_s: Option<u64>,
}

/// One step of GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp):
/// `tat_us` is the stored "theoretical arrival time" in microseconds (0 when none). Returns the new
/// TAT to store (unchanged when refused) and the budget. A bucket holds `per_minute` tokens and
/// refills at `per_minute` per minute; budgets above 60 million per minute count as 60 million.
#[must_use]
pub fn gcra(now_us: u64, tat_us: u64, per_minute: u32) -> (u64, Budget) {
    let per_minute = per_minute.max(1);
    let interval = (60_000_000 / u64::from(per_minute)).max(1); // µs per token
    let tolerance = interval * u64::from(per_minute); // the whole bucket
    let tat = tat_us.max(now_us);
    let new_tat = tat + interval;
    let secs = |us: u64| us.div_ceil(1_000_000);
    if new_tat - now_us > tolerance {
        let retry = new_tat - now_us - tolerance;
        let budget = Budget {
            limit: per_minute,
            remaining: 0,
            reset_s: secs(tat - now_us),
            retry_after_s: Some(secs(retry).max(1)),
        };
        return (tat_us, budget);
    }
    let remaining = u32::try_from((tolerance - (new_tat - now_us)) / interval).unwrap_or(u32::MAX);
    (new_tat, Budget { limit: per_minute, remaining, reset_s: secs(new_tat - now_us), retry_after_s: None })
}

/// Rate limits: fixed windows for credentials, token buckets for operations.
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Records one attempt against `key`, allowing `limit` per `window`.
    ///
    /// # Errors
    /// When the backend is unreachable.
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Verdict>;

    /// Takes one token from the bucket `key` holding `per_minute` tokens (see [`gcra`]).
    ///
    /// # Errors
    /// When the backend is unreachable.
    async fn take(&self, key: &str, per_minute: u32) -> anyhow::Result<Budget>;

    /// Takes `cost` tokens from each bucket `(key, per_minute)`: the budgets in the same order, up to
    /// and including the first that refuses (later buckets are not charged). A networked limiter
    /// does it in one round trip, and takes nothing when any bucket refuses.
    ///
    /// # Errors
    /// When the backend is unreachable.
    async fn take_all(&self, buckets: &[(String, u32)], cost: u32) -> anyhow::Result<Vec<Budget>> {
        let mut out = Vec::with_capacity(buckets.len());
        for (key, per_minute) in buckets {
            let mut last = None;
            for _ in 0..cost.max(1) {
                let budget = self.take(key, *per_minute).await?;
                let refused = budget.retry_after_s.is_some();
                last = Some(budget);
                if refused {
                    break;
                }
            }
            let refused = last.as_ref().is_some_and(|b| b.retry_after_s.is_some());
            out.extend(last);
            if refused {
                break;
            }
        }
        Ok(out)
    }
}

/// Single-node limiter: maps of windows and buckets, swept as they grow.
#[derive(Default)]
pub struct InProcessLimiter {
    /// Per key: when its window started, its length, and the attempts in it. Each window keeps its
    /// own length, so sweeping one-minute login keys never clears a one-hour sign-up window.
    windows: Mutex<HashMap<String, Window>>,
    buckets: Mutex<HashMap<String, u64>>,
}

struct Window {
    start: Instant,
    length: Duration,
    count: u32,
}

impl InProcessLimiter {
    /// [`RateLimiter::hit`] at the instant `now`.
    fn hit_at(&self, key: &str, limit: u32, window: Duration, now: Instant) -> Verdict {
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, w| now.duration_since(w.start) < w.length);
        }
        let entry = windows.entry(key.to_owned()).or_insert(Window { start: now, length: window, count: 0 });
        if now.duration_since(entry.start) >= window {
            *entry = Window { start: now, length: window, count: 0 };
        }
        entry.length = window;
        if entry.count >= limit {
            let left = window.saturating_sub(now.duration_since(entry.start));
            return Verdict::Limited { retry_after_s: left.as_secs().max(1) };
        }
        entry.count += 1;
        Verdict::Allowed { remaining: limit - entry.count }
    }
}

fn now_us() -> u64 {
    u64::try_from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or_default(),
    )
    .unwrap_or(u64::MAX)
}

const SWEEP_ABOVE: usize = 10_000;

#[async_trait::async_trait]
impl RateLimiter for InProcessLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Verdict> {
        Ok(self.hit_at(key, limit, window, Instant::now()))
    }

    async fn take(&self, key: &str, per_minute: u32) -> anyhow::Result<Budget> {
        let now = now_us();
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, tat| *tat > now);
        }
        let tat = buckets.get(key).copied().unwrap_or(0);
        let (new_tat, budget) = gcra(now, tat, per_minute);
        buckets.insert(key.to_owned(), new_tat);
        Ok(budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_size_at_once_then_refills_steadily() {
        let mut tat = 0;
        let now = 1_000_000_000;
        for expected in (0..60).rev() {
            let (next, budget) = gcra(now, tat, 60);
            assert_eq!((budget.remaining, budget.retry_after_s), (expected, None));
            tat = next;
        }
        let (same, refused) = gcra(now, tat, 60);
        assert_eq!(same, tat, "a refused take stores nothing");
        assert_eq!(refused.retry_after_s, Some(1));
        assert_eq!(refused.reset_s, 60);
        let (_, later) = gcra(now + 1_000_000, tat, 60);
        assert_eq!(later.retry_after_s, None, "one token is back after a second");
        assert_eq!(later.remaining, 0);
    }

    #[test]
    fn huge_budgets_do_not_divide_by_zero() {
        let (_, budget) = gcra(5, 0, u32::MAX);
        assert!(budget.retry_after_s.is_none() && budget.remaining > 0);
    }

    #[test]
    fn a_sweep_keeps_windows_longer_than_the_callers() {
        let limiter = InProcessLimiter::default();
        let (t0, hour, minute) = (Instant::now(), Duration::from_hours(1), Duration::from_mins(1));
        for _ in 0..3 {
            assert!(matches!(limiter.hit_at("signup", 3, hour, t0), Verdict::Allowed { .. }));
        }
        assert!(matches!(limiter.hit_at("signup", 3, hour, t0), Verdict::Limited { .. }));
        // Two minutes on, enough one-minute login keys to trigger a sweep.
        let later = t0 + 2 * minute;
        for i in 0..=SWEEP_ABOVE {
            limiter.hit_at(&format!("login:{i}"), 10, minute, later);
        }
        let verdict = limiter.hit_at("signup", 3, hour, later);
        assert!(matches!(verdict, Verdict::Limited { .. }), "the hour-long window survived: {verdict:?}");
    }

    #[tokio::test]
    async fn the_eleventh_attempt_in_a_window_is_refused() {
        let limiter = InProcessLimiter::default();
        for i in 0..10 {
            let verdict = limiter.hit("k", 10, Duration::from_mins(1)).await.ok();
            assert_eq!(verdict, Some(Verdict::Allowed { remaining: 9 - i }));
        }
        let verdict = limiter.hit("k", 10, Duration::from_mins(1)).await.ok();
        assert!(matches!(verdict, Some(Verdict::Limited { retry_after_s }) if retry_after_s <= 60));
        let other = limiter.hit("other", 10, Duration::from_mins(1)).await.ok();
        assert_eq!(other, Some(Verdict::Allowed { remaining: 9 }));
    }
}
