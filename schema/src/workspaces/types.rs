//! Workspace types; each wraps a domain read model.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use stoa_domain::authz;
use stoa_domain::ids::UserId;
use stoa_domain::workspaces as ws;

use crate::context::ContextExt as _;
use crate::error::Result;
use crate::identity::{User, UserCards};

/// A member's role, most powerful first.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Role {
    /// Full control, including other owners.
    Owner,
    /// Manages members below admin, departments and the audit log.
    Admin,
    /// Moderates content.
    Moderator,
    /// Handles helpdesk tickets.
    Agent,
    /// An ordinary member.
    Member,
}

impl From<authz::Role> for Role {
    fn from(r: authz::Role) -> Self {
        match r {
            authz::Role::Owner => Self::Owner,
            authz::Role::Admin => Self::Admin,
            authz::Role::Moderator => Self::Moderator,
            authz::Role::Agent => Self::Agent,
            authz::Role::Member => Self::Member,
        }
    }
}

impl From<Role> for authz::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Moderator => Self::Moderator,
            Role::Agent => Self::Agent,
            Role::Member => Self::Member,
        }
    }
}

pub(crate) async fn load_user(ctx: &Context<'_>, id: UserId) -> Result<Option<User>> {
    Ok(crate::context::loader::<UserCards>(ctx)?.load_one(id).await?.map(User))
}

/// A workspace (tenant): an estate, a community, a company.
pub struct Workspace(pub ws::Workspace);

/// A workspace (tenant): an estate, a community, a company.
#[Object]
impl Workspace {
    /// The workspace's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// URL-safe unique handle.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The viewer's role here.
    async fn my_role(&self) -> Role {
        self.0.my_role.into()
    }
    /// What the workspace is about.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Who may create invitations.
    async fn invite_policy(&self) -> InvitePolicy {
        self.0.invite_policy.into()
    }
    /// Whether joining needs a verified email address.
    async fn require_verified_email(&self) -> bool {
        self.0.require_verified_email
    }
    /// The workspace's icon: a signed URL valid for an hour; absent without one.
    async fn icon_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default_with = "crate::identity::AvatarSize::Large",
            desc = "Which rendering: `LARGE` (256 px, the default) or `SMALL` (64 px)."
        )]
        size: crate::identity::AvatarSize,
    ) -> Result<Option<String>> {
        crate::identity::avatar_url(ctx, self.0.icon_key.as_deref(), size).await
    }
    /// Everyone in the workspace, oldest member first.
    #[graphql(complexity = "10 * child_complexity")]
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<Member>> {
        let members = ws::members(ctx.app()?, ctx.actor()?, self.0.id).await?;
        Ok(members.into_iter().map(Member).collect())
    }
    /// Departments by code.
    #[graphql(complexity = "10 * child_complexity")]
    async fn departments(&self, ctx: &Context<'_>) -> Result<Vec<Department>> {
        let departments = ws::departments(ctx.app()?, ctx.actor()?, self.0.id).await?;
        Ok(departments.into_iter().map(Department).collect())
    }
}

/// A person's membership in a workspace.
pub struct Member(pub ws::Member);

/// A person's membership in a workspace.
#[Object]
impl Member {
    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.user_id).await
    }
    /// Their role.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// When they joined.
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }
    /// The workspace's ID.
    async fn workspace_id(&self) -> ID {
        ID(self.0.workspace_id.to_string())
    }
    /// Until when they may not post, react or join voice; absent when they may.
    async fn timed_out_until(&self) -> Option<DateTime<Utc>> {
        self.0.timed_out_until.filter(|until| *until > chrono::Utc::now())
    }
    /// The departments they staff, by code.
    #[graphql(complexity = "10 * child_complexity")]
    async fn departments(&self, ctx: &Context<'_>) -> Result<Vec<Department>> {
        let list = ws::departments_of(ctx.app()?, ctx.actor()?, self.0.workspace_id, self.0.user_id).await?;
        Ok(list.into_iter().map(Department).collect())
    }
}

