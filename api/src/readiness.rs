//! `/readyz`: answered at once from a probe that runs in the background every
//! [`PROBE_EVERY`], never from a check made while the caller waits. The body names each check.
//!
//! | status | HTTP | meaning for a load balancer |
//! |---|---|---|
//! | `ready` | 200 | send traffic |
//! | `degraded` | 200 | keep sending: a dependency every replica shares (Redis) is away, or in-process workers are restarting; this replica still serves |
//! | `unready` | 503 | stop sending: no database, schema behind the binary, draining, or (in `stoa worker`) a worker loop down |

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use stoa_domain::AppCtx;
use stoa_domain::ports::health::Health;

/// How often the probe runs.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
/// Each check's own deadline: the probe as a whole stays well under a second.
const CHECK_DEADLINE: Duration = Duration::from_millis(400);
/// A probe result older than this is not trusted (the probe task itself is stuck).
const STALE_AFTER: Duration = Duration::from_secs(3);

/// Which process answers: the API server, or `stoa worker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Worker,
}

/// One check's outcome.
#[derive(Debug, Clone)]
struct Check {
    ok: bool,
    detail: Value,
}

impl Check {
    fn ok(detail: Value) -> Self {
        Self { ok: true, detail }
    }

    fn failed(error: &str, detail: Value) -> Self {
        let mut detail = detail;
        if let Value::Object(map) = &mut detail {
            map.insert("error".into(), Value::from(error));
        }
        Self { ok: false, detail }
    }

    fn json(&self) -> Value {
        let mut out = json!({ "status": if self.ok { "ok" } else { "fail" } });
        if let (Value::Object(out), Value::Object(detail)) = (&mut out, &self.detail) {
            out.extend(detail.clone());
        }
        out
    }
}

/// The last probe.
#[derive(Debug, Clone)]
struct Snapshot {
    at: Instant,
    checked_at: chrono::DateTime<chrono::Utc>,
    database: Check,
    schema: Check,
    /// `None` without Redis (the in-process bus).
    redis: Option<Check>,
    workers: Option<Check>,
}

/// The cached readiness of this process.
pub struct Readiness {
    role: Role,
    draining: AtomicBool,
    last: RwLock<Option<Snapshot>>,
}

/// What `/readyz` reports, also exported as metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ready,
    Degraded,
    Unready,
}

impl Status {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Degraded => "degraded",
            Self::Unready => "unready",
        }
    }
}

impl Readiness {
    /// A readiness for `role` with no probe yet (unready until the first one).
    #[must_use]
    pub fn new(role: Role) -> Arc<Self> {
        Arc::new(Self { role, draining: AtomicBool::new(false), last: RwLock::new(None) })
    }

