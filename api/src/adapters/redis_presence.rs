//! Presence counts in Redis, shared by every replica: one hash per user with its socket count and
//! "away" flag, kept alive by heartbeats. A replica that dies stops heartbeating, and its users
//! fall offline when the key expires.

use std::collections::HashMap;

use redis::aio::ConnectionManager;
use stoa_domain::chat::PresenceStatus;
use stoa_domain::ids::UserId;
use stoa_domain::ports::presence::PresenceStore;

/// Seconds a presence key lives without a heartbeat (keep-alive runs every 15 s by default).
const TTL_SECS: i64 = 60;

/// Redis-backed [`PresenceStore`].
pub struct RedisPresence {
    conn: ConnectionManager,
    prefix: String,
    deadline: std::time::Duration,
}

impl RedisPresence {
    /// Connects.
    ///
    /// # Errors
    /// When Redis is unreachable at start.
    pub async fn connect(url: &str, prefix: &str, deadline: std::time::Duration) -> anyhow::Result<Self> {
        let conn = super::manager(url, deadline).await?;
        Ok(Self { conn, prefix: format!("{prefix}:presence:"), deadline })
    }

    fn key(&self, user: UserId) -> String {
        format!("{}{user}", self.prefix)
    }
}

#[async_trait::async_trait]
impl PresenceStore for RedisPresence {
    async fn connect(&self, user: UserId) -> anyhow::Result<bool> {
        let mut conn = self.conn.clone();
        let (n,): (i64,) = super::within(
            self.deadline,
            redis::pipe()
                .atomic()
                .hincr(self.key(user), "conns", 1)
                .expire(self.key(user), TTL_SECS)
                .ignore()
                .query_async(&mut conn),
        )
        .await?;
        Ok(n == 1)
    }

    async fn disconnect(&self, user: UserId) -> anyhow::Result<bool> {
        let mut conn = self.conn.clone();
        let n: i64 = super::within(
            self.deadline,
            redis::cmd("HINCRBY").arg(self.key(user)).arg("conns").arg(-1).query_async(&mut conn),
        )
        .await?;
        if n <= 0 {
            let _: i64 =
                super::within(self.deadline, redis::cmd("DEL").arg(self.key(user)).query_async(&mut conn)).await?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn heartbeat(&self, user: UserId) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 =
            super::within(self.deadline, redis::cmd("EXPIRE").arg(self.key(user)).arg(TTL_SECS).query_async(&mut conn))
                .await?;
        Ok(())
    }

    async fn set_away(&self, user: UserId, away: bool) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        // Only users with a live socket have a key; HSET on a missing key would create one without conns.
        let exists: i64 =
            super::within(self.deadline, redis::cmd("EXISTS").arg(self.key(user)).query_async(&mut conn)).await?;
        if exists == 1 {
            let _: i64 = super::within(
                self.deadline,
                redis::cmd("HSET").arg(self.key(user)).arg("away").arg(i64::from(away)).query_async(&mut conn),
            )
            .await?;
        }
        Ok(())
    }

    async fn statuses(&self, users: &[UserId]) -> anyhow::Result<HashMap<UserId, PresenceStatus>> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for user in users {
            pipe.cmd("HMGET").arg(self.key(*user)).arg("conns").arg("away");
        }
        let rows: Vec<(Option<i64>, Option<i64>)> = super::within(self.deadline, pipe.query_async(&mut conn)).await?;
        Ok(users
            .iter()
            .zip(rows)
            .map(|(user, (conns, away))| {
                let status = match (conns.unwrap_or(0) > 0, away.unwrap_or(0) == 1) {
                    (false, _) => PresenceStatus::Offline,
                    (true, true) => PresenceStatus::Away,
                    (true, false) => PresenceStatus::Online,
                };
                (*user, status)
            })
            .collect())
    }
}
