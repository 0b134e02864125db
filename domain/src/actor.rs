//! Who is acting: a signed-in user, or the system (jobs, CLI).

use std::sync::Arc;

use crate::error::{DomainError, Result};
use crate::ids::{SessionFamilyId, UserId};

/// Where a user's request came from and why they say they act: what the audit log records beside
/// who. The transport sets the address (after the trusted-proxy rule) and the user agent; an admin
/// mutation's optional `reason` argument adds the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub reason: Option<String>,
}

/// Longest user agent kept (bytes, cut at a character boundary).
const USER_AGENT_BYTES: usize = 256;
/// Longest reason accepted, in characters.
const REASON_CHARS: usize = 500;

/// The caller of a use case, always passed explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A user with a verified access token, and where the request came from.
    User { user_id: UserId, session: SessionFamilyId, origin: Option<Arc<Origin>> },
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

    /// The same actor, as seen from `client_ip` with `user_agent` (the transport calls this).
    #[must_use]
    pub fn from_client(self, client_ip: &str, user_agent: Option<&str>) -> Self {
        match self {
            Self::User { user_id, session, origin } => {
                let mut origin = origin.as_deref().cloned().unwrap_or_default();
                origin.client_ip = Some(client_ip.to_owned());
                origin.user_agent = user_agent.map(|ua| {
                    let mut end = ua.len().min(USER_AGENT_BYTES);
                    while !ua.is_char_boundary(end) {
                        end -= 1;
                    }
                    ua[..end].chars().filter(|c| !c.is_control()).collect()
                });
                Self::User { user_id, session, origin: Some(Arc::new(origin)) }
            }
            system @ Self::System(_) => system,
        }
    }

    /// The same actor, giving `reason` (trimmed; blank is none) for what it does next.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on `reason` when it is over 500 characters or holds control characters.
    pub fn because(&self, reason: Option<String>) -> Result<Self> {
        let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if let Some(r) = &reason
            && (r.chars().count() > REASON_CHARS || r.chars().any(|c| c.is_control() && c != '\n'))
        {
            return Err(DomainError::invalid("reason", "at most 500 characters, no control characters"));
        }
        Ok(match self {
            Self::User { user_id, session, origin } => {
                let mut origin = origin.as_deref().cloned().unwrap_or_default();
                origin.reason = reason;
                Self::User { user_id: *user_id, session: *session, origin: Some(Arc::new(origin)) }
            }
            system @ Self::System(_) => system.clone(),
        })
    }

    /// Where the request came from, when a transport said.
    #[must_use]
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            Self::User { origin, .. } => origin.as_deref(),
            Self::System(_) => None,
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
