//! Configuration: embedded defaults, then environment variables (12-factor). Loaded once in
//! `main` and passed down; nothing else reads the environment.
//!
//! A wrong value is a [`ConfigError`] naming the variable, printed as one line at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use stoa_schema::Limits;

/// Development (introspection and suggestions on) or production (both off unless overridden).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    Development,
    Production,
}

/// Which event bus carries realtime events.
#[derive(Debug, Clone)]
pub enum BusConfig {
    /// tokio broadcast inside this process (single node).
    InProcess,
    /// Redis pub/sub, so every replica sees every event. `prefix` namespaces channels and keys.
    Redis { url: SecretString, prefix: String },
}

/// WebSocket transport settings.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// Close with 4408 when no `connection_init` arrives within this time.
    pub init_timeout: Duration,
    /// Interval of server keep-alives (ping frames; `ka` on the legacy protocol).
    pub keepalive: Duration,
    /// Largest accepted WebSocket message.
    pub max_message_bytes: usize,
    /// Operations one connection may run at once.
    pub max_operations: usize,
}

/// Which virus scanner checks uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerConfig {
    Builtin,
    ClamdTcp(String),
    ClamdUnix(PathBuf),
}

/// How jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobMode {
    /// Inside the request that enqueues them, with retries.
    Inline,
    /// In the durable apalis queue, run by workers.
    Queue,
}

