//! Fan-out: S subscribers on one channel, P posts. Each post carries its send time; every
//! subscriber records post→delivery latency and the sequence numbers it saw (loss, duplicates).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Api};
use crate::stats::{Latency, Report};

const SUB: &str = "subscription($id: ID!) { channelEvents(channelId: $id) { seq message { body } } }";

fn now_us() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or_default()
}

#[derive(serde::Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    payload: Option<FramePayload<'a>>,
}

#[derive(serde::Deserialize)]
struct FramePayload<'a> {
    #[serde(borrow)]
    data: Option<FrameData<'a>>,
}

#[derive(serde::Deserialize)]
struct FrameData<'a> {
    #[serde(borrow, rename = "channelEvents")]
    channel_events: Option<FrameEvent<'a>>,
}

#[derive(serde::Deserialize)]
struct FrameEvent<'a> {
    seq: i64,
    #[serde(borrow)]
    message: FrameMessage<'a>,
}

#[derive(serde::Deserialize)]
struct FrameMessage<'a> {
    #[serde(borrow)]
    body: std::borrow::Cow<'a, str>,
}

struct Seen {
    latencies_ms: Vec<f64>,
    seqs: Vec<i64>,
}

/// Who serves the run: Stoa at the API's URL, or the bare baseline (its publisher socket).
pub enum Target<'a> {
    Stoa,
    Baseline(&'a crate::baseline::Child),
}

/// Posts through the target: a GraphQL mutation to Stoa, a publish frame to the baseline.
enum Poster {
    Stoa { api: Api, token: String, channel: String },
    Baseline(Box<tokio::sync::Mutex<crate::baseline::Publisher>>),
}

impl Poster {
    async fn post(&self, body: String) -> anyhow::Result<i64> {
        match self {
            Self::Stoa { api, token, channel } => {
                let data = api
                    .gql(
                        Some(token),
                        "mutation($i: PostMessageInput!) { postMessage(input: $i) { message { seq } } }",
                        json!({ "i": { "channelId": channel, "body": body } }),
                    )
                    .await?;
                Ok(data["postMessage"]["message"]["seq"].as_i64().unwrap_or(-1))
            }
            Self::Baseline(publisher) => publisher.lock().await.publish(&body).await,
        }
    }
}

/// Server CPU seconds so far: the baseline child's, or every Stoa instance's `/metrics`.
async fn server_cpu(target: &Target<'_>, api: &Api, api2: Option<&Api>) -> Option<f64> {
    match target {
        Target::Baseline(child) => child.cpu_seconds(),
        Target::Stoa => {
            let mut total = api.metric("process_cpu_seconds_total").await.ok()?;
            if let Some(api2) = api2 {
                total += api2.metric("process_cpu_seconds_total").await.ok()?;
            }
            Some(total)
        }
    }
}