    /// Probes once now, then every [`PROBE_EVERY`] in the background.
    pub async fn start(self: &Arc<Self>, app: AppCtx) {
        self.probe(&app).await;
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROBE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(this) = this.upgrade() else { return };
                this.probe(&app).await;
            }
        });
    }

    /// From now on this replica reports `unready` (shutting down).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    async fn probe(&self, app: &AppCtx) {
        let started = Instant::now();
        let database = match tokio::time::timeout(CHECK_DEADLINE, app.ping()).await {
            Ok(true) => Check::ok(json!({ "latencyMs": elapsed_ms(started) })),
            Ok(false) => Check::failed("unreachable", json!({})),
            Err(_) => Check::failed("no answer in time", json!({ "deadlineMs": CHECK_DEADLINE.as_millis() })),
        };
        let schema =
            if database.ok { schema_check(app).await } else { Check::failed("database unreachable", json!({})) };
        let redis = match tokio::time::timeout(CHECK_DEADLINE, app.bus().ping()).await {
            Ok(None) => None,
            Ok(Some(Ok(()))) => Some(Check::ok(json!({}))),
            Ok(Some(Err(_))) => Some(Check::failed("unreachable", json!({}))),
            Err(_) => Some(Check::failed("no answer in time", json!({}))),
        };
        let workers = workers_check(app.health());
        let snapshot =
            Snapshot { at: Instant::now(), checked_at: chrono::Utc::now(), database, schema, redis, workers };
        *self.last.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snapshot);
    }

    fn snapshot(&self) -> Option<Snapshot> {
        self.last.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The status now, from the cached probe.
    #[must_use]
    pub fn status(&self) -> Status {
        self.evaluate(self.snapshot().as_ref())
    }

    fn evaluate(&self, snapshot: Option<&Snapshot>) -> Status {
        let Some(s) = snapshot.filter(|s| s.at.elapsed() < STALE_AFTER) else { return Status::Unready };
        let workers_ok = s.workers.as_ref().is_none_or(|w| w.ok);
        if self.draining.load(Ordering::Relaxed) || !s.database.ok || !s.schema.ok {
            return Status::Unready;
        }
        if self.role == Role::Worker && !workers_ok {
            return Status::Unready;
        }
        if s.redis.as_ref().is_some_and(|r| !r.ok) || !workers_ok {
            return Status::Degraded;
        }
        Status::Ready
    }

    /// The `/readyz` answer.
    #[must_use]
    pub fn response(&self) -> Response {
        let snapshot = self.snapshot();
        let status = self.evaluate(snapshot.as_ref());
        let mut checks = serde_json::Map::new();
        if let Some(s) = &snapshot {
            checks.insert("database".into(), s.database.json());
            checks.insert("schema".into(), s.schema.json());
            if let Some(redis) = &s.redis {
                checks.insert("redis".into(), redis.json());
            }
            if let Some(workers) = &s.workers {
                checks.insert("workers".into(), workers.json());
            }
        }
        let draining = self.draining.load(Ordering::Relaxed);
        checks.insert("draining".into(), json!({ "status": if draining { "fail" } else { "ok" } }));
        let body = json!({
            "status": status.as_str(),
            "role": match self.role { Role::Server => "server", Role::Worker => "worker" },
            "checkedAt": snapshot.as_ref().map(|s| s.checked_at.to_rfc3339()),
            "ageMs": snapshot.as_ref().map(|s| elapsed_ms(s.at)),
            "checks": checks,
        });
        let code = if status == Status::Unready { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
        (code, [(axum::http::header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
    }

    /// Readiness and dependency lines for `/metrics`.
    #[must_use]
    pub fn render_metrics(&self, health: &Health) -> String {
        let mut out = String::new();
        let snapshot = self.snapshot();
        let status = self.evaluate(snapshot.as_ref());
        let _ = writeln!(out, "# TYPE stoa_ready gauge\nstoa_ready {}", u8::from(status != Status::Unready));
        let _ = writeln!(out, "# TYPE stoa_degraded gauge\nstoa_degraded {}", u8::from(status == Status::Degraded));
        let _ = writeln!(out, "# TYPE stoa_dependency_up gauge");
        if let Some(s) = &snapshot {
            let _ = writeln!(out, "stoa_dependency_up{{dependency=\"database\"}} {}", u8::from(s.database.ok));
            if let Some(redis) = &s.redis {
                let _ = writeln!(out, "stoa_dependency_up{{dependency=\"redis\"}} {}", u8::from(redis.ok));
            }
        }
        let workers = health.workers();
        let _ = writeln!(out, "# TYPE stoa_worker_up gauge");
        for (name, w) in &workers {
            let _ = writeln!(out, "stoa_worker_up{{worker=\"{name}\"}} {}", u8::from(w.is_up()));
        }
        let _ = writeln!(out, "# TYPE stoa_worker_restarts_total counter");
        for (name, w) in &workers {
            let _ = writeln!(out, "stoa_worker_restarts_total{{worker=\"{name}\"}} {}", w.restarts());
        }
        let _ = writeln!(out, "# TYPE stoa_ratelimit_redis_down_total counter");
        let _ = writeln!(
            out,
            "stoa_ratelimit_redis_down_total{{outcome=\"local_fallback\"}} {}",
            Health::read(&health.limiter_fallbacks)
        );
        let _ = writeln!(
            out,
            "stoa_ratelimit_redis_down_total{{outcome=\"refused\"}} {}",
            Health::read(&health.limiter_refusals)
        );
        let _ = writeln!(out, "# TYPE stoa_bus_publish_deferred_total counter");
        let _ = writeln!(out, "stoa_bus_publish_deferred_total {}", Health::read(&health.publish_deferred));
        let _ = writeln!(out, "# TYPE stoa_bus_publish_retried_total counter");
        let _ = writeln!(out, "stoa_bus_publish_retried_total {}", Health::read(&health.publish_retried));
        let _ = writeln!(out, "# TYPE stoa_bus_publish_dropped_total counter");
        let _ = writeln!(out, "stoa_bus_publish_dropped_total {}", Health::read(&health.publish_dropped));
        out
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Applied migrations against the ones this binary knows: a database behind the binary cannot
/// serve it (a newer database, mid-rollout, can).
async fn schema_check(app: &AppCtx) -> Check {
    use sea_orm_migration::MigratorTrait as _;
    let expected = stoa_migration::Migrator::migrations().len();
    let applied = match tokio::time::timeout(CHECK_DEADLINE, app.applied_migrations()).await {
        Ok(Ok(n)) => Some(n),
        _ => None,
    };
    match applied {
        Some(applied) if applied >= expected => Check::ok(json!({ "applied": applied, "expected": expected })),
        Some(applied) => Check::failed("migrations pending", json!({ "applied": applied, "expected": expected })),
        None => Check::failed("cannot read the migration table", json!({ "expected": expected })),
    }
}

/// Every supervised loop of this process (`None` when it runs none).
fn workers_check(health: &Health) -> Option<Check> {
    let workers = health.workers();
    if workers.is_empty() {
        return None;
    }
    let detail: serde_json::Map<String, Value> = workers
        .iter()
        .map(|(name, w)| ((*name).to_owned(), json!({ "up": w.is_up(), "restarts": w.restarts() })))
        .collect();
    let down: Vec<&str> = workers.iter().filter(|(_, w)| !w.is_up()).map(|(n, _)| *n).collect();
    if down.is_empty() {
        Some(Check::ok(Value::Object(detail)))
    } else {
        Some(Check::failed(&format!("down: {}", down.join(", ")), Value::Object(detail)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(database: bool, redis: Option<bool>, workers: Option<bool>) -> Snapshot {
        let check = |ok: bool| if ok { Check::ok(json!({})) } else { Check::failed("x", json!({})) };
        Snapshot {
            at: Instant::now(),
            checked_at: chrono::Utc::now(),
            database: check(database),
            schema: check(database),
            redis: redis.map(check),
            workers: workers.map(check),
        }
    }

    #[test]
    fn redis_down_degrades_and_the_database_down_or_draining_is_unready() {
        let server = Readiness::new(Role::Server);
        assert_eq!(server.evaluate(None), Status::Unready, "no probe yet");
        assert_eq!(server.evaluate(Some(&snapshot(true, Some(true), None))), Status::Ready);
        assert_eq!(server.evaluate(Some(&snapshot(true, None, None))), Status::Ready, "no Redis configured");
        assert_eq!(server.evaluate(Some(&snapshot(true, Some(false), None))), Status::Degraded);
        assert_eq!(server.evaluate(Some(&snapshot(false, Some(true), None))), Status::Unready);
        assert_eq!(server.evaluate(Some(&snapshot(true, None, Some(false)))), Status::Degraded, "in-process workers");
        let worker = Readiness::new(Role::Worker);
        assert_eq!(worker.evaluate(Some(&snapshot(true, None, Some(false)))), Status::Unready, "a worker's loops");
        let mut stale = snapshot(true, None, None);
        stale.at = Instant::now().checked_sub(STALE_AFTER * 2).unwrap_or(stale.at);
        assert_eq!(server.evaluate(Some(&stale)), Status::Unready, "a stuck probe is not trusted");
        server.drain();
        assert_eq!(server.evaluate(Some(&snapshot(true, Some(true), None))), Status::Unready, "draining");
    }
}
