//! The `approval_policies` table: who decides a ticket's approval, and whether any or all must.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    /// `any` | `all`
    pub mode: String,
    /// User ids, `["…"]`.
    pub decider_ids: Json,
    /// Every agent of this department decides too.
    pub decider_department_id: Option<Uuid>,
    /// Who may ask under it; empty: the ticket's assignee and moderators.
    pub requester_ids: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
