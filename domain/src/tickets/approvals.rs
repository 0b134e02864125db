//! Approvals: a policy names who decides (users, a department's agents) and whether `ANY` or `ALL`
//! of them must approve, and who may ask. Asking moves the ticket to `pending_approval` and fixes
//! the round's deciders (never its requester or assignee); only a decision leaves it: a rejection
//! (with a reason) returns it to `in_progress`, flagged and re-submittable; an approval does so
//! once one (`ANY`) or every (`ALL`) decider approved. Decisions are written once, and may carry
//! the decider's scanned documents.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use stoa_entities::{approval_policies, attachments, ticket_approval_deciders, ticket_approvals, tickets};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Permission;
use crate::error::{DomainError, Result};
use crate::ids::{AttachmentId, DepartmentId, TicketId, UserId, WorkspaceId};
use crate::tickets::lifecycle::{Change, apply, fire_as, load_for_change, refusal, settings};
use crate::tickets::model::Ticket;
use crate::tickets::queries;
use crate::tickets::store;
use crate::tickets::transitions::{Action, Party};
use crate::workspaces::department_members;
use crate::workspaces::store::{membership, require_permission};

/// Whether one approval or all of them are needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalMode {
    Any,
    All,
}

impl ApprovalMode {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::All => "all",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "all" { Self::All } else { Self::Any }
    }
}

/// An approval policy as the API shows it.
#[derive(Debug, Clone)]
pub struct ApprovalPolicy {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub mode: ApprovalMode,
    pub decider_ids: Vec<UserId>,
    pub decider_department_id: Option<DepartmentId>,
    pub requester_ids: Vec<UserId>,
}

/// What a new policy says.
#[derive(Debug, Clone)]
pub struct ApprovalPolicyInput {
    pub name: String,
    pub mode: ApprovalMode,
    pub decider_ids: Vec<UserId>,
    pub decider_department_id: Option<DepartmentId>,
    /// Empty: the ticket's assignee and moderators may ask.
    pub requester_ids: Vec<UserId>,
}

