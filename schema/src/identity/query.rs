//! Identity queries.

use async_graphql::{Context, Object};
use stoa_domain::identity;

use crate::context::ContextExt as _;
use crate::error::Result;
use crate::identity::types::Viewer;

/// Identity queries.
#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in user. `UNAUTHENTICATED` without a valid access token.
    async fn me(&self, ctx: &Context<'_>) -> Result<Viewer> {
        Ok(Viewer(identity::me(ctx.app()?, ctx.actor()?).await?))
    }
}
