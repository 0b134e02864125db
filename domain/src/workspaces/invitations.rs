//! Invitations: by email (registered or not) or as a shareable link, each with a role, an optional
//! department, an expiry (default 7 days) and, for links, a use limit. The token is 256 random bits,
//! stored only as its SHA-256, and each person uses an invitation once. An email invitation works
//! only for the address it was sent to, and only once that address is verified (registering
//! through the mailed link proves it). Banned users are refused whatever the invitation.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use stoa_entities::{departments, invitation_uses, invitations, users, workspaces};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::{Permission, Role};
use crate::error::{DomainError, OnUnique as _, Result};
use crate::events::Event;
use crate::identity::store::user_by_email;
use crate::identity::{self, Email};
use crate::ids::{DepartmentId, UserId, WorkspaceId};
use crate::mail::{self, Outgoing, Template};
use crate::tx::Tx;
use crate::workspaces::department_members;
use crate::workspaces::model::Member;
use crate::workspaces::moderation::is_banned;
use crate::workspaces::settings::InvitePolicy;
use crate::workspaces::store;

/// Default lifetime of an invitation.
const DEFAULT_TTL_HOURS: i64 = 7 * 24;
/// Longest lifetime of an invitation: 30 days.
const MAX_TTL_HOURS: i64 = 30 * 24;
/// Largest use limit of a link.
const MAX_USES: i32 = 10_000;

/// Input of [`create_invitation`].
#[derive(Debug, Clone)]
pub struct CreateInvitation {
    pub workspace_id: WorkspaceId,
    /// The invited address; `None` makes a shareable link.
    pub email: Option<String>,
    pub role: Role,
    pub department_id: Option<DepartmentId>,
    /// 1 to 720 hours (default 168: 7 days).
    pub expires_in_hours: Option<i64>,
    /// Links only: how many people may use it (1 to 10,000; default unlimited).
    pub max_uses: Option<i32>,
}

/// An invitation as admins see it (never its token).
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub email: Option<String>,
    pub role: Role,
    pub department_id: Option<DepartmentId>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<invitations::Model> for Invitation {
    fn from(m: invitations::Model) -> Self {
        Self {
            id: m.id,
            workspace_id: WorkspaceId(m.workspace_id),
            email: m.email,
            role: Role::parse(&m.role).unwrap_or(Role::Member),
            department_id: m.department_id.map(DepartmentId),
            created_by: UserId(m.created_by),
            created_at: m.created_at,
            expires_at: m.expires_at,
            max_uses: m.max_uses,
            uses: m.uses,
            revoked_at: m.revoked_at,
        }
    }
}

/// A new invitation and, for a link, its token (shown once; an email invitation's token goes only
/// to the address).
#[derive(Debug, Clone)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    pub link_token: Option<String>,
}

struct Checked {
    email: Option<Email>,
    ttl: chrono::Duration,
    max_uses: Option<i32>,
}

fn check_input(input: &CreateInvitation) -> Result<Checked> {
    let email = input.email.as_deref().map(Email::parse).transpose()?;
    let hours = input.expires_in_hours.unwrap_or(DEFAULT_TTL_HOURS);
    if !(1..=MAX_TTL_HOURS).contains(&hours) {
        return Err(DomainError::invalid("expiresInHours", "1 to 720 hours"));
    }
    let max_uses = match (&email, input.max_uses) {
        (Some(_), None | Some(1)) => Some(1),
        (Some(_), Some(_)) => return Err(DomainError::invalid("maxUses", "an email invitation is for one person")),
        (None, Some(n)) if !(1..=MAX_USES).contains(&n) => {
            return Err(DomainError::invalid("maxUses", "1 to 10000"));
        }
        (None, n) => n,
    };
    Ok(Checked { email, ttl: chrono::Duration::hours(hours), max_uses })
}

