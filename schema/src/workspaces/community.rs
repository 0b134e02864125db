//! Running a community: workspace settings, invitations, department agents, timeouts and bans,
//! and the mail that could not be delivered. Resolvers extract, make one domain call, and wrap.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use stoa_domain::mail;
use stoa_domain::workspaces as ws;

use crate::context::{ContextExt as _, maybe, parse_id};
use crate::error::Result;
use crate::identity::User;
use crate::pagination;
use crate::workspaces::mutation::MemberPayload;
use crate::workspaces::types::{InvitePolicy, Member, Role, Workspace, load_user};

/// An invitation as admins see it (its token is never shown again).
pub struct Invitation(pub ws::Invitation);

/// An invitation as admins see it (its token is never shown again).
#[Object]
impl Invitation {
    /// The invitation's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The workspace it joins.
    async fn workspace_id(&self) -> ID {
        ID(self.0.workspace_id.to_string())
    }
    /// The invited address; absent for a shareable link.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// The role it grants.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// The department it adds the new member to.
    async fn department_id(&self) -> Option<ID> {
        self.0.department_id.map(|d| ID(d.to_string()))
    }
    /// Who created it.
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.created_by).await
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it stops working.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// How many people may use it; absent for a link anyone with it may use.
    async fn max_uses(&self) -> Option<i32> {
        self.0.max_uses
    }
    /// How many people used it.
    async fn uses(&self) -> i32 {
        self.0.uses
    }
    /// When it was revoked.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// Input of `createInvitation`.
