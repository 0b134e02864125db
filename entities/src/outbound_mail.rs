//! The `outbound_mail` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbound_mail")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `verify_email`, `email_change`, `password_reset`, `invitation`.
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    /// Blank once sent or given up.
    pub body_text: String,
    /// Blank once sent or given up.
    pub body_html: String,
    pub list_unsubscribe: Option<String>,
    pub workspace_id: Option<Uuid>,
    /// `queued`, `sent`, `dead`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
