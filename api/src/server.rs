//! Building a running server from a [`Config`]: database and migrations, backends, schema, router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait as _;
use stoa_domain::ports::bus::{EventBus, InProcessBus};
use stoa_domain::ports::presence::{InProcessPresence, PresenceStore};
use stoa_domain::ports::ratelimit::{InProcessLimiter, RateLimiter};
use stoa_domain::{AppCtx, AppDeps, AuthSettings, ChatSettings};
use tokio::net::TcpListener;

use crate::config::{BusConfig, Config, JobMode, ScannerConfig};
use crate::state::AppState;
use crate::{adapters, secret};
use stoa_domain::files::FilesSettings;
use stoa_domain::ports::scanner::{BuiltinScanner, Scanner};

/// A bound, not yet serving, server.
pub struct Server {
    listener: TcpListener,
    router: Router,
    app: AppCtx,
    readiness: Arc<crate::readiness::Readiness>,
}

/// The default of `STOA_DB_ACQUIRE_TIMEOUT_MS`.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Connects to the database (creating a `SQLite` file and its folder if needed), with the default
/// acquire deadline.
///
/// # Errors
/// When the database is unreachable.
pub async fn connect_database(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_database_with(url, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// Connects to the database; a request waits at most `acquire` for a pooled connection (and a
/// new connection at most that long to open) before it is answered `UNAVAILABLE`.
///
/// # Errors
/// When the database is unreachable.
pub async fn connect_database_with(url: &str, acquire: Duration) -> anyhow::Result<DatabaseConnection> {
    let mut options = pool_options(url, acquire);
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = std::path::Path::new(path.split('?').next().unwrap_or_default());
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        // One connection: SQLite has one writer, and a pool of several turns concurrent write
        // transactions into SQLITE_BUSY. Reads are fast enough to share it on a small site.
        options.max_connections(1).min_connections(1);
    } else {
        options.max_connections(20);
    }
    let db = Database::connect(options).await.context("connecting to the database")?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        use sea_orm::ConnectionTrait as _;
        db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            .await
            .context("configuring SQLite")?;
    }
    Ok(db)
}

/// What every pool shares: no statement logging, `acquire` as both deadlines, and a test only
/// of connections idle for 30 s. sqlx pings a connection when it goes back to the pool; pinging
/// again on every checkout doubles the round trips of a short read.
fn pool_options(url: &str, acquire: Duration) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(acquire)
        .connect_timeout(acquire)
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    options
}

/// On SQLite, a pool of `readers` read-only connections to the migrated database beside the one
/// writer (`query_only`: a statement that would write fails); `None` on Postgres, whose one pool
/// serves both, and for `readers` 0.
///
/// # Errors
/// When the database file cannot be opened.
pub async fn connect_readers(url: &str, readers: u32, acquire: Duration) -> anyhow::Result<Option<DatabaseConnection>> {
    if !url.starts_with("sqlite:") || readers == 0 {
        return Ok(None);
    }
    let mut options = pool_options(url, acquire);
    options.max_connections(readers).min_connections(0).map_sqlx_sqlite_opts(|o| o.pragma("query_only", "ON"));
    Ok(Some(Database::connect(options).await.context("opening the SQLite readers")?))
}

/// Applies pending migrations.
///
/// # Errors
/// When a migration fails.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        // SQLite: one writer, and the pool has one connection.
        return stoa_migration::Migrator::up(db, None).await.context("running migrations");
    }
    // Replicas starting together on a fresh database would race their migrations (two CREATE TYPE
    // of one name); a session-level advisory lock, held on a connection of its own, lets one run
    // them while the others wait, then find nothing pending.
    let mut lock = db.get_postgres_connection_pool().acquire().await.context("a connection for the migration lock")?;
    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await
        .context("taking the migration lock")?;
    let migrated = stoa_migration::Migrator::up(db, None).await.context("running migrations");
    let _ = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *lock).await;
    migrated
}

/// The advisory lock key of migrations (any constant of Stoa's own; "stoa" in ASCII).
const MIGRATION_LOCK: i64 = 0x7374_6f61;

/// The event bus, rate limiter and presence store `config` names, with their outage handling.
async fn backends(
    config: &Config,
    health: &Arc<stoa_domain::ports::health::Health>,
) -> anyhow::Result<(Arc<dyn EventBus>, Arc<dyn RateLimiter>, Arc<dyn PresenceStore>)> {
    Ok(match &config.bus {
        BusConfig::InProcess => (
            Arc::new(InProcessBus::default()),
            Arc::new(InProcessLimiter::default()),
            Arc::new(InProcessPresence::default()),
        ),
        BusConfig::Redis { url, prefix } => {
            use secrecy::ExposeSecret as _;
            let url = url.expose_secret();
            let deadline = config.redis_timeout;
            let bus = adapters::RedisBus::connect(url, prefix, deadline).await.context("connecting the Redis bus")?;
            let limiter =
                adapters::RedisLimiter::connect(url, prefix, deadline).await.context("connecting the Redis limiter")?;
            let presence =
                adapters::RedisPresence::connect(url, prefix, deadline).await.context("connecting Redis presence")?;
            let limiter = adapters::GuardedLimiter::new(Arc::new(limiter), config.limiter_policy, Arc::clone(health));
            let bus = stoa_domain::ports::outbox::Outbox::new(bus, Arc::clone(health));
            (bus, Arc::new(limiter), Arc::new(presence))
        }
    })
}

