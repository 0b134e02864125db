//! Access tokens (HS256 JWT) and refresh tokens (random, stored hashed).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::actor::Actor;
use crate::app::AuthSettings;
use crate::error::{DomainError, Result};
use crate::ids::{SessionFamilyId, UserId};

/// The claims inside an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: uuid::Uuid,
    /// The refresh-token family (the login) this token was issued under.
    pub sid: uuid::Uuid,
    pub iat: i64,
    pub exp: i64,
    /// Always "access", so no other token kind can pass as one.
    pub typ: String,
}

/// Signs an access token for `user` valid until `expires_at`.
pub(crate) fn sign_access_token(
    auth: &AuthSettings,
    user: UserId,
    family: SessionFamilyId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<String> {
    let claims = AccessClaims {
        sub: user.0,
        sid: family.0,
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        typ: "access".into(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(auth.jwt_secret.expose_secret()),
    )
    .map_err(|e| DomainError::Internal(anyhow::Error::new(e).context("signing access token")))
}

/// Verifies an access token: HS256 only (so `alg: none` and any other algorithm are refused), a valid
/// signature, not expired, and of kind "access".
///
/// # Errors
/// `UNAUTHENTICATED` for anything else.
pub fn verify_access_token(auth: &AuthSettings, token: &str) -> Result<Actor> {
    verify_token(auth, token).map(|t| t.actor)
}

/// A verified access token: who it speaks for, and until when.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub actor: Actor,
    pub expires_at: DateTime<Utc>,
}

/// [`verify_access_token`], keeping the expiry (a socket closes when its token does).
///
/// # Errors
/// `UNAUTHENTICATED` for anything but a valid access token.
pub fn verify_token(auth: &AuthSettings, token: &str) -> Result<VerifiedToken> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<AccessClaims>(
        token,
        &DecodingKey::from_secret(auth.jwt_secret.expose_secret()),
        &validation,
    )
    .map_err(|_| DomainError::Unauthenticated("invalid or expired access token"))?;
    if data.claims.typ != "access" {
        return Err(DomainError::Unauthenticated("invalid or expired access token"));
    }
    let expires_at = DateTime::from_timestamp(data.claims.exp, 0)
        .ok_or(DomainError::Unauthenticated("invalid or expired access token"))?;
    Ok(VerifiedToken {
        actor: Actor::User { user_id: data.claims.sub.into(), session: data.claims.sid.into(), origin: None },
        expires_at,
    })
}

/// A new refresh token (256 random bits, URL-safe) and the hash to store.
pub(crate) fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token.
pub(crate) fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings(secret: &[u8]) -> AuthSettings {
        AuthSettings {
            jwt_secret: secret.to_vec().into(),
            access_ttl: Duration::from_mins(15),
            refresh_ttl: Duration::from_hours(1),
            session_max_age: Duration::from_hours(24),
            login_attempts_per_minute: 10,
            login_attempts_per_address_per_minute: 30,
            signups_per_address_per_hour: 30,
        }
    }

    #[test]
    fn a_signed_token_verifies_and_a_foreign_one_does_not() {
        let now = Utc::now();
        let (user, family) = (UserId::new(), SessionFamilyId::new());
        let Ok(token) = sign_access_token(&settings(b"k1"), user, family, now, now + chrono::Duration::minutes(5))
        else {
            panic!("signing failed")
        };
        assert_eq!(
            verify_access_token(&settings(b"k1"), &token).ok(),
            Some(Actor::User { user_id: user, session: family, origin: None })
        );
        assert!(verify_access_token(&settings(b"k2"), &token).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let now = Utc::now() - chrono::Duration::hours(1);
        let Ok(token) = sign_access_token(&settings(b"k"), UserId::new(), SessionFamilyId::new(), now, now) else {
            panic!("signing failed")
        };
        assert!(verify_access_token(&settings(b"k"), &token).is_err());
    }

    #[test]
    fn refresh_tokens_are_unique_and_stored_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_a, hash_refresh_token(&a));
        assert_ne!(hash_a, a);
    }
}
