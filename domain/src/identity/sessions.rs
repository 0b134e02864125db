//! Whether a signed-in actor's session is still live. An access token is self-contained, so a
//! logout or a refresh-token reuse would leave it valid until it expires; every request and socket
//! asks here instead. Answers are cached per session family for [`LIVE_FOR`] (one indexed read per
//! family per replica per few seconds), and a revocation published on the bus marks the family ended
//! at once on every replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::error::{DomainError, Result};
use crate::identity::store;
use crate::ids::SessionFamilyId;

/// How long a "still live" answer is trusted without asking the database again.
pub const LIVE_FOR: Duration = Duration::from_secs(5);

/// Cached answers by session family.
#[derive(Default)]
pub struct SessionCache {
    families: Mutex<HashMap<SessionFamilyId, (Instant, bool)>>,
}

/// Entries beyond which expired answers are swept.
const SWEEP_ABOVE: usize = 10_000;

impl SessionCache {
    fn get(&self, family: SessionFamilyId, now: Instant) -> Option<bool> {
        let families = self.families.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // An ended family stays ended; a live answer is trusted for LIVE_FOR.
        families.get(&family).and_then(|(at, live)| (!*live || now.duration_since(*at) < LIVE_FOR).then_some(*live))
    }

    fn put(&self, family: SessionFamilyId, live: bool, now: Instant) {
        let mut families = self.families.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if families.len() > SWEEP_ABOVE {
            families.retain(|_, (at, live)| !*live || now.duration_since(*at) < LIVE_FOR);
        }
        families.insert(family, (now, live));
    }
}

/// `UNAUTHENTICATED` when `actor`'s session was revoked; the system actor always passes.
///
/// # Errors
/// `UNAUTHENTICATED` for an ended session; `Internal` when the database cannot tell.
pub async fn require_live_session(app: &AppCtx, actor: &Actor) -> Result<()> {
    let Actor::User { session, .. } = actor else { return Ok(()) };
    let now = Instant::now();
    let live = if let Some(live) = app.sessions().get(*session, now) {
        live
    } else {
        let live = store::family_is_live(app.db(), *session).await?;
        app.sessions().put(*session, live, now);
        live
    };
    if live { Ok(()) } else { Err(DomainError::Unauthenticated("session ended")) }
}

/// Records that `family` ended (a `SessionRevoked` event reached this replica).
pub fn session_revoked(app: &AppCtx, family: SessionFamilyId) {
    app.sessions().put(family, false, Instant::now());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_answer_expires_and_an_ended_one_stays() {
        let cache = SessionCache::default();
        let (a, b, t0) = (SessionFamilyId::new(), SessionFamilyId::new(), Instant::now());
        cache.put(a, true, t0);
        cache.put(b, false, t0);
        assert_eq!(cache.get(a, t0 + LIVE_FOR / 2), Some(true));
        assert_eq!(cache.get(a, t0 + LIVE_FOR), None, "asked again after LIVE_FOR");
        assert_eq!(cache.get(b, t0 + LIVE_FOR * 100), Some(false));
    }
}
