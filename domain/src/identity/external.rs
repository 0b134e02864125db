//! Sign-in through an OpenID provider (the protocol itself is `api`'s adapter). A verified
//! identity signs in its linked account; otherwise it links the account registered under the same
//! verified address, or creates one. Only a provider-verified address links or creates: an
//! unverified one could take over someone else's account. The redirect carries a one-time code
//! (60 s, single use) that [`exchange_sign_in_code`] turns into the usual token pair, so tokens
//! never travel in a URL.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait as _, QueryFilter, QueryOrder};
use stoa_entities::{user_identities, users};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::error::{DomainError, OnUnique as _, Result};
use crate::identity::account_tokens::{self, Purpose};
use crate::identity::model::{AuthSession, User};
use crate::identity::password::{DisplayName, Email};
use crate::identity::refresh_session::start_session;
use crate::identity::store::user_by_email;
use crate::ids::UserId;

/// The `password_hash` of an account that has no password (created through a provider): no
/// argon2 hash parses as it, so a password login always fails until one is set by a reset.
pub(crate) const NO_PASSWORD: &str = "!external";

/// How long a sign-in code works.
const SIGN_IN_CODE_TTL: std::time::Duration = std::time::Duration::from_mins(1);

/// What a provider's verified ID token says about the user.
#[derive(Debug, Clone)]
pub struct ExternalIdentity {
    /// The configured provider's name.
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// An identity linked to the viewer's account.
#[derive(Debug, Clone)]
pub struct LinkedIdentity {
    pub provider: String,
    pub email: String,
    pub linked_at: DateTime<Utc>,
}

/// Signs `identity` in (linking or creating the account) and returns the one-time code.
///
/// # Errors
/// `EMAIL_NOT_VERIFIED` (an unknown identity whose provider does not vouch for its address),
/// `BAD_USER_INPUT` (no usable address), `CONFLICT` (a concurrent sign-in linked it first).
#[tracing::instrument(skip_all, fields(provider = %identity.provider))]
pub async fn external_sign_in(app: &AppCtx, identity: ExternalIdentity) -> Result<String> {
    let now = app.now();
    let mut tx = app.begin().await?;
    let linked = user_identities::Entity::find()
        .filter(user_identities::Column::Provider.eq(&identity.provider))
        .filter(user_identities::Column::Subject.eq(&identity.subject))
        .one(tx.db())
        .await?;
    let user = if let Some(link) = linked {
        users::Entity::find_by_id(link.user_id).one(tx.db()).await?.ok_or(DomainError::NotFound("user"))?
    } else {
        if !identity.email_verified {
            return Err(DomainError::EmailNotVerified);
        }
        let email = Email::parse(identity.email.as_deref().unwrap_or_default())?;
        let user = match user_by_email(tx.db(), email.as_str()).await? {
            Some(user) => user,
            None => create(&tx, &identity, &email, now).await?,
        };
        user_identities::Entity::insert(user_identities::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            user_id: Set(user.id),
            provider: Set(identity.provider.clone()),
            subject: Set(identity.subject.clone()),
            email: Set(email.as_str().to_owned()),
            created_at: Set(now),
        })
        .exec_without_returning(tx.db())
        .await
        .on_unique(|| DomainError::Conflict("this identity was linked meanwhile"))?;
        if user.email_verified_at.is_none() {
            // The provider vouches for the address.
            users::Entity::update_many()
                .col_expr(users::Column::EmailVerifiedAt, sea_orm::sea_query::Expr::value(now))
                .filter(users::Column::Id.eq(user.id))
                .exec(tx.db())
                .await?;
        }
        let record = AuditRecord::by_user(UserId(user.id), "user.identity_linked", "user", Some(user.id))
            .with(serde_json::json!({ "provider": identity.provider }));
        audit::record(&mut tx, record).await?;
        user
    };
    let code = account_tokens::issue(tx.db(), UserId(user.id), Purpose::SignInCode, &user.email, SIGN_IN_CODE_TTL, now)
        .await?;
    tx.commit().await?;
    Ok(code)
}

