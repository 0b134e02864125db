//! Process counters, exposed at `GET /metrics` in the Prometheus text format: every error code
//! answered, every WebSocket close code sent, SQL statements, open sockets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters shared by the transport.
#[derive(Default)]
pub struct Metrics {
    errors: Mutex<BTreeMap<String, u64>>,
    closes: Mutex<BTreeMap<u16, u64>>,
    requests: AtomicU64,
    sockets: AtomicI64,
}

impl Metrics {
    /// Counts one answered error by its `extensions.code`.
    pub fn error(&self, code: &str) {
        *self.errors.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(code.to_owned()).or_default() += 1;
    }

    /// Counts the codes of a batch of errors.
    pub fn errors(&self, errors: &[async_graphql::ServerError]) {
        for err in errors {
            let code = err.extensions.as_ref().and_then(|e| e.get("code")).map(ToString::to_string);
            self.error(code.as_deref().map_or("NONE", |c| c.trim_matches('"')));
        }
    }

    /// Counts one WebSocket close sent by the server.
    pub fn close(&self, code: u16) {
        *self.closes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(code).or_default() += 1;
    }

    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn socket_opened(&self) {
        self.sockets.fetch_add(1, Ordering::Relaxed);
    }

    pub fn socket_closed(&self) {
        self.sockets.fetch_sub(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    #[must_use]
    pub fn render(&self, sql_statements: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# TYPE stoa_graphql_errors_total counter");
        for (code, n) in self.errors.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let _ = writeln!(out, "stoa_graphql_errors_total{{code=\"{code}\"}} {n}");
        }
        let _ = writeln!(out, "# TYPE stoa_ws_closes_total counter");
        for (code, n) in self.closes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let _ = writeln!(out, "stoa_ws_closes_total{{code=\"{code}\"}} {n}");
        }
        let _ = writeln!(out, "# TYPE stoa_http_graphql_requests_total counter");
        let _ = writeln!(out, "stoa_http_graphql_requests_total {}", self.requests.load(Ordering::Relaxed));
        let _ = writeln!(out, "# TYPE stoa_ws_connections gauge");
        let _ = writeln!(out, "stoa_ws_connections {}", self.sockets.load(Ordering::Relaxed));
        let _ = writeln!(out, "# TYPE stoa_sql_statements_total counter");
        let _ = writeln!(out, "stoa_sql_statements_total {sql_statements}");
        if let Some(cpu) = cpu_seconds() {
            let _ = writeln!(out, "# TYPE process_cpu_seconds_total counter");
            let _ = writeln!(out, "process_cpu_seconds_total {cpu:.3}");
        }
        if let Some(rss) = resident_bytes() {
            let _ = writeln!(out, "# TYPE process_resident_memory_bytes gauge");
            let _ = writeln!(out, "process_resident_memory_bytes {rss}");
        }
        out
    }
}

/// User + system CPU time of this process (Linux `/proc/self/stat`, in ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th there.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    #[expect(clippy::cast_precision_loss, reason = "CPU ticks stay far below 2^52")]
    Some((utime + stime) as f64 / 100.0)
}

/// Resident set size of this process (Linux `/proc/self/statm`, in pages of 4 KiB).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
