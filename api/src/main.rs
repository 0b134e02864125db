//! `stoa`: serve the API (default), migrate, print the schema, seed demo data, back up or restore.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// mimalloc keeps many small per-connection allocations compact: measured with 10,000 idle
/// subscriptions, glibc malloc's per-thread arenas cost far more resident memory (README, Performance).
#[cfg(not(feature = "heap-profile"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A bench build only (`--features heap-profile`): every allocation is recorded by dhat, and
/// SIGUSR1 writes what is live at that moment, by call site, to `dhat-heap.json` (read with
/// `bench/heap-parts.py`). Far slower than mimalloc: never for serving.
#[cfg(feature = "heap-profile")]
#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

#[cfg(feature = "heap-profile")]
fn start_heap_profile() {
    let profiler = dhat::Profiler::builder().trim_backtraces(Some(48)).build();
    tokio::spawn(async move {
        let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) else {
            return;
        };
        signal.recv().await;
        drop(profiler); // writes dhat-heap.json with the bytes live now ("eb")
        say("heap profile written to dhat-heap.json");
    });
}

use stoa_api::{Config, Server, server};

#[derive(Parser)]
#[command(name = "stoa", version, about = "Stoa: a GraphQL API for community platforms")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP and WebSocket server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Create a demo workspace with users and departments; prints the credentials.
    Seed,
    /// Run job workers only (file scans), against the same database as the servers.
    Worker,
    /// Write a consistent copy of the live SQLite database to PATH and the objects' manifest to
    /// PATH.manifest.json (on Postgres: print the pg_dump command).
    Backup {
        /// A new file; an existing one is never overwritten.
        path: PathBuf,
    },
    /// Replace the stopped SQLite database with the backup at PATH, once it has passed its checks
    /// (on Postgres: print the pg_restore command). The replaced files are kept beside it.
    Restore {
        /// A file written by `stoa backup`.
        path: PathBuf,
    },
    /// Grant, revoke or list the instance operator role (site-wide, above every workspace role:
    /// introspection and free-form documents where others run only trusted ones). Only here: the
    /// API cannot set it. Every change is audited.
    Operator {
        #[command(subcommand)]
        action: OperatorAction,
    },
}

#[derive(Subcommand)]
enum OperatorAction {
    /// Make the account with EMAIL an operator.
    Add { email: String },
    /// Take the role from the account with EMAIL.
    Remove { email: String },
    /// List the operators.
    List,
}

fn init_tracing(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// Writes a line to stdout (the CLI's output, not a log).
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn say_all(lines: &[String]) {
    for line in lines {
        say(line);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        say(&stoa_schema::sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("stoa: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config.log);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(&config).await,
        Command::Seed => seed(&config).await,
        Command::Worker => worker(config).await,
        Command::Backup { path } => stoa_api::backup::backup(&config, &path).await.map(|lines| say_all(&lines)),
        Command::Restore { path } => stoa_api::backup::restore(&config, &path).await.map(|lines| say_all(&lines)),
        Command::Operator { action } => operator(&config, action).await,
        Command::Schema => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stoa: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    #[cfg(feature = "heap-profile")]
    start_heap_profile();
    let _in_use = stoa_api::backup::DatabaseLock::shared(&config)?;
    let server = Server::build(config).await?;
    let addr = server.local_addr()?;
    tracing::info!(%addr, "stoa listening");
    say(&format!("Stoa is running. Playground: http://{addr}/  GraphQL: http://{addr}/graphql"));
    server.run().await?;
    Ok(())
}

async fn worker(mut config: Config) -> anyhow::Result<()> {
    let _in_use = stoa_api::backup::DatabaseLock::shared(&config)?;
    config.jobs = stoa_api::config::JobMode::Queue;
    config.run_workers = false;
    let app = server::build_app(&config, &format!("http://{}", config.bind)).await?;
    let storage = stoa_api::workers::install_queue(&app).await?;
    // `/healthz`, `/readyz` and `/metrics` of this worker, on its own port.
    let readiness = stoa_api::readiness::Readiness::new(stoa_api::readiness::Role::Worker);
    let listener = tokio::net::TcpListener::bind(config.worker_bind)
        .await
        .with_context(|| format!("binding STOA_WORKER_BIND {}", config.worker_bind))?;
    let addr = listener.local_addr()?;
    let router = stoa_api::router::worker_router(app.clone(), Arc::clone(&readiness), server::metrics_access(&config));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "worker health endpoint stopped");
        }
    });
    let work = stoa_api::workers::run(app.clone(), storage, config.sweep, server::shutdown_signal());
    // The first probe runs once the supervisor has started the loops.
    let probe = async {
        tokio::task::yield_now().await;
        readiness.start(app.clone()).await;
        std::future::pending::<()>().await;
    };
    say(&format!("Stoa worker running (ctrl-c to stop). Health: http://{addr}/readyz"));
    let stopped = tokio::select! {
        r = work => r,
        () = probe => Ok(()),
    };
    stoa_api::backup::checkpoint(&app).await;
    stopped
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let _in_use = stoa_api::backup::DatabaseLock::shared(config)?;
    let db = server::connect_database(&config.database_url).await?;
    server::migrate(&db).await?;
    stoa_api::backup::checkpoint_connection(&db).await;
    say("migrations applied");
    Ok(())
}

async fn operator(config: &Config, action: OperatorAction) -> anyhow::Result<()> {
    use stoa_domain::identity;
    let _in_use = stoa_api::backup::DatabaseLock::shared(config)?;
    let app = server::build_app(config, &format!("http://{}", config.bind)).await?;
    match action {
        OperatorAction::Add { email } => {
            let op = identity::grant_operator(&app, &email).await.with_context(|| format!("granting {email}"))?;
            say(&format!("{} is an operator (since {})", op.email, op.granted_at.to_rfc3339()));
        }
        OperatorAction::Remove { email } => {
            identity::revoke_operator(&app, &email).await.with_context(|| format!("revoking {email}"))?;
            say(&format!("{email} is no longer an operator"));
        }
        OperatorAction::List => {
            let operators = identity::list_operators(&app).await?;
            if operators.is_empty() {
                say("no operators");
            }
            for op in operators {
                say(&format!("{}  since {}", op.email, op.granted_at.to_rfc3339()));
            }
        }
    }
    stoa_api::backup::checkpoint(&app).await;
    Ok(())
}

async fn seed(config: &Config) -> anyhow::Result<()> {
    let _in_use = stoa_api::backup::DatabaseLock::shared(config)?;
    let app = server::build_app(config, &format!("http://{}", config.bind)).await?;
    let (slug, users) = stoa_api::seed::seed(&app).await.context("seeding the demo workspace")?;
    stoa_api::backup::checkpoint(&app).await;
    say(&format!("Seeded workspace {slug:?}. Sign in with:"));
    for user in users {
        say(&format!("  {:<10} {}  password: {}", user.role.as_str(), user.email, user.password));
    }
    Ok(())
}
