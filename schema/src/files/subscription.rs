//! File subscriptions: scan results of the viewer's own uploads.

use async_graphql::{Context, Subscription};
use futures::{Stream, StreamExt as _};
use stoa_domain::events::{Event, Topic};

use crate::context::ContextExt as _;
use crate::error::Result;
use crate::files::types::Attachment;

/// File subscriptions.
#[derive(Default)]
pub struct FilesSubscription;

#[Subscription]
impl FilesSubscription {
    /// Scan results of the viewer's uploads.
    #[expect(clippy::unused_async, reason = "async-graphql subscription resolvers are async")]
    async fn attachment_scanned(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Attachment>> {
        let me = ctx.actor()?.user_id()?;
        let events = ctx.app()?.bus().subscribe(&Topic::User(me));
        Ok(events.filter_map(|e| {
            futures::future::ready(match e {
                Event::AttachmentScanned(a) => Some(Attachment(a)),
                _ => None,
            })
        }))
    }
}