/// Whether an inviter with `inviter` role may invite as `role`: owners any role; everyone else no
/// role above their own, and never admin or owner (only owners make admins).
fn may_grant(inviter: Role, role: Role) -> bool {
    inviter == Role::Owner || (role.rank() <= inviter.rank() && !matches!(role, Role::Owner | Role::Admin))
}

/// Creates an invitation; an email invitation is mailed to its address.
///
/// # Errors
/// `NOT_FOUND` (workspace or department invisible), `FORBIDDEN` (the workspace's invite policy, or
/// a role above the inviter's, or admin by a non-owner), `BAD_USER_INPUT`, `CONFLICT` (the address is already a member),
/// `BANNED` (the address belongs to a banned user).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %input.workspace_id))]
pub async fn create_invitation(app: &AppCtx, actor: &Actor, input: CreateInvitation) -> Result<CreatedInvitation> {
    let checked = check_input(&input)?;
    let workspace = input.workspace_id;
    let mut tx = app.begin().await?;
    let role = store::actor_role(tx.db(), actor, workspace).await?;
    let row =
        workspaces::Entity::find_by_id(workspace.0).one(tx.db()).await?.ok_or(DomainError::NotFound("workspace"))?;
    if !InvitePolicy::parse(&row.invite_policy).allows(role) {
        return Err(DomainError::Forbidden { needed: Permission::ManageMembers });
    }
    if !may_grant(role, input.role) {
        return Err(DomainError::Forbidden { needed: Permission::ManageMembers });
    }
    if let Some(department) = input.department_id {
        let found = departments::Entity::find_by_id(department.0).one(tx.db()).await?;
        if found.is_none_or(|d| d.workspace_id != workspace.0) {
            return Err(DomainError::NotFound("department"));
        }
    }
    if let Some(email) = &checked.email
        && mail::is_suppressed(tx.db(), email.as_str()).await?
    {
        return Err(DomainError::Conflict("the address asked not to receive invitations"));
    }
    if let Some(email) = &checked.email
        && let Some(user) = user_by_email(tx.db(), email.as_str()).await?
    {
        if store::membership(tx.db(), workspace, UserId(user.id)).await?.is_some() {
            return Err(DomainError::Conflict("already a member"));
        }
        if is_banned(tx.db(), workspace, UserId(user.id)).await? {
            return Err(DomainError::Banned);
        }
    }
    let now = app.now();
    let (token, hash) = identity::new_token();
    let model = invitations::Entity::insert(invitations::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        workspace_id: Set(workspace.0),
        email: Set(checked.email.as_ref().map(|e| e.as_str().to_owned())),
        role: Set(input.role.as_str().to_owned()),
        department_id: Set(input.department_id.map(|d| d.0)),
        token_hash: Set(hash),
        created_by: Set(actor.user_id()?.0),
        created_at: Set(now),
        expires_at: Set(now + checked.ttl),
        max_uses: Set(checked.max_uses),
        uses: Set(0),
        revoked_at: Set(None),
    })
    .exec_with_returning(tx.db())
    .await?;
    let mail = match &checked.email {
        Some(email) => Some(queue_mail(&tx, app, actor, &row, email, &model, &token).await?),
        None => None,
    };
    let record = AuditRecord::new(actor, Some(workspace), "invitation.created", "invitation", Some(model.id))
        .with(serde_json::json!({ "kind": if checked.email.is_some() { "email" } else { "link" } }))
        .changed("role", None, Some(input.role.as_str()));
    audit::record(&mut tx, record).await?;
    tx.commit().await?;
    if let Some(mail) = mail {
        mail::dispatch(app, mail);
    }
    let link_token = checked.email.is_none().then_some(token);
    Ok(CreatedInvitation { invitation: model.into(), link_token })
}

