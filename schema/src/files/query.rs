//! File queries.

use async_graphql::{Context, ID, Object};
use stoa_domain::files;

use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::files::types::Attachment;

/// File queries.
#[derive(Default)]
pub struct FilesQuery;

#[Object]
impl FilesQuery {
    /// One attachment: its uploader, or anyone who can read the message it is attached to.
    async fn attachment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The attachment's ID.")] id: ID,
    ) -> Result<Attachment> {
        Ok(Attachment(files::attachment(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?))
    }
}

/// File administration (owners and admins).
#[derive(Default)]
pub struct FilesAdminQuery;

#[Object]
impl FilesAdminQuery {
    /// Files whose virus scan failed for good (the dead letters), newest first.
    async fn failed_scans(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose failed scans are listed.")] workspace_id: ID,
    ) -> Result<Vec<Attachment>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(files::failed_scans(ctx.app()?, ctx.actor()?, workspace).await?.into_iter().map(Attachment).collect())
    }
}
