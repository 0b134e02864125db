//! Helpdesk tickets (#21): tickets numbered per workspace, their labels, watchers and links,
//! business calendars and SLA policies, and the workspace's close and reopen settings. New tables,
//! and new workspace columns with defaults (72 h auto-close, 14-day reopen window): no backfill.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, integer, json, pk_uuid, string, string_null, text, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(from: &'static str, column: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(n(from), n(column)).to(n(to), n("id")).on_delete(ForeignKeyAction::Cascade).to_owned()
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create().name(name).table(n(table)).to_owned();
    if unique {
        index.unique();
    }
    for column in columns {
        index.col(n(column));
    }
    m.create_index(index).await
}

/// Business calendars and SLA policies.
async fn sla_tables(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(n("sla_calendars"))
            .col(pk_uuid(n("id")))
            .col(uuid(n("workspace_id")))
            .col(string(n("name")))
            .col(string(n("timezone")))
            // [{ "weekday": 1..7, "start": "08:00", "end": "18:00" }]
            .col(json(n("hours")))
            // ["2026-12-25", …]
            .col(json(n("holidays")))
            .col(timestamp_with_time_zone(n("created_at")))
            .foreign_key(&mut cascade("sla_calendars", "workspace_id", "workspaces"))
            .to_owned(),
    )
    .await?;
    m.create_table(
        Table::create()
            .table(n("sla_policies"))
            .col(pk_uuid(n("id")))
            .col(uuid(n("workspace_id")))
            .col(uuid(n("calendar_id")))
            .col(string_null(n("priority")))
            .col(uuid_null(n("department_id")))
            .col(string_null(n("category")))
            .col(integer(n("first_response_minutes")))
            .col(integer(n("resolution_minutes")))
            .col(integer(n("warn_before_minutes")))
            // ["waiting_on_requester", "pending_approval"]
            .col(json(n("pauses_in")))
            .col(timestamp_with_time_zone(n("created_at")))
            .foreign_key(&mut cascade("sla_policies", "workspace_id", "workspaces"))
            .foreign_key(&mut cascade("sla_policies", "calendar_id", "sla_calendars"))
            .foreign_key(&mut cascade("sla_policies", "department_id", "departments"))
            .to_owned(),
    )
    .await
}

/// Approval policies, a ticket's approval rounds, and each round's deciders with their (immutable)
/// decisions.
async fn approval_tables(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(n("approval_policies"))
            .col(pk_uuid(n("id")))
            .col(uuid(n("workspace_id")))
            .col(string(n("name")))
            // any | all
            .col(string(n("mode")))
            .col(json(n("decider_ids")))
            .col(uuid_null(n("decider_department_id")))
            // Who may ask under it; empty: the ticket's assignee and moderators.
            .col(json(n("requester_ids")))
            .col(timestamp_with_time_zone(n("created_at")))
            .foreign_key(&mut cascade("approval_policies", "workspace_id", "workspaces"))
            .to_owned(),
    )
    .await?;
    m.create_table(
        Table::create()
            .table(n("ticket_approvals"))
            .col(pk_uuid(n("id")))
            .col(uuid(n("ticket_id")))
            .col(uuid(n("policy_id")))
            .col(string(n("mode")))
            // pending | approved | rejected
            .col(string(n("status")))
            .col(string_null(n("reason")))
            .col(uuid(n("requested_by")))
            .col(timestamp_with_time_zone(n("requested_at")))
            .col(timestamp_with_time_zone_null(n("decided_at")))
            .foreign_key(&mut cascade("ticket_approvals", "ticket_id", "tickets"))
            .foreign_key(&mut cascade("ticket_approvals", "policy_id", "approval_policies"))
            .to_owned(),
    )
    .await?;
    index(m, "idx_ticket_approvals_ticket", "ticket_approvals", &["ticket_id", "status"], false).await?;
    m.create_table(
        Table::create()
            .table(n("ticket_approval_deciders"))
            .col(pk_uuid(n("id")))
            .col(uuid(n("approval_id")))
            .col(uuid(n("user_id")))
            // approve | reject, once
            .col(string_null(n("decision")))
            .col(string_null(n("reason")))
            .col(json(n("attachment_ids")))
            .col(timestamp_with_time_zone_null(n("decided_at")))
            .foreign_key(&mut cascade("ticket_approval_deciders", "approval_id", "ticket_approvals"))
            .foreign_key(&mut cascade("ticket_approval_deciders", "user_id", "users"))
            .to_owned(),
    )
    .await?;
    index(m, "idx_approval_deciders_person", "ticket_approval_deciders", &["approval_id", "user_id"], true).await
}

