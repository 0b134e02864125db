//! The helpdesk's clock: runs what falls due (auto-close, hold ends, SLA warnings and breaches)
//! when the earliest deadline comes, so a deadline fires on time, and in any case every `tick`,
//! so one missed while the process was down is done at the first run after start. Deadlines are
//! written by any replica, so the next one is read from the database every [`POLL`] (one indexed
//! `MIN` query) rather than waited for. Every worker process runs one; the domain makes each
//! action happen once whichever runs it.

use std::time::Duration;

use stoa_domain::AppCtx;

/// How often the earliest deadline is read: the most a new deadline waits past its time.
const POLL: Duration = Duration::from_secs(1);

/// Runs forever.
pub async fn run(app: AppCtx, tick: Duration) {
    let mut last_run: Option<tokio::time::Instant> = None;
    loop {
        let now = app.now();
        let due = match stoa_domain::tickets::next_deadline(&app).await {
            Ok(next) => next.is_some_and(|at| at <= now),
            Err(e) => {
                tracing::warn!(error = %format_args!("{e:#}"), "reading the next ticket deadline failed");
                false
            }
        };
        if due || last_run.is_none_or(|at| at.elapsed() >= tick) {
            last_run = Some(tokio::time::Instant::now());
            match stoa_domain::tickets::run_deadlines(&app, now).await {
                Ok(run) if run != stoa_domain::tickets::DeadlineRun::default() => {
                    tracing::info!(?run, "ticket deadlines");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %format_args!("{e:#}"), "running ticket deadlines failed"),
            }
        }
        tokio::time::sleep(POLL.min(tick)).await;
    }
}
