//! The membership stream of a workspace, and the rule every workspace-scoped stream shares: it ends
//! when the viewer is removed from the workspace (at the removal's event, or at the next periodic
//! re-check when that event is lost).

use futures::StreamExt as _;
use futures::stream::BoxStream;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Role;
use crate::error::Result;
use crate::events::{Event, Topic};
use crate::ids::{UserId, WorkspaceId};
use crate::recheck::{while_allowed, workspace_access};
use crate::workspaces::queries;

/// What happened to a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipChangeKind {
    /// Someone joined or was added.
    Added,
    /// Someone left or was removed.
    Removed,
    /// Someone's role changed.
    RoleChanged,
    /// Someone was timed out, or their timeout was lifted (`timed_out_until` says which).
    TimedOut,
}

/// A membership change in a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipChange {
    pub kind: MembershipChangeKind,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    /// The role after the change (absent on removal and timeouts).
    pub role: Option<Role>,
    /// Until when the member is timed out (on `TimedOut`; absent when lifted).
    pub timed_out_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl MembershipChange {
    fn from_event(event: &Event) -> Option<Self> {
        if let Event::MemberTimedOut { workspace_id, user_id, until } = event {
            return Some(Self {
                kind: MembershipChangeKind::TimedOut,
                workspace_id: *workspace_id,
                user_id: *user_id,
                role: None,
                timed_out_until: *until,
            });
        }
        let (kind, workspace_id, user_id, role) = match event {
            Event::MemberAdded { workspace_id, user_id, role } => {
                (MembershipChangeKind::Added, *workspace_id, *user_id, Some(*role))
            }
            Event::MemberRemoved { workspace_id, user_id } => {
                (MembershipChangeKind::Removed, *workspace_id, *user_id, None)
            }
            Event::RoleChanged { workspace_id, user_id, role } => {
                (MembershipChangeKind::RoleChanged, *workspace_id, *user_id, Some(*role))
            }
            _ => return None,
        };
        Some(Self { kind, workspace_id, user_id, role, timed_out_until: None })
    }
}

/// Members added, removed, re-roled or timed out in a workspace the actor belongs to. Ends when the actor is
/// removed from it.
///
/// # Errors
/// `NOT_FOUND` when the actor is not a member.
pub async fn membership_events(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
) -> Result<BoxStream<'static, MembershipChange>> {
    let events = workspace_stream(app, actor, workspace).await?;
    Ok(events.filter_map(|event| futures::future::ready(MembershipChange::from_event(&event))).boxed())
}

/// The events of a workspace's topic for a member, subscribed before the membership check (nothing
/// published between the two is missed), ending when the actor is removed from the workspace.
///
/// # Errors
/// `UNAUTHENTICATED`; `NOT_FOUND` when the actor is not a member.
pub(crate) async fn workspace_stream(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
) -> Result<BoxStream<'static, Event>> {
    let me = actor.user_id()?;
    let events = app.bus().subscribe(&Topic::Workspace(workspace));
    queries::workspace(app, actor, workspace).await?;
    let events = events
        .take_while(move |event| {
            let removed_me = matches!(event, Event::MemberRemoved { workspace_id, user_id }
                if *workspace_id == workspace && *user_id == me);
            futures::future::ready(!removed_me)
        })
        .boxed();
    Ok(while_allowed(events, app.chat().stream_recheck, workspace_access(app, actor, workspace)))
}
