//! Joining, inviting, leaving and removing channel members.

use sea_orm::ModelTrait;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::{self, Permission};
use crate::chat::create_channel::add_member_row;
use crate::chat::model::{Channel, ChannelKind};
use crate::chat::store::{self, channel_view};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::ids::{ChannelId, UserId};
use crate::workspaces::store as ws_store;

/// Joins a public channel. Joining twice is a no-op.
///
/// # Errors
/// `NOT_FOUND` (invisible), `FORBIDDEN` (private, direct or archived channel).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), channel = %id))]
pub async fn join_channel(app: &AppCtx, actor: &Actor, id: ChannelId) -> Result<Channel> {
    let mut tx = app.begin().await?;
    let access = store::readable(tx.db(), actor, id).await?;
    if let Some(member) = &access.member {
        return Ok(channel_view(access.channel.clone(), Some(member.last_read_seq)));
    }
    if access.kind() != ChannelKind::Public || access.channel.archived_at.is_some() {
        return Err(DomainError::Forbidden { needed: Permission::PostMessages });
    }
    let seq = access.channel.last_seq;
    add_member_row(&mut tx, id, access.user, seq).await?;
    tx.commit().await?;
    Ok(channel_view(access.channel, Some(seq)))
}

/// Adds a workspace member to a public or private channel the actor belongs to.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (not a member of the channel, a direct channel, archived),
/// `BAD_USER_INPUT` (user not in the workspace), `CONFLICT` (already a member).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), channel = %id))]
pub async fn add_channel_member(app: &AppCtx, actor: &Actor, id: ChannelId, user: UserId) -> Result<()> {
    let mut tx = app.begin().await?;
    let access = store::readable(tx.db(), actor, id).await?;
    access.require_writable()?;
    if access.kind() == ChannelKind::Direct {
        return Err(DomainError::Forbidden { needed: Permission::ManageChannels });
    }
    if ws_store::membership(tx.db(), access.workspace(), user).await?.is_none() {
        return Err(DomainError::invalid("userId", "not a member of the workspace"));
    }
    if store::membership(tx.db(), id, user).await?.is_some() {
        return Err(DomainError::Conflict("already a member of the channel"));
    }
    add_member_row(&mut tx, id, user, 0).await?;
    let workspace = Some(access.workspace());
    audit::record(&mut tx, AuditRecord::new(actor, workspace, "channel.member_added", "user", Some(user.0))).await?;
    tx.commit().await
}

/// Removes `user` from the channel: anyone may leave; the creator and workspace admins remove others.
/// Their subscriptions to the channel end at once.
///
/// # Errors
/// `NOT_FOUND` (invisible channel, or `user` not in it), `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(actor = %actor.label(), channel = %id))]
pub async fn remove_channel_member(app: &AppCtx, actor: &Actor, id: ChannelId, user: UserId) -> Result<()> {
    let mut tx = app.begin().await?;
    let access = store::readable(tx.db(), actor, id).await?;
    let leaving = access.user == user;
    let creator = access.channel.created_by == access.user.0;
    if !(leaving || creator || authz::can(access.role, Permission::ManageChannels)) {
        return Err(DomainError::Forbidden { needed: Permission::ManageChannels });
    }
    if access.kind() == ChannelKind::Direct && !leaving {
        return Err(DomainError::Forbidden { needed: Permission::ManageChannels });
    }
    let target = store::membership(tx.db(), id, user).await?.ok_or(DomainError::NotFound("channel member"))?;
    target.delete(tx.db()).await?;
    tx.emit(Event::ChannelMemberRemoved { channel_id: id, user_id: user });
    let action = if leaving { "channel.left" } else { "channel.member_removed" };
    audit::record(&mut tx, AuditRecord::new(actor, Some(access.workspace()), action, "user", Some(user.0))).await?;
    tx.commit().await
}
