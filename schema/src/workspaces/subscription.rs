//! Workspace subscriptions: membership changes, authorized when the stream starts.

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures::{Stream, StreamExt as _};
use stoa_domain::events::{Event, Topic};
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
    /// The role after the change (absent on removal).
    pub role: Option<Role>,
}

fn to_change(event: &Event) -> Option<MembershipChanged> {
    let (change, workspace_id, user_id, role) = match event {
        Event::MemberAdded { workspace_id, user_id, role } => {
            (MembershipChange::Added, *workspace_id, *user_id, Some(*role))
        }
        Event::MemberRemoved { workspace_id, user_id } => (MembershipChange::Removed, *workspace_id, *user_id, None),
        Event::RoleChanged { workspace_id, user_id, role } => {
            (MembershipChange::RoleChanged, *workspace_id, *user_id, Some(*role))
        }
        _ => return None,
    };
    Some(MembershipChanged {
        change,
        workspace_id: ID(workspace_id.to_string()),
        user_id: ID(user_id.to_string()),
        role: role.map(Role::from),
    })
}

#[Subscription]
impl WorkspaceSubscription {
    /// Members added, removed or re-roled in a workspace the viewer belongs to. Ends when the viewer
    /// is removed from it.
    async fn membership_changed(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
    ) -> Result<impl Stream<Item = MembershipChanged>> {
        let app = ctx.app()?.clone();
        let actor = ctx.actor()?.clone();
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        // Subscribe first, then authorize: no event between the check and the stream is lost.
        let events = app.bus().subscribe(&Topic::Workspace(workspace));
        ws::workspace(&app, &actor, workspace).await?;
        let me = actor.user_id()?;
        let stream = events
            .take_while(move |event| {
                let removed_me = matches!(event, Event::MemberRemoved { user_id, .. } if *user_id == me);
                futures::future::ready(!removed_me)
            })
            .filter_map(|event| futures::future::ready(to_change(&event)));
        Ok(stream)
    }
}
