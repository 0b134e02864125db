//! Presence: online while a user holds at least one authenticated socket, away when they say so,
//! offline otherwise. The counts live behind [`PresenceStore`](crate::ports::presence::PresenceStore) (in-process here, Redis with TTL keys
//! in `api`), and changes are ephemeral `PresenceChanged` events on each of the user's workspaces.

use futures::StreamExt as _;
use futures::stream::BoxStream;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::model::PresenceStatus;
use crate::error::Result;
use crate::events::Event;
use crate::ids::{UserId, WorkspaceId};
use crate::{identity, workspaces};

/// A user's presence in one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub user_id: UserId,
    pub status: PresenceStatus,
    pub status_text: Option<String>,
    pub status_emoji: Option<String>,
}

async fn announce(app: &AppCtx, user: UserId, status: PresenceStatus) -> Result<()> {
    let workspaces = workspaces::store::workspaces_of(app.db(), user).await?;
    let (text, emoji) = identity::store::statuses(app.db(), &[user]).await?.remove(&user).unwrap_or_default();
    for workspace_id in workspaces {
        app.signal(Event::PresenceChanged {
            workspace_id,
            user_id: user,
            status,
            status_text: text.clone(),
            status_emoji: emoji.clone(),
        })
        .await;
    }
    Ok(())
}

/// A socket authenticated as `user` opened.
///
/// # Errors
/// `Internal` when the store or database fails.
pub async fn connected(app: &AppCtx, user: UserId) -> Result<()> {
    if app.presence().connect(user).await? {
        announce(app, user, PresenceStatus::Online).await?;
    }
    Ok(())
}

/// A socket of `user` closed.
///
/// # Errors
/// `Internal` when the store or database fails.
pub async fn disconnected(app: &AppCtx, user: UserId) -> Result<()> {
    if app.presence().disconnect(user).await? {
        announce(app, user, PresenceStatus::Offline).await?;
    }
    Ok(())
}

/// `user` changed their custom status: their workspaces hear it with their current presence.
///
/// # Errors
/// `Internal` when the store or database fails.
pub(crate) async fn status_changed(app: &AppCtx, user: UserId) -> Result<()> {
    let status = app.presence().statuses(&[user]).await?.remove(&user).unwrap_or(PresenceStatus::Offline);
    announce(app, user, status).await
}

/// Keeps `user` online in TTL-based stores.
///
/// # Errors
/// `Internal` when the store fails.
pub async fn heartbeat(app: &AppCtx, user: UserId) -> Result<()> {
    Ok(app.presence().heartbeat(user).await?)
}

/// The actor marks themselves away (`true`) or back online.
///
/// # Errors
/// `UNAUTHENTICATED`.
pub async fn set_away(app: &AppCtx, actor: &Actor, away: bool) -> Result<PresenceStatus> {
    let user = actor.user_id()?;
    app.presence().set_away(user, away).await?;
    let status = app.presence().statuses(&[user]).await?.remove(&user).unwrap_or(PresenceStatus::Offline);
    announce(app, user, status).await?;
    Ok(status)
}

/// Presence changes (online, away, offline, custom status) in a workspace the actor belongs to.
/// Ends when the actor is removed from it.
///
/// # Errors
/// `NOT_FOUND` when the actor is not a member.
pub async fn presence_events(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
) -> Result<BoxStream<'static, Presence>> {
    let events = crate::workspaces::workspace_stream(app, actor, workspace).await?;
    Ok(events
        .filter_map(|event| {
            futures::future::ready(match event {
                Event::PresenceChanged { user_id, status, status_text, status_emoji, .. } => {
                    Some(Presence { user_id, status, status_text, status_emoji })
                }
                _ => None,
            })
        })
        .boxed())
}

/// Presence of every member of a workspace.
///
/// # Errors
/// `NOT_FOUND` (not a member).
pub async fn workspace_presence(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<Presence>> {
    workspaces::store::require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let ids = workspaces::store::member_ids(app.db(), workspace).await?;
    let statuses = app.presence().statuses(&ids).await?;
    let mut profiles = identity::store::statuses(app.db(), &ids).await?;
    Ok(ids
        .into_iter()
        .map(|id| {
            let (status_text, status_emoji) = profiles.remove(&id).unwrap_or_default();
            Presence {
                user_id: id,
                status: statuses.get(&id).copied().unwrap_or(PresenceStatus::Offline),
                status_text,
                status_emoji,
            }
        })
        .collect())
}
