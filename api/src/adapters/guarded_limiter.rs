//! The rate limiter's answer when Redis is away, as configured by `STOA_RATE_LIMIT_REDIS_DOWN`:
//! `open` (the default) decides from this replica's own in-process limiter meanwhile, so traffic
//! flows and a single address still cannot flood one replica; `closed` refuses with
//! `UNAVAILABLE`. Either way the outage is logged once when it starts and once when it ends, and
//! counted (`stoa_ratelimit_redis_down_total{policy}`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use stoa_domain::error::Unreachable;
use stoa_domain::ports::health::Health;
use stoa_domain::ports::ratelimit::{Budget, InProcessLimiter, RateLimiter, Verdict};

/// What to do when the shared limiter cannot be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimiterPolicy {
    /// Let operations through, limited by this replica alone.
    Open,
    /// Refuse them with `UNAVAILABLE`.
    Closed,
}

impl std::str::FromStr for LimiterPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "closed" => Ok(Self::Closed),
            other => Err(format!("{other:?}: expected open or closed")),
        }
    }
}

/// A shared limiter with a fallback for its outages.
pub struct GuardedLimiter {
    shared: Arc<dyn RateLimiter>,
    local: InProcessLimiter,
    policy: LimiterPolicy,
    health: Arc<Health>,
}

impl GuardedLimiter {
    #[must_use]
    pub fn new(shared: Arc<dyn RateLimiter>, policy: LimiterPolicy, health: Arc<Health>) -> Self {
        Self { shared, local: InProcessLimiter::default(), policy, health }
    }

    fn recovered(&self) {
        if self.health.limiter_outage.swap(false, Ordering::Relaxed) {
            tracing::info!("rate limiter: Redis answers again; shared budgets apply");
        }
    }

    /// The shared answer when there is one; otherwise, by the policy, the local answer (asked only
    /// then) or the refusal.
    async fn decide<T, F>(&self, shared: anyhow::Result<T>, local: impl FnOnce() -> F) -> anyhow::Result<T>
    where
        F: Future<Output = anyhow::Result<T>>,
    {
        match shared {
            Ok(answer) => {
                self.recovered();
                Ok(answer)
            }
            Err(e) => {
                self.failed(&e)?;
                local().await
            }
        }
    }

    /// Records a failed call; `Err` under the closed policy.
    fn failed(&self, e: &anyhow::Error) -> anyhow::Result<()> {
        if !self.health.limiter_outage.swap(true, Ordering::Relaxed) {
            let policy = match self.policy {
                LimiterPolicy::Open => "open: this replica's own limits apply until it is back",
                LimiterPolicy::Closed => "closed: operations are refused UNAVAILABLE until it is back",
            };
            tracing::warn!(error = %format_args!("{e:#}"), policy, "rate limiter: Redis unreachable");
        }
        match self.policy {
            LimiterPolicy::Open => {
                Health::bump(&self.health.limiter_fallbacks);
                Ok(())
            }
            LimiterPolicy::Closed => {
                Health::bump(&self.health.limiter_refusals);
                Err(anyhow::Error::new(Unreachable("redis")))
            }
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for GuardedLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Verdict> {
        let shared = self.shared.hit(key, limit, window).await;
        self.decide(shared, || self.local.hit(key, limit, window)).await
    }

    async fn take(&self, key: &str, per_minute: u32) -> anyhow::Result<Budget> {
        let shared = self.shared.take(key, per_minute).await;
        self.decide(shared, || self.local.take(key, per_minute)).await
    }

    async fn take_all(&self, buckets: &[(String, u32)], cost: u32) -> anyhow::Result<Vec<Budget>> {
        let shared = self.shared.take_all(buckets, cost).await;
        self.decide(shared, || self.local.take_all(buckets, cost)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Down;

    #[async_trait::async_trait]
    impl RateLimiter for Down {
        async fn hit(&self, _: &str, _: u32, _: Duration) -> anyhow::Result<Verdict> {
            anyhow::bail!("redis: no answer within 250 ms")
        }

        async fn take(&self, _: &str, _: u32) -> anyhow::Result<Budget> {
            anyhow::bail!("redis: no answer within 250 ms")
        }
    }

    #[tokio::test]
    async fn open_falls_back_to_local_limits_and_closed_refuses_as_unreachable() {
        let health = Arc::new(Health::default());
        let open = GuardedLimiter::new(Arc::new(Down), LimiterPolicy::Open, Arc::clone(&health));
        for _ in 0..3 {
            assert!(matches!(open.hit("k", 3, Duration::from_mins(1)).await, Ok(Verdict::Allowed { .. })));
        }
        assert!(
            matches!(open.hit("k", 3, Duration::from_mins(1)).await, Ok(Verdict::Limited { .. })),
            "local limits hold"
        );
        assert_eq!(Health::read(&health.limiter_fallbacks), 4);
        let closed = GuardedLimiter::new(Arc::new(Down), LimiterPolicy::Closed, Arc::clone(&health));
        let err = closed.take_all(&[("k".into(), 10)], 1).await.err().map(|e| e.downcast::<Unreachable>().is_ok());
        assert_eq!(err, Some(true));
        assert_eq!(Health::read(&health.limiter_refusals), 1);
        assert_eq!("CLOSED".parse::<LimiterPolicy>(), Ok(LimiterPolicy::Closed));
        assert!("shut".parse::<LimiterPolicy>().is_err());
    }
}
