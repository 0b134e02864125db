//! Backends for the domain's seams that need infrastructure the domain must not know: Redis.

mod clamd;
mod redis_bus;
mod redis_limiter;
mod redis_presence;

pub use clamd::{ClamdAddr, ClamdScanner};
pub use redis_bus::RedisBus;
pub use redis_limiter::RedisLimiter;
pub use redis_presence::RedisPresence;
