//! The presence seam: connection counts per user. In-process here; Redis with TTL keys in `api`, so
//! that every replica sees the same status.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::chat::PresenceStatus;
use crate::ids::UserId;

/// Where connection counts live.
#[async_trait::async_trait]
pub trait PresenceStore: Send + Sync + 'static {
    /// A socket of `user` opened; `true` when the user was offline before.
    async fn connect(&self, user: UserId) -> anyhow::Result<bool>;
    /// A socket closed; `true` when it was the user's last.
    async fn disconnect(&self, user: UserId) -> anyhow::Result<bool>;
    /// The socket is still alive (keeps TTL-based stores from expiring the user).
    async fn heartbeat(&self, user: UserId) -> anyhow::Result<()>;
    /// Sets or clears "away".
    async fn set_away(&self, user: UserId, away: bool) -> anyhow::Result<()>;
    /// Current status of each user.
    async fn statuses(&self, users: &[UserId]) -> anyhow::Result<HashMap<UserId, PresenceStatus>>;
}

/// Single-node presence.
#[derive(Default)]
pub struct InProcessPresence {
    users: Mutex<HashMap<UserId, (u32, bool)>>,
}

#[async_trait::async_trait]
impl PresenceStore for InProcessPresence {
    async fn connect(&self, user: UserId) -> anyhow::Result<bool> {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = users.entry(user).or_insert((0, false));
        entry.0 += 1;
        Ok(entry.0 == 1)
    }

    async fn disconnect(&self, user: UserId) -> anyhow::Result<bool> {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(entry) = users.get_mut(&user) else {
            return Ok(false);
        };
        entry.0 = entry.0.saturating_sub(1);
        if entry.0 == 0 {
            users.remove(&user);
            return Ok(true);
        }
        Ok(false)
    }

    async fn heartbeat(&self, _user: UserId) -> anyhow::Result<()> {
        Ok(())
    }

    async fn set_away(&self, user: UserId, away: bool) -> anyhow::Result<()> {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = users.get_mut(&user) {
            entry.1 = away;
        }
        Ok(())
    }

    async fn statuses(&self, ids: &[UserId]) -> anyhow::Result<HashMap<UserId, PresenceStatus>> {
        let users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(ids
            .iter()
            .map(|id| {
                let status = match users.get(id) {
                    Some((n, true)) if *n > 0 => PresenceStatus::Away,
                    Some((n, false)) if *n > 0 => PresenceStatus::Online,
                    _ => PresenceStatus::Offline,
                };
                (*id, status)
            })
            .collect())
    }
}
