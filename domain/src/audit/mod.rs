//! The append-only audit log: a helper every use case calls inside its transaction, and the
//! owners'/admins' view of their workspace's trail. Never updates or deletes a row.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use stoa_entities::audit_log;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::error::Result;
use crate::ids::{AuditEntryId, UserId, WorkspaceId};
use crate::pagination::{Page, PageRequest};
use crate::tx::Tx;
use crate::workspaces::store::require_permission;

/// What to record: who did `action` to which object, in which workspace.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub workspace_id: Option<WorkspaceId>,
    pub actor_user_id: Option<UserId>,
    pub actor_label: String,
    /// Dotted verb, e.g. `member.added`.
    pub action: &'static str,
    pub object_type: &'static str,
    pub object_id: Option<uuid::Uuid>,
    /// Extra facts; never secrets.
    pub details: serde_json::Value,
}

impl AuditRecord {
    /// A record by `actor` inside `workspace`.
    #[must_use]
    pub fn new(
        actor: &Actor,
        workspace: Option<WorkspaceId>,
        action: &'static str,
        object_type: &'static str,
        object_id: Option<uuid::Uuid>,
    ) -> Self {
        Self {
            workspace_id: workspace,
            actor_user_id: actor.user_id().ok(),
            actor_label: actor.label(),
            action,
            object_type,
            object_id,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// A record by a user outside any workspace (sign-up, login).
    #[must_use]
    pub fn by_user(
        user: UserId,
        action: &'static str,
        object_type: &'static str,
        object_id: Option<uuid::Uuid>,
    ) -> Self {
        let actor = Actor::User { user_id: user, session: crate::ids::SessionFamilyId(uuid::Uuid::nil()) };
        Self::new(&actor, None, action, object_type, object_id)
    }

    /// Adds details.
    #[must_use]
    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Appends `record` inside the caller's transaction, so it commits or rolls back with the change.
///
/// # Errors
/// `Internal` on database failure.
pub async fn record(tx: &mut Tx, record: AuditRecord) -> Result<()> {
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: Set(AuditEntryId::new().0),
        workspace_id: Set(record.workspace_id.map(|w| w.0)),
        actor_user_id: Set(record.actor_user_id.map(|u| u.0)),
        actor_label: Set(record.actor_label),
        action: Set(record.action.to_owned()),
        object_type: Set(record.object_type.to_owned()),
        object_id: Set(record.object_id),
        details: Set(record.details),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(tx.db())
    .await?;
    Ok(())
}

/// One entry of the trail.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub actor_user_id: Option<UserId>,
    pub actor_label: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<uuid::Uuid>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// The workspace's audit trail, newest first.
///
/// # Errors
/// `NOT_FOUND` (not a member), `FORBIDDEN` (below admin).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn list(app: &AppCtx, actor: &Actor, workspace: WorkspaceId, page: PageRequest) -> Result<Page<AuditEntry>> {
    require_permission(app.db(), actor, workspace, Permission::ViewAuditLog).await?;
    let limit = page.limit();
    let mut query = audit_log::Entity::find()
        .filter(audit_log::Column::WorkspaceId.eq(workspace.0))
        .order_by_desc(audit_log::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after {
        query = query.filter(audit_log::Column::Id.lt(after));
    }
    let mut rows = query.all(app.db()).await?;
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let items = rows
        .into_iter()
        .map(|m| AuditEntry {
            id: AuditEntryId(m.id),
            actor_user_id: m.actor_user_id.map(UserId),
            actor_label: m.actor_label,
            action: m.action,
            object_type: m.object_type,
            object_id: m.object_id,
            details: m.details,
            created_at: m.created_at,
        })
        .collect();
    Ok(Page { items, has_next_page })
}
