//! Who is acting: a signed-in user, or the system (jobs, CLI).

use crate::error::{DomainError, Result};
use crate::ids::{SessionFamilyId, UserId};

/// The caller of a use case, always passed explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A user with a verified access token.
    User { user_id: UserId, session: SessionFamilyId },
    /// Background work (jobs, seeding); the label names what acts, for the audit log.
    System(&'static str),
}

impl Actor {
    /// A system actor, e.g. `Actor::system("seed")`.
    #[must_use]
    pub const fn system(label: &'static str) -> Self {
        Self::System(label)
    }

    /// The user behind this actor, or `UNAUTHENTICATED` for the system actor where a person is required.
    ///
    /// # Errors
    /// `Unauthenticated` for a system actor.
    pub fn user_id(&self) -> Result<UserId> {
        match self {
            Self::User { user_id, .. } => Ok(*user_id),
            Self::System(_) => Err(DomainError::Unauthenticated("a signed-in user is required")),
        }
    }

    /// A short label for logs and the audit trail.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::User { user_id, .. } => format!("user:{user_id}"),
            Self::System(label) => format!("system:{label}"),
        }
    }
}
