//! Identity mutations.

use async_graphql::{Context, Object};
use stoa_domain::identity;

use crate::context::{ContextExt as _, maybe};
use crate::error::Result;
use crate::identity::types::{
    AuthPayload, ChangeEmailInput, ChangePasswordInput, DonePayload, LoginInput, LogoutPayload, RefreshTokenInput,
    RegisterInput, ResetPasswordInput, UpdateProfileInput, UpdateProfilePayload, VerifyEmailPayload, Viewer,
};

/// Identity mutations.
#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Creates an account, signs it in and mails a link proving its address; with
    /// `invitationToken`, joins that invitation's workspace too. `CONFLICT` when the email is taken.
    async fn register(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account's email, password and display name, and optionally an invitation token.")]
        input: RegisterInput,
    ) -> Result<AuthPayload> {
        let input = identity::Register {
            email: input.email,
            password: input.password,
            display_name: input.display_name,
            client_ip: ctx.client_ip(),
            invitation_token: input.invitation_token,
        };
        Ok(AuthPayload(identity::register(ctx.app()?, input).await?))
    }

    /// Signs in. Unknown email and wrong password answer the same `UNAUTHENTICATED`; ten attempts a
    /// minute per account and address, then `RATE_LIMITED` with `retryAfter`.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's email and password.")] input: LoginInput,
    ) -> Result<AuthPayload> {
        let input = identity::Login { email: input.email, password: input.password, client_ip: ctx.client_ip() };
        Ok(AuthPayload(identity::login(ctx.app()?, input).await?))
    }

    /// Exchanges a refresh token for a new pair; the old one stops working. Presenting a used token
    /// again revokes the whole session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token to exchange.")] input: RefreshTokenInput,
    ) -> Result<AuthPayload> {
        Ok(AuthPayload(identity::refresh_session(ctx.app()?, &input.refresh_token).await?))
    }

    /// Revokes the session the refresh token belongs to.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token of the session to end.")] input: RefreshTokenInput,
    ) -> Result<LogoutPayload> {
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
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The profile fields to change.")] input: UpdateProfileInput,
    ) -> Result<UpdateProfilePayload> {
        let input = identity::UpdateProfile {
            display_name: input.display_name,
            status_text: maybe(input.status_text),
            status_emoji: maybe(input.status_emoji),
        };
        Ok(UpdateProfilePayload(identity::update_profile(ctx.app()?, ctx.actor()?, input).await?))
    }

    /// Proves an address with the token of a verification or email-change link; needs no sign-in.
    /// `INVALID_TOKEN` when it is malformed, expired, used, or the address changed since.
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the verification or email-change link.")] token: String,
    ) -> Result<VerifyEmailPayload> {
        Ok(VerifyEmailPayload { viewer: Viewer(identity::verify_email(ctx.app()?, &token).await?) })
    }

    /// Mails a fresh verification link (3 an hour); earlier links stop working. `CONFLICT` when the
    /// address is already verified.
    async fn resend_verification(&self, ctx: &Context<'_>) -> Result<DonePayload> {
        identity::resend_verification(ctx.app()?, ctx.actor()?).await?;
        Ok(DonePayload { ok: true })
    }

    /// Starts changing the signed-in user's address: a link is mailed to the new one, and the
    /// address changes (verified) when it is opened.
    async fn change_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new address and the current password.")] input: ChangeEmailInput,
    ) -> Result<DonePayload> {
        identity::change_email(ctx.app()?, ctx.actor()?, &input.new_email, input.password).await?;
        Ok(DonePayload { ok: true })
    }

    /// Mails a password-reset link (single use, 30 minutes) when an account has this address. The
    /// answer is the same, in the same time, for every address.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The address to mail the reset link to.")] email: String,
    ) -> Result<DonePayload> {
        identity::request_password_reset(ctx.app()?, &email, &ctx.client_ip()).await?;
        Ok(DonePayload { ok: true })
    }

    /// Sets a new password with a reset token: every session of the account ends and its sockets
    /// close. Sign in again afterwards.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the reset link and the new password.")] input: ResetPasswordInput,
    ) -> Result<DonePayload> {
        identity::reset_password(ctx.app()?, &input.token, input.new_password).await?;
        Ok(DonePayload { ok: true })
    }

    /// Turns the one-time code of an OpenID sign-in redirect (`/sign-in#code=…`, 60 s, single use)
    /// into the usual token pair.
    async fn exchange_sign_in_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The one-time code from the `/sign-in#code=…` redirect.")] code: String,
    ) -> Result<AuthPayload> {
        Ok(AuthPayload(identity::exchange_sign_in_code(ctx.app()?, &code).await?))
    }

    /// Unlinks the signed-in user's identity at `provider`. `CONFLICT` when it is their last way to
    /// sign in (no password, no other identity).
    async fn unlink_identity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider's configured name, as `linkedIdentities` lists it.")] provider: String,
    ) -> Result<DonePayload> {
        identity::unlink_identity(ctx.app()?, ctx.actor()?, &provider).await?;
        Ok(DonePayload { ok: true })
    }

    /// Makes an uploaded image that scanned clean the signed-in user's profile picture (rendered
    /// as 256 px and 64 px WebP by a job). `BAD_USER_INPUT` for a file that is not a clean image.
    async fn set_avatar(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "An image the viewer uploaded that scanned clean.")] attachment_id: async_graphql::ID,
    ) -> Result<DonePayload> {
        let attachment = crate::context::parse_id(&attachment_id, "attachmentId")?;
        stoa_domain::files::set_avatar(ctx.app()?, ctx.actor()?, attachment).await?;
        Ok(DonePayload { ok: true })
    }

    /// Removes the signed-in user's profile picture.
    async fn remove_avatar(&self, ctx: &Context<'_>) -> Result<DonePayload> {
        stoa_domain::files::remove_avatar(ctx.app()?, ctx.actor()?).await?;
        Ok(DonePayload { ok: true })
    }

    /// Changes the signed-in user's password; every other session ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The current password and the new one.")] input: ChangePasswordInput,
    ) -> Result<DonePayload> {
        identity::change_password(ctx.app()?, ctx.actor()?, input.current_password, input.new_password).await?;
        Ok(DonePayload { ok: true })
    }
}
