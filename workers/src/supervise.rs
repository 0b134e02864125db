//! Worker loops that come back: a loop that fails (a database outage ends apalis' monitor) or
//! returns is started again after a backoff of 100 ms doubling to 30 s, with jitter, until shutdown.
//! Each restart is logged with its cause and counted in the loop's [`WorkerHealth`] (which
//! `/readyz` and `/metrics` read). A panic is a failure like any other. A run that lasted a minute
//! resets the backoff.

use std::sync::Arc;
use std::time::Duration;

use stoa_domain::ports::health::WorkerHealth;
use tokio::sync::watch;
use tokio::time::Instant;

/// The first delay before a restart.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest delay before a restart.
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// A run this long counts as healthy: the next failure starts the backoff over.
const HEALTHY_RUN: Duration = Duration::from_mins(1);

/// Runs `run_once` until `shutdown` turns true, starting it again whenever it fails or returns.
/// `run_once` receives a future that resolves at shutdown, to stop cleanly.
pub async fn supervise<F, Fut>(
    name: &'static str,
    shutdown: watch::Receiver<bool>,
    health: Arc<WorkerHealth>,
    mut run_once: F,
) where
    F: FnMut(ShutdownSignal) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut delay = FIRST_DELAY;
    loop {
        if *shutdown.borrow() {
            health.set_up(false);
            return;
        }
        let started = Instant::now();
        health.set_up(true);
        // Its own task, so a panic inside ends this run only and is reported like an error.
        let outcome = match tokio::spawn(run_once(ShutdownSignal(shutdown.clone()))).await {
            Ok(outcome) => outcome,
            Err(e) => Err(anyhow::anyhow!("{}", panic_message(e))),
        };
        health.set_up(false);
        if *shutdown.borrow() {
            return;
        }
        if started.elapsed() >= HEALTHY_RUN {
            delay = FIRST_DELAY;
        }
        health.restarted();
        let wait = jittered(delay);
        if let Err(e) = outcome {
            let cause = format!("{e:#}");
            tracing::error!(worker = name, error = %cause, retry_in_ms = wait.as_millis(), "worker stopped; restarting");
        } else {
            tracing::warn!(worker = name, retry_in_ms = wait.as_millis(), "worker returned; restarting");
        }
        let mut stop = ShutdownSignal(shutdown.clone());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.wait() => return,
        }
        delay = (delay * 2).min(MAX_DELAY);
    }
}

/// Resolves once shutdown is asked for.
#[derive(Clone)]
pub struct ShutdownSignal(watch::Receiver<bool>);

impl ShutdownSignal {
    /// Waits for shutdown (forever if the sender is gone without asking).
    pub async fn wait(&mut self) {
        if self.0.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What a join error says: the panic's message, or that the task was cancelled.
fn panic_message(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return "cancelled".to_owned();
    }
    let payload = e.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic".to_owned());
    format!("panicked: {text}")
}

/// `delay` plus up to a quarter more, so replicas that failed together do not retry in step.
fn jittered(delay: Duration) -> Duration {
    let quarter = u64::try_from(delay.as_millis() / 4).unwrap_or(0);
    // The low bits of a UUIDv7 are random: a jitter source without another dependency.
    let extra =
        if quarter == 0 { 0 } else { u64::try_from(uuid::Uuid::now_v7().as_u128() % u128::from(quarter)).unwrap_or(0) };
    delay + Duration::from_millis(extra)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_failing_or_panicking_loop_comes_back_with_growing_delays_until_shutdown() {
        let (stop, shutdown) = watch::channel(false);
        let restarts = Arc::new(WorkerHealth::default());
        let starts: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let seen = Arc::clone(&starts);
        let t0 = Instant::now();
        let supervisor = tokio::spawn(supervise("test", shutdown, Arc::clone(&restarts), move |mut signal| {
            let seen = Arc::clone(&seen);
            async move {
                let n = {
                    let mut starts = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    starts.push(Instant::now());
                    starts.len()
                };
                assert_ne!(n, 3, "a bug in run {n}"); // a panic: restarted like a failure
                if n <= 5 {
                    anyhow::bail!("database gone ({n})");
                }
                signal.wait().await; // the sixth run stays up until shutdown
                Ok(())
            }
        }));
        tokio::time::sleep(Duration::from_secs(10)).await;
        let times: Vec<Duration> = starts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|t| t.duration_since(t0))
            .collect();
        assert_eq!(times.len(), 6, "started again after each of five failures: {times:?}");
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1].saturating_sub(w[0])).collect();
        for (i, gap) in gaps.iter().enumerate() {
            let base = FIRST_DELAY * 2u32.pow(u32::try_from(i).unwrap_or(0));
            assert!(*gap >= base && *gap <= base + base / 4, "gap {i}: {gap:?}, base {base:?}");
        }
        assert_eq!(restarts.restarts(), 5);
        assert!(restarts.is_up(), "the sixth run is up");
        let _ = stop.send(true);
        assert!(tokio::time::timeout(Duration::from_secs(1), supervisor).await.is_ok(), "stops at shutdown");
        assert!(!restarts.is_up());
    }

    #[test]
    fn the_delay_is_capped_and_jitter_stays_within_a_quarter() {
        let mut delay = FIRST_DELAY;
        for _ in 0..20 {
            delay = (delay * 2).min(MAX_DELAY);
        }
        assert_eq!(delay, MAX_DELAY);
        let j = jittered(MAX_DELAY);
        assert!(j >= MAX_DELAY && j <= MAX_DELAY + MAX_DELAY / 4);
    }
}
