//! The `sla_calendars` table: business hours in an IANA zone, and holidays.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_calendars")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub timezone: String,
    /// `[{ "weekday": 1, "start": "08:00", "end": "18:00" }]`, Monday = 1.
    pub hours: Json,
    /// `["2026-12-25"]`
    pub holidays: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
