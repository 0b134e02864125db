//! Queries on `users` and `sessions`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use stoa_entities::{sessions, users};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::error::{DomainError, Result};
use crate::identity::model::{User, UserCard};
use crate::ids::{SessionFamilyId, UserId};

/// The signed-in user's own account.
///
/// # Errors
/// `UNAUTHENTICATED` for the system actor or a deleted account.
pub async fn me(app: &AppCtx, actor: &Actor) -> Result<User> {
    let id = actor.user_id()?;
    users::Entity::find_by_id(id.0)
        .one(app.db())
        .await?
        .map(User::from)
        .ok_or(DomainError::Unauthenticated("account no longer exists"))
}

/// Public cards for a batch of users (`DataLoader` backend). Unknown ids are left out.
///
/// # Errors
/// `Internal` on database failure.
pub async fn cards_by_ids(app: &AppCtx, ids: &[UserId]) -> Result<HashMap<UserId, UserCard>> {
    let rows = users::Entity::find().filter(users::Column::Id.is_in(ids.iter().map(|id| id.0))).all(app.db()).await?;
    Ok(rows.into_iter().map(|m| (UserId(m.id), UserCard::from(m))).collect())
}

pub(crate) async fn user_by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<users::Model>> {
    Ok(users::Entity::find().filter(users::Column::Email.eq(email)).one(db).await?)
}

pub(crate) async fn insert_session(
    db: &impl ConnectionTrait,
    user: UserId,
    family: SessionFamilyId,
    token_hash: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sessions::Entity::insert(sessions::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(user.0),
        family_id: Set(family.0),
        token_hash: Set(token_hash),
        created_at: Set(now),
        expires_at: Set(expires_at),
        rotated_at: Set(None),
        revoked_at: Set(None),
    })
    .exec(db)
    .await?;
    Ok(())
}

pub(crate) async fn session_by_hash(db: &impl ConnectionTrait, token_hash: &str) -> Result<Option<sessions::Model>> {
    Ok(sessions::Entity::find().filter(sessions::Column::TokenHash.eq(token_hash)).one(db).await?)
}

/// Marks one live token as used. `false` when it was already rotated or revoked (a concurrent use).
pub(crate) async fn mark_rotated(
    db: &impl ConnectionTrait,
    session_id: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let res = sessions::Entity::update_many()
        .col_expr(sessions::Column::RotatedAt, Expr::value(now))
        .filter(sessions::Column::Id.eq(session_id))
        .filter(sessions::Column::RotatedAt.is_null())
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Revokes every token of a family; returns how many were still live.
pub(crate) async fn revoke_family(
    db: &impl ConnectionTrait,
    family: SessionFamilyId,
    now: DateTime<Utc>,
) -> Result<u64> {
    let res = sessions::Entity::update_many()
        .col_expr(sessions::Column::RevokedAt, Expr::value(now))
        .filter(sessions::Column::FamilyId.eq(family.0))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// When `family`'s first token was issued: the login that started the session.
pub(crate) async fn family_started_at(
    db: &impl ConnectionTrait,
    family: SessionFamilyId,
) -> Result<Option<DateTime<Utc>>> {
    let first = sessions::Entity::find()
        .filter(sessions::Column::FamilyId.eq(family.0))
        .order_by_asc(sessions::Column::CreatedAt)
        .one(db)
        .await?;
    Ok(first.map(|s| s.created_at))
}

/// Revokes every live token of `user` (but those of the family `keep`, the session changing the
/// password); the families that had one.
pub(crate) async fn revoke_user_sessions(
    db: &impl ConnectionTrait,
    user: UserId,
    keep: Option<SessionFamilyId>,
    now: DateTime<Utc>,
) -> Result<Vec<SessionFamilyId>> {
    let mut live = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user.0))
        .filter(sessions::Column::RevokedAt.is_null());
    let mut revoke = sessions::Entity::update_many()
        .col_expr(sessions::Column::RevokedAt, Expr::value(now))
        .filter(sessions::Column::UserId.eq(user.0))
        .filter(sessions::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        live = live.filter(sessions::Column::FamilyId.ne(keep.0));
        revoke = revoke.filter(sessions::Column::FamilyId.ne(keep.0));
    }
    let live = live.all(db).await?;
    revoke.exec(db).await?;
    let families: std::collections::BTreeSet<SessionFamilyId> =
        live.into_iter().map(|s| SessionFamilyId(s.family_id)).collect();
    Ok(families.into_iter().collect())
}

/// Whether any token of `family` is still unrevoked (logout and reuse revoke them all at once).
pub(crate) async fn family_is_live(db: &impl ConnectionTrait, family: SessionFamilyId) -> Result<bool> {
    let live = sessions::Entity::find()
        .filter(sessions::Column::FamilyId.eq(family.0))
        .filter(sessions::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    Ok(live.is_some())
}

/// The custom status (text, emoji) of each user in `ids` that exists.
pub(crate) async fn statuses(
    db: &impl ConnectionTrait,
    ids: &[UserId],
) -> Result<HashMap<UserId, (Option<String>, Option<String>)>> {
    let rows = users::Entity::find().filter(users::Column::Id.is_in(ids.iter().map(|u| u.0))).all(db).await?;
    Ok(rows.into_iter().map(|u| (UserId(u.id), (u.status_text, u.status_emoji))).collect())
}
