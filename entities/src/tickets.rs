//! The `tickets` table. Only `domain::tickets` writes `state` (through the transition table).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// Unique and increasing per workspace.
    pub number: i64,
    pub title: String,
    pub description: String,
    /// `low` | `normal` | `high` | `urgent`
    pub priority: String,
    pub category: Option<String>,
    pub requester_id: Uuid,
    pub department_id: Uuid,
    pub assignee_id: Option<Uuid>,
    /// A `State` in snake case (`in_progress`).
    pub state: String,
    /// The reason of the last hold, cancellation or rejection.
    pub state_reason: Option<String>,
    pub hold_until: Option<DateTimeUtc>,
    /// +1 on every write.
    pub version: i64,
    pub reopen_count: i32,
    /// The parent of a sub-ticket.
    pub parent_id: Option<Uuid>,
    pub merged_into_id: Option<Uuid>,
    pub channel_id: Option<Uuid>,
    pub notes_channel_id: Option<Uuid>,
    pub approval_rejected: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub queued_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
    pub auto_close_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub first_response_at: Option<DateTimeUtc>,
    pub sla_policy_id: Option<Uuid>,
    pub first_response_due_at: Option<DateTimeUtc>,
    pub resolution_due_at: Option<DateTimeUtc>,
    /// Business minutes the clock stood still, added to the due dates.
    pub sla_paused_minutes: i64,
    pub sla_paused_since: Option<DateTimeUtc>,
    pub sla_warn_at: Option<DateTimeUtc>,
    pub sla_warned_at: Option<DateTimeUtc>,
    pub breached_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
