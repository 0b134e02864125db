//! Workspace queries.

use async_graphql::{Context, ID, Object};
use stoa_domain::workspaces as ws;

use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::workspaces::types::Workspace;

/// Workspace queries.
#[derive(Default)]
pub struct WorkspaceQuery;

#[Object]
impl WorkspaceQuery {
    /// The workspaces the viewer belongs to.
    #[graphql(complexity = "10 * child_complexity")]
    async fn workspaces(&self, ctx: &Context<'_>) -> Result<Vec<Workspace>> {
        Ok(ws::my_workspaces(ctx.app()?, ctx.actor()?).await?.into_iter().map(Workspace).collect())
    }

    /// One workspace. `NOT_FOUND` unless the viewer is a member.
    async fn workspace(&self, ctx: &Context<'_>, #[graphql(desc = "The workspace's ID.")] id: ID) -> Result<Workspace> {
        Ok(Workspace(ws::workspace(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?))
    }
}
