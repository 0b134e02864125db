//! Departments inside a workspace: listed by members, managed by owners and admins.

use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, ModelTrait, QueryFilter, QueryOrder,
};
use stoa_entities::departments;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Permission;
use crate::error::{DomainError, OnUnique as _, Result};
use crate::ids::{DepartmentId, UserId, WorkspaceId};
use crate::workspaces::create_workspace::parse_name;
use crate::workspaces::department_members;
use crate::workspaces::model::Department;
use crate::workspaces::store;

/// Fields of a department, for create and update.
#[derive(Debug, Clone)]
pub struct DepartmentInput {
    pub name: String,
    /// Short code, unique in the workspace (e.g. `MAINT`): 2 to 16 of A-Z, 0-9, `_`.
    pub code: String,
    /// Must be a member of the workspace.
    pub head_user_id: Option<UserId>,
    /// Concurrent open items the department can hold (0 to 100,000).
    pub capacity: i32,
}

struct Parsed {
    name: String,
    code: String,
    head: Option<UserId>,
    capacity: i32,
}

async fn parse(db: &impl ConnectionTrait, workspace: WorkspaceId, input: DepartmentInput) -> Result<Parsed> {
    let name = parse_name(&input.name)?;
    let code = input.code.trim().to_ascii_uppercase();
    if !(2..=16).contains(&code.len())
        || !code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(DomainError::invalid("code", "2 to 16 of A-Z, 0-9 and _"));
    }
    if !(0..=100_000).contains(&input.capacity) {
        return Err(DomainError::invalid("capacity", "must be between 0 and 100000"));
    }
    if let Some(head) = input.head_user_id
        && store::membership(db, workspace, head).await?.is_none()
    {
        return Err(DomainError::invalid("headUserId", "the head must be a member of the workspace"));
    }
    Ok(Parsed { name, code, head: input.head_user_id, capacity: input.capacity })
}

/// The workspace's departments by code.
///
/// # Errors
/// `NOT_FOUND` (not a member).
pub async fn departments(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<Department>> {
    store::require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let rows = departments::Entity::find()
        .filter(departments::Column::WorkspaceId.eq(workspace.0))
        .order_by_asc(departments::Column::Code)
        .all(app.db())
        .await?;
    Ok(rows.into_iter().map(Department::from).collect())
}

/// Creates a department.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`, `BAD_USER_INPUT`, `CONFLICT` (code taken).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn create_department(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    input: DepartmentInput,
) -> Result<Department> {
    let mut tx = app.begin().await?;
    store::require_permission(tx.db(), actor, workspace, Permission::ManageDepartments).await?;
    let p = parse(tx.db(), workspace, input).await?;
    let id = DepartmentId::new();
    let row = departments::Entity::insert(departments::ActiveModel {
        id: Set(id.0),
        workspace_id: Set(workspace.0),
        name: Set(p.name),
        code: Set(p.code),
        head_user_id: Set(p.head.map(|h| h.0)),
        capacity: Set(p.capacity),
        created_at: Set(app.now()),
    })
    .exec_with_returning(tx.db())
    .await
    .on_unique(|| DomainError::Conflict("department code already used"))?;
    if let Some(head) = p.head {
        // The head is one of the department's agents from the start.
        department_members::enrol(tx.db(), workspace, id, head, app.now()).await?;
    }
    audit::record(&mut tx, AuditRecord::new(actor, Some(workspace), "department.created", "department", Some(id.0)))
        .await?;
    tx.commit().await?;
    Ok(row.into())
}

async fn load(tx: &crate::tx::Tx, actor: &Actor, id: DepartmentId) -> Result<departments::Model> {
    let row = departments::Entity::find_by_id(id.0).one(tx.db()).await?.ok_or(DomainError::NotFound("department"))?;
    store::require_permission(tx.db(), actor, row.workspace_id.into(), Permission::ManageDepartments).await?;
    Ok(row)
}

/// Replaces a department's fields.
///
/// # Errors
/// `NOT_FOUND` (missing, or in a workspace the actor is not in), `FORBIDDEN`, `BAD_USER_INPUT`, `CONFLICT`.
#[tracing::instrument(skip_all, fields(actor = %actor.label(), department = %id))]
pub async fn update_department(
    app: &AppCtx,
    actor: &Actor,
    id: DepartmentId,
    input: DepartmentInput,
) -> Result<Department> {
    let mut tx = app.begin().await?;
    let row = load(&tx, actor, id).await?;
    let workspace = WorkspaceId(row.workspace_id);
    let p = parse(tx.db(), workspace, input).await?;
    if let Some(head) = p.head
        && !department_members::is_enrolled(tx.db(), id, head).await?
    {
        return Err(DomainError::invalid("headUserId", "the head must be a member of the department"));
    }
    let before = row.clone();
    let mut model = row.into_active_model();
    model.name = Set(p.name);
    model.code = Set(p.code);
    model.head_user_id = Set(p.head.map(|h| h.0));
    model.capacity = Set(p.capacity);
    let row = model.update(tx.db()).await.on_unique(|| DomainError::Conflict("department code already used"))?;
    let record = AuditRecord::new(actor, Some(workspace), "department.updated", "department", Some(id.0))
        .changed("name", &before.name, &row.name)
        .changed("code", &before.code, &row.code)
        .changed("headUserId", before.head_user_id, row.head_user_id)
        .changed("capacity", before.capacity, row.capacity);
    audit::record(&mut tx, record).await?;
    if row.capacity != before.capacity {
        // Raised capacity admits waiting tickets at once.
        crate::tickets::admit_waiting(&mut tx, id, app.now()).await?;
    }
    tx.commit().await?;
    Ok(row.into())
}

/// Deletes a department.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(actor = %actor.label(), department = %id))]
pub async fn delete_department(app: &AppCtx, actor: &Actor, id: DepartmentId) -> Result<()> {
    let mut tx = app.begin().await?;
    let row = load(&tx, actor, id).await?;
    let workspace = WorkspaceId(row.workspace_id);
    let record = AuditRecord::new(actor, Some(workspace), "department.deleted", "department", Some(id.0))
        .changed("name", Some(row.name.clone()), None)
        .changed("code", Some(row.code.clone()), None);
    row.delete(tx.db()).await?;
    audit::record(&mut tx, record).await?;
    tx.commit().await
}
