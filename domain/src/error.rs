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
    /// A mailed or one-time token (verification, password reset, invitation, sign-in code) that is
    /// malformed, unknown, expired, already used, revoked, or meant for someone else. Which of these
    /// is not said: a guesser learns nothing.
    #[error("invalid {0} token")]
    InvalidToken(&'static str),
    /// The user is banned from the workspace: no invitation or link lets them back in.
    #[error("banned from this workspace")]
    Banned,
    /// The member is timed out: no posting, reacting or joining voice until `until`.
    #[error("timed out until {until}")]
    TimedOut { until: chrono::DateTime<chrono::Utc> },
    /// The action needs a verified email address (an email invitation, or a workspace that
    /// requires one to join).
    #[error("a verified email address is required")]
    EmailNotVerified,
    /// A uniqueness or state conflict.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The row changed since the caller read it (optimistic locking): nothing was written; the
    /// caller reads `current_version` and `current_state` and decides again.
    #[error("stale version: the ticket is at version {current_version} ({current_state})")]
    StaleVersion { current_version: i64, current_state: &'static str },
    /// The object's state, or a condition of the transition, does not allow the action. `reason`
    /// is a stable string (`INVALID_TRANSITION`, `OPEN_SUBTICKETS`, …); `allowed` lists what the
    /// caller may do instead; `blocked_by` names the objects that hold it (open sub-tickets).
    #[error("invalid state: {reason}")]
    InvalidState { reason: &'static str, allowed: Vec<&'static str>, blocked_by: Vec<uuid::Uuid> },
    /// Too many attempts; retry after the given number of seconds.
    #[error("rate limited: retry in {retry_after_s}s")]
    RateLimited { retry_after_s: u64 },
    /// A dependency this request needs (the database, or Redis under the closed limiter policy)
    /// cannot be reached in its deadline: nothing was done, and the same request may succeed after
    /// `retry_after_s`.
    #[error("{dependency} unavailable: retry in {retry_after_s}s")]
    Unavailable { dependency: &'static str, retry_after_s: u64 },
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

/// Seconds a client is told to wait before retrying a request refused as unavailable: about
/// the time a database restart or a Redis failover takes to be noticed.
pub const RETRY_AFTER_S: u64 = 2;

impl DomainError {
    /// The database cannot be reached.
    #[must_use]
    pub const fn database_unavailable() -> Self {
        Self::Unavailable { dependency: "database", retry_after_s: RETRY_AFTER_S }
    }

    /// This error again, for each of several callers who waited on one failed operation (a post
    /// group): the kind a client can act on survives, everything else is internal.
    #[must_use]
    pub fn for_waiter(&self) -> Self {
        match self {
            Self::Unavailable { dependency, retry_after_s } => {
                Self::Unavailable { dependency, retry_after_s: *retry_after_s }
            }
            other => Self::Internal(anyhow::anyhow!("{other:#}")),
        }
    }

    /// `Internal` errors whose cause is an unreachable database become `Unavailable`.
    #[must_use]
    pub fn classified(self) -> Self {
        match self {
            Self::Internal(cause) => {
                if let Some(Unreachable(dependency)) = cause.chain().find_map(|e| e.downcast_ref::<Unreachable>()) {
                    return Self::Unavailable { dependency, retry_after_s: RETRY_AFTER_S };
                }
                if cause.chain().any(is_unavailable_cause) {
                    tracing::warn!(error = %format_args!("{cause:#}"), "database unavailable");
                    return Self::database_unavailable();
                }
                Self::Internal(cause)
            }
            other => other,
        }
    }
}

/// A cause saying a networked dependency other than the database could not be reached in its
/// deadline (Redis, under the limiter's `closed` policy): at the edge it becomes `UNAVAILABLE`.
#[derive(Debug, thiserror::Error)]
#[error("{0} unreachable")]
pub struct Unreachable(pub &'static str);

/// Whether an error in a cause chain says the database could not be reached (as opposed to a
/// statement that failed): pool timeouts, closed or broken connections, a server shutting down.
fn is_unavailable_cause(err: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(db) = err.downcast_ref::<sea_orm::DbErr>() {
        return db_unavailable(db);
    }
    if let Some(sqlx) = err.downcast_ref::<sea_orm::sqlx::Error>() {
        return sqlx_unavailable(sqlx);
    }
    false
}

/// Whether `err` means the database is unreachable.
#[must_use]
pub fn db_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_unavailable(e),
        _ => false,
    }
}

fn sqlx_unavailable(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    match err {
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
        // Class 08: connection exception; 57P01-03: the server is shutting down or starting;
        // SQLite 5/6: the database file is locked by another process.
        E::Database(db) => {
            db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "5" || c == "6")
        }
        _ => false,
    }
}

impl From<sea_orm::DbErr> for DomainError {
    fn from(err: sea_orm::DbErr) -> Self {
        if db_unavailable(&err) {
            tracing::warn!(error = %format_args!("{err:#}"), "database unavailable");
            return Self::database_unavailable();
        }
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
