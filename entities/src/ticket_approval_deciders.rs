//! The `ticket_approval_deciders` table: who decides a round, and their decision once made.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_approval_deciders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub approval_id: Uuid,
    pub user_id: Uuid,
    /// `approve` | `reject`; written once.
    pub decision: Option<String>,
    pub reason: Option<String>,
    /// Scanned documents carried by the decision, `["…"]`.
    pub attachment_ids: Json,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
