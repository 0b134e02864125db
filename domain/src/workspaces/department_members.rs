//! The agents who staff a department. A department's head is always one of them: naming a head
//! makes them a member of the department, and the head cannot be removed while they are head.
//! Leaving (or being removed from) the workspace ends every department membership in it.

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait as _, QueryFilter, QueryOrder, QuerySelect};
use stoa_entities::{department_members, departments, memberships};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Permission;
use crate::error::{DomainError, Result};
use crate::ids::{DepartmentId, UserId, WorkspaceId};
use crate::pagination::{Page, PageRequest};
use crate::workspaces::model::{Department, Member};
use crate::workspaces::store;

/// An agent of a department: their workspace membership, and since when they staff it.
#[derive(Debug, Clone)]
pub struct DepartmentMember {
    /// The department membership's own id (the page cursor).
    pub id: uuid::Uuid,
    pub member: Member,
    pub since: chrono::DateTime<chrono::Utc>,
}

/// Whether `user` staffs `department`.
pub(crate) async fn is_enrolled(db: &impl ConnectionTrait, department: DepartmentId, user: UserId) -> Result<bool> {
    Ok(department_members::Entity::find()
        .filter(department_members::Column::DepartmentId.eq(department.0))
        .filter(department_members::Column::UserId.eq(user.0))
        .count(db)
        .await?
        > 0)
}

/// The agents of `department`, in the order they joined.
pub(crate) async fn member_ids(db: &impl ConnectionTrait, department: DepartmentId) -> Result<Vec<UserId>> {
    Ok(department_members::Entity::find()
        .filter(department_members::Column::DepartmentId.eq(department.0))
        .order_by_asc(department_members::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| UserId(r.user_id))
        .collect())
}