async fn create(
    tx: &crate::tx::Tx,
    identity: &ExternalIdentity,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<users::Model> {
    let fallback = email.as_str().split('@').next().unwrap_or("user").to_owned();
    let name = identity
        .name
        .as_deref()
        .and_then(|n| DisplayName::parse(n).ok())
        .or_else(|| DisplayName::parse(&fallback).ok())
        .map_or_else(|| "New user".to_owned(), DisplayName::into_inner);
    let id = UserId::new();
    let user = users::Entity::insert(users::ActiveModel {
        id: Set(id.0),
        email: Set(email.as_str().to_owned()),
        display_name: Set(name),
        password_hash: Set(NO_PASSWORD.to_owned()),
        status_text: Set(None),
        status_emoji: Set(None),
        email_verified_at: Set(Some(now)),
        avatar_key: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(tx.db())
    .await
    .on_unique(|| DomainError::Conflict("email already registered"))?;
    Ok(user)
}

/// Turns a one-time sign-in code into a session.
///
/// # Errors
/// `INVALID_TOKEN` (`sign_in_code`): malformed, unknown, expired or used.
#[tracing::instrument(skip_all)]
pub async fn exchange_sign_in_code(app: &AppCtx, code: &str) -> Result<AuthSession> {
    let tx = app.begin().await?;
    let redeemed = account_tokens::redeem(tx.db(), code, &[Purpose::SignInCode], app.now()).await?;
    let user = users::Entity::find_by_id(redeemed.user.0)
        .one(tx.db())
        .await?
        .ok_or(DomainError::InvalidToken("sign_in_code"))?;
    let session = start_session(&tx, app, User::from(user)).await?;
    tx.commit().await?;
    Ok(session)
}

/// The identities linked to `viewer`'s own account, oldest first. `viewer` is a user only ever
/// shown to itself (the `Viewer` of `me`, `register`, `login`, …), so nothing else is checked: a
/// sign-up answers its viewer in full before the request carries its new token.
///
/// # Errors
/// `INTERNAL` when the database fails.
pub async fn linked_identities(app: &AppCtx, viewer: &User) -> Result<Vec<LinkedIdentity>> {
    let user = viewer.id;
    let rows = user_identities::Entity::find()
        .filter(user_identities::Column::UserId.eq(user.0))
        .order_by_asc(user_identities::Column::Id)
        .all(app.db())
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| LinkedIdentity { provider: r.provider, email: r.email, linked_at: r.created_at })
        .collect())
}

/// Unlinks the viewer's identity at `provider`, unless it is their last way to sign in (no
/// password and no other identity).
///
/// # Errors
/// `UNAUTHENTICATED`, `NOT_FOUND` (none linked), `CONFLICT` (the last sign-in method).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), provider))]
pub async fn unlink_identity(app: &AppCtx, actor: &Actor, provider: &str) -> Result<()> {
    let user = actor.user_id()?;
    let mut tx = app.begin().await?;
    let row = users::Entity::find_by_id(user.0)
        .one(tx.db())
        .await?
        .ok_or(DomainError::Unauthenticated("account no longer exists"))?;
    let identities =
        user_identities::Entity::find().filter(user_identities::Column::UserId.eq(user.0)).count(tx.db()).await?;
    let removed = user_identities::Entity::delete_many()
        .filter(user_identities::Column::UserId.eq(user.0))
        .filter(user_identities::Column::Provider.eq(provider))
        .exec(tx.db())
        .await?;
    if removed.rows_affected == 0 {
        return Err(DomainError::NotFound("linked identity"));
    }
    if row.password_hash == NO_PASSWORD && identities <= removed.rows_affected {
        return Err(DomainError::Conflict("the last sign-in method: set a password first (requestPasswordReset)"));
    }
    let record = AuditRecord::new(actor, None, "user.identity_unlinked", "user", Some(user.0))
        .with(serde_json::json!({ "provider": provider }));
    audit::record(&mut tx, record).await?;
    tx.commit().await
}
