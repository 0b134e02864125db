//! History reads: one page of 50 messages with authors, reactions and thread summaries, at
//! concurrency C. Statements per request come from the server's SQL counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::json;

use crate::client::Api;
use crate::stats::{Latency, Report};

const PAGE: &str = "query($id: ID!) { channel(id: $id) { messages(last: 50) { edges { cursor node { seq body createdAt author { id displayName } reactions { emoji count reactedByMe users { id } } replyCount threadParticipants { id displayName } } } pageInfo { hasPreviousPage } } } }";

pub async fn run(api: &Api, concurrency: usize, requests: usize) -> anyhow::Result<Report> {
    let (owner, other) = (api.sign_up("hist-a").await?, api.sign_up("hist-b").await?);
    let channel = api.channel(&owner, &[&other]).await?;
    let post = "mutation($i: PostMessageInput!) { postMessage(input: $i) { message { id } } }";
    for i in 0..60 {
        let author = if i % 2 == 0 { &owner } else { &other };
        let data = api
            .gql(Some(&author.token), post, json!({ "i": { "channelId": channel, "body": format!("message {i}") } }))
            .await?;
        let id = data["postMessage"]["message"]["id"].clone();
        if i % 3 == 0 {
            api.gql(
                Some(&other.token),
                "mutation($id: ID!) { toggleReaction(input: { messageId: $id, emoji: \"👍\" }) { added } }",
                json!({ "id": id }),
            )
            .await?;
        }
        if i % 5 == 0 {
            api.gql(
                Some(&owner.token),
                post,
                json!({ "i": { "channelId": channel, "body": "reply", "threadRootId": id } }),
            )
            .await?;
        }
    }
    let statements_before = api.metric("stoa_sql_statements_total").await?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, token, channel, next) = (api.clone(), owner.token.clone(), channel.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let t = Instant::now();
                api.gql(Some(&token), PAGE, json!({ "id": channel })).await?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    let statements = api.metric("stoa_sql_statements_total").await? - statements_before;
    let latency = Latency::of(all);
    Ok(Report {
        name: "history",
        params: json!({ "concurrency": concurrency, "requests": requests, "page": 50 }),
        metrics: json!({
            "requests_per_s": (latency.samples as f64 / secs).round(),
            "latency_p50_ms": (latency.p50_ms * 100.0).round() / 100.0,
            "latency_p99_ms": (latency.p99_ms * 100.0).round() / 100.0,
            "sql_statements_per_request": (statements / latency.samples.max(1) as f64 * 100.0).round() / 100.0,
        }),
    })
}
