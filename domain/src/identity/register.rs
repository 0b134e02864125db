//! Creating an account: parse the input, hash the password, insert, sign in.

use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;
use stoa_entities::users;

use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::error::{DomainError, OnUnique as _, Result};
use crate::identity::account_tokens::Purpose;
use crate::identity::model::{AuthSession, User};
use crate::identity::password::{self, DisplayName, Email};
use crate::identity::refresh_session::start_session;
use crate::identity::verification::queue_verification;
use crate::ids::UserId;
use crate::mail;
use crate::ports::ratelimit::Verdict;

/// Input of [`register`].
#[derive(Debug, Clone)]
pub struct Register {
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// The client's address, for the per-address sign-up limit.
    pub client_ip: String,
    /// An invitation to accept as part of signing up; an email invitation to this address also
    /// proves it (no verification mail is sent then).
    pub invitation_token: Option<String>,
}

/// Creates an account, signs it in and mails a link proving its address (valid 24 h).
///
/// # Errors
/// `BAD_USER_INPUT` (email, password, displayName), `CONFLICT` (email taken), `RATE_LIMITED`; with
/// an invitation, its errors (`INVALID_TOKEN`, `BANNED`, `EMAIL_NOT_VERIFIED`), and then no account
/// is created.
#[tracing::instrument(skip_all)]
pub async fn register(app: &AppCtx, input: Register) -> Result<AuthSession> {
    let email = Email::parse(&input.email)?;
    let display_name = DisplayName::parse(&input.display_name)?;
    password::check_new_password(&input.password)?;
    // Sign-ups per client address per hour: hashing is deliberately expensive.
    let key = format!("signup:{}", input.client_ip);
    if let Verdict::Limited { retry_after_s } =
        app.limiter().hit(&key, app.auth().signups_per_address_per_hour, std::time::Duration::from_hours(1)).await?
    {
        return Err(DomainError::RateLimited { retry_after_s });
    }
    let password_hash = password::hash(app.password_slot()?, input.password).await?;
    let now = app.now();
    let id = UserId::new();
    let mut tx = app.begin().await?;
    let model = users::ActiveModel {
        id: Set(id.0),
        email: Set(email.as_str().to_owned()),
        display_name: Set(display_name.into_inner()),
        password_hash: Set(password_hash),
        status_text: Set(None),
        status_emoji: Set(None),
        email_verified_at: Set(None),
        avatar_key: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let user = users::Entity::insert(model)
        .exec_with_returning(tx.db())
        .await
        .on_unique(|| DomainError::Conflict("email already registered"))?;
    audit::record(&mut tx, AuditRecord::by_user(id, "user.registered", "user", Some(id.0))).await?;
    let user = match &input.invitation_token {
        Some(token) => {
            crate::workspaces::redeem_invitation(&mut tx, app, token, &user, true).await?;
            users::Entity::find_by_id(id.0).one(tx.db()).await?.unwrap_or(user)
        }
        None => user,
    };
    let mail = match user.email_verified_at {
        Some(_) => None,
        None => Some(queue_verification(&tx, app, id, &user.display_name, &user.email, Purpose::VerifyEmail).await?),
    };
    let session = start_session(&tx, app, User::from(user)).await?;
    tx.commit().await?;
    if let Some(mail) = mail {
        mail::dispatch(app, mail);
    }
    Ok(session)
}
