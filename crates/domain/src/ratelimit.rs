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

/// Counts attempts per key in windows of `window`, allowing `limit` per window.
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Records one attempt against `key`.
    ///
    /// # Errors
    /// When the backend is unreachable.
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Verdict>;
}

/// Single-node limiter: a map of windows, swept as it grows.
#[derive(Default)]
pub struct InProcessLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

const SWEEP_ABOVE: usize = 10_000;

#[async_trait::async_trait]
impl RateLimiter for InProcessLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Verdict> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let left = window.saturating_sub(now.duration_since(entry.0));
            return Ok(Verdict::Limited {
                retry_after_s: left.as_secs().max(1),
            });
        }
        entry.1 += 1;
        Ok(Verdict::Allowed {
            remaining: limit - entry.1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
