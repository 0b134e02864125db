//! A channel's life after creation: renaming it and changing its topic and purpose, archiving's
//! counterpart (unarchiving), and deleting it with its messages and files. Subscribers of
//! `channelChanged` hear each change; a deleted channel's members lose it at once.

use futures::StreamExt as _;
use futures::stream::BoxStream;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde::{Deserialize, Serialize};
use stoa_entities::{channel_members, channels, notifications};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::{self, Permission};
use crate::chat::create_channel::{parse_name, parse_topic};
use crate::chat::model::{Channel, ChannelKind};
use crate::chat::store::{self, Access, channel_view};
use crate::error::{DomainError, OnUnique as _, Result};
use crate::events::{Event, Topic};
use crate::ids::{ChannelId, UserId, WorkspaceId};
use crate::jobs::Job;
use crate::recheck::{channel_access, while_allowed};

/// What happened to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChannelChangeKind {
    Updated,
    Archived,
    Unarchived,
    Deleted,
}

/// A channel after a change: what every reader of it may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelChange {
    pub kind: ChannelChangeKind,
    pub channel_id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub name: Option<String>,
    pub topic: Option<String>,
    pub purpose: Option<String>,
    pub archived: bool,
}

impl ChannelChange {
    pub(crate) fn of(kind: ChannelChangeKind, c: &channels::Model) -> Self {
        Self {
            kind,
            channel_id: ChannelId(c.id),
            workspace_id: WorkspaceId(c.workspace_id),
            name: c.name.clone(),
            topic: c.topic.clone(),
            purpose: c.purpose.clone(),
            archived: c.archived_at.is_some(),
        }
    }
}

/// Fields to change; `None` leaves one as it is, `Some(None)` clears the topic or purpose.
#[derive(Debug, Clone, Default)]
pub struct UpdateChannel {
    pub name: Option<String>,
    pub topic: Option<Option<String>>,
    pub purpose: Option<Option<String>>,
}

/// The creator of a channel, or a workspace admin, may manage it; nobody manages a direct channel.
fn require_manager(access: &Access) -> Result<()> {
    let creator = access.channel.created_by == access.user.0;
    if !(creator || authz::can(access.role, Permission::ManageChannels)) || access.kind() == ChannelKind::Direct {
        return Err(DomainError::Forbidden { needed: Permission::ManageChannels });
    }
    Ok(())
}

fn parse_purpose(raw: Option<String>) -> Result<Option<String>> {
    parse_topic(raw).map_err(|_| DomainError::invalid("purpose", "at most 250 characters, no control characters"))
}

/// Renames a channel or changes its topic or purpose.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (neither its creator nor an admin; a direct channel), `BAD_USER_INPUT`,
/// `CONFLICT` (the name is taken in the workspace).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), channel = %id))]
pub async fn update_channel(app: &AppCtx, actor: &Actor, id: ChannelId, input: UpdateChannel) -> Result<Channel> {
    let name = input.name.as_deref().map(parse_name).transpose()?;
    let topic = input.topic.map(parse_topic).transpose()?;
    let purpose = input.purpose.map(parse_purpose).transpose()?;
    let mut tx = app.begin().await?;
    let access = store::readable(tx.db(), actor, id).await?;
    require_manager(&access)?;
    let mine = access.member.as_ref().map(|m| m.last_read_seq);
    let workspace = access.workspace();
    let before = access.channel.clone();
    let mut model = access.channel.into_active_model();
    if let Some(name) = name {
        model.name = Set(Some(name));
    }
    if let Some(topic) = topic {
        model.topic = Set(topic);
    }
    if let Some(purpose) = purpose {
        model.purpose = Set(purpose);
    }
    let row = model.update(tx.db()).await.on_unique(|| DomainError::Conflict("channel name already taken"))?;
    let record = AuditRecord::new(actor, Some(workspace), "channel.updated", "channel", Some(id.0))
        .changed("name", &before.name, &row.name)
        .changed("topic", &before.topic, &row.topic)
        .changed("purpose", &before.purpose, &row.purpose);
    audit::record(&mut tx, record).await?;
    tx.emit(Event::ChannelChanged(ChannelChange::of(ChannelChangeKind::Updated, &row)));
    tx.commit().await?;
    Ok(channel_view(row, mine))
}

/// Archives (`archived`) or unarchives a channel: archived, it stays readable and nobody posts.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (neither its creator nor an admin; a direct channel).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), channel = %id))]
pub async fn set_archived(app: &AppCtx, actor: &Actor, id: ChannelId, archived: bool) -> Result<Channel> {
    let mut tx = app.begin().await?;
    let access = store::readable(tx.db(), actor, id).await?;
    require_manager(&access)?;
    let mine = access.member.as_ref().map(|m| m.last_read_seq);
    let workspace = access.workspace();
    let was = access.channel.archived_at.is_some();
    let mut model = access.channel.into_active_model();
    model.archived_at = Set(archived.then(|| app.now()));
    let row = model.update(tx.db()).await?;
    let (action, kind) = if archived {
        ("channel.archived", ChannelChangeKind::Archived)
    } else {
        ("channel.unarchived", ChannelChangeKind::Unarchived)
    };
    let record =
        AuditRecord::new(actor, Some(workspace), action, "channel", Some(id.0)).changed("archived", was, archived);
    audit::record(&mut tx, record).await?;
    tx.emit(Event::ChannelChanged(ChannelChange::of(kind, &row)));
    tx.commit().await?;
    Ok(channel_view(row, mine))
}

