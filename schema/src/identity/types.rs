//! Identity types; each wraps a domain read model.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use stoa_domain::identity;

use crate::context::ContextExt as _;
use crate::error::Result;

/// The signed-in user's own account, including private fields.
pub struct Viewer(pub identity::User);

/// The signed-in user's own account, including private fields.
#[Object]
impl Viewer {
    /// The user's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Sign-in email, lower-cased. Visible only to its owner.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Name shown to others.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// Custom status text, e.g. "in a meeting".
    async fn status_text(&self) -> Option<&str> {
        self.0.status_text.as_deref()
    }
    /// Custom status emoji.
    async fn status_emoji(&self) -> Option<&str> {
        self.0.status_emoji.as_deref()
    }
    /// The profile picture: a signed URL valid for an hour; absent without one.
    async fn avatar_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default_with = "AvatarSize::Large",
            desc = "Which rendering: `LARGE` (256 px, the default) or `SMALL` (64 px)."
        )]
        size: AvatarSize,
    ) -> Result<Option<String>> {
        avatar_url(ctx, self.0.avatar_key.as_deref(), size).await
    }
    /// The OpenID providers the account signs in with, oldest link first.
    async fn linked_identities(&self, ctx: &Context<'_>) -> Result<Vec<LinkedIdentity>> {
        let list = identity::linked_identities(ctx.app()?, &self.0).await?;
        Ok(list
            .into_iter()
            .map(|l| LinkedIdentity { provider: l.provider, email: l.email, linked_at: l.linked_at })
            .collect())
    }
    /// Whether `email` has been proven by a mailed link.
    async fn email_verified(&self) -> bool {
        self.0.email_verified_at.is_some()
    }
    /// When `email` was proven.
    async fn email_verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.email_verified_at
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What other people see of a user.
pub struct User(pub identity::UserCard);

/// What other people see of a user.
#[Object]
impl User {
    /// The user's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name shown to others.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// Custom status text.
    async fn status_text(&self) -> Option<&str> {
        self.0.status_text.as_deref()
    }
    /// Custom status emoji.
    async fn status_emoji(&self) -> Option<&str> {
        self.0.status_emoji.as_deref()
    }
    /// Their profile picture: a signed URL valid for an hour; absent without one.
    async fn avatar_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default_with = "AvatarSize::Large",
            desc = "Which rendering: `LARGE` (256 px, the default) or `SMALL` (64 px)."
        )]
        size: AvatarSize,
    ) -> Result<Option<String>> {
        let set = crate::context::loader::<crate::identity::AvatarKeys>(ctx)?.load_one(self.0.id).await?;
        avatar_url(ctx, set.as_deref(), size).await
    }
}

/// A fresh token pair. Send `accessToken` as `Authorization: Bearer …` (or in the WebSocket
/// `connection_init` payload); keep `refreshToken` secret and exchange it with `refreshSession`.
pub struct AuthPayload(pub identity::AuthSession);

/// A fresh token pair. Send `accessToken` as `Authorization: Bearer …` (or in the WebSocket
/// `connection_init` payload); keep `refreshToken` secret and exchange it with `refreshSession`.
#[Object]
impl AuthPayload {
    /// Short-lived JWT for requests.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }
    /// When the access token stops working.
    async fn access_token_expires_at(&self) -> DateTime<Utc> {
        self.0.access_expires_at
    }
    /// Opaque, single-use token for `refreshSession`. Using one twice revokes the session.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }
    /// When the refresh token expires.
    async fn refresh_token_expires_at(&self) -> DateTime<Utc> {
        self.0.refresh_expires_at
    }
    /// The signed-in user.
    async fn viewer(&self) -> Viewer {
        Viewer(self.0.user.clone())
    }
}

/// Input of `register`.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Sign-in email (case-insensitive, must be unique).
    pub email: String,
    /// 8 to 128 characters, not one of the 10,000 most common passwords.
    pub password: String,
    /// 1 to 64 characters.
    pub display_name: String,
    /// An invitation to accept while signing up (the token of its link). An email invitation to
    /// this address also proves the address.
    pub invitation_token: Option<String>,
}

/// Input of `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// Sign-in email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Input of `refreshSession` and `logout`.
#[derive(InputObject)]
pub struct RefreshTokenInput {
    /// The refresh token from the last `AuthPayload`.
    pub refresh_token: String,
}

/// The size of a profile picture or icon, in pixels.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AvatarSize {
    /// 256 × 256.
    Large,
    /// 64 × 64.
    Small,
}

impl AvatarSize {
    pub(crate) const fn pixels(self) -> u32 {
        match self {
            Self::Large => 256,
            Self::Small => 64,
        }
    }
}

/// A signed URL (one hour) of the rendering `size` of avatar `set`.
pub(crate) async fn avatar_url(ctx: &Context<'_>, set: Option<&str>, size: AvatarSize) -> Result<Option<String>> {
    match set {
        Some(set) => Ok(Some(stoa_domain::files::avatar_url(ctx.app()?, set, size.pixels()).await?)),
        None => Ok(None),
    }
}

/// An identity at an OpenID provider linked to the account.
#[derive(async_graphql::SimpleObject)]
pub struct LinkedIdentity {
    /// The provider's configured name (`STOA_OIDC_PROVIDERS`).
    pub provider: String,
    /// The verified address the provider gave when it was linked.
    pub email: String,
    /// When it was linked.
    pub linked_at: DateTime<Utc>,
}

/// Result of a mutation whose effect is mailed or takes place elsewhere.
#[derive(async_graphql::SimpleObject)]
pub struct DonePayload {
    /// Always true; failures are errors.
    pub ok: bool,
}

/// Input of `changeEmail`.
#[derive(async_graphql::InputObject)]
pub struct ChangeEmailInput {
    /// The new address; it takes effect once the link mailed there is opened.
    pub new_email: String,
    /// The current password.
    pub password: String,
}

/// Input of `resetPassword`.
#[derive(async_graphql::InputObject)]
pub struct ResetPasswordInput {
    /// The token from the reset link.
    pub token: String,
    /// 8 to 128 characters, not one of the 10,000 most common passwords.
    pub new_password: String,
}

/// Input of `changePassword`.
#[derive(async_graphql::InputObject)]
pub struct ChangePasswordInput {
    /// The current password.
    pub current_password: String,
    /// 8 to 128 characters, not one of the 10,000 most common passwords.
    pub new_password: String,
}

/// Result of `verifyEmail`.
#[derive(async_graphql::SimpleObject)]
pub struct VerifyEmailPayload {
    /// The account, with its address now verified.
    pub viewer: Viewer,
}

/// Result of `logout`.
#[derive(async_graphql::SimpleObject)]
pub struct LogoutPayload {
    /// Always true: the session's refresh tokens are revoked.
    pub ok: bool,
}

/// Input of `updateProfile`. Omitted fields stay as they are; `null` clears a status field.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// New display name.
    pub display_name: Option<String>,
    /// New status text; null clears it.
    pub status_text: async_graphql::MaybeUndefined<String>,
    /// New status emoji; null clears it.
    pub status_emoji: async_graphql::MaybeUndefined<String>,
}

/// Result of `updateProfile`.
pub struct UpdateProfilePayload(pub identity::User);

/// Result of `updateProfile`.
#[Object]
impl UpdateProfilePayload {
    /// The updated account.
    async fn viewer(&self) -> Viewer {
        Viewer(self.0.clone())
    }
}
