//! The durable queue: apalis storage in the application's database. Jobs survive restarts; a job
//! held by a worker that died is picked up again after its heartbeat lapses (apalis' orphan
//! recovery); each pick retries with backoff and gives up (dead letter) after `MAX_ATTEMPTS`.

use std::time::Duration;

use anyhow::Context as _;
use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use stoa_domain::jobs::Job;
use stoa_domain::ports::jobs::JobQueue;
use stoa_domain::{AppCtx, JobPool};

use crate::jobs;

/// Where jobs are stored.
#[derive(Clone)]
pub enum JobStorage {
    Sqlite(SqliteStorage<Job>),
    Postgres(PostgresStorage<Job>),
}

impl JobStorage {
    /// Creates the apalis tables next to the application's and returns the storage.
    ///
    /// # Errors
    /// When the tables cannot be created.
    pub async fn setup(app: &AppCtx) -> anyhow::Result<Self> {
        match app.job_pool() {
            JobPool::Sqlite(pool) => {
                SqliteStorage::setup(&pool).await?;
                // apalis' setup switches the connection to synchronous=OFF; Stoa keeps NORMAL (WAL),
                // so a power cut cannot lose committed rows.
                app.restore_sqlite_durability().await.map_err(|e| anyhow::anyhow!("{e:#}"))?;
                Ok(Self::Sqlite(SqliteStorage::new(&pool)))
            }
            JobPool::Postgres(pool) => {
                PostgresStorage::setup(&pool).await?;
                Ok(Self::Postgres(PostgresStorage::new(&pool)))
            }
        }
    }
}

#[async_trait::async_trait]
impl JobQueue for JobStorage {
    async fn enqueue(&self, job: Job) -> anyhow::Result<()> {
        match self.clone() {
            Self::Sqlite(mut s) => s.push(job).await.context("queueing"),
            Self::Postgres(mut s) => s.push(job).await.context("queueing"),
        }
    }
}

async fn handle(job: Job, app: Data<AppCtx>) -> Result<(), BoxDynError> {
    let app = AppCtx::clone(&app);
    let described = format!("{job:?}");
    // Its own task: a panicking job fails alone (logged with the job), never the worker.
    match tokio::spawn(async move { jobs::run_with_retries(&app, &job).await }).await {
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::error!(job = %described, error = %e, "job panicked");
            Err(format!("job {described} panicked").into())
        }
    }
}

/// Queues `jobs` again: their first job was lost (a dead worker, a failed enqueue). `what` names
/// them in the log. Every handler is idempotent, so a duplicate is a no-op.
async fn requeue(app: &AppCtx, what: &str, jobs: stoa_domain::Result<Vec<Job>>) {
    match jobs {
        Ok(jobs) => {
            for job in jobs {
                tracing::warn!(?job, "re-queueing {what} whose job was lost");
                if let Err(e) = app.jobs().enqueue(job).await {
                    tracing::error!(error = %format_args!("{e:#}"), "re-queueing failed");
                }
            }
        }
        Err(e) => tracing::error!(error = %format_args!("{e:#}"), "sweeping for lost {what} failed"),
    }
}

/// Re-queues scans, mail and channel purges whose job was lost with a dead worker (every `every`,
/// what has waited longer than `stale` is queued again), and purges deleted workspaces whose grace
/// has ended.
async fn sweep(app: AppCtx, every: Duration, stale: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let scans = stoa_domain::files::stale_scans(&app, stale).await;
        requeue(&app, "a scan", scans.map(|ids| ids.into_iter().map(|id| Job::ScanAttachment { id }).collect())).await;
        let mail = stoa_domain::mail::stale(&app, stale).await;
        requeue(&app, "a mail", mail.map(|ids| ids.into_iter().map(|id| Job::SendMail { id }).collect())).await;
        let channels = stoa_domain::chat::unpurged_channels(&app, stale).await;
        let purges = channels.map(|ids| ids.into_iter().map(|id| Job::PurgeChannel { id }).collect());
        requeue(&app, "a channel purge", purges).await;
        if let Err(e) = stoa_domain::workspaces::purge_deleted_workspaces(&app, app.now()).await {
            tracing::error!(error = %format_args!("{e:#}"), "purging deleted workspaces failed");
        }
    }
}

/// How often workers look for lost scan jobs, how old a pending scan must be to count as lost,
/// and the longest the helpdesk's clock sleeps between two runs.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    pub every: Duration,
    pub stale: Duration,
    pub deadlines: Duration,
}

impl Default for Sweep {
    fn default() -> Self {
        Self { every: Duration::from_mins(1), stale: Duration::from_mins(5), deadlines: Duration::from_mins(1) }
    }
}

/// Runs workers until `shutdown` resolves.
///
/// # Errors
/// When a worker stops with an error.
pub async fn run(
    app: AppCtx,
    storage: JobStorage,
    poll: Duration,
    sweep_config: Sweep,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut sweeper = tokio::spawn(sweep(app.clone(), sweep_config.every, sweep_config.stale));
    let mut clock = tokio::spawn(crate::deadlines::run(app.clone(), sweep_config.deadlines));
    let work = async move {
        match storage {
            JobStorage::Sqlite(s) => {
                WorkerBuilder::new(worker_name())
                    .backend(s.poll_with_strategy(Every::new(poll)))
                    .data(app)
                    .build(handle)
                    .run()
                    .await
            }
            JobStorage::Postgres(s) => {
                WorkerBuilder::new(worker_name())
                    .backend(s.poll_with_strategy(Every::new(poll)))
                    .data(app)
                    .build(handle)
                    .run()
                    .await
            }
        }
    };
    let result = tokio::select! {
        r = work => r.context("worker"),
        // The sweep never returns; if it panicked, this run fails and the supervisor starts both.
        r = &mut sweeper => Err(anyhow::anyhow!("stale-scan sweep stopped: {r:?}")),
        r = &mut clock => Err(anyhow::anyhow!("ticket deadline clock stopped: {r:?}")),
        () = shutdown => Ok(()),
    };
    sweeper.abort();
    clock.abort();
    result
}

/// Wakes an idle worker every `period` to look for jobs.
///
/// apalis' own `IntervalStrategy` re-arms its timer without polling it: when the fetch that follows
/// a tick completes without yielding, no timer is left to wake the worker and it sleeps until its
/// next heartbeat (30 s), which left queued scans waiting that long. This one polls the re-armed
/// timer at once, so a waker is always registered.
struct Every {
    period: Duration,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl Every {
    fn new(period: Duration) -> Self {
        Self { period, sleep: None }
    }
}

impl Clone for Every {
    fn clone(&self) -> Self {
        Self::new(self.period)
    }
}

impl PollStrategy for Every {
    fn poll_drive(&mut self, cx: &mut std::task::Context<'_>, _: &PollSnapshot) -> std::task::Poll<Option<()>> {
        let period = self.period;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(period)));
        let mut fired = false;
        while sleep.as_mut().poll(cx).is_ready() {
            fired = true;
            sleep.as_mut().reset(tokio::time::Instant::now() + period);
        }
        if fired { std::task::Poll::Ready(Some(())) } else { std::task::Poll::Pending }
    }
}

/// A name unique to this worker: apalis refuses a second live worker under a name, and replicas
/// on different hosts may share process ids.
fn worker_name() -> String {
    format!("stoa-jobs-{}", uuid::Uuid::now_v7().simple())
}
