//! Trusted documents against query text: the same operation (the generated client's `Me`) sent as
//! a `documentId`, as its exact text (parsed once, then found by text), and as text the server has
//! not seen (a unique trailing comment: parsed on every request, the baseline of a server without a
//! document cache). Reports request bytes, requests/s and latency per form, and the ratios.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::client::Api;
use crate::stats::{Latency, Report};

/// The generated client's manifest, as the server embeds it.
const MANIFEST: &str = include_str!("../../client-gen/src/gql/persisted-documents.json");

struct Form {
    name: &'static str,
    latency: Latency,
    requests_per_s: f64,
    bytes: usize,
}

async fn measure(
    api: &Api,
    token: &str,
    name: &'static str,
    requests: usize,
    body: impl Fn(usize) -> Value,
) -> anyhow::Result<Form> {
    let url = format!("{}/graphql", api.base);
    let mut latencies = Vec::with_capacity(requests);
    let mut bytes = 0;
    let started = Instant::now();
    for i in 0..requests {
        let payload = serde_json::to_vec(&body(i))?;
        bytes = payload.len();
        let t = Instant::now();
        let res = api
            .http
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(payload)
            .send()
            .await?;
        let answer: Value = res.json().await?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        if answer.get("errors").is_some() || answer["data"]["me"]["id"].is_null() {
            bail!("{name}: {answer}");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(Form { name, requests_per_s: (requests as f64 / secs).round(), latency: Latency::of(latencies), bytes })
}

pub async fn run(api: &Api, requests: usize) -> anyhow::Result<Report> {
    let manifest: HashMap<String, String> = serde_json::from_str(MANIFEST)?;
    let (id, text) =
        manifest.iter().find(|(_, text)| text.contains("query Me {")).context("the manifest has the Me query")?;
    let user = api.sign_up("documents").await?;
    // Warm up every path once (the first text request parses and caches).
    for i in 0..20 {
        measure(api, &user.token, "warm", 1, |_| json!({ "documentId": id })).await?;
        measure(api, &user.token, "warm", 1, |_| json!({ "query": text })).await?;
        measure(api, &user.token, "warm", 1, |_| json!({ "query": format!("{text}\n# warm {i}") })).await?;
    }
    let by_id = measure(api, &user.token, "document_id", requests, |_| json!({ "documentId": id })).await?;
    let by_text = measure(api, &user.token, "text_cached", requests, |_| json!({ "query": text })).await?;
    let parsed = measure(
        api,
        &user.token,
        "text_parsed_each_time",
        requests,
        |i| json!({ "query": format!("{text}\n# {i} {}", uuid::Uuid::now_v7().simple()) }),
    )
    .await?;
    let mut metrics = serde_json::Map::new();
    for form in [&by_id, &by_text, &parsed] {
        metrics.insert(format!("{}_request_bytes", form.name), json!(form.bytes));
        metrics.insert(format!("{}_requests_per_s", form.name), json!(form.requests_per_s));
        metrics.insert(format!("{}_p50_ms", form.name), json!((form.latency.p50_ms * 1000.0).round() / 1000.0));
        metrics.insert(format!("{}_p99_ms", form.name), json!((form.latency.p99_ms * 1000.0).round() / 1000.0));
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { (a / b * 100.0).round() / 100.0 } else { 0.0 };
    metrics.insert("bytes_ratio_text_to_id".into(), json!(ratio(by_text.bytes as f64, by_id.bytes as f64)));
    metrics.insert("p50_ratio_parsed_to_id".into(), json!(ratio(parsed.latency.p50_ms, by_id.latency.p50_ms)));
    metrics.insert("p50_ratio_cached_text_to_id".into(), json!(ratio(by_text.latency.p50_ms, by_id.latency.p50_ms)));
    Ok(Report {
        name: "documents",
        params: json!({ "operation": "Me", "requests_per_form": requests, "concurrency": 1 }),
        metrics: Value::Object(metrics),
    })
}
