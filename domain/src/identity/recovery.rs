//! Recovering and changing a password. `requestPasswordReset` answers the same for every address,
//! in the same time: the lookup and the mail happen after the answer, in a task of their own.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use stoa_entities::users;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::identity::account_tokens::{self, Purpose};
use crate::identity::password::{self, Email};
use crate::identity::store;
use crate::ids::{MailId, UserId};
use crate::mail::{self, Outgoing, Template};
use crate::ports::ratelimit::Verdict;

/// Asks for a password-reset mail to `email`. The answer is the same whether or not an account has
/// that address; a known one gets a single-use link valid for 30 minutes.
///
/// # Errors
/// `BAD_USER_INPUT` (`email`), `RATE_LIMITED` (per client address).
#[tracing::instrument(skip_all)]
pub async fn request_password_reset(app: &AppCtx, email: &str, client_ip: &str) -> Result<()> {
    let email = Email::parse(email)?;
    let per_hour = app.accounts().reset_requests_per_address_per_hour;
    if let Verdict::Limited { retry_after_s } =
        app.limiter().hit(&format!("reset:{client_ip}"), per_hour, std::time::Duration::from_hours(1)).await?
    {
        return Err(DomainError::RateLimited { retry_after_s });
    }
    let app = app.clone();
    tokio::spawn(async move {
        match mail_reset(&app, &email).await {
            Ok(Some(id)) => mail::dispatch(&app, id),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %format_args!("{e:#}"), "queueing a password reset failed"),
        }
    });
    Ok(())
}

/// Queues the reset mail for the account of `email`, if there is one and it has not had too many.
async fn mail_reset(app: &AppCtx, email: &Email) -> Result<Option<MailId>> {
    let Some(user) = store::user_by_email(app.db(), email.as_str()).await? else { return Ok(None) };
    let settings = app.accounts();
    let key = format!("reset-mail:{}", user.id);
    if let Verdict::Limited { .. } =
        app.limiter().hit(&key, settings.reset_mails_per_account_per_hour, std::time::Duration::from_hours(1)).await?
    {
        tracing::info!(user = %user.id, "password reset mail dropped: too many this hour");
        return Ok(None);
    }
    let tx = app.begin().await?;
    let id = UserId(user.id);
    let token =
        account_tokens::issue(tx.db(), id, Purpose::PasswordReset, &user.email, settings.reset_ttl, app.now()).await?;
    let outgoing = Outgoing {
        template: Template::PasswordReset,
        to: user.email.clone(),
        subject: "Reset your password".to_owned(),
        vars: vec![
            ("name", user.display_name.clone()),
            ("email", user.email.clone()),
            ("link", format!("{}/reset-password#token={token}", settings.app_url)),
            ("minutes", (settings.reset_ttl.as_secs() / 60).max(1).to_string()),
        ],
        list_unsubscribe: None,
        workspace: None,
    };
    let mail = mail::queue(&tx, outgoing, app.now()).await?;
    tx.commit().await?;
    Ok(Some(mail))
}

/// Sets a new password with a reset token. Every session of the account ends and its sockets
/// close; the mailed link also proves the address.
///
/// # Errors
/// `BAD_USER_INPUT` (`newPassword`), `INVALID_TOKEN`. A refused password leaves the token usable.
#[tracing::instrument(skip_all)]
pub async fn reset_password(app: &AppCtx, token: &str, new_password: String) -> Result<()> {
    password::check_new_password(&new_password).map_err(|e| rename(e, "newPassword"))?;
    // Check the token before the expensive hash; it is used up below, in the transaction.
    account_tokens::peek(app.db(), token, &[Purpose::PasswordReset], app.now()).await?;
    let hash = password::hash(app.password_slot()?, new_password).await?;
    let now = app.now();
    let mut tx = app.begin().await?;
    let redeemed = account_tokens::redeem(tx.db(), token, &[Purpose::PasswordReset], now).await?;
    let row = users::Entity::find_by_id(redeemed.user.0)
        .one(tx.db())
        .await?
        .ok_or(DomainError::InvalidToken("password_reset"))?;
    let proves_address = row.email == redeemed.email;
    let mut model = row.into_active_model();
    model.password_hash = Set(hash);
    if proves_address {
        model.email_verified_at = Set(Some(now));
    }
    model.updated_at = Set(now);
    model.update(tx.db()).await?;
    let families = store::revoke_user_sessions(tx.db(), redeemed.user, None, now).await?;
    let record = AuditRecord::by_user(redeemed.user, "user.password_reset", "user", Some(redeemed.user.0))
        .with(serde_json::json!({ "sessionsEnded": families.len() }));
    audit::record(&mut tx, record).await?;
    for family in families {
        tx.emit(Event::SessionRevoked { user_id: redeemed.user, session: family });
    }
    tx.commit().await
}

/// Changes the actor's password; every other session of the account ends.
///
/// # Errors
/// `UNAUTHENTICATED`, `BAD_USER_INPUT` (`currentPassword` when wrong, `newPassword`), `RATE_LIMITED`.
#[tracing::instrument(skip_all, fields(actor = %actor.label()))]
pub async fn change_password(app: &AppCtx, actor: &Actor, current: String, new_password: String) -> Result<()> {
    let user = actor.user_id()?;
    password::check_new_password(&new_password).map_err(|e| rename(e, "newPassword"))?;
    let row = users::Entity::find_by_id(user.0)
        .one(app.db())
        .await?
        .ok_or(DomainError::Unauthenticated("account no longer exists"))?;
    if !password::verify(app.password_slot()?, current, Some(row.password_hash.clone())).await? {
        return Err(DomainError::invalid("currentPassword", "the current password is wrong"));
    }
    let hash = password::hash(app.password_slot()?, new_password).await?;
    let now = app.now();
    let mut tx = app.begin().await?;
    let mut model = row.into_active_model();
    model.password_hash = Set(hash);
    model.updated_at = Set(now);
    model.update(tx.db()).await?;
    let keep = match actor {
        Actor::User { session, .. } => Some(*session),
        Actor::System(_) => None,
    };
    let ended = store::revoke_user_sessions(tx.db(), user, keep, now).await?;
    let record = AuditRecord::new(actor, None, "user.password_changed", "user", Some(user.0))
        .with(serde_json::json!({ "sessionsEnded": ended.len() }));
    audit::record(&mut tx, record).await?;
    for family in ended {
        tx.emit(Event::SessionRevoked { user_id: user, session: family });
    }
    tx.commit().await
}

/// The same refusal on another input field.
fn rename(err: DomainError, field: &'static str) -> DomainError {
    match err {
        DomainError::Invalid { reason, .. } => DomainError::Invalid { field, reason },
        other => other,
    }
}
