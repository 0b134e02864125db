//! Creating a public or private channel; the creator and the invited members join it.

use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;
use stoa_entities::{channel_members, channels};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Permission;
use crate::chat::model::{Channel, ChannelKind};
use crate::chat::store::channel_view;
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::ids::{ChannelId, UserId, WorkspaceId};
use crate::tx::Tx;
use crate::workspaces::store::{membership, require_permission};

/// Input of [`create_channel`].
#[derive(Debug, Clone)]
pub struct CreateChannel {
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub kind: ChannelKind,
    pub topic: Option<String>,
    /// Workspace members to add besides the creator.
    pub member_ids: Vec<UserId>,
}

pub(crate) fn parse_name(raw: &str) -> Result<String> {
    let name = raw.trim().trim_start_matches('#').to_lowercase();
    let ok =
        (1..=80).contains(&name.chars().count()) && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(name) } else { Err(DomainError::invalid("name", "1 to 80 letters, digits, - or _")) }
}

pub(crate) fn parse_topic(raw: Option<String>) -> Result<Option<String>> {
    let Some(topic) = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if topic.chars().count() > 250 || topic.chars().any(char::is_control) {
        return Err(DomainError::invalid("topic", "at most 250 characters, no control characters"));
    }
    Ok(Some(topic))
}

/// Inserts a membership row and announces it.
pub(crate) async fn add_member_row(tx: &mut Tx, channel: ChannelId, user: UserId, last_read_seq: i64) -> Result<()> {
    channel_members::Entity::insert(channel_members::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        channel_id: Set(channel.0),
        user_id: Set(user.0),
        last_read_seq: Set(last_read_seq),
        joined_at: Set(chrono::Utc::now()),
    })
    .exec_without_returning(tx.db())
    .await?;
    tx.emit(Event::ChannelMemberAdded { channel_id: channel, user_id: user });
    Ok(())
}

/// Creates a channel. Names need not be unique: channels are found by id.
///
/// # Errors
/// `NOT_FOUND` (workspace invisible), `BAD_USER_INPUT` (name, topic, kind, memberIds).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %input.workspace_id))]
pub async fn create_channel(app: &AppCtx, actor: &Actor, input: CreateChannel) -> Result<Channel> {
    let creator = actor.user_id()?;
    let name = parse_name(&input.name)?;
    let topic = parse_topic(input.topic)?;
    if !matches!(input.kind, ChannelKind::Public | ChannelKind::Private) {
        return Err(DomainError::invalid("kind", "create PUBLIC or PRIVATE channels here; DMs use openDirectChannel"));
    }
    if input.member_ids.len() > 100 {
        return Err(DomainError::invalid("memberIds", "at most 100 at once"));
    }
    let mut tx = app.begin().await?;
    require_permission(tx.db(), actor, input.workspace_id, Permission::ViewWorkspace).await?;
    for user in &input.member_ids {
        if membership(tx.db(), input.workspace_id, *user).await?.is_none() {
            return Err(DomainError::invalid("memberIds", "every member must belong to the workspace"));
        }
    }
    let id = ChannelId::new();
    let row = channels::Entity::insert(channels::ActiveModel {
        id: Set(id.0),
        workspace_id: Set(input.workspace_id.0),
        kind: Set(input.kind.as_str().to_owned()),
        name: Set(Some(name)),
        topic: Set(topic),
        purpose: Set(None),
        deleted_at: Set(None),
        dm_key: Set(None),
        last_seq: Set(0),
        created_by: Set(creator.0),
        created_at: Set(app.now()),
        archived_at: Set(None),
    })
    .exec_with_returning(tx.db())
    .await?;
    add_member_row(&mut tx, id, creator, 0).await?;
    for user in input.member_ids.iter().filter(|u| **u != creator) {
        add_member_row(&mut tx, id, *user, 0).await?;
    }
    audit::record(&mut tx, AuditRecord::new(actor, Some(input.workspace_id), "channel.created", "channel", Some(id.0)))
        .await?;
    tx.commit().await?;
    Ok(channel_view(row, Some(0)))
}
