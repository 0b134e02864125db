//! The helpdesk's clock: runs what falls due (auto-close, hold ends, SLA warnings and breaches) at
//! the next deadline and at least every `tick`, so a deadline fires on time and one missed while
//! the process was down is done at the first run after start. Every worker process runs one; the
//! domain makes each action happen once whichever runs it.

use std::time::Duration;

use stoa_domain::AppCtx;

/// The shortest pause between two runs: a deadline already due that could not be handled (the
/// database is down) is retried this often, not in a busy loop.
const FLOOR: Duration = Duration::from_millis(100);

/// Runs forever.
pub async fn run(app: AppCtx, tick: Duration) {
    loop {
        match stoa_domain::tickets::run_deadlines(&app, app.now()).await {
            Ok(run) if run != stoa_domain::tickets::DeadlineRun::default() => {
                tracing::info!(?run, "ticket deadlines");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %format_args!("{e:#}"), "running ticket deadlines failed"),
        }
        let wait = match stoa_domain::tickets::next_deadline(&app).await {
            Ok(Some(at)) => (at - app.now()).to_std().unwrap_or(Duration::ZERO).min(tick),
            Ok(None) => tick,
            Err(e) => {
                tracing::warn!(error = %format_args!("{e:#}"), "reading the next ticket deadline failed");
                tick
            }
        };
        tokio::time::sleep(wait.max(FLOOR.min(tick))).await;
    }
}
