//! GraphQL surface of the audit log (owners and admins).

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use stoa_domain::audit;

use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::identity::User;
use crate::pagination;
use crate::workspaces::load_user;

/// One recorded action.
pub struct AuditEntry(pub audit::AuditEntry);

/// One recorded action.
#[Object]
impl AuditEntry {
    /// The entry's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Who acted, when it was a user.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.actor_user_id {
            Some(id) => load_user(ctx, id).await,
            None => Ok(None),
        }
    }
    /// Who acted, as a label (`user:<id>` or `system:<job>`).
    async fn actor_label(&self) -> &str {
        &self.0.actor_label
    }
    /// What was done, e.g. `member.added`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The kind of object acted on.
    async fn object_type(&self) -> &str {
        &self.0.object_type
    }
    /// The object's ID.
    async fn object_id(&self) -> Option<ID> {
        self.0.object_id.map(|id| ID(id.to_string()))
    }
    /// Extra facts about the action.
    async fn details(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.details.clone())
    }
    /// Each changed field's value before and after: `{ "role": { "from": "member", "to": "admin" } }`.
    async fn changes(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.changes.clone())
    }
    /// The client's address (after the trusted-proxy rule), when the action came through the API.
    async fn client_ip(&self) -> Option<&str> {
        self.0.client_ip.as_deref()
    }
    /// The client's `User-Agent`, cut at 256 bytes.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }
    /// The reason the actor gave.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Narrows `auditLog`.
#[derive(async_graphql::InputObject)]
pub struct AuditFilter {
    /// Entries by this user.
    pub actor_id: Option<ID>,
    /// Entries with this action, e.g. `member.role_changed`.
    pub action: Option<String>,
    /// Entries about this kind of object, e.g. `user`.
    pub object_type: Option<String>,
    /// Entries about this object.
    pub object_id: Option<ID>,
    /// From this instant on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Before this instant (exclusive).
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    fn parse(self) -> Result<audit::AuditFilter> {
        Ok(audit::AuditFilter {
            actor: self.actor_id.as_ref().map(|id| parse_id(id, "filter.actorId")).transpose()?,
            action: self.action,
            object_type: self.object_type,
            object_id: self.object_id.as_ref().map(|id| parse_id(id, "filter.objectId")).transpose()?,
            since: self.since,
            until: self.until,
        })
    }
}

/// Audit log queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// A workspace's audit trail, newest first, narrowed by `filter`. Owners and admins only.
    #[graphql(complexity = "pagination::cost(first, 50, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose audit trail is read.")] workspace_id: ID,
        #[graphql(desc = "Which entries; every field narrows.")] filter: Option<AuditFilter>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last entry of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, AuditEntry, EmptyFields, EmptyFields>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let page = pagination::page(first, after)?;
        let filter = filter.map(AuditFilter::parse).transpose()?.unwrap_or_default();
        let result = audit::list(ctx.app()?, ctx.actor()?, workspace, filter, page).await?;
        let mut connection = Connection::new(page.after.is_some(), result.has_next_page);
        connection
            .edges
            .extend(result.items.into_iter().map(|entry| Edge::new(entry.id.to_string(), AuditEntry(entry))));
        Ok(connection)
    }
}
