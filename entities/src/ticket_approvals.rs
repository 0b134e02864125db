//! The `ticket_approvals` table: one approval round of a ticket.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_approvals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub policy_id: Uuid,
    /// `any` | `all`, copied from the policy when asked.
    pub mode: String,
    /// `pending` | `approved` | `rejected`
    pub status: String,
    pub reason: Option<String>,
    pub requested_by: Uuid,
    pub requested_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