/// SMTP when `STOA_SMTP_URL` is set, else `.eml` files in `<data dir>/outbox/`.
fn mailer(config: &Config) -> anyhow::Result<Arc<dyn stoa_domain::ports::mailer::Mailer>> {
    let from = adapters::parse_mail_from(&config.mail_from)?;
    Ok(match &config.smtp_url {
        Some(url) => Arc::new(adapters::SmtpMailer::new(url, from, Duration::from_secs(30))?),
        None => Arc::new(adapters::OutboxMailer::new(config.data_dir.join("outbox"), from)?),
    })
}

/// The built-in scanner (with the configured blocklist) or clamd.
fn scanner(config: &Config) -> anyhow::Result<Arc<dyn Scanner>> {
    Ok(match &config.scanner {
        ScannerConfig::Builtin => {
            let list = match &config.scan_blocklist {
                Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
                None => String::new(),
            };
            Arc::new(BuiltinScanner::with_blocklist(&list))
        }
        ScannerConfig::ClamdTcp(addr) => Arc::new(adapters::ClamdScanner::new(adapters::ClamdAddr::Tcp(addr.clone()))),
        ScannerConfig::ClamdUnix(path) => {
            Arc::new(adapters::ClamdScanner::new(adapters::ClamdAddr::Unix(path.clone())))
        }
    })
}

/// Builds the application context from configuration (shared by `serve`, `seed` and tests).
///
/// # Errors
/// When a backend cannot be reached or set up.
pub async fn build_app(config: &Config, public_url: &str) -> anyhow::Result<AppCtx> {
    build_app_with_clock(config, public_url, Arc::new(stoa_domain::ports::clock::SystemClock)).await
}

