//! `stoa-bench`: drives a running Stoa over HTTP and graphql-transport-ws and reports fan-out
//! latency, idle-socket memory, history-read throughput and post throughput. Results print as a
//! table and are written as JSON to `bench/results/`.
//!
//! Start the server with budgets that let a load generator through, e.g.
//! `STOA_RATE_LIMIT_IP_PER_MIN=100000000 STOA_RATE_LIMITS=member=100000000,owner=100000000`
//! (`bench/run.sh` does this).
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines,
    clippy::semicolon_if_nothing_returned,
    reason = "a load generator: long linear scenarios, float statistics"
)]

mod client;
mod fanout;
mod history;
mod idle;
mod post;
mod stats;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "stoa-bench", about = "Load generator for a running Stoa")]
struct Cli {
    /// Base URL of the server (posts and most subscribers go here).
    #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    /// A second instance on the same database and Redis; half the subscribers connect here.
    #[arg(long, global = true)]
    url2: Option<String>,
    /// Small sizes that finish in under a minute (CI).
    #[arg(long, global = true)]
    quick: bool,
    /// Where JSON results go.
    #[arg(long, default_value = "bench/results", global = true)]
    out: std::path::PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone)]
enum Command {
    /// S subscribers on one channel, P posts: delivery latency, deliveries/s, loss and duplicates.
    Fanout {
        #[arg(long)]
        subscribers: Option<usize>,
        #[arg(long)]
        posts: Option<usize>,
        /// Posts per second.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
    },
    /// N idle authenticated subscriptions: server memory per connection.
    Idle {
        #[arg(long)]
        connections: Option<usize>,
    },
    /// History pages (50 messages with authors, reactions, thread summaries) at concurrency C.
    History {
        #[arg(long)]
        concurrency: Option<usize>,
        #[arg(long)]
        requests: Option<usize>,
    },
    /// Sustained posts/s beside the same database's raw INSERT rate.
    Post {
        #[arg(long)]
        concurrency: Option<usize>,
        #[arg(long)]
        seconds: Option<u64>,
        /// The server's database, for the raw INSERT baseline.
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Every benchmark in turn (the default).
    All {
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let api = client::Api::new(&cli.url);
    let api2 = cli.url2.as_deref().map(client::Api::new);
    let q = cli.quick;
    let command = cli.command.clone().unwrap_or(Command::All { database_url: None });
    let run_fanout = |subs: Option<usize>, posts: Option<usize>, rate: f64| {
        fanout::run(
            &api,
            api2.as_ref(),
            subs.unwrap_or(if q { 200 } else { 1_000 }),
            posts.unwrap_or(if q { 20 } else { 100 }),
            rate,
        )
    };
    match command {
        Command::Fanout { subscribers, posts, rate } => run_fanout(subscribers, posts, rate).await?.emit(&cli.out)?,
        Command::Idle { connections } => {
            idle::run(&api, connections.unwrap_or(if q { 500 } else { 10_000 })).await?.emit(&cli.out)?
        }
        Command::History { concurrency, requests } => {
            history::run(
                &api,
                concurrency.unwrap_or(if q { 4 } else { 16 }),
                requests.unwrap_or(if q { 200 } else { 5_000 }),
            )
            .await?
            .emit(&cli.out)?;
        }
        Command::Post { concurrency, seconds, database_url } => {
            post::run(
                &api,
                concurrency.unwrap_or(if q { 4 } else { 16 }),
                seconds.unwrap_or(if q { 3 } else { 10 }),
                database_url,
            )
            .await?
            .emit(&cli.out)?;
        }
        Command::All { database_url } => {
            run_fanout(None, None, 10.0).await?.emit(&cli.out)?;
            idle::run(&api, if q { 500 } else { 10_000 }).await?.emit(&cli.out)?;
            history::run(&api, if q { 4 } else { 16 }, if q { 200 } else { 5_000 }).await?.emit(&cli.out)?;
            post::run(&api, if q { 4 } else { 16 }, if q { 3 } else { 10 }, database_url).await?.emit(&cli.out)?;
        }
    }
    Ok(())
}