/// A ticket's labels, watchers and links.
async fn side_tables(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(n("ticket_labels"))
            .col(pk_uuid(n("id")))
            .col(uuid(n("ticket_id")))
            .col(string(n("label")))
            .foreign_key(&mut cascade("ticket_labels", "ticket_id", "tickets"))
            .to_owned(),
    )
    .await?;
    index(m, "idx_ticket_labels_label", "ticket_labels", &["ticket_id", "label"], true).await?;
    m.create_table(
        Table::create()
            .table(n("ticket_watchers"))
            .col(pk_uuid(n("id")))
            .col(uuid(n("ticket_id")))
            .col(uuid(n("user_id")))
            .foreign_key(&mut cascade("ticket_watchers", "ticket_id", "tickets"))
            .foreign_key(&mut cascade("ticket_watchers", "user_id", "users"))
            .to_owned(),
    )
    .await?;
    index(m, "idx_ticket_watchers_person", "ticket_watchers", &["ticket_id", "user_id"], true).await?;
    index(m, "idx_ticket_watchers_user", "ticket_watchers", &["user_id"], false).await?;
    m.create_table(
        Table::create()
            .table(n("ticket_links"))
            .col(pk_uuid(n("id")))
            .col(uuid(n("ticket_id")))
            .col(uuid(n("other_id")))
            // relates_to | follow_up_of | duplicate_of
            .col(string(n("kind")))
            .col(uuid_null(n("created_by")))
            .col(timestamp_with_time_zone(n("created_at")))
            .foreign_key(&mut cascade("ticket_links", "ticket_id", "tickets"))
            .foreign_key(&mut cascade("ticket_links", "other_id", "tickets"))
            .to_owned(),
    )
    .await?;
    index(m, "idx_ticket_links_pair", "ticket_links", &["ticket_id", "other_id", "kind"], true).await?;
    index(m, "idx_ticket_links_other", "ticket_links", &["other_id"], false).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(n("ticket_auto_close_minutes")).integer().not_null().default(72 * 60).to_owned(),
            ColumnDef::new(n("ticket_reopen_window_minutes")).integer().not_null().default(14 * 24 * 60).to_owned(),
        ] {
            m.alter_table(Table::alter().table(n("workspaces")).add_column(column).to_owned()).await?;
        }
        // One row per workspace: its last ticket number, taken under the row's lock.
        m.create_table(
            Table::create()
                .table(n("ticket_counters"))
                .col(uuid(n("workspace_id")).primary_key())
                .col(big_integer(n("last_number")))
                .foreign_key(&mut cascade("ticket_counters", "workspace_id", "workspaces"))
                .to_owned(),
        )
        .await?;
        sla_tables(m).await?;
        m.create_table(
            Table::create()
                .table(n("tickets"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("workspace_id")))
                .col(big_integer(n("number")))
                .col(string(n("title")))
                .col(text(n("description")))
                .col(string(n("priority")))
                .col(string_null(n("category")))
                .col(uuid(n("requester_id")))
                .col(uuid(n("department_id")))
                .col(uuid_null(n("assignee_id")))
                .col(string(n("state")))
                // The reason of the last hold, cancellation or rejection.
                .col(string_null(n("state_reason")))
                .col(timestamp_with_time_zone_null(n("hold_until")))
                .col(big_integer(n("version")))
                .col(integer(n("reopen_count")))
                .col(uuid_null(n("parent_id")))
                .col(uuid_null(n("merged_into_id")))
                .col(uuid_null(n("channel_id")))
                .col(uuid_null(n("notes_channel_id")))
                .col(ColumnDef::new(n("approval_rejected")).boolean().not_null().default(false))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone(n("updated_at")))
                // When it last took a slot of its department (queue order is priority, then this).
                .col(timestamp_with_time_zone(n("queued_at")))
                .col(timestamp_with_time_zone_null(n("resolved_at")))
                // When a resolved ticket closes by itself (`autoCloseAfter` after its resolution).
                .col(timestamp_with_time_zone_null(n("auto_close_at")))
                .col(timestamp_with_time_zone_null(n("closed_at")))
                .col(timestamp_with_time_zone_null(n("first_response_at")))
                .col(uuid_null(n("sla_policy_id")))
                .col(timestamp_with_time_zone_null(n("first_response_due_at")))
                .col(timestamp_with_time_zone_null(n("resolution_due_at")))
                .col(ColumnDef::new(n("sla_paused_minutes")).big_integer().not_null().default(0))
                .col(timestamp_with_time_zone_null(n("sla_paused_since")))
                // When the warning falls due (warnBefore business minutes before the resolution).
                .col(timestamp_with_time_zone_null(n("sla_warn_at")))
                .col(timestamp_with_time_zone_null(n("sla_warned_at")))
                .col(timestamp_with_time_zone_null(n("breached_at")))
                .foreign_key(&mut cascade("tickets", "workspace_id", "workspaces"))
                .foreign_key(&mut cascade("tickets", "department_id", "departments"))
                .foreign_key(&mut cascade("tickets", "requester_id", "users"))
                .to_owned(),
        )
        .await?;
        index(m, "idx_tickets_number", "tickets", &["workspace_id", "number"], true).await?;
        index(m, "idx_tickets_department_state", "tickets", &["department_id", "state"], false).await?;
        index(m, "idx_tickets_requester", "tickets", &["requester_id"], false).await?;
        index(m, "idx_tickets_parent", "tickets", &["parent_id"], false).await?;
        index(m, "idx_tickets_resolution_due", "tickets", &["resolution_due_at"], false).await?;
        index(m, "idx_tickets_auto_close", "tickets", &["auto_close_at"], false).await?;
        index(m, "idx_tickets_first_response_due", "tickets", &["first_response_due_at"], false).await?;
        index(m, "idx_tickets_warn_at", "tickets", &["sla_warn_at"], false).await?;
        side_tables(m).await?;
        approval_tables(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "ticket_approval_deciders",
            "ticket_approvals",
            "approval_policies",
            "ticket_links",
            "ticket_watchers",
            "ticket_labels",
            "tickets",
            "sla_policies",
            "sla_calendars",
            "ticket_counters",
        ] {
            m.drop_table(Table::drop().table(n(table)).to_owned()).await?;
        }
        for column in ["ticket_reopen_window_minutes", "ticket_auto_close_minutes"] {
            m.alter_table(Table::alter().table(n("workspaces")).drop_column(n(column)).to_owned()).await?;
        }
        Ok(())
    }
}