/// [`build_app`] with the clock "now" comes from (a test moves time with a `ShiftedClock`).
///
/// # Errors
/// As [`build_app`].
pub async fn build_app_with_clock(
    config: &Config,
    public_url: &str,
    clock: Arc<dyn stoa_domain::ports::clock::Clock>,
) -> anyhow::Result<AppCtx> {
    let mut db = connect_database_with(&config.database_url, config.db_acquire_timeout).await?;
    migrate(&db).await?;
    let sql_statements = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = |db: &mut DatabaseConnection| {
        let counter = Arc::clone(&sql_statements);
        db.set_metric_callback(move |info| {
            if !info.statement.sql.starts_with(stoa_domain::app::PROBE_MARK) {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    };
    count(&mut db);
    let reads = match connect_readers(&config.database_url, config.sqlite_readers, config.db_acquire_timeout).await? {
        Some(mut readers) => {
            count(&mut readers);
            readers
        }
        None => db.clone(),
    };
    let health = Arc::new(stoa_domain::ports::health::Health::default());
    let (bus, limiter, presence) = backends(config, &health).await?;
    let jwt_secret = secret::load_or_create(config.jwt_secret.as_ref(), &config.data_dir)?;
    let files_key = secret::files_signing_key(&jwt_secret);
    let unsubscribe_key = secret::unsubscribe_key(&jwt_secret);
    let location = stoa_storage::StorageLocation::parse(&config.storage_url)?;
    let storage =
        stoa_storage::Storage::open(&location, &config.s3, public_url, &files_key).context("opening object storage")?;
    let scanner = scanner(config)?;
    let auth = AuthSettings {
        jwt_secret,
        access_ttl: config.access_ttl,
        refresh_ttl: config.refresh_ttl,
        session_max_age: config.session_max_age,
        login_attempts_per_minute: config.login_attempts_per_minute,
        login_attempts_per_address_per_minute: config.login_attempts_per_address_per_minute,
        signups_per_address_per_hour: config.signups_per_address_per_hour,
    };
    let chat = ChatSettings {
        max_message_bytes: config.max_message_bytes,
        stream_recheck: config.stream_recheck,
        mention_everyone_above: config.mention_everyone_above,
    };
    let files = FilesSettings { max_upload_bytes: config.max_upload_bytes, ..FilesSettings::default() };
    let mailer = mailer(config)?;
    let accounts = stoa_domain::AccountSettings {
        workspace_grace: config.workspace_grace,
        ..stoa_domain::AccountSettings::new(
            config.app_url.clone().unwrap_or_else(|| public_url.to_owned()),
            public_url.to_owned(),
            unsubscribe_key,
        )
    };
    let app = AppCtx::new(AppDeps {
        db,
        reads,
        bus,
        limiter,
        storage,
        auth,
        chat,
        presence,
        sql_statements,
        files,
        scanner,
        jobs: std::sync::OnceLock::new(),
        post_groups: stoa_domain::chat::PostGroups::default(),
        clock,
        sessions: stoa_domain::identity::SessionCache::default(),
        // About one hash per core at a time: argon2 is CPU-bound, so more only queues.
        password_slots: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        )),
        health,
        mailer,
        accounts,
    });
    match config.jobs {
        JobMode::Inline => {
            stoa_workers::jobs::InlineQueue::install(&app);
            if config.run_workers {
                // No queue workers inline, but the helpdesk's clock still runs.
                tokio::spawn(stoa_workers::deadlines::run(app.clone(), config.sweep.deadlines));
            }
        }
        JobMode::Queue => {
            let storage = crate::workers::install_queue(&app).await?;
            if config.run_workers {
                let worker_app = app.clone();
                let sweep = config.sweep;
                tokio::spawn(async move {
                    if let Err(e) = crate::workers::run(worker_app, storage, sweep, std::future::pending()).await {
                        tracing::error!(error = %format_args!("{e:#}"), "in-process workers stopped");
                    }
                });
            }
        }
    }
    Ok(app)
}

impl Server {
    /// Connects, migrates, wires and binds.
    ///
    /// # Errors
    /// When a backend is unreachable or the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(stoa_domain::ports::clock::SystemClock)).await
    }

    /// [`Self::build`] with the clock "now" comes from.
    ///
    /// # Errors
    /// As [`Self::build`].
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn stoa_domain::ports::clock::Clock>,
    ) -> anyhow::Result<Self> {
        let trusted = Arc::new(crate::trusted::load(&config.trusted_documents, &config.limits)?);
        let listener = TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?;
        let bound = listener.local_addr()?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
        let app = build_app_with_clock(&config, &public_url, clock).await?;
        let schema = stoa_schema::build(Some(app.clone()), &config.limits);
        let sockets = Arc::new(crate::sessions::SocketSessions::default());
        sockets.spawn_listener(app.clone());
        let readiness = crate::readiness::Readiness::new(crate::readiness::Role::Server);
        readiness.start(app.clone()).await;
        let state = AppState {
            app: app.clone(),
            introspection: stoa_schema::build_for_introspection(Some(app.clone()), &config.limits),
            schema,
            limits: Arc::new(config.limits.clone()),
            docs: Arc::new(crate::gql::DocCache::new(Arc::clone(&trusted))),
            operator_docs: Arc::new(crate::gql::DocCache::new(trusted)),
            operator_limits: Arc::new(stoa_schema::Limits { introspection: true, ..config.limits.clone() }),
            playground: config.playground,
            ws: Arc::new(config.ws.clone()),
            max_body_bytes: config.max_body_bytes,
            metrics: Arc::new(crate::metrics::Metrics::default()),
            ops: Arc::new(crate::ratelimit::OpLimiter::new(config.op_budgets.clone())),
            proxies: Arc::new(config.trusted_proxies.clone()),
            oidc: Arc::new(crate::oidc::Oidc::new(&config.oidc, secret::oidc_flow_key(&app.auth().jwt_secret))?),
            sockets: Arc::clone(&sockets),
            metrics_access: metrics_access(&config),
            readiness: Arc::clone(&readiness),
            groups: Arc::new(crate::ws::groups::RenderGroups::new(config.subscription_groups)),
        };
        let router = crate::router::router(state, &config.cors_origins);
        Ok(Self { listener, router, app, readiness })
    }

    /// The bound address (port 0 resolved).
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The application context, for tests and the CLI.
    #[must_use]
    pub fn app_ctx(&self) -> AppCtx {
        self.app.clone()
    }

    /// Serves until `shutdown` resolves, drains in-flight requests, then checkpoints SQLite.
    ///
    /// # Errors
    /// On a fatal I/O error of the listener.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let readiness = Arc::clone(&self.readiness);
        let shutdown = async move {
            shutdown.await;
            readiness.drain(); // requests still in flight on kept-alive connections see 503
        };
        // No Nagle: a result frame or response goes out when written, not after the peer's ACK of
        // the one before (on loopback that held small frames and replies back by milliseconds).
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let served = axum::serve(listener, service).with_graceful_shutdown(shutdown).await;
        crate::backup::checkpoint(&self.app).await; // stoa.db alone holds every commit (#16)
        served
    }

    /// Serves until SIGTERM or ctrl-c.
    ///
    /// # Errors
    /// On a fatal I/O error of the listener.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// Who may read `/metrics`, from `STOA_METRICS_TOKEN` and `STOA_ENV`.
#[must_use]
pub fn metrics_access(config: &Config) -> crate::state::MetricsAccess {
    match (&config.metrics_token, config.env) {
        (Some(token), _) => crate::state::MetricsAccess::Token(token.clone()),
        (None, crate::config::Env::Production) => crate::state::MetricsAccess::Hidden,
        (None, crate::config::Env::Development) => crate::state::MetricsAccess::Open,
    }
}

/// Resolves on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
