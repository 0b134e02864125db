//! The application context every use case receives: database, event bus, rate limiter, settings.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use secrecy::SecretSlice;

use crate::error::Result;
use crate::ports::bus::EventBus;
use crate::ports::ratelimit::RateLimiter;
use crate::tx::Tx;

/// Token lifetimes and the signing key.
#[derive(Clone)]
pub struct AuthSettings {
    /// HMAC key for access tokens (HS256).
    pub jwt_secret: SecretSlice<u8>,
    /// Lifetime of an access token.
    pub access_ttl: Duration,
    /// Lifetime of a refresh token (each rotation starts a new one).
    pub refresh_ttl: Duration,
    /// How long a session lives from its login, however often it is refreshed (default 90 days).
    pub session_max_age: Duration,
    /// Login attempts allowed per account and client address per minute.
    pub login_attempts_per_minute: u32,
    /// Login attempts allowed per client address per minute, whatever the email.
    pub login_attempts_per_address_per_minute: u32,
    /// Sign-ups allowed per client address per hour.
    pub signups_per_address_per_hour: u32,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("jwt_secret", &"[redacted]")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("session_max_age", &self.session_max_age)
            .finish_non_exhaustive()
    }
}

/// Chat limits.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// Largest message body in bytes (default 8 KiB).
    pub max_message_bytes: usize,
    /// How often a subscription re-checks its viewer's access (default 30 s), so a stream ends
    /// even when the event announcing a removal never reached this replica.
    pub stream_recheck: Duration,
    /// Members above which `@channel` needs [`Permission::MentionEveryone`](crate::authz::Permission)
    /// (default 50): one post must not page a crowd on anyone's say-so.
    pub mention_everyone_above: usize,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self { max_message_bytes: 8 * 1024, stream_recheck: Duration::from_secs(30), mention_everyone_above: 50 }
    }
}

/// Account lifecycles: where mailed links point and how long their tokens live.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// Base URL of the frontend that mailed links open (`STOA_APP_URL`, default the public URL).
    pub app_url: String,
    /// Base URL of this server (`STOA_PUBLIC_URL`): List-Unsubscribe links point at it.
    pub public_url: String,
    /// Signs List-Unsubscribe links (derived from the JWT secret).
    pub unsubscribe_key: SecretSlice<u8>,
    /// How long an email-verification (or email-change) link works (24 h).
    pub verification_ttl: Duration,
    /// How long a password-reset link works (30 min).
    pub reset_ttl: Duration,
    /// Verification mails a user may ask for per hour (3).
    pub verification_mails_per_hour: u32,
    /// Password-reset requests per client address per hour (10).
    pub reset_requests_per_address_per_hour: u32,
    /// Password-reset mails per account per hour, whoever asks (3): more are dropped silently, so
    /// nobody can flood an inbox and the answer stays the same.
    pub reset_mails_per_account_per_hour: u32,
    /// How long a deleted workspace can be restored before it is purged (30 days).
    pub workspace_grace: Duration,
}

impl AccountSettings {
    /// The defaults, with links to `app_url` and `public_url`.
    #[must_use]
    pub fn new(app_url: String, public_url: String, unsubscribe_key: Vec<u8>) -> Self {
        Self {
            app_url,
            public_url,
            unsubscribe_key: unsubscribe_key.into(),
            verification_ttl: Duration::from_hours(24),
            reset_ttl: Duration::from_mins(30),
            verification_mails_per_hour: 3,
            reset_requests_per_address_per_hour: 10,
            reset_mails_per_account_per_hour: 3,
            workspace_grace: Duration::from_hours(30 * 24),
        }
    }
}