async fn queue_mail(
    tx: &Tx,
    app: &AppCtx,
    actor: &Actor,
    workspace: &workspaces::Model,
    email: &Email,
    invitation: &invitations::Model,
    token: &str,
) -> Result<crate::ids::MailId> {
    // Inside the transaction: on SQLite it holds the one writer connection.
    let inviter = users::Entity::find_by_id(actor.user_id()?.0).one(tx.db()).await?;
    let inviter = inviter.map_or_else(|| "Someone".to_owned(), |u| u.display_name);
    let settings = app.accounts();
    let days = (Ord::max((invitation.expires_at - invitation.created_at).num_hours(), 1) + 23) / 24;
    let outgoing = Outgoing {
        template: Template::Invitation,
        to: email.as_str().to_owned(),
        subject: format!("{inviter} invited you to {}", workspace.name),
        vars: vec![
            ("inviter", inviter),
            ("workspace", workspace.name.clone()),
            ("role", invitation.role.clone()),
            ("link", format!("{}/invite#token={token}", settings.app_url)),
            ("days", days.to_string()),
        ],
        list_unsubscribe: Some(mail::unsubscribe_header(app, email.as_str())),
        workspace: Some(WorkspaceId(workspace.id)),
    };
    mail::queue(tx, outgoing, app.now()).await
}

/// Revokes an invitation; its link stops working at once.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (below admin), `CONFLICT` (already revoked).
#[tracing::instrument(skip_all, fields(actor = %actor.label()))]
pub async fn revoke_invitation(app: &AppCtx, actor: &Actor, id: uuid::Uuid) -> Result<Invitation> {
    let mut tx = app.begin().await?;
    let row = invitations::Entity::find_by_id(id).one(tx.db()).await?.ok_or(DomainError::NotFound("invitation"))?;
    let workspace = WorkspaceId(row.workspace_id);
    store::require_permission(tx.db(), actor, workspace, Permission::ManageMembers).await?;
    if row.revoked_at.is_some() {
        return Err(DomainError::Conflict("already revoked"));
    }
    let now = app.now();
    invitations::Entity::update_many()
        .col_expr(invitations::Column::RevokedAt, Expr::value(now))
        .filter(invitations::Column::Id.eq(id))
        .exec(tx.db())
        .await?;
    let record = AuditRecord::new(actor, Some(workspace), "invitation.revoked", "invitation", Some(id))
        .changed("revoked", false, true);
    audit::record(&mut tx, record).await?;
    tx.commit().await?;
    Ok(Invitation { revoked_at: Some(now), ..row.into() })
}