/// Who may create invitations.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InvitePolicy {
    /// Owners and admins (the default).
    Admins,
    /// Moderators and above.
    Moderators,
    /// Every member; the roles they grant stay below their own.
    Members,
}

impl From<ws::InvitePolicy> for InvitePolicy {
    fn from(p: ws::InvitePolicy) -> Self {
        match p {
            ws::InvitePolicy::Admins => Self::Admins,
            ws::InvitePolicy::Moderators => Self::Moderators,
            ws::InvitePolicy::Members => Self::Members,
        }
    }
}

impl From<InvitePolicy> for ws::InvitePolicy {
    fn from(p: InvitePolicy) -> Self {
        match p {
            InvitePolicy::Admins => Self::Admins,
            InvitePolicy::Moderators => Self::Moderators,
            InvitePolicy::Members => Self::Members,
        }
    }
}

/// A department: a team with a queue and a capacity.
pub struct Department(pub ws::Department);

/// A department: a team with a queue and a capacity.
#[Object]
impl Department {
    /// The department's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Short code, unique in the workspace.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The head of the department, if set.
    async fn head(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.head_user_id {
            Some(id) => load_user(ctx, id).await,
            None => Ok(None),
        }
    }
    /// How many open tickets the department works at once (0: no limit); more wait in its queue.
    async fn capacity(&self) -> i32 {
        self.0.capacity
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The agents who staff it, in the order they joined; the head is one of them.
    #[graphql(complexity = "crate::pagination::cost(first, 50, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last agent of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, Member, EmptyFields, EmptyFields>> {
        let page = crate::pagination::page(first, after)?;
        let result = ws::department_members(ctx.app()?, ctx.actor()?, &self.0, page).await?;
        let mut connection = Connection::new(page.after.is_some(), result.has_next_page);
        connection
            .edges
            .extend(result.items.into_iter().map(|agent| Edge::new(agent.id.to_string(), Member(agent.member))));
        Ok(connection)
    }
}

/// Input of `createWorkspace`.
#[derive(InputObject)]
pub struct CreateWorkspaceInput {
    /// 1 to 80 characters.
    pub name: String,
    /// 3 to 40 of a-z, 0-9 and single dashes; derived from the name when omitted.
    pub slug: Option<String>,
}

/// Input of `addMember`.
#[derive(InputObject)]
pub struct AddMemberInput {
    /// The workspace.
    pub workspace_id: ID,
    /// Email of a registered user.
    pub email: String,
    /// Role to give; admins may grant only roles below admin.
    #[graphql(default_with = "Role::Member")]
    pub role: Role,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// Input of `removeMember`.
#[derive(InputObject)]
pub struct RemoveMemberInput {
    /// The workspace.
    pub workspace_id: ID,
    /// The member to remove (yourself to leave).
    pub user_id: ID,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// Input of `changeRole`.
#[derive(InputObject)]
pub struct ChangeRoleInput {
    /// The workspace.
    pub workspace_id: ID,
    /// The member.
    pub user_id: ID,
    /// The new role.
    pub role: Role,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// Fields of a department.
#[derive(InputObject)]
pub struct DepartmentFields {
    /// 1 to 80 characters.
    pub name: String,
    /// 2 to 16 of A-Z, 0-9 and _ (upper-cased), unique in the workspace.
    pub code: String,
    /// A member of the workspace who heads it.
    pub head_user_id: Option<ID>,
    /// Open tickets it works at once (0 to 100000; 0: no limit); more wait in its queue.
    #[graphql(default = 10)]
    pub capacity: i32,
}

/// Input of `createDepartment`.
#[derive(InputObject)]
pub struct CreateDepartmentInput {
    /// The workspace.
    pub workspace_id: ID,
    /// The department's fields.
    pub department: DepartmentFields,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// Input of `updateDepartment`.
#[derive(InputObject)]
pub struct UpdateDepartmentInput {
    /// The department.
    pub id: ID,
    /// Its new fields.
    pub department: DepartmentFields,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}
