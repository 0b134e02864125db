//! Channel reads: the channels of a workspace a viewer can see (paged: a workspace may hold many), one readable channel, and the
//! unread and mention counts behind the schema's DataLoader. Each is a constant number of statements.
//! Messages are read in `history.rs`; nothing here writes.

use std::collections::HashMap;

use sea_orm::sea_query::{Condition, Query};
use sea_orm::{ColumnTrait, ConnectionTrait as _, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use stoa_entities::{channel_members, channels};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::model::{Channel, ChannelKind, UnreadCounts};
use crate::chat::store::{self, channel_view, stmt};
use crate::error::Result;
use crate::ids::{ChannelId, UserId, WorkspaceId};
use crate::pagination::{Page, PageRequest};
use crate::workspaces::store::require_permission;

/// One page of the channels of a workspace the actor can see (every public one and those they
/// belong to), oldest first, after the channel id `page.after`.
///
/// # Errors
/// `NOT_FOUND` (not a member of the workspace).
pub async fn channels(app: &AppCtx, actor: &Actor, workspace: WorkspaceId, page: PageRequest) -> Result<Page<Channel>> {
    let user = actor.user_id()?;
    require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let my_channels = Query::select()
        .column(channel_members::Column::ChannelId)
        .from(channel_members::Entity)
        .and_where(channel_members::Column::UserId.eq(user.0))
        .to_owned();
    let limit = page.limit();
    let mut query = channels::Entity::find()
        .filter(channels::Column::WorkspaceId.eq(workspace.0))
        .filter(channels::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(channels::Column::Kind.eq(ChannelKind::Public.as_str()))
                .add(channels::Column::Id.in_subquery(my_channels)),
        )
        .order_by_asc(channels::Column::Id) // UUIDv7: creation order
        .limit(limit + 1);
    if let Some(after) = page.after {
        query = query.filter(channels::Column::Id.gt(after));
    }
    let mut rows = query.all(app.db()).await?;
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let read: HashMap<uuid::Uuid, i64> = channel_members::Entity::find()
        .filter(channel_members::Column::UserId.eq(user.0))
        .filter(channel_members::Column::ChannelId.is_in(rows.iter().map(|c| c.id)))
        .all(app.db())
        .await?
        .into_iter()
        .map(|m| (m.channel_id, m.last_read_seq))
        .collect();
    let items = rows
        .into_iter()
        .map(|c| {
            let mine = read.get(&c.id).copied();
            channel_view(c, mine)
        })
        .collect();
    Ok(Page { items, has_next_page })
}

/// One channel the actor can read.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn channel(app: &AppCtx, actor: &Actor, id: ChannelId) -> Result<Channel> {
    Ok(store::readable(app.reads(), actor, id).await?.view())
}

/// Unread and mention counts of channels for `user` (DataLoader backend): two statements.
///
/// # Errors
/// `Internal` on database failure.
pub async fn unread_counts(app: &AppCtx, user: UserId, ids: &[ChannelId]) -> Result<HashMap<ChannelId, UnreadCounts>> {
    let mut out: HashMap<ChannelId, UnreadCounts> = ids.iter().map(|id| (*id, UnreadCounts::default())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let backend = app.db().get_database_backend();
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let mut values: Vec<sea_orm::Value> = vec![user.0.into()];
    values.extend(ids.iter().map(|id| sea_orm::Value::from(id.0)));
    let unread = format!(
        "SELECT m.channel_id, COUNT(*) FROM messages m JOIN channel_members cm ON cm.channel_id = m.channel_id AND cm.user_id = $1 \
         WHERE m.channel_id IN ({}) AND m.seq > cm.last_read_seq AND m.thread_root_id IS NULL AND m.deleted_at IS NULL \
         AND m.author_id <> $1 GROUP BY m.channel_id",
        placeholders.join(", ")
    );
    let mentions = format!(
        "SELECT n.channel_id, COUNT(*) FROM mentions n JOIN channel_members cm ON cm.channel_id = n.channel_id AND cm.user_id = $1 \
         WHERE n.user_id = $1 AND n.channel_id IN ({}) AND n.seq > cm.last_read_seq GROUP BY n.channel_id",
        placeholders.join(", ")
    );
    for (sql, is_unread) in [(unread, true), (mentions, false)] {
        for row in app.db().query_all_raw(stmt(backend, &sql, values.clone())).await? {
            let channel: uuid::Uuid = row.try_get_by_index(0)?;
            let count: i64 = row.try_get_by_index(1)?;
            let entry = out.entry(ChannelId(channel)).or_default();
            if is_unread {
                entry.unread = count;
            } else {
                entry.mentions = count;
            }
        }
    }
    Ok(out)
}
