//! Workspace subscriptions: membership changes, authorized when the stream starts.

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures::{Stream, StreamExt as _};
use stoa_domain::workspaces as ws;

use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::workspaces::types::Role;

/// Workspace subscriptions.
#[derive(Default)]
pub struct WorkspaceSubscription;

/// What happened to a membership.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum MembershipChange {
    /// Someone joined or was added.
    Added,
    /// Someone left or was removed.
    Removed,
    /// Someone's role changed.
    RoleChanged,
    /// Someone was timed out, or their timeout was lifted (`timedOutUntil` is then absent).
    TimedOut,
}

/// A membership change in a workspace.
#[derive(SimpleObject)]
pub struct MembershipChanged {
    /// The kind of change.
    pub change: MembershipChange,
    /// The workspace.
    pub workspace_id: ID,
    /// The member concerned.
    pub user_id: ID,
    /// The role after the change (absent on removal and timeouts).
    pub role: Option<Role>,
    /// Until when the member may not post, react or join voice (on `TIMED_OUT`).
    pub timed_out_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<ws::MembershipChange> for MembershipChanged {
    fn from(c: ws::MembershipChange) -> Self {
        let change = match c.kind {
            ws::MembershipChangeKind::Added => MembershipChange::Added,
            ws::MembershipChangeKind::Removed => MembershipChange::Removed,
            ws::MembershipChangeKind::RoleChanged => MembershipChange::RoleChanged,
            ws::MembershipChangeKind::TimedOut => MembershipChange::TimedOut,
        };
        Self {
            change,
            workspace_id: ID(c.workspace_id.to_string()),
            user_id: ID(c.user_id.to_string()),
            role: c.role.map(Role::from),
            timed_out_until: c.timed_out_until,
        }
    }
}

#[Subscription]
impl WorkspaceSubscription {
    /// Members added, removed or re-roled in a workspace the viewer belongs to. Ends when the viewer
    /// is removed from it.
    async fn membership_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace to watch, which the viewer must belong to.")] workspace_id: ID,
    ) -> Result<impl Stream<Item = MembershipChanged>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let stream = ws::membership_events(ctx.app()?, ctx.actor()?, workspace).await?;
        Ok(stream.map(MembershipChanged::from))
    }
}
