//! Proving an email address: the mail `register` sends, `verifyEmail`, `resendVerification`, and
//! changing one's address, which takes effect only once the new address is proven.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use stoa_entities::users;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::error::{DomainError, OnUnique as _, Result};
use crate::identity::account_tokens::{self, Purpose};
use crate::identity::model::User;
use crate::identity::password::{self, Email};
use crate::identity::store::user_by_email;
use crate::ids::{MailId, UserId};
use crate::mail::{self, Outgoing, Template};
use crate::ports::ratelimit::Verdict;
use crate::tx::Tx;

/// Queues the mail proving `email` for `user` (the account's address, or the new one of an email
/// change) inside `tx`; [`mail::dispatch`] it after the commit.
pub(crate) async fn queue_verification(
    tx: &Tx,
    app: &AppCtx,
    user: UserId,
    display_name: &str,
    email: &str,
    purpose: Purpose,
) -> Result<MailId> {
    let settings = app.accounts();
    let token = account_tokens::issue(tx.db(), user, purpose, email, settings.verification_ttl, app.now()).await?;
    let (template, subject) = match purpose {
        Purpose::EmailChange => (Template::EmailChange, "Confirm your new email address"),
        _ => (Template::VerifyEmail, "Confirm your email address"),
    };
    let hours = settings.verification_ttl.as_secs() / 3600;
    let outgoing = Outgoing {
        template,
        to: email.to_owned(),
        subject: subject.to_owned(),
        vars: vec![
            ("name", display_name.to_owned()),
            ("email", email.to_owned()),
            ("link", format!("{}/verify-email#token={token}", settings.app_url)),
            ("hours", hours.max(1).to_string()),
        ],
        list_unsubscribe: None,
        workspace: None,
    };
    mail::queue(tx, outgoing, app.now()).await
}

/// Uses a verification or email-change token: the address it proves becomes the account's
/// verified address.
///
/// # Errors
/// `INVALID_TOKEN` (malformed, unknown, expired, used, or the account's address changed since it
/// was mailed); `CONFLICT` when the new address was registered meanwhile.
#[tracing::instrument(skip_all)]
pub async fn verify_email(app: &AppCtx, token: &str) -> Result<User> {
    let now = app.now();
    let mut tx = app.begin().await?;
    let redeemed = account_tokens::redeem(tx.db(), token, &[Purpose::VerifyEmail, Purpose::EmailChange], now).await?;
    let row = users::Entity::find_by_id(redeemed.user.0)
        .one(tx.db())
        .await?
        .ok_or(DomainError::InvalidToken("verification"))?;
    let before = row.email.clone();
    if redeemed.purpose == Purpose::VerifyEmail && row.email != redeemed.email {
        // Mailed to an address the account no longer has.
        return Err(DomainError::InvalidToken("verification"));
    }
    let mut model = row.into_active_model();
    model.email = Set(redeemed.email.clone());
    model.email_verified_at = Set(Some(now));
    model.updated_at = Set(now);
    let user = model.update(tx.db()).await.on_unique(|| DomainError::Conflict("email already registered"))?;
    let action = if redeemed.purpose == Purpose::EmailChange { "user.email_changed" } else { "user.email_verified" };
    let record = AuditRecord::by_user(redeemed.user, action, "user", Some(redeemed.user.0)).changed(
        "email",
        before,
        redeemed.email,
    );
    audit::record(&mut tx, record).await?;
    tx.commit().await?;
    Ok(User::from(user))
}

/// Mails a fresh verification link to the actor's address (earlier links stop working).
///
/// # Errors
/// `UNAUTHENTICATED`, `CONFLICT` (already verified), `RATE_LIMITED` (3 per hour).
#[tracing::instrument(skip_all, fields(actor = %actor.label()))]
pub async fn resend_verification(app: &AppCtx, actor: &Actor) -> Result<()> {
    let user = actor.user_id()?;
    let row = users::Entity::find_by_id(user.0)
        .one(app.db())
        .await?
        .ok_or(DomainError::Unauthenticated("account no longer exists"))?;
    if row.email_verified_at.is_some() {
        return Err(DomainError::Conflict("email already verified"));
    }
    let per_hour = app.accounts().verification_mails_per_hour;
    if let Verdict::Limited { retry_after_s } =
        app.limiter().hit(&format!("verify-mail:{user}"), per_hour, std::time::Duration::from_hours(1)).await?
    {
        return Err(DomainError::RateLimited { retry_after_s });
    }
    let tx = app.begin().await?;
    let id = queue_verification(&tx, app, user, &row.display_name, &row.email, Purpose::VerifyEmail).await?;
    tx.commit().await?;
    mail::dispatch(app, id);
    Ok(())
}

/// Starts changing the actor's address to `new_email`: a link is mailed there, and the address
/// changes (verified) only when it is opened. The current password is required.
///
/// # Errors
/// `UNAUTHENTICATED`, `BAD_USER_INPUT` (`newEmail`; `password` when wrong), `CONFLICT` (the
/// address is the actor's own or registered), `RATE_LIMITED`.
#[tracing::instrument(skip_all, fields(actor = %actor.label()))]
pub async fn change_email(app: &AppCtx, actor: &Actor, new_email: &str, current_password: String) -> Result<()> {
    let user = actor.user_id()?;
    let email = Email::parse(new_email).map_err(|_| DomainError::invalid("newEmail", "not a valid email address"))?;
    let row = users::Entity::find_by_id(user.0)
        .one(app.db())
        .await?
        .ok_or(DomainError::Unauthenticated("account no longer exists"))?;
    if !password::verify(app.password_slot()?, current_password, Some(row.password_hash.clone())).await? {
        return Err(DomainError::invalid("password", "the current password is wrong"));
    }
    if row.email == email.as_str() {
        return Err(DomainError::Conflict("that is already your address"));
    }
    if user_by_email(app.db(), email.as_str()).await?.is_some() {
        return Err(DomainError::Conflict("email already registered"));
    }
    let per_hour = app.accounts().verification_mails_per_hour;
    if let Verdict::Limited { retry_after_s } =
        app.limiter().hit(&format!("verify-mail:{user}"), per_hour, std::time::Duration::from_hours(1)).await?
    {
        return Err(DomainError::RateLimited { retry_after_s });
    }
    let mut tx = app.begin().await?;
    let id = queue_verification(&tx, app, user, &row.display_name, email.as_str(), Purpose::EmailChange).await?;
    audit::record(&mut tx, AuditRecord::new(actor, None, "user.email_change_requested", "user", Some(user.0))).await?;
    tx.commit().await?;
    mail::dispatch(app, id);
    Ok(())
}
