//! Workspace mutations.

use async_graphql::{Context, ID, Object, SimpleObject};
use stoa_domain::workspaces as ws;

use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::workspaces::types::{
    AddMemberInput, ChangeRoleInput, CreateDepartmentInput, CreateWorkspaceInput, Department, DepartmentFields, Member,
    RemoveMemberInput, UpdateDepartmentInput, Workspace,
};

/// Workspace mutations.
#[derive(Default)]
pub struct WorkspaceMutation;

/// Result of `createWorkspace`.
#[derive(SimpleObject)]
pub struct CreateWorkspacePayload {
    /// The new workspace; the viewer is its owner.
    pub workspace: Workspace,
}

/// Result of `addMember` and `changeRole`.
#[derive(SimpleObject)]
pub struct MemberPayload {
    /// The membership as it now is.
    pub member: Member,
}

/// Result of `removeMember`.
#[derive(SimpleObject)]
pub struct RemoveMemberPayload {
    /// The workspace.
    pub workspace_id: ID,
    /// The removed user.
    pub user_id: ID,
}

/// Result of `createDepartment` and `updateDepartment`.
#[derive(SimpleObject)]
pub struct DepartmentPayload {
    /// The department as it now is.
    pub department: Department,
}

/// Result of `deleteDepartment`.
#[derive(SimpleObject)]
pub struct DeleteDepartmentPayload {
    /// The deleted department's ID.
    pub id: ID,
}

fn fields(input: DepartmentFields) -> Result<ws::DepartmentInput> {
    Ok(ws::DepartmentInput {
        name: input.name,
        code: input.code,
        head_user_id: input.head_user_id.as_ref().map(|id| parse_id(id, "headUserId")).transpose()?,
        capacity: input.capacity,
    })
}

#[Object]
impl WorkspaceMutation {
    /// Creates a workspace owned by the viewer.
    async fn create_workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new workspace's name and optional slug.")] input: CreateWorkspaceInput,
    ) -> Result<CreateWorkspacePayload> {
        let input = ws::CreateWorkspace { name: input.name, slug: input.slug };
        let workspace = ws::create_workspace(ctx.app()?, ctx.actor()?, input).await?;
        Ok(CreateWorkspacePayload { workspace: Workspace(workspace) })
    }

    /// Adds a registered user by email. Owners and admins only; admins grant roles below admin.
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace, the registered user's email and the role to give.")] input: AddMemberInput,
    ) -> Result<MemberPayload> {
        let actor = ctx.acting(input.reason)?;
        let input = ws::AddMember {
            workspace_id: parse_id(&input.workspace_id, "workspaceId")?,
            email: input.email,
            role: input.role.into(),
        };
        Ok(MemberPayload { member: Member(ws::add_member(ctx.app()?, &actor, input).await?) })
    }

    /// Removes a member, or leaves when `userId` is the viewer. The last owner cannot leave.
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace and the member to remove (the viewer to leave).")] input: RemoveMemberInput,
    ) -> Result<RemoveMemberPayload> {
        let workspace = parse_id(&input.workspace_id, "workspaceId")?;
        let user = parse_id(&input.user_id, "userId")?;
        ws::remove_member(ctx.app()?, &ctx.acting(input.reason)?, workspace, user).await?;
        Ok(RemoveMemberPayload { workspace_id: input.workspace_id, user_id: input.user_id })
    }

    /// Changes a member's role within the viewer's authority.
    async fn change_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace, the member and the new role.")] input: ChangeRoleInput,
    ) -> Result<MemberPayload> {
        let workspace = parse_id(&input.workspace_id, "workspaceId")?;
        let user = parse_id(&input.user_id, "userId")?;
        let actor = ctx.acting(input.reason)?;
        let member = ws::change_role(ctx.app()?, &actor, workspace, user, input.role.into()).await?;
        Ok(MemberPayload { member: Member(member) })
    }

    /// Creates a department. Owners and admins only.
    async fn create_department(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace and the new department's fields.")] input: CreateDepartmentInput,
    ) -> Result<DepartmentPayload> {
        let workspace = parse_id(&input.workspace_id, "workspaceId")?;
        let actor = ctx.acting(input.reason)?;
        let department = ws::create_department(ctx.app()?, &actor, workspace, fields(input.department)?).await?;
        Ok(DepartmentPayload { department: Department(department) })
    }

    /// Replaces a department's fields. Owners and admins only.
    async fn update_department(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The department and its new fields.")] input: UpdateDepartmentInput,
    ) -> Result<DepartmentPayload> {
        let id = parse_id(&input.id, "id")?;
        let actor = ctx.acting(input.reason)?;
        let department = ws::update_department(ctx.app()?, &actor, id, fields(input.department)?).await?;
        Ok(DepartmentPayload { department: Department(department) })
    }

    /// Deletes a department. Owners and admins only.
    async fn delete_department(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The department's ID.")] id: ID,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<DeleteDepartmentPayload> {
        ws::delete_department(ctx.app()?, &ctx.acting(reason)?, parse_id(&id, "id")?).await?;
        Ok(DeleteDepartmentPayload { id })
    }
}
