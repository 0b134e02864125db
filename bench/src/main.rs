//! `stoa-bench`: drives a running Stoa over HTTP and graphql-transport-ws and reports fan-out
//! latency, idle-socket memory, history-read throughput, post throughput, trusted documents
//! against query text and helpdesk tickets (transitions, the inbox page, queue admissions, due
//! dates, the deadline clock's breach lag and sweep). Results print as a table and are written as
//! JSON to `bench/results/`.
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

mod baseline;
mod client;
mod documents;
mod fanout;
mod history;
mod idle;
mod post;
mod stats;
mod ticket_clock;
mod tickets;

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
        /// First run the same subscribers and posts against a bare tokio + tungstenite broadcast
        /// server (its own process, no GraphQL), then against Stoa, and report the ratios.
        #[arg(long)]
        baseline: bool,
    },
    /// The bare broadcast server `fanout --baseline` starts (not for direct use).
    BaselineServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: String,
    },
    /// N idle authenticated subscriptions: server memory per connection.
    Idle {
        #[arg(long)]
        connections: Option<usize>,
        /// First hold the same sockets on the bare baseline server, then on Stoa.
        #[arg(long)]
        baseline: bool,
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
    /// One operation as a trusted `documentId`, as cached text and as text parsed every time.
    Documents {
        #[arg(long)]
        requests: Option<usize>,
    },
    /// Helpdesk tickets: A agents each working their own tickets through ASSIGN → START → HOLD →
    /// RESUME → RESOLVE (beside raw guarded UPDATEs on the same rows), the inbox page as the
    /// department head at concurrency C, RESOLVE → `ticketQueue` admission latency, tickets opened
    /// with due dates on a year's business calendar (beside a department without SLA), and with
    /// `--database-url` the deadline clock's breach lag and its sweep of N overdue tickets (beside
    /// one raw UPDATE).
    Tickets {
        /// Concurrent agents (the 16).
        #[arg(long)]
        agents: Option<usize>,
        /// Tickets each agent works.
        #[arg(long)]
        tickets_per_agent: Option<usize>,
        /// Assigned, labelled tickets behind the inbox page.
        #[arg(long)]
        inbox_tickets: Option<usize>,
        /// Concurrent inbox readers.
        #[arg(long)]
        concurrency: Option<usize>,
        /// Inbox pages read in all.
        #[arg(long)]
        requests: Option<usize>,
        /// Slot-freed → admitted measurements.
        #[arg(long)]
        admissions: Option<usize>,
        /// Tickets opened per department (with and without SLA policy) for the due-date row.
        #[arg(long)]
        due_tickets: Option<usize>,
        /// Overdue tickets the deadline clock sweeps (needs --database-url).
        #[arg(long)]
        sweep_tickets: Option<usize>,
        /// Tickets whose breach lag is measured (needs --database-url).
        #[arg(long)]
        lag_tickets: Option<usize>,
        /// The server's database: the raw UPDATE baselines, the sweep's copies, the breach lag.
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
            &fanout::Target::Stoa,
        )
    };
    match command {
        Command::BaselineServer { bind } => baseline::serve(&bind).await?,
        Command::Fanout { subscribers, posts, rate, baseline: true } => {
            let bare = baseline::Child::start().await?;
            let bare_api = client::Api::new(&bare.base);
            let (subs, posts) =
                (subscribers.unwrap_or(if q { 200 } else { 1_000 }), posts.unwrap_or(if q { 20 } else { 100 }));
            let bare_row = fanout::run(&bare_api, None, subs, posts, rate, &fanout::Target::Baseline(&bare)).await?;
            drop(bare);
            bare_row.emit(&cli.out)?;
            let stoa = run_fanout(Some(subs), Some(posts), rate).await?;
            stoa.emit(&cli.out)?;
            fanout::ratios(&bare_row, &stoa).emit(&cli.out)?;
        }
        Command::Fanout { subscribers, posts, rate, baseline: false } => {
            run_fanout(subscribers, posts, rate).await?.emit(&cli.out)?
        }
        Command::Idle { connections, baseline } => {
            let n = connections.unwrap_or(if q { 500 } else { 10_000 });
            if baseline {
                let bare = baseline::Child::start().await?;
                let bare_row = idle::run(&client::Api::new(&bare.base), n, Some(&bare)).await?;
                drop(bare);
                bare_row.emit(&cli.out)?;
            }
            idle::run(&api, n, None).await?.emit(&cli.out)?;
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
        Command::Documents { requests } => {
            documents::run(&api, requests.unwrap_or(if q { 200 } else { 2_000 })).await?.emit(&cli.out)?;
        }
        Command::Tickets {
            agents,
            tickets_per_agent,
            inbox_tickets,
            concurrency,
            requests,
            admissions,
            due_tickets,
            sweep_tickets,
            lag_tickets,
            database_url,
        } => {
            let d = tickets::Sizes::defaults(q);
            let sizes = tickets::Sizes {
                agents: agents.unwrap_or(d.agents),
                tickets_per_agent: tickets_per_agent.unwrap_or(d.tickets_per_agent),
                inbox_tickets: inbox_tickets.unwrap_or(d.inbox_tickets),
                concurrency: concurrency.unwrap_or(d.concurrency),
                requests: requests.unwrap_or(d.requests),
                admissions: admissions.unwrap_or(d.admissions),
                due_tickets: due_tickets.unwrap_or(d.due_tickets),
                sweep_tickets: sweep_tickets.unwrap_or(d.sweep_tickets),
                lag_tickets: lag_tickets.unwrap_or(d.lag_tickets),
            };
            tickets::run(&api, sizes, database_url, &cli.out).await?;
        }
        Command::All { database_url } => {
            // The sizes (#17): 10,000 subscribers on one channel at 5 posts/s.
            let (subs, posts, rate) = if q { (200, 20, 10.0) } else { (10_000, 50, 5.0) };
            let n = if q { 500 } else { 10_000 };
            {
                let bare = baseline::Child::start().await?;
                let bare_api = client::Api::new(&bare.base);
                // Idle first, on fresh servers: after fan-out, the allocators reuse the memory of
                // its sockets and growth per socket reads far too low.
                idle::run(&bare_api, n, Some(&bare)).await?.emit(&cli.out)?;
                idle::run(&api, n, None).await?.emit(&cli.out)?;
                let bare_row =
                    fanout::run(&bare_api, None, subs, posts, rate, &fanout::Target::Baseline(&bare)).await?;
                bare_row.emit(&cli.out)?;
                // With a second instance: everyone on the first, then half on each over Redis.
                let one = match &api2 {
                    Some(_) => fanout::run(&api, None, subs, posts, rate, &fanout::Target::Stoa).await?,
                    None => run_fanout(Some(subs), Some(posts), rate).await?,
                };
                one.emit(&cli.out)?;
                fanout::ratios(&bare_row, &one).emit(&cli.out)?;
                if api2.is_some() {
                    let two = run_fanout(Some(subs), Some(posts), rate).await?;
                    two.emit(&cli.out)?;
                    fanout::instances_ratio(&one, &two).emit(&cli.out)?;
                }
            }
            history::run(&api, if q { 4 } else { 16 }, if q { 200 } else { 5_000 }).await?.emit(&cli.out)?;
            post::run(&api, if q { 4 } else { 16 }, if q { 3 } else { 10 }, database_url.clone())
                .await?
                .emit(&cli.out)?;
            documents::run(&api, if q { 200 } else { 2_000 }).await?.emit(&cli.out)?;
            tickets::run(&api, tickets::Sizes::defaults(q), database_url, &cli.out).await?;
        }
    }
    Ok(())
}