#[derive(InputObject)]
pub struct CreateInvitationInput {
    /// The workspace to join.
    pub workspace_id: ID,
    /// Invite this address (mailed); omit for a shareable link.
    pub email: Option<String>,
    /// The role it grants: not above the inviter's own, and admin only from an owner.
    pub role: Role,
    /// A department of the workspace the new member joins as an agent.
    pub department_id: Option<ID>,
    /// How long it works: 1 to 720 hours (default 168, 7 days).
    pub expires_in_hours: Option<i32>,
    /// Links only: how many people may use it, 1 to 10000 (default: no limit).
    pub max_uses: Option<i32>,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// Result of `createInvitation`.
#[derive(SimpleObject)]
pub struct CreateInvitationPayload {
    /// The invitation.
    pub invitation: Invitation,
    /// For a link: the token to share (shown only now). Absent for an email invitation, whose token
    /// goes only to the address.
    pub token: Option<String>,
}

/// Result of `revokeInvitation`.
#[derive(SimpleObject)]
pub struct InvitationPayload {
    /// The invitation as it now is.
    pub invitation: Invitation,
}

/// Input of `updateWorkspace`. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateWorkspaceInput {
    /// The workspace.
    pub workspace_id: ID,
    /// 1 to 80 characters.
    pub name: Option<String>,
    /// 3 to 40 of a-z, 0-9 and single dashes.
    pub slug: Option<String>,
    /// At most 500 characters; null clears it.
    pub description: MaybeUndefined<String>,
    /// Who may create invitations.
    pub invite_policy: Option<InvitePolicy>,
    /// Whether joining needs a verified email address.
    pub require_verified_email: Option<bool>,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// Result of `updateWorkspace`.
#[derive(SimpleObject)]
pub struct WorkspacePayload {
    /// The workspace as it now is.
    pub workspace: Workspace,
}

/// Input of `addDepartmentMember` and `removeDepartmentMember`.
#[derive(InputObject)]
pub struct DepartmentMemberInput {
    /// The department.
    pub department_id: ID,
    /// A member of the department's workspace.
    pub user_id: ID,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// Result of `addDepartmentMember` and `removeDepartmentMember`.
#[derive(SimpleObject)]
pub struct DepartmentMemberPayload {
    /// The department.
    pub department_id: ID,
    /// The agent.
    pub user_id: ID,
}

/// Input of `timeoutMember`.
#[derive(InputObject)]
pub struct TimeoutMemberInput {
    /// The workspace.
    pub workspace_id: ID,
    /// A member below the moderator.
    pub user_id: ID,
    /// Until when (in the future, at most a year away); null lifts the timeout.
    pub until: Option<DateTime<Utc>>,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// Input of `banMember` and `unbanMember`.
#[derive(InputObject)]
pub struct BanMemberInput {
    /// The workspace.
    pub workspace_id: ID,
    /// The user.
    pub user_id: ID,
    /// Why, for the audit log (and the ban list): at most 500 characters.
    pub reason: Option<String>,
}

/// Result of `banMember` and `unbanMember`.
#[derive(SimpleObject)]
pub struct BanPayload {
    /// The workspace.
    pub workspace_id: ID,
    /// The user.
    pub user_id: ID,
}

/// A banned user.
pub struct Ban(pub ws::Ban);

/// A banned user.
#[Object]
impl Ban {
    /// Who is banned.
    async fn user(&self) -> User {
        User(self.0.user.clone())
    }
    /// Why, as the moderator said.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// Who banned them.
    async fn banned_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.banned_by).await
    }
    /// When.
    async fn banned_at(&self) -> DateTime<Utc> {
        self.0.banned_at
    }
}

/// A mail that could not be delivered (retried, then given up). Its body is not kept.
pub struct UndeliveredMail(pub mail::UndeliveredMail);

/// A mail that could not be delivered (retried, then given up). Its body is not kept.
#[Object]
impl UndeliveredMail {
    /// The mail's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What it was: `invitation`, `verify_email`, `email_change`, `password_reset`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The recipient.
    async fn to(&self) -> &str {
        &self.0.to
    }
    /// Its subject.
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// How many deliveries were tried.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The last delivery error.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When it was queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was given up.
    async fn given_up_at(&self) -> Option<DateTime<Utc>> {
        self.0.given_up_at
    }
}

/// Result of `setWorkspaceIcon`.
#[derive(SimpleObject)]
pub struct WorkspaceIdPayload {
    /// The workspace; read `iconUrl` for the icon once it is rendered.
    pub workspace_id: ID,
}

/// Result of `deleteWorkspace`.
#[derive(SimpleObject)]
pub struct DeleteWorkspacePayload {
    /// The deleted workspace's ID (for `restoreWorkspace`).
    pub id: ID,
    /// When it is purged for good, unless restored before.
    pub purge_after: DateTime<Utc>,
}

/// Community queries: invitations, bans, undelivered mail.
#[derive(Default)]
pub struct CommunityQuery;

#[Object]
impl CommunityQuery {
    /// A workspace's invitations, newest first. Owners and admins only.
    #[graphql(complexity = "50 * child_complexity")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose invitations are listed.")] workspace_id: ID,
    ) -> Result<Vec<Invitation>> {
        let list = ws::invitations(ctx.app()?, ctx.actor()?, parse_id(&workspace_id, "workspaceId")?).await?;
        Ok(list.into_iter().map(Invitation).collect())
    }

    /// A workspace's bans, newest first. Moderators and above.
    #[graphql(complexity = "50 * child_complexity")]
    async fn bans(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose bans are listed.")] workspace_id: ID,
    ) -> Result<Vec<Ban>> {
        let list = ws::bans(ctx.app()?, ctx.actor()?, parse_id(&workspace_id, "workspaceId")?).await?;
        Ok(list.into_iter().map(Ban).collect())
    }

    /// Mail about a workspace (invitations) that could not be delivered, newest first. Owners and
    /// admins only.
    #[graphql(complexity = "pagination::cost(first, 50, child_complexity)")]
    async fn undelivered_mail(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose undelivered mail is listed.")] workspace_id: ID,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last mail of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, UndeliveredMail, EmptyFields, EmptyFields>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let page = pagination::page(first, after)?;
        let result = mail::undelivered(ctx.app()?, ctx.actor()?, workspace, page).await?;
        let mut connection = Connection::new(page.after.is_some(), result.has_next_page);
        connection.edges.extend(result.items.into_iter().map(|m| Edge::new(m.id.to_string(), UndeliveredMail(m))));
        Ok(connection)
    }
}