/// What `api` hands the domain at start-up.
pub struct AppDeps {
    pub db: DatabaseConnection,
    /// Where reads that write nothing run: on SQLite a pool of read-only connections beside the one
    /// writer (WAL lets them read while it writes); on Postgres the same pool as `db`.
    pub reads: DatabaseConnection,
    pub bus: Arc<dyn EventBus>,
    pub limiter: Arc<dyn RateLimiter>,
    pub storage: stoa_storage::Storage,
    pub auth: AuthSettings,
    pub chat: ChatSettings,
    pub presence: Arc<dyn crate::ports::presence::PresenceStore>,
    /// SQL statements run since start (a sea-orm metric callback feeds it).
    pub sql_statements: Arc<std::sync::atomic::AtomicU64>,
    pub files: crate::files::FilesSettings,
    pub scanner: Arc<dyn crate::ports::scanner::Scanner>,
    /// Set once after start-up (the inline queue needs the context it lives in).
    pub jobs: std::sync::OnceLock<Arc<dyn crate::ports::jobs::JobQueue>>,
    /// Plain posts waiting for their channel's next group commit.
    pub post_groups: crate::chat::PostGroups,
    /// Where "now" comes from.
    pub clock: Arc<dyn crate::ports::clock::Clock>,
    /// Which session families are still live, as last read.
    pub sessions: crate::identity::SessionCache,
    /// Password hashes allowed to run at once (about the core count); a request finding none free
    /// is refused `RATE_LIMITED` rather than queued behind them.
    pub password_slots: Arc<tokio::sync::Semaphore>,
    /// What `/readyz` and `/metrics` report about dependencies and worker loops.
    pub health: Arc<crate::ports::health::Health>,
    /// Where outbound mail goes.
    pub mailer: Arc<dyn crate::ports::mailer::Mailer>,
    pub accounts: AccountSettings,
}

/// The database pool of [`AppCtx::job_pool`].
pub enum JobPool {
    Sqlite(sea_orm::sqlx::SqlitePool),
    Postgres(sea_orm::sqlx::PgPool),
}

/// Opens the SQL of health probes and of the helpdesk clock's polls (the earliest deadline, what
/// is due), which the statement counter leaves out: what it counts is the work clients cause.
pub const PROBE_MARK: &str = "/* stoa probe */";

/// Cheap to clone; shared by resolvers, workers and the CLI.
#[derive(Clone)]
pub struct AppCtx(Arc<AppDeps>);

impl AppCtx {
    #[must_use]
    pub fn new(deps: AppDeps) -> Self {
        Self(Arc::new(deps))
    }

    /// Opens the use case's one transaction. Events emitted on it are published after commit.
    ///
    /// # Errors
    /// `Internal` when the database cannot start a transaction.
    pub async fn begin(&self) -> Result<Tx> {
        #[expect(clippy::disallowed_methods, reason = "the one place a transaction is opened")]
        let txn = self.0.db.begin().await?;
        Ok(Tx::new(txn, Arc::clone(&self.0.bus)))
    }

    /// Opens a read-only unit of work on [`Self::reads`]: one connection for all its statements
    /// and, on SQLite, one snapshot. It publishes nothing, so it is no [`Tx`].
    ///
    /// # Errors
    /// `Internal` (or `UNAVAILABLE`) when no connection can be had.
    pub(crate) async fn read_snapshot(&self) -> Result<sea_orm::DatabaseTransaction> {
        #[expect(clippy::disallowed_methods, reason = "a read transaction: it has no events to publish")]
        let txn = self.0.reads.begin().await?;
        Ok(txn)
    }

