//! The `attachments` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub uploader_id: Uuid,
    pub message_id: Option<Uuid>,
    pub ticket_id: Option<Uuid>,
    pub filename: String,
    pub mime: String,
    pub size: i64,
    pub sha256: Option<String>,
    /// `awaiting_upload` | `pending_scan` | `clean` | `infected` | `scan_failed`
    pub status: String,
    pub scan_detail: Option<String>,
    pub thumbnail_key: Option<String>,
    pub created_at: DateTimeUtc,
    pub scanned_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