/// Everything `stoa` needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub env: Env,
    /// `STOA_BIND`, default 127.0.0.1:8080.
    pub bind: SocketAddr,
    /// `STOA_DATA_DIR`, default ./data: the `SQLite` file, local objects and the generated JWT secret.
    pub data_dir: PathBuf,
    /// `DATABASE_URL`, default sqlite://<`data_dir>/stoa.db`.
    pub database_url: String,
    /// From `REDIS_URL` (absent: in-process bus and limits).
    pub bus: BusConfig,
    /// `STORAGE_URL`, default file://<`data_dir>/objects`.
    pub storage_url: String,
    /// `STOA_LOG` (or `RUST_LOG`), default "info".
    pub log: String,
    /// `STOA_JWT_SECRET`; absent: generated once and kept in <`data_dir>/jwt.secret`.
    pub jwt_secret: Option<SecretString>,
    /// `STOA_ACCESS_TOKEN_TTL_SECS`, default 900.
    pub access_ttl: Duration,
    /// `STOA_REFRESH_TOKEN_TTL_SECS`, default 30 days.
    pub refresh_ttl: Duration,
    /// `STOA_SESSION_MAX_AGE_SECS` (90 days): a session ends this long after its login.
    pub session_max_age: Duration,
    /// `STOA_LOGIN_ATTEMPTS_PER_MINUTE`, default 10.
    pub login_attempts_per_minute: u32,
    /// `STOA_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE` (30): login attempts per client address, any email.
    pub login_attempts_per_address_per_minute: u32,
    /// `STOA_SIGNUPS_PER_ADDRESS_PER_HOUR` (30): sign-ups per client address per hour.
    pub signups_per_address_per_hour: u32,
    /// Document limits (`STOA_MAX_*`, `STOA_INTROSPECTION`).
    pub limits: Limits,
    /// `STOA_MAX_BODY_BYTES`, default 1 MiB.
    pub max_body_bytes: usize,
    /// `STOA_MAX_MESSAGE_BYTES`, default 8 KiB: the largest chat message body.
    pub max_message_bytes: usize,
    /// `STOA_STREAM_RECHECK_SECS` (30): how often a subscription re-checks its viewer's access.
    pub stream_recheck: Duration,
    /// `STOA_CHANNEL_MENTION_MAX_MEMBERS` (50): above this many members, `@channel` needs a moderator.
    pub mention_everyone_above: usize,
    pub ws: WsConfig,
    /// `STOA_RATE_LIMIT_IP_PER_MIN` (default 600) and `STOA_RATE_LIMITS` (per-role budgets per
    /// minute, default `owner=300,admin=300,moderator=250,agent=250,member=150`).
    pub op_budgets: crate::ratelimit::OpBudgets,
    /// `STOA_PUBLIC_URL`: the base URL clients reach this server at (signed file URLs); default
    /// `http://<bound address>`.
    pub public_url: Option<String>,
    /// `STOA_APP_URL`: the frontend that links in mail open (`/verify-email`, `/reset-password`,
    /// `/invite`); default the public URL.
    pub app_url: Option<String>,
    /// `STOA_SMTP_URL`: `smtp://[user:pass@]host[:port]` (plain), `…?tls=required` (STARTTLS) or
    /// `smtps://…` (TLS). Without it, mail is written to `<data dir>/outbox/*.eml`.
    pub smtp_url: Option<String>,
    /// `STOA_MAIL_FROM` (`Stoa <no-reply@localhost>`): the sender of every mail.
    pub mail_from: String,
    /// `STOA_OIDC_PROVIDERS`: comma-separated provider names (`a-z`, `0-9`, `-`); each needs
    /// `STOA_OIDC_<NAME>_ISSUER`, `_CLIENT_ID` and `_CLIENT_SECRET` (`<NAME>` upper-cased, `-` as `_`).
    pub oidc: Vec<OidcProviderConfig>,
    /// `STOA_WORKSPACE_GRACE_DAYS` (30): how long a deleted workspace can be restored before its
    /// purge.
    pub workspace_grace: Duration,
    /// `S3_ENDPOINT`, `S3_REGION` (default us-east-1), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.
    pub s3: stoa_storage::S3Settings,
    /// `STOA_MAX_UPLOAD_BYTES`, default 10 MiB.
    pub max_upload_bytes: u64,
    /// `STOA_SCANNER`: `builtin` (default), `clamd://host:port` or `clamd:///path/to/clamd.sock`.
    pub scanner: ScannerConfig,
    /// `STOA_SCAN_BLOCKLIST`: a file of SHA-256 hashes the built-in scanner refuses.
    pub scan_blocklist: Option<PathBuf>,
    /// `STOA_JOBS`: `queue` (default: the durable apalis queue) or `inline` (each job runs before
    /// its mutation returns; tests and tiny sites).
    pub jobs: JobMode,
    /// `STOA_WORKERS` (default true): run job workers inside `stoa serve` (queue mode).
    pub run_workers: bool,
    /// `STOA_SCAN_SWEEP_SECS` (60) and `STOA_SCAN_STALE_SECS` (300): how often workers look for
    /// scans lost with a dead worker, and how old a pending scan must be to count as lost.
    pub sweep: stoa_workers::runtime::Sweep,
    /// `STOA_CORS_ORIGINS`: comma-separated allowed origins; empty allows none cross-origin.
    pub cors_origins: Vec<String>,
    /// `STOA_METRICS_TOKEN`: the bearer token `/metrics` requires; without it `/metrics` is open in
    /// development and not served in production.
    pub metrics_token: Option<SecretString>,
    /// `STOA_TRUSTED_PROXIES`: comma-separated CIDRs of proxies whose `Forwarded` /
    /// `X-Forwarded-For` name the client; empty trusts none.
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// `STOA_DB_ACQUIRE_TIMEOUT_MS` (2000): the longest a request waits for a database connection
    /// before it is answered `UNAVAILABLE`.
    pub db_acquire_timeout: Duration,
    /// `STOA_REDIS_TIMEOUT_MS` (250): the longest any Redis call may take.
    pub redis_timeout: Duration,
    /// `STOA_SQLITE_READERS` (4): read-only SQLite connections for history pages, beside the one
    /// writer; 0 reads on the writer's connection. Unused on Postgres.
    pub sqlite_readers: u32,
    /// `STOA_RATE_LIMIT_REDIS_DOWN` (`open`): what the rate limiter does while Redis is unreachable.
    pub limiter_policy: crate::adapters::LimiterPolicy,
    /// `STOA_SUBSCRIPTION_GROUPS` (true): identical `channelEvents` subscriptions share one render
    /// per event (false renders per subscriber, for comparison).
    pub subscription_groups: bool,
    /// `STOA_WORKER_BIND` (127.0.0.1:9090): where `stoa worker` serves `/healthz`, `/readyz` and
    /// `/metrics`.
    pub worker_bind: SocketAddr,
    /// `STOA_TRUSTED_DOCUMENTS` and `STOA_TRUSTED_DOCUMENTS_MODE`.
    pub trusted_documents: TrustedDocumentsConfig,
    /// `STOA_PLAYGROUND` (on in development, off in production): whether `/` serves GraphiQL.
    pub playground: bool,
}

