//! Read models of identity.

use chrono::{DateTime, Utc};
use stoa_entities::users;

use crate::ids::UserId;

/// The signed-in user's own view of their account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub status_text: Option<String>,
    pub status_emoji: Option<String>,
    /// When the current address was proven by a mailed link.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// The profile picture's rendering set.
    pub avatar_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<users::Model> for User {
    fn from(m: users::Model) -> Self {
        Self {
            id: m.id.into(),
            email: m.email,
            display_name: m.display_name,
            status_text: m.status_text,
            status_emoji: m.status_emoji,
            email_verified_at: m.email_verified_at,
            avatar_key: m.avatar_key,
            created_at: m.created_at,
        }
    }
}

/// What other people see of a user: no email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCard {
    pub id: UserId,
    pub display_name: String,
    pub status_text: Option<String>,
    pub status_emoji: Option<String>,
}

impl From<users::Model> for UserCard {
    fn from(m: users::Model) -> Self {
        Self { id: m.id.into(), display_name: m.display_name, status_text: m.status_text, status_emoji: m.status_emoji }
    }
}

/// A fresh pair of tokens and the user they belong to.
#[derive(Debug, Clone)]
pub struct AuthSession {
    pub user: User,
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}
