//! Single-use account tokens (email verification, email change, password reset): 256 random bits,
//! mailed as URL-safe base64 and stored only as their SHA-256, with a purpose, the address they
//! prove, an expiry and the moment they were used. Issuing a new token of a purpose ends the
//! user's earlier unused ones, so only the latest mailed link works.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use stoa_entities::account_tokens;

use crate::error::{DomainError, Result};
use crate::identity::tokens::{hash_refresh_token, new_refresh_token};
use crate::ids::UserId;

/// What a token proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    VerifyEmail,
    EmailChange,
    PasswordReset,
    /// The one-time code a provider sign-in redirects with.
    SignInCode,
}

impl Purpose {
    const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::EmailChange => "email_change",
            Self::PasswordReset => "password_reset",
            Self::SignInCode => "sign_in_code",
        }
    }

    /// The `token` extension of an `INVALID_TOKEN` for this purpose.
    pub(crate) const fn error_kind(self) -> &'static str {
        match self {
            Self::VerifyEmail | Self::EmailChange => "verification",
            Self::PasswordReset => "password_reset",
            Self::SignInCode => "sign_in_code",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::VerifyEmail, Self::EmailChange, Self::PasswordReset, Self::SignInCode]
            .into_iter()
            .find(|p| p.as_str() == raw)
    }
}

/// A token that checked out: whose, for what, and which address it proves.
#[derive(Debug, Clone)]
pub(crate) struct Redeemed {
    pub user: UserId,
    pub purpose: Purpose,
    pub email: String,
}

/// Issues a token for `user` proving `email`, valid for `ttl`; returns the raw token to mail.
pub(crate) async fn issue(
    db: &impl ConnectionTrait,
    user: UserId,
    purpose: Purpose,
    email: &str,
    ttl: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<String> {
    account_tokens::Entity::update_many()
        .col_expr(account_tokens::Column::UsedAt, Expr::value(now))
        .filter(account_tokens::Column::UserId.eq(user.0))
        .filter(account_tokens::Column::Purpose.eq(purpose.as_str()))
        .filter(account_tokens::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    let (token, hash) = new_refresh_token();
    account_tokens::Entity::insert(account_tokens::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(user.0),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(hash),
        email: Set(email.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::days(1))),
        used_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(token)
}

/// Whether `raw` has the shape of an issued token (43 URL-safe base64 characters): anything else
/// is refused before it reaches the database.
pub(crate) fn well_formed(raw: &str) -> bool {
    raw.len() == 43 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The live token `raw` of one of `purposes`, without using it up (to check before slow work).
///
/// # Errors
/// `INVALID_TOKEN` when it is malformed, unknown, of another purpose, expired or used.
pub(crate) async fn peek(
    db: &impl ConnectionTrait,
    raw: &str,
    purposes: &[Purpose],
    now: DateTime<Utc>,
) -> Result<(uuid::Uuid, Redeemed)> {
    let kind = purposes.first().map_or("verification", |p| p.error_kind());
    let invalid = DomainError::InvalidToken(kind);
    let raw = raw.trim();
    if !well_formed(raw) {
        return Err(invalid);
    }
    let row = account_tokens::Entity::find()
        .filter(account_tokens::Column::TokenHash.eq(hash_refresh_token(raw)))
        .one(db)
        .await?
        .ok_or(DomainError::InvalidToken(kind))?;
    let purpose =
        Purpose::parse(&row.purpose).filter(|p| purposes.contains(p)).ok_or(DomainError::InvalidToken(kind))?;
    if row.used_at.is_some() || row.expires_at <= now {
        return Err(invalid);
    }
    Ok((row.id, Redeemed { user: UserId(row.user_id), purpose, email: row.email }))
}

/// Uses up the live token `raw` of one of `purposes`: of two concurrent uses, one wins.
///
/// # Errors
/// `INVALID_TOKEN` as [`peek`], or when a concurrent use took it first.
pub(crate) async fn redeem(
    db: &impl ConnectionTrait,
    raw: &str,
    purposes: &[Purpose],
    now: DateTime<Utc>,
) -> Result<Redeemed> {
    let (id, redeemed) = peek(db, raw, purposes, now).await?;
    let used = account_tokens::Entity::update_many()
        .col_expr(account_tokens::Column::UsedAt, Expr::value(now))
        .filter(account_tokens::Column::Id.eq(id))
        .filter(account_tokens::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if used.rows_affected == 1 { Ok(redeemed) } else { Err(DomainError::InvalidToken(redeemed.purpose.error_kind())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_shape_of_an_issued_token_is_looked_up() {
        let (token, _) = new_refresh_token();
        assert!(well_formed(&token));
        for bad in ["", "short", &"a".repeat(44), &format!("{}=", &token[..42]), &format!("{}/", &token[..42])] {
            assert!(!well_formed(bad), "{bad:?}");
        }
    }
}
