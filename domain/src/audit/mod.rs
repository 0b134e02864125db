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
    /// Each changed field, `{ "field": { "from": before, "to": after } }`.
    pub changes: serde_json::Map<String, serde_json::Value>,
    /// Where the request came from and the actor's reason, when a transport said.
    pub origin: crate::actor::Origin,
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
            changes: serde_json::Map::new(),
            origin: actor.origin().cloned().unwrap_or_default(),
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
        let actor =
            Actor::User { user_id: user, session: crate::ids::SessionFamilyId(uuid::Uuid::nil()), origin: None };
        Self::new(&actor, None, action, object_type, object_id)
    }

    /// The same record, about `workspace` (a user acting outside a request's workspace check).
    #[must_use]
    pub fn in_workspace(mut self, workspace: WorkspaceId) -> Self {
        self.workspace_id = Some(workspace);
        self
    }

    /// Adds details.
    #[must_use]
    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// Records that `field` went from `before` to `after`; nothing when they are equal.
    #[must_use]
    #[expect(clippy::needless_pass_by_value, reason = "call sites pass temporaries: literals and Options")]
    pub fn changed<T: serde::Serialize + PartialEq>(mut self, field: &str, before: T, after: T) -> Self {
        if before != after {
            let change = serde_json::json!({ "from": before, "to": after });
            self.changes.insert(field.to_owned(), change);
        }
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
        changes: Set(serde_json::Value::Object(record.changes)),
        client_ip: Set(record.origin.client_ip),
        user_agent: Set(record.origin.user_agent),
        reason: Set(record.origin.reason),
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
    pub changes: serde_json::Value,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<audit_log::Model> for AuditEntry {
    fn from(m: audit_log::Model) -> Self {
        Self {
            id: AuditEntryId(m.id),
            actor_user_id: m.actor_user_id.map(UserId),
            actor_label: m.actor_label,
            action: m.action,
            object_type: m.object_type,
            object_id: m.object_id,
            details: m.details,
            changes: m.changes,
            client_ip: m.client_ip,
            user_agent: m.user_agent,
            reason: m.reason,
            created_at: m.created_at,
        }
    }
}

/// Which entries to list; every field narrows, `None` leaves it open.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<uuid::Uuid>,
    /// From this instant on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Before this instant (exclusive).
    pub until: Option<DateTime<Utc>>,
}

/// The workspace's audit trail, newest first.
///
/// # Errors
/// `NOT_FOUND` (not a member), `FORBIDDEN` (below admin).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn list(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>> {
    require_permission(app.db(), actor, workspace, Permission::ViewAuditLog).await?;
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && since >= until
    {
        return Err(crate::DomainError::invalid("until", "must be after since"));
    }
    let limit = page.limit();
    let mut query = audit_log::Entity::find()
        .filter(audit_log::Column::WorkspaceId.eq(workspace.0))
        .order_by_desc(audit_log::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after {
        query = query.filter(audit_log::Column::Id.lt(after));
    }
    if let Some(user) = filter.actor {
        query = query.filter(audit_log::Column::ActorUserId.eq(user.0));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_log::Column::Action.eq(action));
    }
    if let Some(object_type) = filter.object_type {
        query = query.filter(audit_log::Column::ObjectType.eq(object_type));
    }
    if let Some(object_id) = filter.object_id {
        query = query.filter(audit_log::Column::ObjectId.eq(object_id));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_log::Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_log::Column::CreatedAt.lt(until));
    }
    let mut rows = query.all(app.db()).await?;
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(Page { items: rows.into_iter().map(AuditEntry::from).collect(), has_next_page })
}
