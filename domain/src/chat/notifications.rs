//! The signed-in user's notifications: the live stream, list, unread count, mark read.
//!
//! A notification is shown only while its recipient may still see what it is about: a member of its
//! workspace, able to read its channel. Removal from a workspace or a private channel hides what
//! was stored before, and what is published after is not delivered.

use futures::StreamExt as _;
use futures::stream::BoxStream;
use sea_orm::sea_query::{Condition, Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait as _, QueryFilter, QueryOrder, QuerySelect};
use stoa_entities::{channel_members, channels, memberships, notifications};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::model::{ChannelKind, Notification};
use crate::chat::store;
use crate::error::{DomainError, Result};
use crate::events::{Event, Topic};
use crate::ids::{NotificationId, UserId};
use crate::pagination::{Page, PageRequest};
use crate::workspaces;

/// The actor's new notifications as they are stored, each delivered only if the actor can still
/// read what it is about when it arrives.
///
/// # Errors
/// `UNAUTHENTICATED`.
pub async fn notification_events(app: &AppCtx, actor: &Actor) -> Result<BoxStream<'static, Notification>> {
    let me = actor.user_id()?;
    let events = app.bus().subscribe(&Topic::User(me));
    let (app, actor) = (app.clone(), actor.clone());
    Ok(events
        .filter_map(move |event| {
            let (app, actor) = (app.clone(), actor.clone());
            async move {
                let Event::NotificationCreated(n) = event else { return None };
                visible(&app, &actor, &n).await.then_some(n)
            }
        })
        .boxed())
}

/// Whether `actor` may still see what `n` is about. A failed check hides it (it stays listed for
/// later, when the check can run).
async fn visible(app: &AppCtx, actor: &Actor, n: &Notification) -> bool {
    let checked = match n.channel_id {
        Some(channel) => store::readable(app.db(), actor, channel).await.map(|_| true),
        None => match actor.user_id() {
            Ok(me) => workspaces::store::membership(app.db(), n.workspace_id, me).await.map(|m| m.is_some()),
            Err(e) => Err(e),
        },
    };
    checked.unwrap_or(false)
}

/// Notifications of `user` they may still see: from a workspace they belong to, about no channel or
/// a channel they are a member of or that is public.
fn still_visible(user: UserId) -> Condition {
    let my_workspaces = Query::select()
        .column(memberships::Column::WorkspaceId)
        .from(memberships::Entity)
        .and_where(memberships::Column::UserId.eq(user.0))
        .to_owned();
    let my_channels = Query::select()
        .column(channel_members::Column::ChannelId)
        .from(channel_members::Entity)
        .and_where(channel_members::Column::UserId.eq(user.0))
        .to_owned();
    let public_channels = Query::select()
        .column(channels::Column::Id)
        .from(channels::Entity)
        .and_where(channels::Column::Kind.eq(ChannelKind::Public.as_str()))
        .to_owned();
    Condition::all().add(notifications::Column::WorkspaceId.in_subquery(my_workspaces)).add(
        Condition::any()
            .add(notifications::Column::ChannelId.is_null())
            .add(notifications::Column::ChannelId.in_subquery(my_channels))
            .add(notifications::Column::ChannelId.in_subquery(public_channels)),
    )
}

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
        .filter(still_visible(user))
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
        .filter(still_visible(user))
        .filter(notifications::Column::ReadAt.is_null())
        .count(app.db())
        .await?)
}

/// Marks one notification (`Some(id)`) or all of them (`None`) read; returns how many changed.
/// Only those still visible count, as in the list: a hidden one is as good as missing.
///
/// # Errors
/// `NOT_FOUND` for someone else's, a hidden or a missing notification.
pub async fn mark_notifications_read(app: &AppCtx, actor: &Actor, id: Option<NotificationId>) -> Result<u64> {
    let user = actor.user_id()?;
    let tx = app.begin().await?;
    let mut update = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(app.now()))
        .filter(notifications::Column::UserId.eq(user.0))
        .filter(notifications::Column::ReadAt.is_null())
        .filter(still_visible(user));
    if let Some(id) = id {
        let found = notifications::Entity::find_by_id(id.0)
            .filter(notifications::Column::UserId.eq(user.0))
            .filter(still_visible(user))
            .one(tx.db())
            .await?;
        if found.is_none() {
            return Err(DomainError::NotFound("notification"));
        }
        update = update.filter(notifications::Column::Id.eq(id.0));
    }
    let changed = update.exec(tx.db()).await?.rows_affected;
    tx.commit().await?;
    Ok(changed)
}
