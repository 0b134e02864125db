//! What this process knows about its dependencies and its own loops: read by `/readyz` and
//! `/metrics`, written by the adapters (Redis calls that failed, limiter decisions made without
//! Redis, publishes kept for retry) and the worker supervisor.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters and flags shared by the adapters and the transport.
#[derive(Debug, Default)]
pub struct Health {
    /// Rate-limit decisions taken without Redis (the `open` policy's local fallback).
    pub limiter_fallbacks: AtomicU64,
    /// Rate-limit checks refused because Redis was unreachable (the `closed` policy).
    pub limiter_refusals: AtomicU64,
    /// Whether the limiter's last Redis call failed (an outage in progress: logged once).
    pub limiter_outage: AtomicBool,
    /// Committed events whose first publish failed, kept for retry.
    pub publish_deferred: AtomicU64,
    /// Deferred events delivered by a retry.
    pub publish_retried: AtomicU64,
    /// Deferred events given up because the outbox was full (subscribers gap-fill from the log).
    pub publish_dropped: AtomicU64,
    workers: Mutex<Vec<(&'static str, Arc<WorkerHealth>)>>,
}

impl Health {
    /// The health of the worker loop `name`, registered on first use.
    pub fn worker(&self, name: &'static str) -> Arc<WorkerHealth> {
        let mut workers = self.workers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, w)) = workers.iter().find(|(n, _)| *n == name) {
            return Arc::clone(w);
        }
        let w = Arc::new(WorkerHealth::default());
        workers.push((name, Arc::clone(&w)));
        w
    }

    /// Every registered worker loop.
    #[must_use]
    pub fn workers(&self) -> Vec<(&'static str, Arc<WorkerHealth>)> {
        self.workers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A counter's value.
    #[must_use]
    pub fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// One supervised loop: whether it runs now, and how often it was restarted.
#[derive(Debug, Default)]
pub struct WorkerHealth {
    up: AtomicBool,
    restarts: AtomicU64,
}

impl WorkerHealth {
    /// Marks the loop running or stopped.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }

    /// Whether the loop runs now.
    #[must_use]
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Counts one restart.
    pub fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Restarts since start.
    #[must_use]
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }
}
