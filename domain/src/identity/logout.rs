//! Signing out: revoke the refresh-token family of the presented token.

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::identity::store;
use crate::identity::tokens::hash_refresh_token;
use crate::ids::{SessionFamilyId, UserId};

/// Revokes the session family `refresh_token` belongs to: its access tokens are refused from now on
/// and its sockets close (`SessionRevoked`). Idempotent for a known token.
///
/// # Errors
/// `UNAUTHENTICATED` for a token that was never issued.
#[tracing::instrument(skip_all)]
pub async fn logout(app: &AppCtx, refresh_token: &str) -> Result<()> {
    let mut tx = app.begin().await?;
    let Some(row) = store::session_by_hash(tx.db(), &hash_refresh_token(refresh_token)).await? else {
        return Err(DomainError::Unauthenticated("invalid refresh token"));
    };
    let family = SessionFamilyId(row.family_id);
    if store::revoke_family(tx.db(), family, app.now()).await? > 0 {
        audit::record(
            &mut tx,
            AuditRecord::by_user(UserId(row.user_id), "session.logged_out", "session", Some(family.0)),
        )
        .await?;
        tx.emit(Event::SessionRevoked { user_id: UserId(row.user_id), session: family });
    }
    tx.commit().await
}

/// Ends every session of the actor's user, on every device: their access tokens are refused from
/// now on and their sockets close. Returns how many sessions ended.
///
/// # Errors
/// `UNAUTHENTICATED` without a signed-in user.
#[tracing::instrument(skip_all, fields(actor = %actor.label()))]
pub async fn logout_everywhere(app: &AppCtx, actor: &Actor) -> Result<usize> {
    let user = actor.user_id()?;
    let mut tx = app.begin().await?;
    let families = store::revoke_user_sessions(tx.db(), user, None, app.now()).await?;
    audit::record(&mut tx, AuditRecord::by_user(user, "session.logged_out_everywhere", "user", Some(user.0))).await?;
    for family in &families {
        tx.emit(Event::SessionRevoked { user_id: user, session: *family });
    }
    tx.commit().await?;
    Ok(families.len())
}
