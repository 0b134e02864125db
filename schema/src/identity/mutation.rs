//! Identity mutations.

use async_graphql::{Context, MaybeUndefined, Object};
use stoa_domain::identity;

use crate::context::ContextExt as _;
use crate::error::Result;
use crate::identity::types::{
    AuthPayload, LoginInput, LogoutPayload, RefreshTokenInput, RegisterInput, UpdateProfileInput, UpdateProfilePayload,
};

/// Identity mutations.
#[derive(Default)]
pub struct IdentityMutation;

/// Undefined leaves a field as it is; null clears it.
#[expect(clippy::option_option, reason = "the domain distinguishes keep, clear and set")]
fn maybe(value: MaybeUndefined<String>) -> Option<Option<String>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

#[Object]
impl IdentityMutation {
    /// Creates an account and signs it in. `CONFLICT` when the email is taken.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        let input = identity::Register {
            email: input.email,
            password: input.password,
            display_name: input.display_name,
            client_ip: ctx.client_ip(),
        };
        Ok(AuthPayload(identity::register(ctx.app()?, input).await?))
    }

    /// Signs in. Unknown email and wrong password answer the same `UNAUTHENTICATED`; ten attempts a
    /// minute per account and address, then `RATE_LIMITED` with `retryAfter`.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let input = identity::Login { email: input.email, password: input.password, client_ip: ctx.client_ip() };
        Ok(AuthPayload(identity::login(ctx.app()?, input).await?))
    }

    /// Exchanges a refresh token for a new pair; the old one stops working. Presenting a used token
    /// again revokes the whole session.
    async fn refresh_session(&self, ctx: &Context<'_>, input: RefreshTokenInput) -> Result<AuthPayload> {
        Ok(AuthPayload(identity::refresh_session(ctx.app()?, &input.refresh_token).await?))
    }

    /// Revokes the session the refresh token belongs to.
    async fn logout(&self, ctx: &Context<'_>, input: RefreshTokenInput) -> Result<LogoutPayload> {
        identity::logout(ctx.app()?, &input.refresh_token).await?;
        Ok(LogoutPayload { ok: true })
    }

    /// Ends every session of the signed-in user, on every device: their tokens stop working and
    /// their sockets close. `UNAUTHENTICATED` when signed out.
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> Result<LogoutPayload> {
        identity::logout_everywhere(ctx.app()?, ctx.actor()?).await?;
        Ok(LogoutPayload { ok: true })
    }

    /// Changes the signed-in user's display name and custom status.
    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> Result<UpdateProfilePayload> {
        let input = identity::UpdateProfile {
            display_name: input.display_name,
            status_text: maybe(input.status_text),
            status_emoji: maybe(input.status_emoji),
        };
        Ok(UpdateProfilePayload(identity::update_profile(ctx.app()?, ctx.actor()?, input).await?))
    }
}
