//! GraphQL surface of approvals: policies, asking, deciding, and a ticket's rounds.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use stoa_domain::tickets as t;

use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::identity::User;
use crate::tickets::types::Ticket;
use crate::workspaces::load_user;

/// Whether one decider's approval is enough, or every decider's is needed.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ApprovalMode {
    /// The first approval decides.
    Any,
    /// Every decider must approve; one rejection decides.
    All,
}

impl From<ApprovalMode> for t::ApprovalMode {
    fn from(m: ApprovalMode) -> Self {
        match m {
            ApprovalMode::Any => Self::Any,
            ApprovalMode::All => Self::All,
        }
    }
}

impl From<t::ApprovalMode> for ApprovalMode {
    fn from(m: t::ApprovalMode) -> Self {
        match m {
            t::ApprovalMode::Any => Self::Any,
            t::ApprovalMode::All => Self::All,
        }
    }
}

/// Who decides a ticket's approval and how.
pub struct ApprovalPolicy(pub t::ApprovalPolicy);

/// Who decides a ticket's approval and how.
#[Object]
impl ApprovalPolicy {
    /// The policy's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `ANY` or `ALL`.
    async fn mode(&self) -> ApprovalMode {
        self.0.mode.into()
    }
    /// The users who decide.
    async fn decider_ids(&self) -> Vec<ID> {
        self.0.decider_ids.iter().map(|u| ID(u.to_string())).collect()
    }
    /// A department whose agents decide too.
    async fn decider_department_id(&self) -> Option<ID> {
        self.0.decider_department_id.map(|d| ID(d.to_string()))
    }
    /// Who may ask under it (empty: the ticket's assignee and moderators).
    async fn requester_ids(&self) -> Vec<ID> {
        self.0.requester_ids.iter().map(|u| ID(u.to_string())).collect()
    }
}

/// One decider of an approval round and their decision.
pub struct ApprovalDecision(pub t::Decision);

/// One decider of an approval round and their decision.
#[Object]
impl ApprovalDecision {
    /// The decider.
    async fn decider(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.decider_id).await
    }
    /// `true` approved, `false` rejected, absent: not yet decided.
    async fn approved(&self) -> Option<bool> {
        self.0.approved
    }
    /// Why (required to reject).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// The scanned documents the decision carries.
    async fn attachment_ids(&self) -> Vec<ID> {
        self.0.attachment_ids.iter().map(|a| ID(a.to_string())).collect()
    }
    /// When it was decided.
    async fn decided_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.decided_at
    }
}

/// One approval round of a ticket.
pub struct TicketApproval(pub t::Approval);

/// One approval round of a ticket.
#[Object]
impl TicketApproval {
    /// The round's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The policy it was asked under.
    async fn policy_id(&self) -> ID {
        ID(self.0.policy_id.to_string())
    }
    /// `ANY` or `ALL`, as the policy said when asked.
    async fn mode(&self) -> ApprovalMode {
        self.0.mode.into()
    }
    /// `pending`, `approved` or `rejected`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Why it was asked.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// Who asked.
    async fn requested_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.requested_by).await
    }
    /// When it was asked.
    async fn requested_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.requested_at
    }
    /// When it was decided.
    async fn decided_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.decided_at
    }
    /// Its deciders and their decisions (written once each).
    async fn decisions(&self) -> Vec<ApprovalDecision> {
        self.0.decisions.iter().cloned().map(ApprovalDecision).collect()
    }
}

/// A new approval policy.
#[derive(InputObject)]
pub struct ApprovalPolicyInput {
    /// Its name.
    pub name: String,
    /// `ANY` (the default) or `ALL`.
    #[graphql(default_with = "ApprovalMode::Any")]
    pub mode: ApprovalMode,
    /// Users who decide (members of the workspace, at most 50).
    #[graphql(default)]
    pub decider_ids: Vec<ID>,
    /// A department whose agents decide too.
    pub decider_department_id: Option<ID>,
    /// Who may ask under it (empty: the ticket's assignee and moderators).
    #[graphql(default)]
    pub requester_ids: Vec<ID>,
}

/// Approval queries.
#[derive(Default)]
pub struct ApprovalQuery;

#[Object]
impl ApprovalQuery {
    /// The workspace's approval policies, oldest first.
    async fn approval_policies(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
    ) -> Result<Vec<ApprovalPolicy>> {
        let found = t::approval_policies(ctx.app()?, ctx.actor()?, parse_id(&workspace_id, "workspaceId")?).await?;
        Ok(found.into_iter().map(ApprovalPolicy).collect())
    }
}

/// Approval mutations.
#[derive(Default)]
pub struct ApprovalMutation;

#[Object]
impl ApprovalMutation {
    /// Creates an approval policy (owners and admins).
    async fn create_approval_policy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
        #[graphql(desc = "The policy.")] input: ApprovalPolicyInput,
    ) -> Result<ApprovalPolicy> {
        let ids = |list: &[ID], field| list.iter().map(|u| parse_id(u, field)).collect::<Result<Vec<_>>>();
        let input = t::ApprovalPolicyInput {
            name: input.name,
            mode: input.mode.into(),
            decider_ids: ids(&input.decider_ids, "deciderIds")?,
            decider_department_id: input
                .decider_department_id
                .as_ref()
                .map(|d| parse_id(d, "deciderDepartmentId"))
                .transpose()?,
            requester_ids: ids(&input.requester_ids, "requesterIds")?,
        };
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(ApprovalPolicy(t::create_approval_policy(ctx.app()?, ctx.actor()?, workspace, input).await?))
    }

    /// Asks for an approval under a policy: the ticket turns `PENDING_APPROVAL` until decided.
    async fn request_approval(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket.")] ticket_id: ID,
        #[graphql(desc = "The version the caller read.")] version: i64,
        #[graphql(desc = "The policy to ask under.")] policy_id: ID,
        #[graphql(desc = "Why (at most 2,000 characters).")] reason: Option<String>,
    ) -> Result<Ticket> {
        let ticket = parse_id(&ticket_id, "ticketId")?;
        let policy = parse_id(&policy_id, "policyId")?;
        Ok(Ticket(t::request_approval(ctx.app()?, ctx.actor()?, ticket, version, policy, reason).await?))
    }

    /// Decides the ticket's pending approval, once. A rejection needs a reason; the requester and the
    /// assignee never decide their own ticket.
    async fn decide_approval(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket.")] ticket_id: ID,
        #[graphql(desc = "The version the caller read.")] version: i64,
        #[graphql(desc = "`true` to approve, `false` to reject.")] approve: bool,
        #[graphql(desc = "Why (required to reject; at most 2,000 characters).")] reason: Option<String>,
        #[graphql(desc = "The decider's own scanned files to attach (at most 10).", default)] attachment_ids: Vec<ID>,
    ) -> Result<Ticket> {
        let input = t::DecisionInput {
            ticket: parse_id(&ticket_id, "ticketId")?,
            version,
            approve,
            reason,
            attachment_ids: attachment_ids.iter().map(|a| parse_id(a, "attachmentIds")).collect::<Result<_>>()?,
        };
        Ok(Ticket(t::decide_approval(ctx.app()?, ctx.actor()?, input).await?))
    }
}
