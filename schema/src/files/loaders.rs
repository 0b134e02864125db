//! Batch loader of message attachments: a history page costs one statement for all its files.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use stoa_domain::AppCtx;
use stoa_domain::files;
use stoa_domain::ids::MessageId;

use crate::error::GqlError;

/// Attachments per message.
pub struct AttachmentsLoader(pub AppCtx);

impl Loader<MessageId> for AttachmentsLoader {
    type Value = Vec<files::Attachment>;
    type Error = GqlError;

    async fn load(&self, ids: &[MessageId]) -> std::result::Result<HashMap<MessageId, Self::Value>, GqlError> {
        Ok(files::attachments_of_messages(&self.0, ids).await?)
    }
}
