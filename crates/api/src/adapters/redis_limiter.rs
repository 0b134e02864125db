//! Fixed-window rate limits in Redis, so every replica draws on one budget per key.

use std::time::Duration;

use redis::aio::ConnectionManager;
use stoa_domain::ratelimit::{RateLimiter, Verdict};

/// INCR + PEXPIRE (set on the first hit of a window) in one atomic script.
const SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}
";

/// Redis-backed [`RateLimiter`].
pub struct RedisLimiter {
    conn: ConnectionManager,
    prefix: String,
    script: redis::Script,
}

impl RedisLimiter {
    /// Connects.
    ///
    /// # Errors
    /// When Redis is unreachable at start.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let conn = redis::Client::open(url)?.get_connection_manager().await?;
        Ok(Self {
            conn,
            prefix: format!("{prefix}:rl:"),
            script: redis::Script::new(SCRIPT),
        })
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Verdict> {
        let mut conn = self.conn.clone();
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let (count, ttl_ms): (u64, i64) = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(window_ms)
            .invoke_async(&mut conn)
            .await?;
        if count > u64::from(limit) {
            let retry = u64::try_from(ttl_ms.max(0)).unwrap_or(0).div_ceil(1000).max(1);
            return Ok(Verdict::Limited { retry_after_s: retry });
        }
        Ok(Verdict::Allowed {
            remaining: limit.saturating_sub(u32::try_from(count).unwrap_or(u32::MAX)),
        })
    }
}