pub async fn run(
    api: &Api,
    api2: Option<&Api>,
    subscribers: usize,
    posts: usize,
    rate: f64,
    target: &Target<'_>,
) -> anyhow::Result<Report> {
    let pool = subscribers.clamp(1, 20);
    let (tokens, channel, poster) = match target {
        Target::Stoa => {
            let poster = api.sign_up("poster").await?;
            let mut users = Vec::new();
            for i in 0..pool {
                users.push(api.sign_up(&format!("sub{i}")).await?);
            }
            let channel = api.channel(&poster, &users.iter().collect::<Vec<_>>()).await?;
            let tokens: Vec<String> = users.iter().map(|u| u.token.clone()).collect();
            (tokens, channel.clone(), Poster::Stoa { api: api.clone(), token: poster.token, channel })
        }
        Target::Baseline(_) => {
            let publisher = crate::baseline::Publisher::connect(api).await?;
            (
                vec!["baseline".to_owned(); pool],
                "c".to_owned(),
                Poster::Baseline(Box::new(tokio::sync::Mutex::new(publisher))),
            )
        }
    };

    // Open every socket (bounded concurrency), subscribe, and wait until each has seen a warm-up post.
    let gate = Arc::new(Semaphore::new(128));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let open_started = Instant::now();
    for i in 0..subscribers {
        let target = if i % 2 == 1 { api2.unwrap_or(api).clone() } else { api.clone() };
        let token = tokens[i % pool].clone();
        let (gate, ready, channel, mut stop) = (gate.clone(), ready_tx.clone(), channel.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.ok();
            let mut socket = target.socket(&token).await?;
            client::subscribe(&mut socket, "s", SUB, json!({ "id": channel })).await?;
            drop(permit);
            let mut seen = Seen { latencies_ms: Vec::new(), seqs: Vec::new() };
            let mut warmed = false;
            loop {
                let msg = tokio::select! {
                    m = socket.next() => m,
                    _ = stop.wait_for(|s| *s) => break,
                };
                let Some(Ok(Message::Text(text))) = msg else {
                    if matches!(msg, Some(Ok(_))) {
                        continue;
                    }
                    break;
                };
                let received = now_us();
                // Typed, borrowing parse: the load generator shares the CPU with the server.
                let Ok(msg) = serde_json::from_str::<Frame<'_>>(text.as_str()) else { continue };
                let Some(event) = msg.payload.and_then(|p| p.data).and_then(|d| d.channel_events) else { continue };
                let body: &str = &event.message.body;
                if body == "warmup" {
                    if !warmed {
                        warmed = true;
                        let _ = ready.send(());
                    }
                    continue;
                }
                if let Some(sent) = body.strip_prefix("t=").and_then(|t| t.parse::<u128>().ok()) {
                    seen.latencies_ms.push(received.saturating_sub(sent) as f64 / 1000.0);
                    seen.seqs.push(event.seq);
                }
            }
            anyhow::Ok(seen)
        }));
    }
    drop(ready_tx);
    let open_secs = open_started.elapsed().as_secs_f64();
    let post_text = |body: String| poster.post(body);
    // Warm up until every subscriber is live (a subscription has no "ready" message).
    let mut ready = 0;
    let warm_deadline = Instant::now() + Duration::from_mins(2);
    while ready < subscribers && Instant::now() < warm_deadline {
        post_text("warmup".into()).await?;
        let until = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(Some(())) = tokio::time::timeout_at(until, ready_rx.recv()).await {
            ready += 1;
        }
    }
    let mut posted_seqs = Vec::new();
    let cpu_before = server_cpu(target, api, api2).await;
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
    for _ in 0..posts {
        posted_seqs.push(post_text(format!("t={}", now_us())).await?);
        tokio::time::sleep(interval).await;
    }
    // Let the last deliveries land, then stop every reader.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = server_cpu(target, api, api2).await;
    let _ = stop_tx.send(true);
    let expected: HashSet<i64> = posted_seqs.iter().copied().collect();
    let (mut latencies, mut lost, mut duplicated, mut failed) = (Vec::new(), 0usize, 0usize, 0usize);
    for task in tasks {
        match task.await {
            Ok(Ok(seen)) => {
                let unique: HashSet<i64> = seen.seqs.iter().copied().collect();
                duplicated += seen.seqs.len() - unique.len();
                lost += expected.difference(&unique).count();
                latencies.extend(seen.latencies_ms);
            }
            _ => failed += 1,
        }
    }
    let deliveries = latencies.len();
    let latency = Latency::of(latencies);
    let cpu_us_per_delivery = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) if deliveries > 0 => Some(((b - a) * 1e6 / deliveries as f64 * 10.0).round() / 10.0),
        _ => None,
    };
    Ok(Report {
        name: if matches!(target, Target::Baseline(_)) { "fanout-baseline" } else { "fanout" },
        params: json!({ "subscribers": subscribers, "posts": posts, "rate_per_s": rate, "instances": if api2.is_some() { 2 } else { 1 } }),
        metrics: json!({
            "subscribers_ready": ready,
            "sockets_failed": failed,
            "open_seconds": (open_secs * 100.0).round() / 100.0,
            "deliveries": deliveries,
            "deliveries_per_s": (deliveries as f64 / elapsed).round(),
            "latency_p50_ms": latency.p50_ms,
            "latency_p99_ms": latency.p99_ms,
            "latency_max_ms": latency.max_ms,
            "lost": lost,
            "duplicated": duplicated,
            "server_cpu_us_per_delivery": cpu_us_per_delivery,
        }),
    })
}

/// Stoa's row over the baseline's, from one run: p50/p99 latency and server CPU per delivery.
pub fn ratios(base: &Report, stoa: &Report) -> Report {
    let ratio = |key: &str| {
        let (b, s) = (base.metrics[key].as_f64(), stoa.metrics[key].as_f64());
        match (b, s) {
            (Some(b), Some(s)) if b > 0.0 => Some((s / b * 100.0).round() / 100.0),
            _ => None,
        }
    };
    Report {
        name: "fanout-ratio",
        params: stoa.params.clone(),
        metrics: json!({
            "p50_ratio": ratio("latency_p50_ms"),
            "p99_ratio": ratio("latency_p99_ms"),
            "cpu_per_delivery_ratio": ratio("server_cpu_us_per_delivery"),
            "baseline_lost": base.metrics["lost"],
            "stoa_lost": stoa.metrics["lost"],
            "stoa_duplicated": stoa.metrics["duplicated"],
        }),
    }
}

/// Half the subscribers on a second instance (over Redis) against all of them on one, same run.
pub fn instances_ratio(one: &Report, two: &Report) -> Report {
    let ratio = |key: &str| match (one.metrics[key].as_f64(), two.metrics[key].as_f64()) {
        (Some(a), Some(b)) if a > 0.0 => Some((b / a * 100.0).round() / 100.0),
        _ => None,
    };
    Report {
        name: "fanout-instances-ratio",
        params: two.params.clone(),
        metrics: json!({
            "p99_one_instance_ms": one.metrics["latency_p99_ms"],
            "p99_two_instances_ms": two.metrics["latency_p99_ms"],
            "p99_two_to_one": ratio("latency_p99_ms"),
            "lost": two.metrics["lost"],
            "duplicated": two.metrics["duplicated"],
        }),
    }
}
