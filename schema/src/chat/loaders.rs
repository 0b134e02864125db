//! Batch loaders for message and channel relations: a history page costs a constant number of
//! statements however many messages it holds.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use stoa_domain::AppCtx;
use stoa_domain::chat::{self, ReactionSummary, UnreadCounts};
use stoa_domain::ids::{ChannelId, MessageId, UserId};

use crate::error::GqlError;

/// Reactions per message, for messages the request already read through the domain.
pub struct ReactionsLoader(pub AppCtx);

impl Loader<MessageId> for ReactionsLoader {
    type Value = Vec<ReactionSummary>;
    type Error = GqlError;

    async fn load(&self, ids: &[MessageId]) -> Result<HashMap<MessageId, Self::Value>, GqlError> {
        Ok(chat::reactions_by_messages(&self.0, ids).await?)
    }
}

/// Distinct reply authors per thread root.
pub struct ThreadParticipantsLoader(pub AppCtx);

impl Loader<MessageId> for ThreadParticipantsLoader {
    type Value = Vec<UserId>;
    type Error = GqlError;

    async fn load(&self, ids: &[MessageId]) -> Result<HashMap<MessageId, Self::Value>, GqlError> {
        Ok(chat::thread_participants(&self.0, ids).await?)
    }
}

/// Unread and mention counts per channel for the request's user.
pub struct UnreadLoader(pub AppCtx, pub Option<UserId>);

impl Loader<ChannelId> for UnreadLoader {
    type Value = UnreadCounts;
    type Error = GqlError;

    async fn load(&self, ids: &[ChannelId]) -> Result<HashMap<ChannelId, Self::Value>, GqlError> {
        match self.1 {
            Some(user) => Ok(chat::unread_counts(&self.0, user, ids).await?),
            None => Ok(HashMap::new()),
        }
    }
}