/// One decider of a round and their decision, if made.
#[derive(Debug, Clone)]
pub struct Decision {
    pub decider_id: UserId,
    /// `Some(true)` approved, `Some(false)` rejected, `None` not yet.
    pub approved: Option<bool>,
    pub reason: Option<String>,
    pub attachment_ids: Vec<AttachmentId>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// One approval round of a ticket.
#[derive(Debug, Clone)]
pub struct Approval {
    pub id: uuid::Uuid,
    pub policy_id: uuid::Uuid,
    pub mode: ApprovalMode,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub reason: Option<String>,
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decisions: Vec<Decision>,
}

fn ids_of(value: &serde_json::Value) -> Vec<uuid::Uuid> {
    serde_json::from_value::<Vec<uuid::Uuid>>(value.clone()).unwrap_or_default()
}

fn policy_view(row: approval_policies::Model) -> ApprovalPolicy {
    ApprovalPolicy {
        id: row.id,
        workspace_id: row.workspace_id.into(),
        mode: ApprovalMode::parse(&row.mode),
        decider_ids: ids_of(&row.decider_ids).into_iter().map(UserId).collect(),
        decider_department_id: row.decider_department_id.map(DepartmentId),
        requester_ids: ids_of(&row.requester_ids).into_iter().map(UserId).collect(),
        name: row.name,
    }
}

/// Creates an approval policy (owners and admins).
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`, `BAD_USER_INPUT` (name; deciderIds and requesterIds: members of the
/// workspace, at most 50; deciderDepartmentId; no decider at all).
pub async fn create_approval_policy(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    input: ApprovalPolicyInput,
) -> Result<ApprovalPolicy> {
    let name = crate::workspaces::create_workspace::parse_name(&input.name)?;
    if input.decider_ids.is_empty() && input.decider_department_id.is_none() {
        return Err(DomainError::invalid("deciderIds", "name deciders, a deciding department, or both"));
    }
    if input.decider_ids.len() > 50 || input.requester_ids.len() > 50 {
        return Err(DomainError::invalid("deciderIds", "at most 50 deciders and 50 requesters"));
    }
    let mut tx = app.begin().await?;
    require_permission(tx.db(), actor, workspace, Permission::ManageHelpdesk).await?;
    for (field, users) in [("deciderIds", &input.decider_ids), ("requesterIds", &input.requester_ids)] {
        for user in users {
            if membership(tx.db(), workspace, *user).await?.is_none() {
                return Err(DomainError::invalid(field, "every one must be a member of the workspace"));
            }
        }
    }
    if let Some(d) = input.decider_department_id {
        store::lock_department_in(tx.db(), workspace, d, "deciderDepartmentId").await?;
    }
    let id = uuid::Uuid::now_v7();
    let json_ids = |users: &[UserId]| serde_json::json!(users.iter().map(|u| u.0).collect::<Vec<_>>());
    let row = approval_policies::Entity::insert(approval_policies::ActiveModel {
        id: Set(id),
        workspace_id: Set(workspace.0),
        name: Set(name),
        mode: Set(input.mode.as_str().to_owned()),
        decider_ids: Set(json_ids(&input.decider_ids)),
        decider_department_id: Set(input.decider_department_id.map(|d| d.0)),
        requester_ids: Set(json_ids(&input.requester_ids)),
        created_at: Set(app.now()),
    })
    .exec_with_returning(tx.db())
    .await?;
    audit::record(
        &mut tx,
        AuditRecord::new(actor, Some(workspace), "approval_policy.created", "approval_policy", Some(id)),
    )
    .await?;
    tx.commit().await?;
    Ok(policy_view(row))
}

/// The workspace's approval policies, oldest first.
///
/// # Errors
/// `NOT_FOUND` (not a member).
pub async fn approval_policies(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<ApprovalPolicy>> {
    require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let rows = approval_policies::Entity::find()
        .filter(approval_policies::Column::WorkspaceId.eq(workspace.0))
        .order_by_asc(approval_policies::Column::Id)
        .all(app.db())
        .await?;
    Ok(rows.into_iter().map(policy_view).collect())
}

/// Asks for an approval under `policy`: the ticket turns `pending_approval` and the round's
/// deciders are fixed (the policy's users and its department's agents, minus the ticket's
/// requester and assignee).
///
/// # Errors
/// `NOT_FOUND`, `CONFLICT` (stale version), `FORBIDDEN` (the table's part, or not among the
/// policy's requesters), `INVALID_STATE`, `BAD_USER_INPUT` (policyId; reason; a round nobody may decide).
pub async fn request_approval(
    app: &AppCtx,
    actor: &Actor,
    ticket: TicketId,
    version: i64,
    policy: uuid::Uuid,
    reason: Option<String>,
) -> Result<Ticket> {
    let now = app.now();
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > crate::tickets::lifecycle::REASON_CHARS) {
        return Err(DomainError::invalid("reason", "at most 2000 characters"));
    }
    let mut tx = app.begin().await?;
    let (row, viewer, watcher) = load_for_change(&tx, actor, ticket, version).await?;
    let found = approval_policies::Entity::find_by_id(policy).one(tx.db()).await?;
    let Some(found) = found.filter(|p| p.workspace_id == row.workspace_id) else {
        return Err(DomainError::invalid("policyId", "no such approval policy in this workspace"));
    };
    let policy = policy_view(found);
    let (_, window) = settings(tx.db(), row.workspace_id.into()).await?;
    let open = store::open_subtickets(tx.db(), ticket).await?;
    let facts = store::facts(&row, !open.is_empty(), window, now);
    let from = store::state_of(&row);
    let to =
        fire_as(from, Action::RequestApproval, &viewer.parties(&row, watcher), facts).map_err(|r| refusal(r, open))?;
    if !policy.requester_ids.is_empty() && !policy.requester_ids.contains(&viewer.user) {
        return Err(DomainError::Forbidden { needed: Permission::WorkTicket });
    }
    let mut deciders: Vec<UserId> = policy.decider_ids.clone();
    if let Some(d) = policy.decider_department_id {
        deciders.extend(department_members::member_ids(tx.db(), d).await?);
    }
    deciders.retain(|u| u.0 != row.requester_id && Some(u.0) != row.assignee_id);
    deciders.sort();
    deciders.dedup();
    if deciders.is_empty() {
        return Err(DomainError::invalid("policyId", "nobody but the ticket's own people decides under this policy"));
    }
    let approval = uuid::Uuid::now_v7();
    ticket_approvals::Entity::insert(ticket_approvals::ActiveModel {
        id: Set(approval),
        ticket_id: Set(row.id),
        policy_id: Set(policy.id),
        mode: Set(policy.mode.as_str().to_owned()),
        status: Set("pending".to_owned()),
        reason: Set(reason.clone()),
        requested_by: Set(viewer.user.0),
        requested_at: Set(now),
        decided_at: Set(None),
    })
    .exec_without_returning(tx.db())
    .await?;
    let rows = deciders.iter().map(|u| ticket_approval_deciders::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        approval_id: Set(approval),
        user_id: Set(u.0),
        decision: Set(None),
        reason: Set(None),
        attachment_ids: Set(serde_json::json!([])),
        decided_at: Set(None),
    });
    ticket_approval_deciders::Entity::insert_many(rows).exec_without_returning(tx.db()).await?;
    let moved =
        apply(&mut tx, actor, row, Action::RequestApproval, to, Change { reason, ..Change::default() }, now).await?;
    let ticket = queries::view_in(tx.db(), &viewer, moved, now).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// What a decider says.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    pub ticket: TicketId,
    pub version: i64,
    pub approve: bool,
    /// Required to reject.
    pub reason: Option<String>,
    /// The decider's own scanned (clean), unattached files in the workspace.
    pub attachment_ids: Vec<AttachmentId>,
}

/// Records a decision of one of the pending round's deciders, once. A rejection returns the ticket
/// to `in_progress` at once; an approval does when one (`ANY`) or every (`ALL`) decider approved.
///
/// # Errors
/// `NOT_FOUND`, `CONFLICT` (stale version), `FORBIDDEN` (not a decider of the round: the ticket's
/// requester and assignee never are; or already decided), `INVALID_STATE` (no pending round),
/// `BAD_USER_INPUT` (reason, attachmentIds).
pub async fn decide_approval(app: &AppCtx, actor: &Actor, input: DecisionInput) -> Result<Ticket> {
    let now = app.now();
    let reason = input.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if !input.approve && reason.is_none() {
        return Err(DomainError::invalid("reason", "a rejection needs a reason"));
    }
    if reason.as_ref().is_some_and(|r| r.chars().count() > crate::tickets::lifecycle::REASON_CHARS) {
        return Err(DomainError::invalid("reason", "at most 2000 characters"));
    }
    if input.attachment_ids.len() > 10 {
        return Err(DomainError::invalid("attachmentIds", "at most 10 files"));
    }
    let mut tx = app.begin().await?;
    let (row, viewer, _) = load_for_change(&tx, actor, input.ticket, input.version).await?;
    let pending = ticket_approvals::Entity::find()
        .filter(ticket_approvals::Column::TicketId.eq(row.id))
        .filter(ticket_approvals::Column::Status.eq("pending"))
        .one(tx.db())
        .await?;
    let action = if input.approve { Action::Approve } else { Action::Reject };
    let (_, window) = settings(tx.db(), row.workspace_id.into()).await?;
    let facts = store::facts(&row, false, window, now);
    let from = store::state_of(&row);
    let Some(pending) = pending else {
        // No round: the table tells why (wrong state), or the caller is no approver.
        let refused = fire_as(from, action, &viewer.parties(&row, false), facts);
        return Err(
            refused.map_or_else(|r| refusal(r, vec![]), |_| DomainError::Forbidden { needed: Permission::WorkTicket })
        );
    };
    let me = ticket_approval_deciders::Entity::find()
        .filter(ticket_approval_deciders::Column::ApprovalId.eq(pending.id))
        .filter(ticket_approval_deciders::Column::UserId.eq(viewer.user.0))
        .one(tx.db())
        .await?;
    // The requester and the assignee are never deciders of their own ticket.
    let Some(me) = me.filter(|m| m.decision.is_none()) else {
        return Err(DomainError::Forbidden { needed: Permission::WorkTicket });
    };
    let to = fire_as(from, action, &[Party::Approver], facts).map_err(|r| refusal(r, vec![]))?;
    check_documents(&tx, viewer.user, row.workspace_id.into(), &input.attachment_ids).await?;
    for id in &input.attachment_ids {
        attachments::Entity::update_many()
            .col_expr(attachments::Column::TicketId, sea_orm::sea_query::Expr::value(row.id))
            .filter(attachments::Column::Id.eq(id.0))
            .exec(tx.db())
            .await?;
    }
    let written = ticket_approval_deciders::Entity::update_many()
        .col_expr(
            ticket_approval_deciders::Column::Decision,
            sea_orm::sea_query::Expr::value(if input.approve { "approve" } else { "reject" }),
        )
        .col_expr(ticket_approval_deciders::Column::Reason, sea_orm::sea_query::Expr::value(reason.clone()))
        .col_expr(
            ticket_approval_deciders::Column::AttachmentIds,
            sea_orm::sea_query::Expr::value(serde_json::json!(
                input.attachment_ids.iter().map(|a| a.0).collect::<Vec<_>>()
            )),
        )
        .col_expr(ticket_approval_deciders::Column::DecidedAt, sea_orm::sea_query::Expr::value(now))
        .filter(ticket_approval_deciders::Column::Id.eq(me.id))
        .filter(ticket_approval_deciders::Column::Decision.is_null())
        .exec(tx.db())
        .await?;
    if written.rows_affected == 0 {
        return Err(DomainError::Forbidden { needed: Permission::WorkTicket });
    }
    let record = AuditRecord::new(actor, Some(row.workspace_id.into()), "ticket.approval_decided", "ticket", Some(row.id))
        .with(serde_json::json!({ "approval": pending.id, "decision": if input.approve { "approve" } else { "reject" }, "reason": reason }));
    audit::record(&mut tx, record).await?;
    let outstanding = ticket_approval_deciders::Entity::find()
        .filter(ticket_approval_deciders::Column::ApprovalId.eq(pending.id))
        .filter(ticket_approval_deciders::Column::Decision.is_null())
        .all(tx.db())
        .await?
        .len();
    let finished = !input.approve || ApprovalMode::parse(&pending.mode) == ApprovalMode::Any || outstanding == 0;
    let moved = if finished {
        let status = if input.approve { "approved" } else { "rejected" };
        ticket_approvals::Entity::update_many()
            .col_expr(ticket_approvals::Column::Status, sea_orm::sea_query::Expr::value(status))
            .col_expr(ticket_approvals::Column::DecidedAt, sea_orm::sea_query::Expr::value(now))
            .filter(ticket_approvals::Column::Id.eq(pending.id))
            .exec(tx.db())
            .await?;
        apply(&mut tx, actor, row, action, to, Change { reason, ..Change::default() }, now).await?
    } else {
        // Still waiting for the others: the decision is a write to the ticket all the same.
        store::write(tx.db(), &row, tickets::ActiveModel::default(), now).await?
    };
    let ticket = queries::view_in(tx.db(), &viewer, moved, now).await?;
    tx.commit().await?;
    Ok(ticket)
}

async fn check_documents(
    tx: &crate::tx::Tx,
    decider: UserId,
    workspace: WorkspaceId,
    ids: &[AttachmentId],
) -> Result<()> {
    for id in ids {
        let row = attachments::Entity::find_by_id(id.0).one(tx.db()).await?;
        let ok = row.is_some_and(|r| {
            r.uploader_id == decider.0
                && r.workspace_id == workspace.0
                && r.message_id.is_none()
                && r.ticket_id.is_none()
                && r.status == "clean"
        });
        if !ok {
            return Err(DomainError::invalid(
                "attachmentIds",
                "each must be your own scanned, unattached file in this workspace",
            ));
        }
    }
    Ok(())
}

/// The approval rounds of a ticket, oldest first, with their deciders.
///
/// # Errors
/// `NOT_FOUND` (missing or invisible).
pub async fn approvals(app: &AppCtx, actor: &Actor, id: TicketId) -> Result<Vec<Approval>> {
    let _ = queries::ticket(app, actor, id).await?;
    let db = app.db();
    let rounds = ticket_approvals::Entity::find()
        .filter(ticket_approvals::Column::TicketId.eq(id.0))
        .order_by_asc(ticket_approvals::Column::RequestedAt)
        .order_by_asc(ticket_approvals::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for round in rounds {
        let deciders = deciders_of(db, round.id).await?;
        out.push(Approval {
            id: round.id,
            policy_id: round.policy_id,
            mode: ApprovalMode::parse(&round.mode),
            status: round.status,
            reason: round.reason,
            requested_by: UserId(round.requested_by),
            requested_at: round.requested_at,
            decided_at: round.decided_at,
            decisions: deciders,
        });
    }
    Ok(out)
}

async fn deciders_of(db: &impl ConnectionTrait, approval: uuid::Uuid) -> Result<Vec<Decision>> {
    let rows = ticket_approval_deciders::Entity::find()
        .filter(ticket_approval_deciders::Column::ApprovalId.eq(approval))
        .order_by_asc(ticket_approval_deciders::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Decision {
            decider_id: UserId(r.user_id),
            approved: r.decision.as_deref().map(|d| d == "approve"),
            reason: r.reason,
            attachment_ids: ids_of(&r.attachment_ids).into_iter().map(AttachmentId).collect(),
            decided_at: r.decided_at,
        })
        .collect())
}
