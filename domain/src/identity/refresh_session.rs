//! Rotating a refresh token, with reuse detection: a token presented twice revokes its family.

use sea_orm::EntityTrait;
use stoa_entities::users;

use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::identity::model::{AuthSession, User};
use crate::identity::store;
use crate::identity::tokens::{self, hash_refresh_token, new_refresh_token};
use crate::ids::{SessionFamilyId, UserId};
use crate::tx::Tx;

const REFUSED: DomainError = DomainError::Unauthenticated("invalid or expired refresh token");

/// Exchanges a live refresh token for a new pair. Presenting an already-rotated token is treated as
/// theft: the whole family is revoked (committed) and the call fails.
///
/// # Errors
/// `UNAUTHENTICATED` for an unknown, expired, revoked or reused token.
#[tracing::instrument(skip_all)]
pub async fn refresh_session(app: &AppCtx, refresh_token: &str) -> Result<AuthSession> {
    let now = app.now();
    let mut tx = app.begin().await?;
    let Some(row) = store::session_by_hash(tx.db(), &hash_refresh_token(refresh_token)).await? else {
        return Err(REFUSED);
    };
    let family = SessionFamilyId(row.family_id);
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(REFUSED);
    }
    // A session does not slide forever: it ends `session_max_age` after its login.
    let started = store::family_started_at(tx.db(), family).await?.unwrap_or(row.created_at);
    if now - started >= to_chrono(app.auth().session_max_age) {
        return Err(DomainError::Unauthenticated("session too old: sign in again"));
    }
    if row.rotated_at.is_some() || !store::mark_rotated(tx.db(), row.id, now).await? {
        let revoked = store::revoke_family(tx.db(), family, now).await?;
        let mut record = AuditRecord::by_user(UserId(row.user_id), "session.reuse_detected", "session", Some(family.0));
        record.details = serde_json::json!({ "revokedTokens": revoked });
        audit::record(&mut tx, record).await?;
        tx.emit(Event::SessionRevoked { user_id: UserId(row.user_id), session: family });
        tx.commit().await?;
        tracing::warn!(family = %family, "refresh token reuse: family revoked");
        return Err(DomainError::Unauthenticated("refresh token reused; session revoked"));
    }
    let user = users::Entity::find_by_id(row.user_id).one(tx.db()).await?.ok_or(REFUSED)?;
    let session = issue(&tx, app, User::from(user), family).await?;
    tx.commit().await?;
    Ok(session)
}

/// Starts a new family for `user` (login, registration).
pub(crate) async fn start_session(tx: &Tx, app: &AppCtx, user: User) -> Result<AuthSession> {
    issue(tx, app, user, SessionFamilyId::new()).await
}

async fn issue(tx: &Tx, app: &AppCtx, user: User, family: SessionFamilyId) -> Result<AuthSession> {
    let now = app.now();
    let auth = app.auth();
    let access_expires_at = now + to_chrono(auth.access_ttl);
    let refresh_expires_at = now + to_chrono(auth.refresh_ttl);
    let access_token = tokens::sign_access_token(auth, user.id, family, now, access_expires_at)?;
    let (refresh_token, hash) = new_refresh_token();
    store::insert_session(tx.db(), user.id, family, hash, now, refresh_expires_at).await?;
    Ok(AuthSession { user, access_token, access_expires_at, refresh_token, refresh_expires_at })
}

fn to_chrono(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
