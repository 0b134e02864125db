//! Fixed-window rate limits in Redis, so every replica draws on one budget per key.

use std::time::Duration;

use redis::aio::ConnectionManager;
use stoa_domain::ports::ratelimit::{Budget, RateLimiter, Verdict};

/// INCR + PEXPIRE (set on the first hit of a window) in one atomic script.
const SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}
";

/// GCRA (see `stoa_domain::ports::ratelimit::gcra`, which it mirrors) over one or several buckets at once
/// (an operation's per-IP and per-user budgets): `cost` tokens from each, all or nothing, in one
/// round trip. Each bucket is its theoretical arrival time in µs, on Redis' clock so replicas agree. ARGV: each bucket's tokens per minute, then cost.
/// Returns `{remaining, reset_us, retry_us}` per bucket.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[#KEYS + 1])
local out, sets, refused = {}, {}, false
for i, key in ipairs(KEYS) do
  local per_minute = tonumber(ARGV[i])
  local interval = math.max(1, math.floor(60000000 / per_minute))
  local tolerance = interval * per_minute
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new_tat = tat + interval * cost
  if new_tat - now > tolerance then
    refused = true
    out[#out + 1] = 0; out[#out + 1] = tat - now; out[#out + 1] = new_tat - now - tolerance
  else
    sets[#sets + 1] = {key, new_tat}
    out[#out + 1] = math.floor((tolerance - (new_tat - now)) / interval); out[#out + 1] = new_tat - now; out[#out + 1] = -1
  end
end
if not refused then
  for _, s in ipairs(sets) do redis.call('SET', s[1], s[2], 'PX', math.ceil((s[2] - now) / 1000)) end
end
return out
";

/// Redis-backed [`RateLimiter`].
pub struct RedisLimiter {
    conn: ConnectionManager,
    deadline: Duration,
    prefix: String,
    script: redis::Script,
    gcra: redis::Script,
}

impl RedisLimiter {
    /// Connects.
    ///
    /// # Errors
    /// When Redis is unreachable at start.
    pub async fn connect(url: &str, prefix: &str, deadline: std::time::Duration) -> anyhow::Result<Self> {
        let conn = super::manager(url, deadline).await?;
        Ok(Self {
            deadline,
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
        let (count, ttl_ms): (u64, i64) = super::within(
            self.deadline,
            self.script.key(format!("{}{key}", self.prefix)).arg(window_ms).invoke_async(&mut conn),
        )
        .await?;
        if count > u64::from(limit) {
            let retry = u64::try_from(ttl_ms.max(0)).unwrap_or(0).div_ceil(1000).max(1);
            return Ok(Verdict::Limited { retry_after_s: retry });
        }
        Ok(Verdict::Allowed { remaining: limit.saturating_sub(u32::try_from(count).unwrap_or(u32::MAX)) })
    }

    async fn take(&self, key: &str, per_minute: u32) -> anyhow::Result<Budget> {
        let budgets = self.take_all(&[(key.to_owned(), per_minute)], 1).await?;
        budgets.into_iter().next().ok_or_else(|| anyhow::anyhow!("rate limit script returned no budget"))
    }

    async fn take_all(&self, buckets: &[(String, u32)], cost: u32) -> anyhow::Result<Vec<Budget>> {
        let mut invocation = self.gcra.prepare_invoke();
        for (key, _) in buckets {
            invocation.key(format!("{}tb:{key}", self.prefix));
        }
        for (_, per_minute) in buckets {
            invocation.arg((*per_minute).max(1));
        }
        invocation.arg(cost.max(1));
        let mut conn = self.conn.clone();
        let flat: Vec<i64> = super::within(self.deadline, invocation.invoke_async(&mut conn)).await?;
        if flat.len() != buckets.len() * 3 {
            anyhow::bail!("rate limit script returned {} values for {} buckets", flat.len(), buckets.len());
        }
        Ok(buckets
            .iter()
            .zip(flat.chunks_exact(3))
            .map(|((_, per_minute), v)| budget((*per_minute).max(1), v[0], v[1], v[2]))
            .collect())
    }
}

/// A budget from the scripts' microsecond answers.
fn budget(per_minute: u32, remaining: i64, reset_us: i64, retry_us: i64) -> Budget {
    let secs = |us: i64| u64::try_from(us.max(0)).unwrap_or(0).div_ceil(1_000_000);
    Budget {
        limit: per_minute,
        remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
        reset_s: secs(reset_us),
        retry_after_s: (retry_us >= 0).then(|| secs(retry_us).max(1)),
    }
}
