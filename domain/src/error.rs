//! The one error type of the domain; the GraphQL edge maps each variant to a stable `extensions.code`.

use crate::authz::Permission;

/// Result alias used by every domain function.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// Every outcome a client can act on, plus `Internal` for everything it cannot.
///
/// Not `#[non_exhaustive]`: a new variant must break the schema's exhaustive mapping.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// No valid session, or credentials refused. The reason is safe to show.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The actor is known but lacks a permission.
    #[error("missing permission {needed:?}")]
    Forbidden { needed: Permission },
    /// Missing, or invisible to this actor (the two are never distinguished).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that breaks a rule; `field` names the input field.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// A uniqueness or state conflict.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Too many attempts; retry after the given number of seconds.
    #[error("rate limited: retry in {retry_after_s}s")]
    RateLimited { retry_after_s: u64 },
    /// Anything unexpected. Logged with its cause chain; clients see "internal error".
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }
}

impl From<sea_orm::DbErr> for DomainError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(anyhow::Error::new(err).context("database"))
    }
}

/// Maps an expected unique-constraint hit to a domain error at the call site.
pub trait OnUnique<T> {
    /// Turns a unique violation into `err()`, and any other database error into `Internal`.
    ///
    /// # Errors
    /// `err()` on a unique violation; `Internal` on any other database error.
    fn on_unique(self, err: impl FnOnce() -> DomainError) -> Result<T>;
}

impl<T> OnUnique<T> for std::result::Result<T, sea_orm::DbErr> {
    fn on_unique(self, err: impl FnOnce() -> DomainError) -> Result<T> {
        self.map_err(|db| match db.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => err(),
            _ => DomainError::from(db),
        })
    }
}
