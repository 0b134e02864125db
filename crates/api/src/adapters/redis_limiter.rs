//! Fixed-window rate limits in Redis, so every replica draws on one budget per key.

use std::time::Duration;

use redis::aio::ConnectionManager;
use stoa_domain::ratelimit::{Budget, RateLimiter, Verdict};

/// INCR + PEXPIRE (set on the first hit of a window) in one atomic script.
const SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}
";

/// GCRA in one atomic script (see `stoa_domain::ratelimit::gcra`, which it mirrors): stores the
/// bucket's theoretical arrival time in µs, using Redis' clock so replicas agree.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local per_minute = tonumber(ARGV[1])
local interval = math.max(1, math.floor(60000000 / per_minute))
local tolerance = interval * per_minute
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > tolerance then
  return {0, tat - now, new_tat - now - tolerance}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {math.floor((tolerance - (new_tat - now)) / interval), new_tat - now, -1}
";

/// Redis-backed [`RateLimiter`].
pub struct RedisLimiter {
    conn: ConnectionManager,
    prefix: String,
    script: redis::Script,
    gcra: redis::Script,
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
            gcra: redis::Script::new(GCRA),
        })
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Verdict> {
        let mut conn = self.conn.clone();
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let (count, ttl_ms): (u64, i64) =
            self.script.key(format!("{}{key}", self.prefix)).arg(window_ms).invoke_async(&mut conn).await?;
        if count > u64::from(limit) {
            let retry = u64::try_from(ttl_ms.max(0)).unwrap_or(0).div_ceil(1000).max(1);
            return Ok(Verdict::Limited { retry_after_s: retry });
        }
        Ok(Verdict::Allowed { remaining: limit.saturating_sub(u32::try_from(count).unwrap_or(u32::MAX)) })
    }

    async fn take(&self, key: &str, per_minute: u32) -> anyhow::Result<Budget> {
        let mut conn = self.conn.clone();
        let per_minute = per_minute.max(1);
        let (remaining, reset_us, retry_us): (i64, i64, i64) =
            self.gcra.key(format!("{}tb:{key}", self.prefix)).arg(per_minute).invoke_async(&mut conn).await?;
        let secs = |us: i64| u64::try_from(us.max(0)).unwrap_or(0).div_ceil(1_000_000);
        Ok(Budget {
            limit: per_minute,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
            reset_s: secs(reset_us),
            retry_after_s: (retry_us >= 0).then(|| secs(retry_us).max(1)),
        })
    }
}