    /// A slot to hash or verify one password in, held until the hash is done.
    ///
    /// # Errors
    /// `RATE_LIMITED` when every slot is taken.
    pub(crate) fn password_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.0.password_slots)
            .try_acquire_owned()
            .map_err(|_| crate::DomainError::RateLimited { retry_after_s: 1 })
    }

    /// Cached answers to "is this session still live".
    #[must_use]
    pub(crate) fn sessions(&self) -> &crate::identity::SessionCache {
        &self.0.sessions
    }

    /// Plain posts waiting for their channel's next group commit.
    #[must_use]
    pub(crate) fn post_groups(&self) -> &crate::chat::PostGroups {
        &self.0.post_groups
    }

    /// The connection for reads outside a transaction. Sealed inside `domain`: no other layer
    /// writes around the rules.
    #[must_use]
    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.0.db
    }

    /// The pool for pages that only read (history, threads): on SQLite, read-only connections
    /// beside the writer, so reads no longer queue behind writes and each other on one connection.
    /// A read started after a commit sees it.
    #[must_use]
    pub(crate) fn reads(&self) -> &DatabaseConnection {
        &self.0.reads
    }

    /// The connection itself, for tests that break the database on purpose.
    #[cfg(feature = "test-support")]
    #[must_use]
    pub fn db_for_tests(&self) -> &DatabaseConnection {
        &self.0.db
    }

    /// The pool a job queue keeps its jobs in: apalis shares sea-orm's sqlx pool, so jobs live in
    /// the application's own database.
    #[must_use]
    pub fn job_pool(&self) -> JobPool {
        if self.is_sqlite() {
            JobPool::Sqlite(self.0.db.get_sqlite_connection_pool().clone())
        } else {
            JobPool::Postgres(self.0.db.get_postgres_connection_pool().clone())
        }
    }

    /// The event bus, for subscriptions.
    #[must_use]
    pub fn bus(&self) -> &Arc<dyn EventBus> {
        &self.0.bus
    }

    /// Dependency and worker health, shared with the transport.
    #[must_use]
    pub fn health(&self) -> &Arc<crate::ports::health::Health> {
        &self.0.health
    }

    #[must_use]
    pub fn limiter(&self) -> &Arc<dyn RateLimiter> {
        &self.0.limiter
    }

    #[must_use]
    pub fn storage(&self) -> &stoa_storage::Storage {
        &self.0.storage
    }

    #[must_use]
    pub fn auth(&self) -> &AuthSettings {
        &self.0.auth
    }

    /// The current time, from the configured [`Clock`](crate::ports::clock::Clock).
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }

    /// Publishes an ephemeral event that nothing stores (typing, presence, voice signals). Durable
    /// facts go through [`Tx::emit`] so they publish only after commit.
    pub async fn signal(&self, event: crate::events::Event) {
        #[expect(clippy::disallowed_methods, reason = "ephemeral events have no transaction to wait for")]
        if let Err(err) = self.0.bus.publish(event).await {
            tracing::warn!(error = ?err, "ephemeral event publish failed");
        }
    }

    /// Where outbound mail goes.
    #[must_use]
    pub fn mailer(&self) -> &Arc<dyn crate::ports::mailer::Mailer> {
        &self.0.mailer
    }

    /// Account lifecycle settings.
    #[must_use]
    pub fn accounts(&self) -> &AccountSettings {
        &self.0.accounts
    }

    /// Upload limits.
    #[must_use]
    pub fn files(&self) -> &crate::files::FilesSettings {
        &self.0.files
    }

    /// The virus scanner.
    #[must_use]
    pub fn scanner(&self) -> &Arc<dyn crate::ports::scanner::Scanner> {
        &self.0.scanner
    }

    /// Installs the job queue; the first call wins.
    pub fn set_jobs(&self, jobs: Arc<dyn crate::ports::jobs::JobQueue>) {
        let _ = self.0.jobs.set(jobs);
    }

    /// The job queue.
    #[must_use]
    pub fn jobs(&self) -> &dyn crate::ports::jobs::JobQueue {
        match self.0.jobs.get() {
            Some(jobs) => jobs.as_ref(),
            None => &crate::ports::jobs::NoQueue,
        }
    }

    /// Presence counts.
    #[must_use]
    pub fn presence(&self) -> &Arc<dyn crate::ports::presence::PresenceStore> {
        &self.0.presence
    }

    /// SQL statements run since start.
    #[must_use]
    pub fn sql_statements(&self) -> u64 {
        self.0.sql_statements.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Chat limits.
    #[must_use]
    pub fn chat(&self) -> &ChatSettings {
        &self.0.chat
    }

    /// Whether the database is SQLite (the job runtime picks its storage by it).
    #[must_use]
    pub fn is_sqlite(&self) -> bool {
        self.0.db.get_database_backend() == sea_orm::DbBackend::Sqlite
    }

    /// Puts SQLite back to `synchronous=NORMAL` (WAL): apalis' setup switches it off.
    ///
    /// # Errors
    /// `Internal` on database failure.
    pub async fn restore_sqlite_durability(&self) -> Result<()> {
        use sea_orm::ConnectionTrait as _;
        self.0.db.execute_unprepared("PRAGMA synchronous=NORMAL").await?;
        Ok(())
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        self.0.db.ping().await.is_ok()
    }

    /// How many migrations the database has applied (rows of `seaql_migrations`), for the
    /// readiness probe to hold against the binary's own list.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn applied_migrations(&self) -> Result<usize> {
        use sea_orm::ConnectionTrait as _;
        let db = &self.0.db;
        let sql = format!("{PROBE_MARK} SELECT COUNT(*) AS n FROM seaql_migrations");
        let stmt = sea_orm::Statement::from_string(db.get_database_backend(), sql);
        let row = db.query_one_raw(stmt).await?;
        let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }
}
