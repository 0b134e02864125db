//! Backends for the domain's seams that need infrastructure the domain must not know: Redis.
//!
//! Every Redis call has a deadline ([`within`]): an outage costs a request at most that long,
//! never the time the client takes to reconnect.

mod clamd;
mod guarded_limiter;
mod mail;
mod redis_bus;
mod redis_limiter;
mod redis_presence;

use std::time::Duration;

pub use clamd::{ClamdAddr, ClamdScanner};
pub use guarded_limiter::{GuardedLimiter, LimiterPolicy};
pub use mail::{OutboxMailer, SmtpMailer, parse_from as parse_mail_from};
pub use redis_bus::RedisBus;
pub use redis_limiter::RedisLimiter;
pub use redis_presence::RedisPresence;

/// A Redis connection manager whose connects and responses are bounded by `deadline`, and which
/// reconnects in the background within a second or two of Redis coming back.
async fn manager(url: &str, deadline: Duration) -> anyhow::Result<redis::aio::ConnectionManager> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(deadline))
        .set_response_timeout(Some(deadline))
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_secs(1));
    let client = redis::Client::open(url)?;
    Ok(tokio::time::timeout(deadline * 4, client.get_connection_manager_with_config(config))
        .await
        .map_err(|_| anyhow::anyhow!("redis: no connection within {} ms", (deadline * 4).as_millis()))??)
}

/// Runs one Redis call, failing when it takes longer than `deadline`.
async fn within<T>(deadline: Duration, call: impl Future<Output = redis::RedisResult<T>>) -> anyhow::Result<T> {
    match tokio::time::timeout(deadline, call).await {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("redis: no answer within {} ms", deadline.as_millis()),
    }
}
