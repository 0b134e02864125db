//! Idle sockets: N authenticated connections, each holding one subscription; the server's resident
//! memory (from `/metrics`) before and after gives the cost of one connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;

use crate::client::{self, Api};
use crate::stats::Report;

/// The document of the idle row: a realistic message selection, not the lightest one.
const SUB: &str = "subscription($id: ID!) { channelEvents(channelId: $id) { seq message { id channelId seq body createdAt author { id displayName } } } }";

/// The server's resident bytes: the baseline child's, or Stoa's from `/metrics`.
async fn resident(api: &Api, baseline: Option<&crate::baseline::Child>) -> anyhow::Result<f64> {
    match baseline {
        Some(child) => child.resident_bytes().map(|b| b as f64).ok_or_else(|| anyhow::anyhow!("no baseline RSS")),
        None => api.metric("process_resident_memory_bytes").await,
    }
}

pub async fn run(api: &Api, connections: usize, baseline: Option<&crate::baseline::Child>) -> anyhow::Result<Report> {
    let (token, channel) = if baseline.is_some() {
        ("baseline".to_owned(), "c".to_owned())
    } else {
        let owner = api.sign_up("idle").await?;
        let channel = api.channel(&owner, &[]).await?;
        (owner.token, channel)
    };
    let before = resident(api, baseline).await?;
    let gate = Arc::new(Semaphore::new(128));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (api, token, channel, gate) = (api.clone(), token.clone(), channel.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let mut socket = api.socket(&token).await?;
            client::subscribe(&mut socket, "s", SUB, json!({ "id": channel })).await?;
            anyhow::Ok(socket)
        }));
    }
    let mut sockets = Vec::new();
    let mut failed = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(socket)) => sockets.push(socket),
            _ => failed += 1,
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = resident(api, baseline).await?;
    let held = match baseline {
        Some(_) => sockets.len() as f64,
        None => api.metric("stoa_ws_connections").await?,
    };
    let per_conn_kib = if sockets.is_empty() { 0.0 } else { (after - before) / 1024.0 / sockets.len() as f64 };
    drop(sockets);
    Ok(Report {
        name: if baseline.is_some() { "idle-baseline" } else { "idle" },
        params: json!({ "connections": connections }),
        metrics: json!({
            "open": connections - failed,
            "failed": failed,
            "open_seconds": (open_secs * 100.0).round() / 100.0,
            "server_connections": held,
            "rss_before_mib": (before / 1_048_576.0 * 10.0).round() / 10.0,
            "rss_after_mib": (after / 1_048_576.0 * 10.0).round() / 10.0,
            "kib_per_connection": (per_conn_kib * 10.0).round() / 10.0,
        }),
    })
}
