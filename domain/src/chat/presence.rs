//! Presence: online while a user holds at least one authenticated socket, away when they say so,
//! offline otherwise. The counts live behind [`PresenceStore`] (in-process here, Redis with TTL keys
//! in `api`), and changes are ephemeral `PresenceChanged` events on each of the user's workspaces.

use std::collections::HashMap;
use std::sync::Mutex;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use stoa_entities::{memberships, users};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::model::PresenceStatus;
use crate::error::Result;
use crate::events::Event;
use crate::ids::{UserId, WorkspaceId};
use crate::workspaces::store::require_permission;

/// Where connection counts live.
#[async_trait::async_trait]
pub trait PresenceStore: Send + Sync + 'static {
    /// A socket of `user` opened; `true` when the user was offline before.
    async fn connect(&self, user: UserId) -> anyhow::Result<bool>;
    /// A socket closed; `true` when it was the user's last.
    async fn disconnect(&self, user: UserId) -> anyhow::Result<bool>;
    /// The socket is still alive (keeps TTL-based stores from expiring the user).
    async fn heartbeat(&self, user: UserId) -> anyhow::Result<()>;
    /// Sets or clears "away".
    async fn set_away(&self, user: UserId, away: bool) -> anyhow::Result<()>;
    /// Current status of each user.
    async fn statuses(&self, users: &[UserId]) -> anyhow::Result<HashMap<UserId, PresenceStatus>>;
}

/// Single-node presence.
#[derive(Default)]
pub struct InProcessPresence {
    users: Mutex<HashMap<UserId, (u32, bool)>>,
}

#[async_trait::async_trait]
impl PresenceStore for InProcessPresence {
    async fn connect(&self, user: UserId) -> anyhow::Result<bool> {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = users.entry(user).or_insert((0, false));
        entry.0 += 1;
        Ok(entry.0 == 1)
    }

    async fn disconnect(&self, user: UserId) -> anyhow::Result<bool> {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(entry) = users.get_mut(&user) else {
            return Ok(false);
        };
        entry.0 = entry.0.saturating_sub(1);
        if entry.0 == 0 {
            users.remove(&user);
            return Ok(true);
        }
        Ok(false)
    }

    async fn heartbeat(&self, _user: UserId) -> anyhow::Result<()> {
        Ok(())
    }

    async fn set_away(&self, user: UserId, away: bool) -> anyhow::Result<()> {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = users.get_mut(&user) {
            entry.1 = away;
        }
        Ok(())
    }

    async fn statuses(&self, ids: &[UserId]) -> anyhow::Result<HashMap<UserId, PresenceStatus>> {
        let users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(ids
            .iter()
            .map(|id| {
                let status = match users.get(id) {
                    Some((n, true)) if *n > 0 => PresenceStatus::Away,
                    Some((n, false)) if *n > 0 => PresenceStatus::Online,
                    _ => PresenceStatus::Offline,
                };
                (*id, status)
            })
            .collect())
    }
}

/// A user's presence in one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub user_id: UserId,
    pub status: PresenceStatus,
    pub status_text: Option<String>,
    pub status_emoji: Option<String>,
}

async fn announce(app: &AppCtx, user: UserId, status: PresenceStatus) -> Result<()> {
    let workspaces = memberships::Entity::find().filter(memberships::Column::UserId.eq(user.0)).all(app.db()).await?;
    let profile = users::Entity::find_by_id(user.0).one(app.db()).await?;
    let (text, emoji) = profile.map_or((None, None), |u| (u.status_text, u.status_emoji));
    for m in workspaces {
        app.signal(Event::PresenceChanged {
            workspace_id: WorkspaceId(m.workspace_id),
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

/// Presence of every member of a workspace.
///
/// # Errors
/// `NOT_FOUND` (not a member).
pub async fn workspace_presence(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<Presence>> {
    require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let members =
        memberships::Entity::find().filter(memberships::Column::WorkspaceId.eq(workspace.0)).all(app.db()).await?;
    let ids: Vec<UserId> = members.iter().map(|m| UserId(m.user_id)).collect();
    let statuses = app.presence().statuses(&ids).await?;
    let profiles: HashMap<uuid::Uuid, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(ids.iter().map(|u| u.0)))
        .all(app.db())
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(ids
        .into_iter()
        .map(|id| {
            let profile = profiles.get(&id.0);
            Presence {
                user_id: id,
                status: statuses.get(&id).copied().unwrap_or(PresenceStatus::Offline),
                status_text: profile.and_then(|p| p.status_text.clone()),
                status_emoji: profile.and_then(|p| p.status_emoji.clone()),
            }
        })
        .collect())
}