/// Adds `user` to `department` unless they are in it already. `user` must be a workspace member.
pub(crate) async fn enrol(
    db: &impl ConnectionTrait,
    workspace: WorkspaceId,
    department: DepartmentId,
    user: UserId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    if is_enrolled(db, department, user).await? {
        return Ok(false);
    }
    department_members::Entity::insert(department_members::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        department_id: Set(department.0),
        workspace_id: Set(workspace.0),
        user_id: Set(user.0),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(true)
}

/// Ends every department membership of `user` in `workspace`, and their headships there.
pub(crate) async fn leave_departments(db: &impl ConnectionTrait, workspace: WorkspaceId, user: UserId) -> Result<()> {
    department_members::Entity::delete_many()
        .filter(department_members::Column::WorkspaceId.eq(workspace.0))
        .filter(department_members::Column::UserId.eq(user.0))
        .exec(db)
        .await?;
    departments::Entity::update_many()
        .col_expr(departments::Column::HeadUserId, sea_orm::sea_query::Expr::value(Option::<uuid::Uuid>::None))
        .filter(departments::Column::WorkspaceId.eq(workspace.0))
        .filter(departments::Column::HeadUserId.eq(user.0))
        .exec(db)
        .await?;
    Ok(())
}

async fn managed(tx: &crate::tx::Tx, actor: &Actor, id: DepartmentId) -> Result<departments::Model> {
    let row = departments::Entity::find_by_id(id.0).one(tx.db()).await?.ok_or(DomainError::NotFound("department"))?;
    store::require_permission(tx.db(), actor, row.workspace_id.into(), Permission::ManageDepartments).await?;
    Ok(row)
}

/// Makes a workspace member an agent of the department.
///
/// # Errors
/// `NOT_FOUND` (department invisible, or `user` not a workspace member), `FORBIDDEN`, `CONFLICT`
/// (already in it).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), department = %department))]
pub async fn add_department_member(app: &AppCtx, actor: &Actor, department: DepartmentId, user: UserId) -> Result<()> {
    let mut tx = app.begin().await?;
    let row = managed(&tx, actor, department).await?;
    let workspace = WorkspaceId(row.workspace_id);
    if store::membership(tx.db(), workspace, user).await?.is_none() {
        return Err(DomainError::NotFound("member"));
    }
    if !enrol(tx.db(), workspace, department, user, app.now()).await? {
        return Err(DomainError::Conflict("already in the department"));
    }
    let record = AuditRecord::new(actor, Some(workspace), "department.member_added", "user", Some(user.0))
        .with(serde_json::json!({ "departmentId": department.0 }));
    audit::record(&mut tx, record).await?;
    tx.commit().await
}

/// Takes an agent out of the department.
///
/// # Errors
/// `NOT_FOUND` (department invisible, or `user` not in it), `FORBIDDEN`, `CONFLICT` (the head:
/// name another head first).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), department = %department))]
pub async fn remove_department_member(
    app: &AppCtx,
    actor: &Actor,
    department: DepartmentId,
    user: UserId,
) -> Result<()> {
    let mut tx = app.begin().await?;
    let row = managed(&tx, actor, department).await?;
    if row.head_user_id == Some(user.0) {
        return Err(DomainError::Conflict("the head must stay in the department: name another head first"));
    }
    let removed = department_members::Entity::delete_many()
        .filter(department_members::Column::DepartmentId.eq(department.0))
        .filter(department_members::Column::UserId.eq(user.0))
        .exec(tx.db())
        .await?;
    if removed.rows_affected == 0 {
        return Err(DomainError::NotFound("department member"));
    }
    let record =
        AuditRecord::new(actor, Some(row.workspace_id.into()), "department.member_removed", "user", Some(user.0))
            .with(serde_json::json!({ "departmentId": department.0 }));
    audit::record(&mut tx, record).await?;
    tx.commit().await
}

/// One page of a department's agents, in the order they joined.
///
/// # Errors
/// `NOT_FOUND` (not a member of the department's workspace).
pub async fn department_members(
    app: &AppCtx,
    actor: &Actor,
    department: &Department,
    page: PageRequest,
) -> Result<Page<DepartmentMember>> {
    store::require_permission(app.db(), actor, department.workspace_id, Permission::ViewWorkspace).await?;
    let limit = page.limit();
    let mut query = department_members::Entity::find()
        .filter(department_members::Column::DepartmentId.eq(department.id.0))
        .order_by_asc(department_members::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after {
        query = query.filter(department_members::Column::Id.gt(after));
    }
    let mut rows = query.all(app.db()).await?;
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let users: Vec<uuid::Uuid> = rows.iter().map(|r| r.user_id).collect();
    let memberships: std::collections::HashMap<uuid::Uuid, memberships::Model> = memberships::Entity::find()
        .filter(memberships::Column::WorkspaceId.eq(department.workspace_id.0))
        .filter(memberships::Column::UserId.is_in(users))
        .all(app.db())
        .await?
        .into_iter()
        .map(|m| (m.user_id, m))
        .collect();
    let items = rows
        .into_iter()
        .filter_map(|r| {
            let member = Member::from_row(memberships.get(&r.user_id)?.clone());
            Some(DepartmentMember { id: r.id, member, since: r.created_at })
        })
        .collect();
    Ok(Page { items, has_next_page })
}

/// The departments `user` staffs in `workspace`, by code.
///
/// # Errors
/// `NOT_FOUND` (the actor is not a member of the workspace).
pub async fn departments_of(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    user: UserId,
) -> Result<Vec<Department>> {
    store::require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let ids: Vec<uuid::Uuid> = department_members::Entity::find()
        .filter(department_members::Column::WorkspaceId.eq(workspace.0))
        .filter(department_members::Column::UserId.eq(user.0))
        .all(app.db())
        .await?
        .into_iter()
        .map(|r| r.department_id)
        .collect();
    let rows = departments::Entity::find()
        .filter(departments::Column::Id.is_in(ids))
        .order_by_asc(departments::Column::Code)
        .all(app.db())
        .await?;
    Ok(rows.into_iter().map(Department::from).collect())
}
