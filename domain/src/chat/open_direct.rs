//! Direct messages: found-or-created by their exact member set.

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use stoa_entities::channels;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::create_channel::add_member_row;
use crate::chat::model::{Channel, ChannelKind};
use crate::chat::store::{channel_view, readable};
use crate::error::{DomainError, Result};
use crate::ids::{ChannelId, UserId, WorkspaceId};
use crate::workspaces::store;

/// The most people a direct conversation holds.
const MAX_DM_MEMBERS: usize = 9;

/// Returns the direct channel between the actor and `others` in `workspace`, creating it once.
///
/// # Errors
/// `NOT_FOUND` (workspace invisible, or the channel exists and the actor is no longer in it),
/// `BAD_USER_INPUT` (userIds: empty, too many, or not members).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn open_direct(app: &AppCtx, actor: &Actor, workspace: WorkspaceId, others: Vec<UserId>) -> Result<Channel> {
    let me = actor.user_id()?;
    let mut members: Vec<UserId> = others.into_iter().chain([me]).collect();
    members.sort();
    members.dedup();
    if members.len() < 2 || members.len() > MAX_DM_MEMBERS {
        return Err(DomainError::invalid("userIds", "1 to 8 other people"));
    }
    let key = format!("{workspace}:{}", members.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
    let mut tx = app.begin().await?;
    store::actor_role(tx.db(), actor, workspace).await?;
    if let Some(existing) =
        channels::Entity::find().filter(channels::Column::DmKey.eq(key.as_str())).one(tx.db()).await?
    {
        // Only a participant gets it back: a former one (removed from the workspace since) is
        // told nothing exists, like anyone else who cannot read it.
        return Ok(readable(tx.db(), actor, ChannelId(existing.id)).await?.view());
    }
    for user in &members {
        if store::membership(tx.db(), workspace, *user).await?.is_none() {
            return Err(DomainError::invalid("userIds", "every participant must belong to the workspace"));
        }
    }
    let id = ChannelId::new();
    let inserted = channels::Entity::insert(channels::ActiveModel {
        id: Set(id.0),
        workspace_id: Set(workspace.0),
        kind: Set(ChannelKind::Direct.as_str().to_owned()),
        name: Set(None),
        topic: Set(None),
        purpose: Set(None),
        deleted_at: Set(None),
        dm_key: Set(Some(key.clone())),
        last_seq: Set(0),
        created_by: Set(me.0),
        created_at: Set(app.now()),
        archived_at: Set(None),
    })
    .exec_with_returning(tx.db())
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
            // Opened concurrently by another participant: use theirs.
            drop(tx);
            let existing = channels::Entity::find().filter(channels::Column::DmKey.eq(key)).one(app.db()).await?;
            let existing = existing.ok_or(DomainError::Conflict("direct channel being created"))?;
            return Ok(readable(app.db(), actor, ChannelId(existing.id)).await?.view());
        }
        Err(e) => return Err(e.into()),
    };
    for user in &members {
        add_member_row(&mut tx, id, *user, 0).await?;
    }
    tx.commit().await?;
    Ok(channel_view(row, Some(0)))
}
