//! Signing in with email and password, rate limited per account and client address.

use std::time::Duration;

use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::error::{DomainError, Result};
use crate::identity::model::{AuthSession, User};
use crate::identity::password::{self, Email};
use crate::identity::refresh_session::start_session;
use crate::identity::store;
use crate::ports::ratelimit::Verdict;

/// Input of [`login`].
#[derive(Debug, Clone)]
pub struct Login {
    pub email: String,
    pub password: String,
    pub client_ip: String,
}

/// The one answer for an unknown email and a wrong password alike.
const BAD_CREDENTIALS: DomainError = DomainError::Unauthenticated("invalid email or password");

/// Verifies the credentials and starts a new session family.
///
/// # Errors
/// `UNAUTHENTICATED` (unknown email or wrong password, indistinguishable), `RATE_LIMITED` after
/// `login_attempts_per_address_per_minute` attempts from this address or `login_attempts_per_minute`
/// for this account from this address, or while every password slot is busy.
#[tracing::instrument(skip_all)]
pub async fn login(app: &AppCtx, input: Login) -> Result<AuthSession> {
    let Ok(email) = Email::parse(&input.email) else {
        return Err(BAD_CREDENTIALS);
    };
    // Every attempt counts against the address whatever the email (aliases and batches buy no
    // extra hashes), then against the account from that address (a lockout needs both).
    let auth = app.auth();
    let attempts = [
        (format!("login-address:{}", input.client_ip), auth.login_attempts_per_address_per_minute),
        (format!("login:{}:{}", email.as_str(), input.client_ip), auth.login_attempts_per_minute),
    ];
    for (key, limit) in attempts {
        if let Verdict::Limited { retry_after_s } = app.limiter().hit(&key, limit, Duration::from_mins(1)).await? {
            return Err(DomainError::RateLimited { retry_after_s });
        }
    }
    let slot = app.password_slot()?;
    let user = store::user_by_email(app.db(), email.as_str()).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify(slot, input.password, stored).await? {
        return Err(BAD_CREDENTIALS);
    }
    let Some(user) = user else { return Err(BAD_CREDENTIALS) };
    let mut tx = app.begin().await?;
    let user = User::from(user);
    audit::record(&mut tx, AuditRecord::by_user(user.id, "user.logged_in", "user", Some(user.id.0))).await?;
    let session = start_session(&tx, app, user).await?;
    tx.commit().await?;
    Ok(session)
}
