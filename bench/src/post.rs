//! Sustained posting at concurrency C for D seconds, beside the same database's raw INSERT rate
//! (one row per autocommit INSERT into a scratch table, same concurrency) measured in the same run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait as _, Database};
use serde_json::json;

use crate::client::Api;
use crate::stats::Report;

async fn baseline(url: &str, concurrency: usize, seconds: u64) -> anyhow::Result<f64> {
    let db = Database::connect(url).await?;
    db.execute_unprepared("CREATE TABLE IF NOT EXISTS bench_baseline (id VARCHAR(64) PRIMARY KEY, body TEXT NOT NULL)")
        .await?;
    let (count, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (db, count, stop) = (db.clone(), count.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let sql = format!(
                    "INSERT INTO bench_baseline (id, body) VALUES ('{}', 'baseline row')",
                    uuid::Uuid::now_v7()
                );
                db.execute_unprepared(&sql).await?;
                count.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    let rate = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    db.execute_unprepared("DROP TABLE bench_baseline").await?;
    Ok(rate)
}

pub async fn run(api: &Api, concurrency: usize, seconds: u64, database_url: Option<String>) -> anyhow::Result<Report> {
    let owner = api.sign_up("poster").await?;
    let channel = api.channel(&owner, &[]).await?;
    let (count, errors, stop) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let statements_before = api.metric("stoa_sql_statements_total").await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (api, token, channel) = (api.clone(), owner.token.clone(), channel.clone());
        let (count, errors, stop) = (count.clone(), errors.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let res = api
                    .gql(
                        Some(&token),
                        "mutation($i: PostMessageInput!) { postMessage(input: $i) { message { seq } } }",
                        json!({ "i": { "channelId": channel, "body": "sustained post" } }),
                    )
                    .await;
                if res.is_ok() {
                    count.fetch_add(1, Ordering::Relaxed)
                } else {
                    errors.fetch_add(1, Ordering::Relaxed)
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let posts_per_s = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let statements = api.metric("stoa_sql_statements_total").await? - statements_before;
    let per_post = statements / count.load(Ordering::Relaxed).max(1) as f64;
    let baseline = match &database_url {
        Some(url) => Some(baseline(url, concurrency, seconds).await?),
        None => None,
    };
    Ok(Report {
        name: "post",
        params: json!({ "concurrency": concurrency, "seconds": seconds }),
        metrics: json!({
            "posts_per_s": posts_per_s.round(),
            "post_errors": errors.load(Ordering::Relaxed),
            "sql_statements_per_post": (per_post * 100.0).round() / 100.0,
            "raw_insert_per_s": baseline.map(f64::round),
            "ratio_post_to_insert": baseline.map(|b| (posts_per_s / b * 100.0).round() / 100.0),
        }),
    })
}
