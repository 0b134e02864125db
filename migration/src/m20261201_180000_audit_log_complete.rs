//! The audit log as seed 002 asks: where each action came from (client address, user agent), the
//! actor's reason, and each changed field's before and after; and append-only in the database
//! itself. New nullable columns (`changes` defaults to `{}`): existing rows stay valid, no backfill.
//! Triggers refuse UPDATE and DELETE on both databases (and TRUNCATE on Postgres), so not even a
//! bug or an operator's stray statement through the application's role rewrites history.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG_UP: &str = r"
CREATE FUNCTION stoa_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION stoa_audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION stoa_audit_log_append_only();
";

const PG_DOWN: &str = r"
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
DROP FUNCTION IF EXISTS stoa_audit_log_append_only();
";

const SQLITE_UP: [&str; 2] = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(n("changes")).json().not_null().default("{}").to_owned(),
            ColumnDef::new(n("client_ip")).string().null().to_owned(),
            ColumnDef::new(n("user_agent")).string().null().to_owned(),
            ColumnDef::new(n("reason")).string().null().to_owned(),
        ] {
            // SQLite adds one column per ALTER TABLE.
            m.alter_table(Table::alter().table(n("audit_log")).add_column(column).to_owned()).await?;
        }
        m.create_index(
            Index::create()
                .name("idx_audit_log_object")
                .table(n("audit_log"))
                .col(n("workspace_id"))
                .col(n("object_type"))
                .col(n("object_id"))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(PG_UP).await?;
        } else {
            for statement in SQLITE_UP {
                db.execute_unprepared(statement).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(PG_DOWN).await?;
        } else {
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_update").await?;
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_delete").await?;
        }
        m.drop_index(Index::drop().name("idx_audit_log_object").table(n("audit_log")).to_owned()).await?;
        for column in ["reason", "user_agent", "client_ip", "changes"] {
            m.alter_table(Table::alter().table(n("audit_log")).drop_column(n(column)).to_owned()).await?;
        }
        Ok(())
    }
}
