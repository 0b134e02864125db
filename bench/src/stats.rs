//! Percentiles and the result record written to `bench/results/`.

use serde::Serialize;

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(mut samples: Vec<f64>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let idx = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples[idx.min(samples.len() - 1)]
        };
        Self { samples: samples.len(), p50_ms: at(0.50), p99_ms: at(0.99), max_ms: at(1.0) }
    }
}

/// One benchmark's result.
#[derive(Debug, Serialize)]
pub struct Report {
    pub name: &'static str,
    pub params: serde_json::Value,
    pub metrics: serde_json::Value,
}

impl Report {
    /// Prints a table row block and writes JSON next to the others.
    pub fn emit(&self, dir: &std::path::Path) -> anyhow::Result<()> {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        writeln!(out, "\n== {} ==", self.name)?;
        for (k, v) in self.params.as_object().into_iter().flatten() {
            writeln!(out, "  {k:<28} {v}")?;
        }
        for (k, v) in self.metrics.as_object().into_iter().flatten() {
            writeln!(out, "  {k:<28} {v}")?;
        }
        std::fs::create_dir_all(dir)?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let path = dir.join(format!("{stamp}-{}.json", self.name));
        std::fs::write(&path, serde_json::to_vec_pretty(self)?)?;
        writeln!(out, "  -> {}", path.display())?;
        Ok(())
    }
}
