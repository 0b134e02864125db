//! The `user_identities` table: accounts' identities at OpenID providers.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The configured provider's name (`STOA_OIDC_PROVIDERS`).
    pub provider: String,
    /// The provider's `sub` for the user.
    pub subject: String,
    /// The verified address the provider gave when linking.
    pub email: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