/// Which documents are trusted, and what happens to the others.
#[derive(Debug, Clone)]
pub struct TrustedDocumentsConfig {
    /// `STOA_TRUSTED_DOCUMENTS_MODE`: `off`, `log` or `enforce`; default `enforce` with
    /// `STOA_ENV=production`, else `off`.
    pub mode: crate::trusted::Mode,
    /// `STOA_TRUSTED_DOCUMENTS`: comma-separated paths of other frontends' manifests
    /// (`{"sha256:<hex>": "<document>"}`), beside the embedded one of the generated client.
    pub manifests: Vec<PathBuf>,
    /// `STOA_TRUSTED_DOCUMENTS_EMBEDDED` (true): list the generated client's documents. Off for a
    /// server only other frontends use, or whose document limits are below those documents (every
    /// listed document must pass the limits, or startup fails naming it).
    pub embedded: bool,
}

/// One OpenID provider.
#[derive(Clone)]
pub struct OidcProviderConfig {
    pub name: String,
    /// Exactly as the provider's discovery document names itself.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for OidcProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProviderConfig")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn oidc_providers(get: impl Fn(&str) -> Option<String>) -> Result<Vec<OidcProviderConfig>, ConfigError> {
    const VAR: &str = "STOA_OIDC_PROVIDERS";
    let Some(list) = get(VAR) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name.len() > 32 || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(err(VAR, format!("{name:?}: names are 1 to 32 of a-z, 0-9 and -")));
        }
        let prefix = format!("STOA_OIDC_{}_", name.to_ascii_uppercase().replace('-', "_"));
        let need = |suffix: &str| {
            get(&format!("{prefix}{suffix}")).ok_or_else(|| err(VAR, format!("{prefix}{suffix} is unset")))
        };
        let issuer = need("ISSUER")?;
        if !(issuer.starts_with("https://")
            || issuer.starts_with("http://127.0.0.1")
            || issuer.starts_with("http://localhost"))
        {
            return Err(err(VAR, format!("{prefix}ISSUER must be https (or a loopback http URL)")));
        }
        out.push(OidcProviderConfig {
            name: name.to_owned(),
            issuer,
            client_id: need("CLIENT_ID")?,
            client_secret: need("CLIENT_SECRET")?,
        });
    }
    Ok(out)
}

/// One bad variable, with what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

fn err(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { var, reason: reason.into() }
}

struct Source<F>(F);

