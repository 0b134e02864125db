//! Invitations (and the addresses that unsubscribed from them), department members, bans and timeouts, and the workspace settings they need. New
//! tables, and new columns that are nullable or have a default: existing rows stay valid and keep
//! today's behaviour (admins invite; joining does not require a verified email; nobody is timed
//! out), no backfill.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    integer, integer_null, pk_uuid, string, string_null, string_uniq, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(from: &'static str, column: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(n(from), n(column)).to(n(to), n("id")).on_delete(ForeignKeyAction::Cascade).to_owned()
}

async fn unique(m: &SchemaManager<'_>, name: &str, table: &'static str, columns: &[&'static str]) -> Result<(), DbErr> {
    let mut index = Index::create().name(name).table(n(table)).unique().to_owned();
    for column in columns {
        index.col(n(column));
    }
    m.create_index(index).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(n("invite_policy")).string().not_null().default("admins").to_owned(),
            ColumnDef::new(n("require_verified_email")).boolean().not_null().default(false).to_owned(),
            ColumnDef::new(n("description")).string().null().to_owned(),
        ] {
            m.alter_table(Table::alter().table(n("workspaces")).add_column(column).to_owned()).await?;
        }
        m.alter_table(
            Table::alter()
                .table(n("memberships"))
                .add_column(ColumnDef::new(n("timed_out_until")).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(n("invitations"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("workspace_id")))
                .col(string_null(n("email")))
                .col(string(n("role")))
                .col(uuid_null(n("department_id")))
                .col(string_uniq(n("token_hash")))
                .col(uuid(n("created_by")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone(n("expires_at")))
                .col(integer_null(n("max_uses")))
                .col(integer(n("uses")))
                .col(timestamp_with_time_zone_null(n("revoked_at")))
                .foreign_key(&mut cascade("invitations", "workspace_id", "workspaces"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_invitations_workspace").table(n("invitations")).col(n("workspace_id")).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(n("invitation_uses"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("invitation_id")))
                .col(uuid(n("user_id")))
                .col(timestamp_with_time_zone(n("used_at")))
                .foreign_key(&mut cascade("invitation_uses", "invitation_id", "invitations"))
                .foreign_key(&mut cascade("invitation_uses", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        unique(m, "idx_invitation_uses_person", "invitation_uses", &["invitation_id", "user_id"]).await?;
        m.create_table(
            Table::create()
                .table(n("department_members"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("department_id")))
                .col(uuid(n("workspace_id")))
                .col(uuid(n("user_id")))
                .col(timestamp_with_time_zone(n("created_at")))
                .foreign_key(&mut cascade("department_members", "department_id", "departments"))
                .foreign_key(&mut cascade("department_members", "workspace_id", "workspaces"))
                .foreign_key(&mut cascade("department_members", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        unique(m, "idx_department_members_person", "department_members", &["department_id", "user_id"]).await?;
        m.create_index(
            Index::create()
                .name("idx_department_members_user")
                .table(n("department_members"))
                .col(n("workspace_id"))
                .col(n("user_id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(n("workspace_bans"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("workspace_id")))
                .col(uuid(n("user_id")))
                .col(string_null(n("reason")))
                .col(uuid(n("banned_by")))
                .col(timestamp_with_time_zone(n("created_at")))
                .foreign_key(&mut cascade("workspace_bans", "workspace_id", "workspaces"))
                .foreign_key(&mut cascade("workspace_bans", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        unique(m, "idx_workspace_bans_person", "workspace_bans", &["workspace_id", "user_id"]).await?;
        // Addresses that used a List-Unsubscribe link: no more invitation mail goes to them.
        m.create_table(
            Table::create()
                .table(n("mail_suppressions"))
                .col(pk_uuid(n("id")))
                .col(string_uniq(n("email")))
                .col(timestamp_with_time_zone(n("created_at")))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["mail_suppressions", "workspace_bans", "department_members", "invitation_uses", "invitations"] {
            m.drop_table(Table::drop().table(n(table)).to_owned()).await?;
        }
        m.alter_table(Table::alter().table(n("memberships")).drop_column(n("timed_out_until")).to_owned()).await?;
        for column in ["description", "require_verified_email", "invite_policy"] {
            m.alter_table(Table::alter().table(n("workspaces")).drop_column(n(column)).to_owned()).await?;
        }
        Ok(())
    }
}
