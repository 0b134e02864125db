//! The `invitations` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// The invited address; `None` for a shareable link.
    pub email: Option<String>,
    pub role: String,
    pub department_id: Option<Uuid>,
    /// SHA-256 of the token, hex.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// `None`: any number of people (links only).
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
