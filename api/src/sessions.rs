//! Sockets by session family, so that a revoked session's sockets close on every replica: one
//! subscription per process to the `sessions` topic marks the family ended in the domain's cache
//! and wakes each of its sockets, which then close with 4403.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use stoa_domain::AppCtx;
use stoa_domain::events::{Event, Topic};
use stoa_domain::identity;
use stoa_domain::ids::SessionFamilyId;
use tokio::sync::Notify;

/// The open sockets of each session family on this replica.
#[derive(Default)]
pub struct SocketSessions {
    next: AtomicU64,
    by_family: Mutex<HashMap<SessionFamilyId, HashMap<u64, Arc<Notify>>>>,
}

/// A socket's place in [`SocketSessions`]; dropping it (the socket closed) gives the place up.
pub struct Registration {
    owner: Arc<SocketSessions>,
    family: SessionFamilyId,
    id: u64,
    /// Woken once when the family is revoked (the permit waits if nobody listens yet).
    pub revoked: Arc<Notify>,
}

impl SocketSessions {
    /// Registers a socket of `family`.
    pub fn register(self: &Arc<Self>, family: SessionFamilyId) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let revoked = Arc::new(Notify::new());
        let mut by_family = self.by_family.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        by_family.entry(family).or_default().insert(id, Arc::clone(&revoked));
        Registration { owner: Arc::clone(self), family, id, revoked }
    }

    /// Wakes every socket of `family`.
    pub fn revoke(&self, family: SessionFamilyId) {
        let by_family = self.by_family.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for socket in by_family.get(&family).into_iter().flat_map(HashMap::values) {
            socket.notify_one();
        }
    }

    /// Listens for revoked sessions for as long as the bus runs.
    pub fn spawn_listener(self: &Arc<Self>, app: AppCtx) {
        let mut events = app.bus().subscribe(&Topic::Sessions);
        let sockets = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if let Event::SessionRevoked { session, .. } = event {
                    identity::session_revoked(&app, session);
                    sockets.revoke(session);
                }
            }
            tracing::warn!("the session revocation stream ended");
        });
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut by_family = self.owner.by_family.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sockets) = by_family.get_mut(&self.family) {
            sockets.remove(&self.id);
            if sockets.is_empty() {
                by_family.remove(&self.family);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn revoking_wakes_that_familys_sockets_only_and_dropping_unregisters() {
        let sessions = Arc::new(SocketSessions::default());
        let (a, b) = (SessionFamilyId::new(), SessionFamilyId::new());
        let on_a = sessions.register(a);
        let on_b = sessions.register(b);
        sessions.revoke(a);
        let woke = tokio::time::timeout(std::time::Duration::from_millis(100), on_a.revoked.notified()).await;
        assert!(woke.is_ok(), "a's socket is woken");
        let other = tokio::time::timeout(std::time::Duration::from_millis(50), on_b.revoked.notified()).await;
        assert!(other.is_err(), "b's socket is not");
        drop(on_a);
        let families = sessions.by_family.lock().map(|m| m.len()).unwrap_or_default();
        assert_eq!(families, 1);
    }
}