/// The workspace's invitations, newest first.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (below admin).
pub async fn invitations(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<Invitation>> {
    store::require_permission(app.db(), actor, workspace, Permission::ManageMembers).await?;
    let rows = invitations::Entity::find()
        .filter(invitations::Column::WorkspaceId.eq(workspace.0))
        .order_by_desc(invitations::Column::Id)
        .all(app.db())
        .await?;
    Ok(rows.into_iter().map(Invitation::from).collect())
}

/// Joins the workspace of invitation `token` as `user` inside `tx` (the signed-in accept, and
/// `register`'s). `proves_address`: the account was just registered through this token, so its
/// address is proven if it is the invited one.
pub(crate) async fn redeem(
    tx: &mut Tx,
    app: &AppCtx,
    token: &str,
    user: &users::Model,
    proves_address: bool,
) -> Result<Member> {
    let invalid = || DomainError::InvalidToken("invitation");
    let token = token.trim();
    if !identity::token_well_formed(token) {
        return Err(invalid());
    }
    let now = app.now();
    let row = invitations::Entity::find()
        .filter(invitations::Column::TokenHash.eq(identity::hash_token(token)))
        .one(tx.db())
        .await?
        .ok_or_else(invalid)?;
    let used_up = row.max_uses.is_some_and(|max| row.uses >= max);
    if row.revoked_at.is_some() || row.expires_at <= now || used_up {
        return Err(invalid());
    }
    let workspace = WorkspaceId(row.workspace_id);
    let me = UserId(user.id);
    if is_banned(tx.db(), workspace, me).await? {
        return Err(DomainError::Banned);
    }
    let verified = match &row.email {
        Some(email) if *email != user.email => return Err(invalid()), // meant for someone else
        Some(_) => user.email_verified_at.is_some() || proves_address,
        None => user.email_verified_at.is_some(),
    };
    if store::membership(tx.db(), workspace, me).await?.is_some() {
        return Err(DomainError::Conflict("already a member"));
    }
    let settings = workspaces::Entity::find_by_id(workspace.0).one(tx.db()).await?.ok_or_else(invalid)?;
    if !verified && (row.email.is_some() || settings.require_verified_email) {
        return Err(DomainError::EmailNotVerified);
    }
    if row.email.is_some() && user.email_verified_at.is_none() {
        // Registered through the mailed link: the token proves the address.
        users::Entity::update_many()
            .col_expr(users::Column::EmailVerifiedAt, Expr::value(now))
            .filter(users::Column::Id.eq(me.0))
            .exec(tx.db())
            .await?;
    }
    invitation_uses::Entity::insert(invitation_uses::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        invitation_id: Set(row.id),
        user_id: Set(me.0),
        used_at: Set(now),
    })
    .exec_without_returning(tx.db())
    .await
    .on_unique(|| DomainError::InvalidToken("invitation"))?;
    // One more use, unless a concurrent use took the last one.
    let mut counted = invitations::Entity::update_many()
        .col_expr(invitations::Column::Uses, Expr::col(invitations::Column::Uses).add(1))
        .filter(invitations::Column::Id.eq(row.id));
    if let Some(max) = row.max_uses {
        counted = counted.filter(invitations::Column::Uses.lt(max));
    }
    if counted.exec(tx.db()).await?.rows_affected != 1 {
        return Err(invalid());
    }
    let role = Role::parse(&row.role).unwrap_or(Role::Member);
    let membership = store::insert_membership(tx.db(), workspace, me, role, now).await?;
    if let Some(department) = row.department_id
        && departments::Entity::find_by_id(department).one(tx.db()).await?.is_some()
    {
        department_members::enrol(tx.db(), workspace, DepartmentId(department), me, now).await?;
    }
    let record = AuditRecord::by_user(me, "member.joined_by_invitation", "user", Some(me.0))
        .in_workspace(workspace)
        .with(serde_json::json!({ "invitationId": row.id }))
        .changed("role", None, Some(role.as_str()));
    audit::record(tx, record).await?;
    tx.emit(Event::MemberAdded { workspace_id: workspace, user_id: me, role });
    Ok(Member::from_row(membership))
}

/// Joins the workspace of an invitation as the signed-in user.
///
/// # Errors
/// `INVALID_TOKEN` (malformed, unknown, expired, revoked, used up, already used by this person, or
/// for another address), `BANNED`, `EMAIL_NOT_VERIFIED`, `CONFLICT` (already a member).
#[tracing::instrument(skip_all, fields(actor = %actor.label()))]
pub async fn accept_invitation(app: &AppCtx, actor: &Actor, token: &str) -> Result<Member> {
    let me = actor.user_id()?;
    let mut tx = app.begin().await?;
    let user = users::Entity::find_by_id(me.0)
        .one(tx.db())
        .await?
        .ok_or(DomainError::Unauthenticated("account no longer exists"))?;
    let member = redeem(&mut tx, app, token, &user, false).await?;
    tx.commit().await?;
    Ok(member)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_invites_above_their_own_role_and_only_owners_make_admins() {
        for role in Role::ALL {
            assert!(may_grant(Role::Owner, role));
            assert!(!may_grant(Role::Admin, Role::Owner) && !may_grant(Role::Admin, Role::Admin));
        }
        assert!(may_grant(Role::Admin, Role::Moderator));
        assert!(may_grant(Role::Member, Role::Member));
        assert!(!may_grant(Role::Member, Role::Agent));
        assert!(may_grant(Role::Moderator, Role::Moderator));
    }
}
