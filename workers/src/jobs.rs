//! Running domain jobs: the inline queue (runs each job before `enqueue` returns, with retries and
//! backoff, for tests and tiny sites) and the handler shared with the apalis workers.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use stoa_domain::AppCtx;
use stoa_domain::jobs::Job;
use stoa_domain::ports::jobs::JobQueue;
use stoa_domain::{files, mail};

/// Attempts before a job is given up (dead-lettered).
pub const MAX_ATTEMPTS: u32 = 5;

/// Backoff before attempt `n` (1-based): 200 ms, 400 ms, 800 ms, … capped at 30 s.
#[must_use]
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << attempt.saturating_sub(1).min(16))).min(Duration::from_secs(30))
}

/// Runs one job once.
///
/// # Errors
/// The domain error, so the runtime retries.
pub async fn run(app: &AppCtx, job: &Job) -> anyhow::Result<()> {
    match job {
        Job::ScanAttachment { id } => files::scan_attachment(app, *id).await.map_err(anyhow::Error::from),
        Job::Thumbnail { id } => files::make_thumbnail(app, *id).await.map_err(anyhow::Error::from),
        Job::SendMail { id } => mail::deliver(app, *id).await.map_err(anyhow::Error::from),
        Job::PurgeChannel { id } => stoa_domain::chat::purge_channel(app, *id).await.map_err(anyhow::Error::from),
        Job::Avatar { attachment, workspace } => {
            files::render_avatar(app, *attachment, *workspace).await.map_err(anyhow::Error::from)
        }
    }
}

/// Called once a job has used all its attempts.
pub async fn give_up(app: &AppCtx, job: &Job, error: &str) {
    tracing::error!(?job, error, "job failed for good");
    let result = match job {
        Job::ScanAttachment { id } => files::mark_scan_failed(app, *id, error).await,
        Job::SendMail { id } => mail::give_up(app, *id, error).await,
        // An image without a thumbnail is still a clean file; a picture that did not render
        // leaves the old one in place.
        // A channel not purged yet is found again by the sweep.
        Job::Thumbnail { .. } | Job::Avatar { .. } | Job::PurgeChannel { .. } => Ok(()),
    };
    if let Err(e) = result {
        tracing::error!(error = %format_args!("{e:#}"), "recording a failed job failed");
    }
}

/// Runs jobs inline: `enqueue` returns when the job is done or given up.
#[derive(Default)]
pub struct InlineQueue {
    app: OnceLock<AppCtx>,
}

impl InlineQueue {
    /// Creates the queue and installs it in `app`.
    pub fn install(app: &AppCtx) {
        let queue = Arc::new(Self::default());
        let _ = queue.app.set(app.clone());
        app.set_jobs(queue);
    }
}

/// Runs `job` up to `MAX_ATTEMPTS` times with backoff, then gives it up (dead letter).
pub async fn run_with_retries(app: &AppCtx, job: &Job) {
    let mut last = String::new();
    for attempt in 1..=MAX_ATTEMPTS {
        match run(app, job).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(attempt, error = %format_args!("{e:#}"), "job attempt failed");
                // Only the outermost message (Stoa's own words, e.g. "clamd unreachable") is kept as
                // the scan detail admins see; the cause chain stays in the log.
                last = e.to_string();
                if attempt < MAX_ATTEMPTS {
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }
    give_up(app, job, &last).await;
}

#[async_trait::async_trait]
impl JobQueue for InlineQueue {
    async fn enqueue(&self, job: Job) -> anyhow::Result<()> {
        let Some(app) = self.app.get() else { anyhow::bail!("inline queue not installed") };
        run_with_retries(app, &job).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(5), Duration::from_millis(3200));
        assert_eq!(backoff(40), Duration::from_secs(30));
    }
}
