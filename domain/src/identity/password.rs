//! Parsed credentials (parse, don't validate) and argon2id hashing off the async runtime.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::OwnedSemaphorePermit;

use crate::error::{DomainError, Result};

/// A syntactically valid, lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// # Errors
    /// `BAD_USER_INPUT` on `email` when it is not `local@domain` or longer than 254 bytes.
    pub fn parse(raw: &str) -> Result<Self> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            })
            && !email.chars().any(char::is_whitespace)
            && email.matches('@').count() == 1;
        if valid { Ok(Self(email)) } else { Err(DomainError::invalid("email", "not a valid email address")) }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1 to 64 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// # Errors
    /// `BAD_USER_INPUT` on `displayName`.
    pub fn parse(raw: &str) -> Result<Self> {
        let name = raw.trim();
        let len = name.chars().count();
        if len == 0 || len > 64 {
            return Err(DomainError::invalid("displayName", "must be 1 to 64 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::invalid("displayName", "must not contain control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Minimum and maximum password length in characters (NIST 800-63B: at least 8, allow long).
const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;

/// The 10,000 most common passwords, lower-cased (see `domain/data/README.md`).
static COMMON: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| include_str!("../../data/common-passwords.txt").lines().collect());

/// Checks a new password: 8 to 128 characters, and not one of the 10,000 most common passwords
/// (compared lower-cased, so `Password1` is refused like `password1`).
///
/// # Errors
/// `BAD_USER_INPUT` on `password`.
pub(crate) fn check_new_password(password: &str) -> Result<()> {
    if !PASSWORD_CHARS.contains(&password.chars().count()) {
        return Err(DomainError::invalid("password", "must be 8 to 128 characters"));
    }
    if COMMON.contains(password.to_lowercase().as_str()) {
        return Err(DomainError::invalid("password", "is one of the most common passwords; choose another"));
    }
    Ok(())
}

/// Hashes with argon2id and a random salt, on the blocking pool, in `slot` (see
/// [`AppCtx::password_slot`](crate::AppCtx)).
pub(crate) async fn hash(slot: OwnedSemaphorePermit, password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let _slot = slot; // held until the hash is done, even if the request goes away
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(DomainError::Internal)
}

/// Verifies on the blocking pool; `false` for a wrong password, an unreadable hash, or no account.
/// Without an account it hashes the password instead, so that unknown emails and wrong passwords
/// cost the same time.
pub(crate) async fn verify(slot: OwnedSemaphorePermit, password: String, stored: Option<String>) -> Result<bool> {
    let ok = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        if let Some(stored) = stored {
            PasswordHash::new(&stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        } else {
            let _ = Argon2::default().hash_password(password.as_bytes());
            false
        }
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(Email::parse(" Alice@Example.COM ").ok().map(|e| e.0), Some("alice@example.com".to_owned()));
        for bad in ["", "alice", "@example.com", "alice@", "alice@example", "a b@example.com", "a@b@c.com", "a@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada ").ok().map(DisplayName::into_inner), Some("Ada".to_owned()));
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(65)).is_err());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
    }

    #[test]
    fn passwords_must_be_8_to_128_characters_and_not_common() {
        assert!(check_new_password("1234567").is_err());
        assert!(check_new_password("12345678").is_err(), "the 6th most common password");
        assert!(check_new_password("PassWord1").is_err(), "compared lower-cased");
        assert!(check_new_password("correct horse battery").is_ok());
        assert_eq!(COMMON.len(), 10_000);
        assert!(check_new_password(&"p".repeat(129)).is_err());
    }

    fn slot() -> OwnedSemaphorePermit {
        let Ok(permit) = std::sync::Arc::new(tokio::sync::Semaphore::new(1)).try_acquire_owned() else {
            panic!("a fresh semaphore has a permit")
        };
        permit
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password() {
        let Ok(hashed) = hash(slot(), "correct horse".to_owned()).await else { panic!("hashing failed") };
        assert!(hashed.starts_with("$argon2id$"));
        assert!(matches!(verify(slot(), "correct horse".to_owned(), Some(hashed.clone())).await, Ok(true)));
        assert!(matches!(verify(slot(), "wrong horse".to_owned(), Some(hashed)).await, Ok(false)));
        assert!(matches!(verify(slot(), "correct horse".to_owned(), None).await, Ok(false)));
    }

    #[tokio::test]
    async fn a_slot_is_held_until_its_hash_is_done() {
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
        let Ok(permit) = std::sync::Arc::clone(&slots).try_acquire_owned() else { panic!("one slot") };
        let hashing = tokio::spawn(hash(permit, "correct horse".to_owned()));
        assert!(slots.clone().try_acquire_owned().is_err(), "busy while hashing: the next one is refused");
        assert!(matches!(hashing.await, Ok(Ok(_))));
        assert!(slots.try_acquire_owned().is_ok(), "free again once the hash is done");
    }
}
