//! The signed-in user's notifications: list, unread count, mark read.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait as _, QueryFilter, QueryOrder, QuerySelect};
use stoa_entities::notifications;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::model::Notification;
use crate::error::{DomainError, Result};
use crate::ids::NotificationId;
use crate::pagination::{Page, PageRequest};

/// The actor's notifications, newest first.
///
/// # Errors
/// `UNAUTHENTICATED`.
pub async fn notifications(
    app: &AppCtx,
    actor: &Actor,
    page: PageRequest,
    unread_only: bool,
) -> Result<Page<Notification>> {
    let user = actor.user_id()?;
    let limit = page.limit();
    let mut query = notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user.0))
        .order_by_desc(notifications::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after {
        query = query.filter(notifications::Column::Id.lt(after));
    }
    if unread_only {
        query = query.filter(notifications::Column::ReadAt.is_null());
    }
    let mut rows = query.all(app.db()).await?;
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(Page { items: rows.into_iter().map(Notification::from).collect(), has_next_page })
}

/// How many of the actor's notifications are unread.
///
/// # Errors
/// `UNAUTHENTICATED`.
pub async fn unread_notification_count(app: &AppCtx, actor: &Actor) -> Result<u64> {
    let user = actor.user_id()?;
    Ok(notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user.0))
        .filter(notifications::Column::ReadAt.is_null())
        .count(app.db())
        .await?)
}

/// Marks one notification (`Some(id)`) or all of them (`None`) read; returns how many changed.
///
/// # Errors
/// `NOT_FOUND` for someone else's or a missing notification.
pub async fn mark_notifications_read(app: &AppCtx, actor: &Actor, id: Option<NotificationId>) -> Result<u64> {
    let user = actor.user_id()?;
    let tx = app.begin().await?;
    let mut update = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(app.now()))
        .filter(notifications::Column::UserId.eq(user.0))
        .filter(notifications::Column::ReadAt.is_null());
    if let Some(id) = id {
        let found = notifications::Entity::find_by_id(id.0).one(tx.db()).await?;
        if found.is_none_or(|n| n.user_id != user.0) {
            return Err(DomainError::NotFound("notification"));
        }
        update = update.filter(notifications::Column::Id.eq(id.0));
    }
    let changed = update.exec(tx.db()).await?.rows_affected;
    tx.commit().await?;
    Ok(changed)
}
