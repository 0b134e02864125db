//! Moderating members (seed 000): timeouts (no posting, reacting or joining voice until a moment,
//! and the member is told when) and bans (removed, and no invitation or link lets them back until
//! unbanned). Moderators and above act on those below them; everything is audited.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};
use stoa_entities::{memberships, workspace_bans};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::{self, Permission, Role};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::identity;
use crate::ids::{UserId, WorkspaceId};
use crate::workspaces::model::Member;
use crate::workspaces::remove_member::end_membership;
use crate::workspaces::store;

/// Longest timeout: a year.
const MAX_TIMEOUT_DAYS: i64 = 365;

/// Whether `user` is banned from `workspace`.
pub(crate) async fn is_banned(db: &impl ConnectionTrait, workspace: WorkspaceId, user: UserId) -> Result<bool> {
    Ok(workspace_bans::Entity::find()
        .filter(workspace_bans::Column::WorkspaceId.eq(workspace.0))
        .filter(workspace_bans::Column::UserId.eq(user.0))
        .one(db)
        .await?
        .is_some())
}

async fn moderated(
    tx: &crate::tx::Tx,
    actor: &Actor,
    workspace: WorkspaceId,
    user: UserId,
) -> Result<memberships::Model> {
    let actor_role = store::require_permission(tx.db(), actor, workspace, Permission::ModerateMembers).await?;
    let target = store::membership(tx.db(), workspace, user).await?.ok_or(DomainError::NotFound("member"))?;
    let target_role = Role::parse(&target.role).unwrap_or(Role::Member);
    if actor.user_id()? == user || !authz::can_moderate(actor_role, target_role) {
        return Err(DomainError::Forbidden { needed: Permission::ModerateMembers });
    }
    Ok(target)
}

/// Times a member out until `until` (in the future, at most a year away); `None` lifts it.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (below moderator, or a member not below the actor), `BAD_USER_INPUT`
/// (`until`).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn timeout_member(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    user: UserId,
    until: Option<DateTime<Utc>>,
) -> Result<Member> {
    let now = app.now();
    if let Some(until) = until
        && (until <= now || until > now + chrono::Duration::days(MAX_TIMEOUT_DAYS))
    {
        return Err(DomainError::invalid("until", "must be in the future and at most a year away"));
    }
    let mut tx = app.begin().await?;
    let target = moderated(&tx, actor, workspace, user).await?;
    let before = target.timed_out_until;
    let mut model = target.into_active_model();
    model.timed_out_until = Set(until);
    let row = model.update(tx.db()).await?;
    let action = if until.is_some() { "member.timed_out" } else { "member.timeout_lifted" };
    let record =
        AuditRecord::new(actor, Some(workspace), action, "user", Some(user.0)).changed("timedOutUntil", before, until);
    audit::record(&mut tx, record).await?;
    tx.emit(Event::MemberTimedOut { workspace_id: workspace, user_id: user, until });
    tx.commit().await?;
    Ok(Member::from_row(row))
}

/// Bans a member: they are removed at once (their streams end) and cannot come back, by any
/// invitation or link, until unbanned.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn ban_member(app: &AppCtx, actor: &Actor, workspace: WorkspaceId, user: UserId) -> Result<()> {
    let mut tx = app.begin().await?;
    let target = moderated(&tx, actor, workspace, user).await?;
    let role = target.role.clone();
    end_membership(&mut tx, target).await?;
    workspace_bans::Entity::insert(workspace_bans::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        workspace_id: Set(workspace.0),
        user_id: Set(user.0),
        reason: Set(actor.origin().and_then(|o| o.reason.clone())),
        banned_by: Set(actor.user_id()?.0),
        created_at: Set(app.now()),
    })
    .exec_without_returning(tx.db())
    .await?;
    let record = AuditRecord::new(actor, Some(workspace), "member.banned", "user", Some(user.0))
        .changed("role", Some(role), None)
        .changed("banned", false, true);
    audit::record(&mut tx, record).await?;
    tx.commit().await
}

/// Lifts a ban; the user may then be invited again (they are not re-added).
///
/// # Errors
/// `NOT_FOUND` (workspace invisible, or the user is not banned), `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn unban_member(app: &AppCtx, actor: &Actor, workspace: WorkspaceId, user: UserId) -> Result<()> {
    let mut tx = app.begin().await?;
    store::require_permission(tx.db(), actor, workspace, Permission::ModerateMembers).await?;
    let lifted = workspace_bans::Entity::delete_many()
        .filter(workspace_bans::Column::WorkspaceId.eq(workspace.0))
        .filter(workspace_bans::Column::UserId.eq(user.0))
        .exec(tx.db())
        .await?;
    if lifted.rows_affected == 0 {
        return Err(DomainError::NotFound("ban"));
    }
    let record = AuditRecord::new(actor, Some(workspace), "member.unbanned", "user", Some(user.0))
        .changed("banned", true, false);
    audit::record(&mut tx, record).await?;
    tx.commit().await
}

/// A ban, as moderators list them.
#[derive(Debug, Clone)]
pub struct Ban {
    pub user: identity::UserCard,
    pub reason: Option<String>,
    pub banned_by: UserId,
    pub banned_at: DateTime<Utc>,
}

/// The workspace's bans, newest first.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (below moderator).
pub async fn bans(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<Ban>> {
    use sea_orm::QueryOrder as _;
    store::require_permission(app.db(), actor, workspace, Permission::ModerateMembers).await?;
    let rows = workspace_bans::Entity::find()
        .filter(workspace_bans::Column::WorkspaceId.eq(workspace.0))
        .order_by_desc(workspace_bans::Column::Id)
        .all(app.db())
        .await?;
    let ids: Vec<UserId> = rows.iter().map(|r| UserId(r.user_id)).collect();
    let mut cards = identity::cards_by_ids(app, &ids).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Ban {
                user: cards.remove(&UserId(r.user_id))?,
                reason: r.reason,
                banned_by: UserId(r.banned_by),
                banned_at: r.created_at,
            })
        })
        .collect())
}