impl<F: Fn(&str) -> Option<String>> Source<F> {
    fn get(&self, var: &'static str) -> Option<String> {
        (self.0)(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e| err(var, format!("{raw:?} is not valid: {e}"))),
        }
    }

    fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).as_deref().map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(err(var, format!("{other:?} is not a boolean (true/false)"))),
        }
    }

    fn positive(&self, var: &'static str, default: usize) -> Result<usize, ConfigError> {
        let value: usize = self.parse(var, default)?;
        if value == 0 { Err(err(var, "must be greater than 0")) } else { Ok(value) }
    }

    /// A deadline in milliseconds: more than zero, at most a minute.
    fn deadline_ms(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let value: i64 = self.parse(var, i64::try_from(default).unwrap_or(i64::MAX))?;
        match u64::try_from(value) {
            Ok(0) | Err(_) => Err(err(var, format!("{value} ms: must be greater than 0"))),
            Ok(ms) if ms > 60_000 => Err(err(var, format!("{ms} ms: must be at most 60000 (one minute)"))),
            Ok(ms) => Ok(Duration::from_millis(ms)),
        }
    }

    fn secs(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let value: u64 = self.parse(var, default)?;
        if value == 0 { Err(err(var, "must be greater than 0")) } else { Ok(Duration::from_secs(value)) }
    }
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first variable with a bad value.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup (tests pass a map).
    ///
    /// # Errors
    /// The first variable with a bad value.
    #[expect(clippy::too_many_lines, reason = "one flat list of variables reads best")]
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let src = Source(lookup);
        let env = match src.get("STOA_ENV").as_deref() {
            None | Some("development" | "dev") => Env::Development,
            Some("production" | "prod") => Env::Production,
            Some(other) => {
                return Err(err("STOA_ENV", format!("{other:?}: expected development or production")));
            }
        };
        let data_dir = PathBuf::from(src.get("STOA_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = database_url(src.get("DATABASE_URL"), &data_dir)?;
        let bus = match src.get("REDIS_URL") {
            None => BusConfig::InProcess,
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => BusConfig::Redis {
                url: url.into(),
                prefix: src.get("STOA_REDIS_PREFIX").unwrap_or_else(|| "stoa".into()),
            },
            Some(_) => return Err(err("REDIS_URL", "expected redis://host:port or rediss://…")),
        };
        let storage_url =
            src.get("STORAGE_URL").unwrap_or_else(|| format!("file://{}", data_dir.join("objects").display()));
        let location =
            stoa_storage::StorageLocation::parse(&storage_url).map_err(|e| err("STORAGE_URL", e.to_string()))?;
        if matches!(location, stoa_storage::StorageLocation::S3 { .. })
            && (src.get("AWS_ACCESS_KEY_ID").is_none() || src.get("AWS_SECRET_ACCESS_KEY").is_none())
        {
            return Err(err("STORAGE_URL", "s3:// storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
        }
        let production = env == Env::Production;
        let limits = Limits {
            max_tokens: src.positive("STOA_MAX_TOKENS", 2_000)?,
            max_nesting: src.positive("STOA_MAX_NESTING", 40)?,
            max_depth: src.positive("STOA_MAX_DEPTH", 12)?,
            max_complexity: src.positive("STOA_MAX_COMPLEXITY", 5_000)?,
            max_aliases: src.parse("STOA_MAX_ALIASES", 15)?,
            max_directives: src.parse("STOA_MAX_DIRECTIVES", 50)?,
            max_field_repeats: src.positive("STOA_MAX_FIELD_REPEATS", 3)?,
            max_batch: src.positive("STOA_MAX_BATCH", 10)?,
            introspection: src.flag("STOA_INTROSPECTION", !production)?,
            suggestions: src.flag("STOA_SUGGESTIONS", !production)?,
        };
        let jwt_secret = src.get("STOA_JWT_SECRET");
        if jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(err("STOA_JWT_SECRET", "must be at least 32 bytes"));
        }
        if production && jwt_secret.as_ref().is_some_and(|s| crate::secret::example_secrets().contains(s)) {
            return Err(err(
                "STOA_JWT_SECRET",
                "is an example value from the repository: generate one (openssl rand -hex 32)",
            ));
        }
        Ok(Self {
            env,
            bind: src.parse("STOA_BIND", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            data_dir,
            database_url,
            bus,
            storage_url,
            log: src.get("STOA_LOG").or_else(|| src.get("RUST_LOG")).unwrap_or_else(|| "info".into()),
            jwt_secret: jwt_secret.map(SecretString::from),
            access_ttl: src.secs("STOA_ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_ttl: src.secs("STOA_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            session_max_age: src.secs("STOA_SESSION_MAX_AGE_SECS", 90 * 24 * 3600)?,
            login_attempts_per_minute: u32::try_from(src.positive("STOA_LOGIN_ATTEMPTS_PER_MINUTE", 10)?)
                .map_err(|_| err("STOA_LOGIN_ATTEMPTS_PER_MINUTE", "too large"))?,
            login_attempts_per_address_per_minute: u32::try_from(
                src.positive("STOA_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", 30)?,
            )
            .map_err(|_| err("STOA_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "too large"))?,
            signups_per_address_per_hour: u32::try_from(src.positive("STOA_SIGNUPS_PER_ADDRESS_PER_HOUR", 30)?)
                .map_err(|_| err("STOA_SIGNUPS_PER_ADDRESS_PER_HOUR", "too large"))?,
            limits,
            max_body_bytes: src.positive("STOA_MAX_BODY_BYTES", 1024 * 1024)?,
            max_message_bytes: src.positive("STOA_MAX_MESSAGE_BYTES", 8 * 1024)?,
            stream_recheck: src.secs("STOA_STREAM_RECHECK_SECS", 30)?,
            mention_everyone_above: src.parse("STOA_CHANNEL_MENTION_MAX_MEMBERS", 50)?,
            ws: WsConfig {
                init_timeout: Duration::from_millis(src.parse("STOA_WS_INIT_TIMEOUT_MS", 10_000)?),
                keepalive: src.secs("STOA_WS_KEEPALIVE_SECS", 15)?,
                max_message_bytes: src.positive("STOA_WS_MAX_MESSAGE_BYTES", 256 * 1024)?,
                max_operations: src.positive("STOA_WS_MAX_OPERATIONS", 100)?,
            },
            op_budgets: {
                let base = crate::ratelimit::OpBudgets {
                    per_ip: u32::try_from(src.positive("STOA_RATE_LIMIT_IP_PER_MIN", 600)?)
                        .map_err(|_| err("STOA_RATE_LIMIT_IP_PER_MIN", "too large"))?,
                    ..Default::default()
                };
                match src.get("STOA_RATE_LIMITS") {
                    None => base,
                    Some(spec) => base.with_roles(&spec).map_err(|e| err("STOA_RATE_LIMITS", e))?,
                }
            },
            public_url: src.get("STOA_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            app_url: src.get("STOA_APP_URL").map(|u| u.trim_end_matches('/').to_owned()),
            smtp_url: src.get("STOA_SMTP_URL"),
            mail_from: src.get("STOA_MAIL_FROM").unwrap_or_else(|| "Stoa <no-reply@localhost>".to_owned()),
            oidc: oidc_providers(|var| (src.0)(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))?,
            workspace_grace: {
                let days: u64 = src.parse("STOA_WORKSPACE_GRACE_DAYS", 30)?;
                if !(1..=3650).contains(&days) {
                    return Err(err("STOA_WORKSPACE_GRACE_DAYS", "must be 1 to 3650"));
                }
                Duration::from_hours(24 * days)
            },
            s3: stoa_storage::S3Settings {
                endpoint: src.get("S3_ENDPOINT"),
                region: src.get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                access_key_id: src.get("AWS_ACCESS_KEY_ID").unwrap_or_default(),
                secret_access_key: src.get("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
            },
            max_upload_bytes: src.parse("STOA_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)?,
            scanner: match src.get("STOA_SCANNER").as_deref() {
                None | Some("builtin") => ScannerConfig::Builtin,
                Some(s) if s.starts_with("clamd:///") => {
                    ScannerConfig::ClamdUnix(PathBuf::from(&s["clamd://".len()..]))
                }
                Some(s) if s.starts_with("clamd://") => ScannerConfig::ClamdTcp(s["clamd://".len()..].to_owned()),
                Some(other) => {
                    return Err(err("STOA_SCANNER", format!("{other:?}: expected builtin or clamd://host:port")));
                }
            },
            scan_blocklist: src.get("STOA_SCAN_BLOCKLIST").map(PathBuf::from),
            jobs: match src.get("STOA_JOBS").as_deref() {
                None | Some("queue") => JobMode::Queue,
                Some("inline") => JobMode::Inline,
                Some(other) => return Err(err("STOA_JOBS", format!("{other:?}: expected inline or queue"))),
            },
            run_workers: src.flag("STOA_WORKERS", true)?,
            sweep: stoa_workers::runtime::Sweep {
                every: src.secs("STOA_SCAN_SWEEP_SECS", 60)?,
                stale: src.secs("STOA_SCAN_STALE_SECS", 300)?,
                deadlines: {
                    let ms: u64 = src.parse("STOA_TICKET_TICK_MS", 60_000)?;
                    if ms == 0 {
                        return Err(err("STOA_TICKET_TICK_MS", "must be greater than 0"));
                    }
                    Duration::from_millis(ms)
                },
            },
            playground: match src.get("STOA_PLAYGROUND").as_deref() {
                None => !production,
                Some("on" | "true" | "1") => true,
                Some("off" | "false" | "0") => false,
                Some(other) => return Err(err("STOA_PLAYGROUND", format!("{other:?}: expected on or off"))),
            },
            trusted_documents: TrustedDocumentsConfig {
                mode: match src.get("STOA_TRUSTED_DOCUMENTS_MODE") {
                    None if production => crate::trusted::Mode::Enforce,
                    None => crate::trusted::Mode::Off,
                    Some(mode) => mode.parse().map_err(|e| err("STOA_TRUSTED_DOCUMENTS_MODE", e))?,
                },
                manifests: src
                    .get("STOA_TRUSTED_DOCUMENTS")
                    .map(|s| s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).collect())
                    .unwrap_or_default(),
                embedded: src.flag("STOA_TRUSTED_DOCUMENTS_EMBEDDED", true)?,
            },
            cors_origins: src
                .get("STOA_CORS_ORIGINS")
                .map(|s| s.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect())
                .unwrap_or_default(),
            metrics_token: src.get("STOA_METRICS_TOKEN").filter(|t| !t.is_empty()).map(SecretString::from),
            trusted_proxies: crate::client_addr::TrustedProxies::parse(
                &src.get("STOA_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|e| err("STOA_TRUSTED_PROXIES", e))?,
            db_acquire_timeout: src.deadline_ms("STOA_DB_ACQUIRE_TIMEOUT_MS", 2000)?,
            redis_timeout: src.deadline_ms("STOA_REDIS_TIMEOUT_MS", 250)?,
            sqlite_readers: src.parse("STOA_SQLITE_READERS", 4)?,
            limiter_policy: src.parse("STOA_RATE_LIMIT_REDIS_DOWN", crate::adapters::LimiterPolicy::Open)?,
            subscription_groups: src.flag("STOA_SUBSCRIPTION_GROUPS", true)?,
            worker_bind: src.parse("STOA_WORKER_BIND", SocketAddr::from(([127, 0, 0, 1], 9090)))?,
        })
    }
}

fn database_url(raw: Option<String>, data_dir: &std::path::Path) -> Result<String, ConfigError> {
    let url = raw.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("stoa.db").display()));
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(url);
    }
    let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Err(err("DATABASE_URL", "expected sqlite://path/to/file.db or postgres://user@host/db"));
    };
    let file = path.split('?').next().unwrap_or_default();
    if file.is_empty() || file == ":memory:" {
        return Err(err("DATABASE_URL", "SQLite needs a file path (in-memory databases lose data on restart)"));
    }
    Ok(if path.contains("mode=") {
        format!("sqlite://{path}")
    } else if path.contains('?') {
        format!("sqlite://{path}&mode=rwc")
    } else {
        format!("sqlite://{path}?mode=rwc")
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_alone_run_an_embedded_node() {
        let Ok(config) = load(&[]) else { panic!("defaults must load") };
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://./data/stoa.db?mode=rwc");
        assert_eq!(config.storage_url, "file://./data/objects");
        assert!(matches!(config.bus, BusConfig::InProcess));
        assert!(config.limits.introspection);
        assert_eq!(config.db_acquire_timeout, Duration::from_secs(2));
        assert_eq!(config.redis_timeout, Duration::from_millis(250));
        assert_eq!(config.limiter_policy, crate::adapters::LimiterPolicy::Open);
    }

    #[test]
    fn deadlines_take_milliseconds_up_to_a_minute() {
        let config = load(&[("STOA_DB_ACQUIRE_TIMEOUT_MS", "60000"), ("STOA_REDIS_TIMEOUT_MS", "1")]).ok();
        assert_eq!(config.as_ref().map(|c| c.db_acquire_timeout), Some(Duration::from_mins(1)));
        assert_eq!(config.map(|c| c.redis_timeout), Some(Duration::from_millis(1)));
        let closed = load(&[("STOA_RATE_LIMIT_REDIS_DOWN", "closed")]).ok().map(|c| c.limiter_policy);
        assert_eq!(closed, Some(crate::adapters::LimiterPolicy::Closed));
    }

    #[test]
    fn production_turns_introspection_and_suggestions_off() {
        let Ok(config) = load(&[("STOA_ENV", "production")]) else { panic!("must load") };
        assert!(!config.limits.introspection && !config.limits.suggestions);
    }

    #[test]
    fn production_refuses_the_example_secrets() {
        for example in crate::secret::example_secrets() {
            let error = load(&[("STOA_ENV", "production"), ("STOA_JWT_SECRET", example.as_str())]).err();
            assert_eq!(error.map(|e| e.var), Some("STOA_JWT_SECRET"), "{example}");
        }
        // The literal docker-compose.yml shipped before it read the secret from .env.
        let old = "change-me-to-a-long-random-secret-of-32-chars";
        let error = load(&[("STOA_ENV", "production"), ("STOA_JWT_SECRET", old)]).err();
        assert_eq!(error.map(|e| e.var), Some("STOA_JWT_SECRET"));
        let fresh = "3f9c1d0a7be24e58a1c6d2f4e9b07a35c8d1e2f3a4b5c6d7";
        assert!(load(&[("STOA_ENV", "production"), ("STOA_JWT_SECRET", fresh)]).is_ok());
        let short = load(&[("STOA_ENV", "production"), ("STOA_JWT_SECRET", "0123456789abcdef0123456789abcde")]);
        assert_eq!(short.err().map(|e| e.var), Some("STOA_JWT_SECRET"), "31 bytes");
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://x"),
            ("DATABASE_URL", "sqlite://:memory:"),
            ("REDIS_URL", "localhost:6379"),
            ("STORAGE_URL", "ftp://x"),
            ("STOA_BIND", "not-an-address"),
            ("STOA_ENV", "staging"),
            ("STOA_MAX_DEPTH", "0"),
            ("STOA_MAX_DEPTH", "deep"),
            ("STOA_JWT_SECRET", "short"),
            ("STOA_INTROSPECTION", "maybe"),
            ("STOA_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
            ("STOA_DB_ACQUIRE_TIMEOUT_MS", "0"),
            ("STOA_DB_ACQUIRE_TIMEOUT_MS", "-5"),
            ("STOA_DB_ACQUIRE_TIMEOUT_MS", "60001"),
            ("STOA_DB_ACQUIRE_TIMEOUT_MS", "soon"),
            ("STOA_REDIS_TIMEOUT_MS", "0"),
            ("STOA_REDIS_TIMEOUT_MS", "-1"),
            ("STOA_REDIS_TIMEOUT_MS", "120000"),
            ("STOA_RATE_LIMIT_REDIS_DOWN", "ajar"),
            ("STOA_WORKER_BIND", "nowhere"),
        ] {
            let error = load(&[(var, value)]).err().map(|e| e.var);
            assert_eq!(error, Some(var), "{var}={value}");
        }
    }
}