/// Deletes a channel: from the commit it is hidden from every read and its files never download;
/// its members' streams end. A job ([`purge_channel`]) then removes its rows (messages, reactions,
/// events, memberships) and its files' objects.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (below admin; a direct channel).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), channel = %id))]
pub async fn delete_channel(app: &AppCtx, actor: &Actor, id: ChannelId) -> Result<()> {
    let mut tx = app.begin().await?;
    let access = store::readable(tx.db(), actor, id).await?;
    if !authz::can(access.role, Permission::ManageChannels) || access.kind() == ChannelKind::Direct {
        return Err(DomainError::Forbidden { needed: Permission::ManageChannels });
    }
    let workspace = access.workspace();
    let members: Vec<UserId> = channel_members::Entity::find()
        .filter(channel_members::Column::ChannelId.eq(id.0))
        .all(tx.db())
        .await?
        .into_iter()
        .map(|m| UserId(m.user_id))
        .collect();
    let files = crate::files::mark_deleted_in_channel(tx.db(), id).await?;
    notifications::Entity::delete_many().filter(notifications::Column::ChannelId.eq(id.0)).exec(tx.db()).await?;
    let change = ChannelChange::of(ChannelChangeKind::Deleted, &access.channel);
    let mut model = access.channel.clone().into_active_model();
    model.deleted_at = Set(Some(app.now()));
    model.update(tx.db()).await?;
    let record = AuditRecord::new(actor, Some(workspace), "channel.deleted", "channel", Some(id.0))
        .changed("name", access.channel.name.clone(), None)
        .with(serde_json::json!({ "files": files.len(), "members": members.len() }));
    audit::record(&mut tx, record).await?;
    tx.emit(Event::ChannelChanged(change));
    for user in members {
        tx.emit(Event::ChannelMemberRemoved { channel_id: id, user_id: user });
    }
    tx.commit().await?;
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = app.jobs().enqueue(Job::PurgeChannel { id }).await {
            tracing::error!(channel = %id, error = %format_args!("{e:#}"), "queueing a channel purge failed; the sweep retries it");
        }
    });
    Ok(())
}

/// The [`Job::PurgeChannel`] handler: removes a deleted channel's rows (by cascade) and its files'
/// objects. Idempotent: a channel already purged, or not deleted, is left alone.
///
/// # Errors
/// `Internal` on database failure (retried).
pub async fn purge_channel(app: &AppCtx, id: ChannelId) -> Result<()> {
    let Some(row) = channels::Entity::find_by_id(id.0).one(app.db()).await? else { return Ok(()) };
    if row.deleted_at.is_none() {
        return Ok(());
    }
    let files = crate::files::attachments_in_channel(app.db(), id).await?;
    let mut tx = app.begin().await?;
    // Messages, reactions, mentions, events and memberships go with the row (foreign keys).
    channels::Entity::delete_by_id(id.0).exec(tx.db()).await?;
    let record = AuditRecord::new(
        &Actor::system("purge"),
        Some(WorkspaceId(row.workspace_id)),
        "channel.purged",
        "channel",
        Some(id.0),
    )
    .with(serde_json::json!({ "files": files.len() }));
    audit::record(&mut tx, record).await?;
    tx.commit().await?;
    crate::files::remove_objects(app, &files).await;
    Ok(())
}

/// Deleted channels still waiting for their purge after `older_than` (its job was lost).
///
/// # Errors
/// `Internal` on database failure.
pub async fn unpurged_channels(app: &AppCtx, older_than: std::time::Duration) -> Result<Vec<ChannelId>> {
    use sea_orm::QuerySelect as _;
    let cutoff = app.now() - chrono::Duration::from_std(older_than).unwrap_or_default();
    let rows = channels::Entity::find().filter(channels::Column::DeletedAt.lt(cutoff)).limit(100).all(app.db()).await?;
    Ok(rows.into_iter().map(|c| ChannelId(c.id)).collect())
}

/// Changes to a channel the actor may read; ends after its deletion, or when the actor may no
/// longer read it.
///
/// # Errors
/// `NOT_FOUND` when the actor may not read the channel.
pub async fn channel_changes(app: &AppCtx, actor: &Actor, id: ChannelId) -> Result<BoxStream<'static, ChannelChange>> {
    let events = app.bus().subscribe(&Topic::Channel(id));
    app.bus().subscribed(&Topic::Channel(id)).await;
    store::readable(app.db(), actor, id).await?;
    let changes = events
        .filter_map(move |event| {
            futures::future::ready(match event {
                Event::ChannelChanged(change) if change.channel_id == id => Some(change),
                _ => None,
            })
        })
        .boxed();
    // The deletion is the last change: delivered, then the stream ends.
    let changes = futures::stream::unfold((changes, false), |(mut changes, done)| async move {
        if done {
            return None;
        }
        let change = changes.next().await?;
        let done = change.kind == ChannelChangeKind::Deleted;
        Some((change, (changes, done)))
    })
    .boxed();
    Ok(while_allowed(changes, app.chat().stream_recheck, channel_access(app, actor, id)))
}
