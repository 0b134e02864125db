//! The `sla_policies` table: targets in business minutes, by priority, department and category.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub calendar_id: Uuid,
    /// `None`: any.
    pub priority: Option<String>,
    pub department_id: Option<Uuid>,
    pub category: Option<String>,
    pub first_response_minutes: i32,
    pub resolution_minutes: i32,
    pub warn_before_minutes: i32,
    /// States that stop the clock, e.g. `["waiting_on_requester"]`.
    pub pauses_in: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
