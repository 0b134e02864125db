//! Batch loading of public user cards: one query per request for every `User` relation.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use stoa_domain::AppCtx;
use stoa_domain::identity::{self, UserCard};
use stoa_domain::ids::UserId;

use crate::error::GqlError;

/// Loads [`UserCard`]s by id. Built per request; only reached through relations the domain already
/// authorized (a member's user, a department's head).
pub struct UserCards {
    app: AppCtx,
}

impl UserCards {
    #[must_use]
    pub fn new(app: AppCtx) -> Self {
        Self { app }
    }
}

impl Loader<UserId> for UserCards {
    type Value = UserCard;
    type Error = GqlError;

    async fn load(&self, ids: &[UserId]) -> Result<HashMap<UserId, UserCard>, GqlError> {
        Ok(identity::cards_by_ids(&self.app, ids).await?)
    }
}

/// Loads avatar keys by user id, for `User.avatarUrl`: one query per request.
pub struct AvatarKeys(pub AppCtx);

impl Loader<UserId> for AvatarKeys {
    type Value = String;
    type Error = GqlError;

    async fn load(&self, ids: &[UserId]) -> Result<HashMap<UserId, String>, GqlError> {
        Ok(stoa_domain::files::avatar_keys(&self.0, ids).await?)
    }
}