/// Community mutations.
#[derive(Default)]
pub struct CommunityMutation;

#[Object]
impl CommunityMutation {
    /// Changes a workspace's name, slug, description and settings. Owners and admins only.
    async fn update_workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace and the fields to change.")] input: UpdateWorkspaceInput,
    ) -> Result<WorkspacePayload> {
        let actor = ctx.acting(input.reason)?;
        let workspace = parse_id(&input.workspace_id, "workspaceId")?;
        let update = ws::UpdateWorkspace {
            name: input.name,
            slug: input.slug,
            description: maybe(input.description),
            invite_policy: input.invite_policy.map(Into::into),
            require_verified_email: input.require_verified_email,
        };
        Ok(WorkspacePayload {
            workspace: Workspace(ws::update_workspace(ctx.app()?, &actor, workspace, update).await?),
        })
    }

    /// Invites an address (mailed a link) or makes a shareable link. Who may invite is the
    /// workspace's `invitePolicy` (admins by default).
    async fn create_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace, the role, and an address to invite or the limits of a shareable link.")]
        input: CreateInvitationInput,
    ) -> Result<CreateInvitationPayload> {
        let actor = ctx.acting(input.reason)?;
        let create = ws::CreateInvitation {
            workspace_id: parse_id(&input.workspace_id, "workspaceId")?,
            email: input.email,
            role: input.role.into(),
            department_id: input.department_id.as_ref().map(|d| parse_id(d, "departmentId")).transpose()?,
            expires_in_hours: input.expires_in_hours.map(i64::from),
            max_uses: input.max_uses,
        };
        let created = ws::create_invitation(ctx.app()?, &actor, create).await?;
        Ok(CreateInvitationPayload { invitation: Invitation(created.invitation), token: created.link_token })
    }

    /// Revokes an invitation: its link stops working at once. Owners and admins only.
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation's ID.")] id: ID,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<InvitationPayload> {
        let invitation = ws::revoke_invitation(ctx.app()?, &ctx.acting(reason)?, parse_id(&id, "id")?).await?;
        Ok(InvitationPayload { invitation: Invitation(invitation) })
    }

    /// Joins a workspace with an invitation token, as the signed-in user. New users pass the token
    /// to `register` instead.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the invitation's link.")] token: String,
    ) -> Result<MemberPayload> {
        Ok(MemberPayload { member: Member(ws::accept_invitation(ctx.app()?, ctx.actor()?, &token).await?) })
    }

    /// Makes a workspace member an agent of a department. Owners and admins only.
    async fn add_department_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The department and the workspace member to make its agent.")] input: DepartmentMemberInput,
    ) -> Result<DepartmentMemberPayload> {
        let actor = ctx.acting(input.reason)?;
        let department = parse_id(&input.department_id, "departmentId")?;
        ws::add_department_member(ctx.app()?, &actor, department, parse_id(&input.user_id, "userId")?).await?;
        Ok(DepartmentMemberPayload { department_id: input.department_id, user_id: input.user_id })
    }

    /// Takes an agent out of a department; the head stays until another is named. Owners and
    /// admins only.
    async fn remove_department_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The department and the agent to take out of it.")] input: DepartmentMemberInput,
    ) -> Result<DepartmentMemberPayload> {
        let actor = ctx.acting(input.reason)?;
        let department = parse_id(&input.department_id, "departmentId")?;
        ws::remove_department_member(ctx.app()?, &actor, department, parse_id(&input.user_id, "userId")?).await?;
        Ok(DepartmentMemberPayload { department_id: input.department_id, user_id: input.user_id })
    }

    /// Times a member out (no posting, reacting or joining voice) until `until`, or lifts it with
    /// null. Moderators and above, on members below them; the member hears it on
    /// `membershipChanged`.
    async fn timeout_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace, the member and until when (null lifts the timeout).")]
        input: TimeoutMemberInput,
    ) -> Result<MemberPayload> {
        let actor = ctx.acting(input.reason)?;
        let workspace = parse_id(&input.workspace_id, "workspaceId")?;
        let user = parse_id(&input.user_id, "userId")?;
        let member = ws::timeout_member(ctx.app()?, &actor, workspace, user, input.until).await?;
        Ok(MemberPayload { member: Member(member) })
    }

    /// Bans a member: removed at once (their streams end), and no invitation or link lets them
    /// back until `unbanMember`. Moderators and above, on members below them.
    async fn ban_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace and the member to ban.")] input: BanMemberInput,
    ) -> Result<BanPayload> {
        let actor = ctx.acting(input.reason)?;
        let workspace = parse_id(&input.workspace_id, "workspaceId")?;
        ws::ban_member(ctx.app()?, &actor, workspace, parse_id(&input.user_id, "userId")?).await?;
        Ok(BanPayload { workspace_id: input.workspace_id, user_id: input.user_id })
    }

    /// Deletes a workspace: every member loses access at once; its rows and files are purged after
    /// the grace period (30 days by default), during which a former owner may restore it. Owners
    /// only; `confirmSlug` must be the workspace's slug.
    async fn delete_workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace to delete.")] workspace_id: ID,
        #[graphql(desc = "The workspace's slug, typed again.")] confirm_slug: String,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<DeleteWorkspacePayload> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let deleted = ws::delete_workspace(ctx.app()?, &ctx.acting(reason)?, workspace, &confirm_slug).await?;
        Ok(DeleteWorkspacePayload { id: workspace_id, purge_after: deleted.purge_after })
    }

    /// Restores a deleted workspace with all its members, inside the grace period. Its former
    /// owners only.
    async fn restore_workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The deleted workspace's ID, as `deleteWorkspace` returned it.")] workspace_id: ID,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<WorkspacePayload> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(WorkspacePayload {
            workspace: Workspace(ws::restore_workspace(ctx.app()?, &ctx.acting(reason)?, workspace).await?),
        })
    }

    /// Sets a workspace's icon from an uploaded image that scanned clean (rendered by a job), or
    /// removes it with null. Owners and admins.
    async fn set_workspace_icon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose icon is set.")] workspace_id: ID,
        #[graphql(desc = "An image the viewer uploaded that scanned clean; null removes the icon.")]
        attachment_id: Option<ID>,
    ) -> Result<WorkspaceIdPayload> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let attachment = attachment_id.as_ref().map(|a| parse_id(a, "attachmentId")).transpose()?;
        stoa_domain::files::set_workspace_icon(ctx.app()?, ctx.actor()?, workspace, attachment).await?;
        Ok(WorkspaceIdPayload { workspace_id })
    }

    /// Hands the workspace to another member: they become an owner, the viewer an admin. Owners
    /// only.
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace to hand over.")] workspace_id: ID,
        #[graphql(desc = "The member who becomes an owner.")] user_id: ID,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<MemberPayload> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let to = parse_id(&user_id, "userId")?;
        Ok(MemberPayload {
            member: Member(ws::transfer_ownership(ctx.app()?, &ctx.acting(reason)?, workspace, to).await?),
        })
    }

    /// Lifts a ban; the user may be invited again. Moderators and above.
    async fn unban_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace and the banned user.")] input: BanMemberInput,
    ) -> Result<BanPayload> {
        let actor = ctx.acting(input.reason)?;
        let workspace = parse_id(&input.workspace_id, "workspaceId")?;
        ws::unban_member(ctx.app()?, &actor, workspace, parse_id(&input.user_id, "userId")?).await?;
        Ok(BanPayload { workspace_id: input.workspace_id, user_id: input.user_id })
    }
}
