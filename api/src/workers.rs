//! Wiring of the durable job queue: `stoa serve` installs it and runs workers in-process unless
//! `STOA_WORKERS=0`; `stoa worker` runs workers alone.

use std::sync::Arc;
use std::time::Duration;

use stoa_domain::AppCtx;
use stoa_workers::runtime::{self, JobStorage};
use stoa_workers::supervise;

/// How often idle workers look for new jobs.
pub const POLL: Duration = Duration::from_millis(200);

/// Installs the durable queue in `app` and returns its storage for workers.
///
/// # Errors
/// When the queue tables cannot be set up.
pub async fn install_queue(app: &AppCtx) -> anyhow::Result<JobStorage> {
    let storage = JobStorage::setup(app).await?;
    app.set_jobs(Arc::new(storage.clone()));
    Ok(storage)
}

/// Runs workers until `shutdown`, under a supervisor: a worker loop that fails (a database outage
/// ends apalis' monitor) starts again with backoff, and nothing but shutdown stops it for good.
///
/// # Errors
/// None today: failures are restarted, not returned.
pub async fn run(
    app: AppCtx,
    storage: JobStorage,
    sweep: runtime::Sweep,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let health = app.health().worker("jobs");
    supervise::supervise("jobs", stopped, health, move |mut signal| {
        let (app, storage) = (app.clone(), storage.clone());
        async move { runtime::run(app, storage, POLL, sweep, async move { signal.wait().await }).await }
    })
    .await;
    Ok(())
}
