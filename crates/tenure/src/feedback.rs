//! `tenure feedback` and `tenure requests` (docs/FEEDBACK.md), from
//! `tenure_app::feedback`.
//!
//! - `tenure feedback [list] [--theme T --source S --sentiment X --account
//!   A --limit N] [--format json]`: feedback items, newest first
//!   (`--format json` prints the API's `GET /api/v1/feedback`).
//! - `tenure feedback themes`: the configured themes with their counts.
//! - `tenure feedback suggest [--k N]`: suggested themes from the untagged
//!   items, with their top terms, example comments and a TOML entry.
//! - `tenure feedback refresh`: the daily job's step, now.
//! - `tenure feedback add ACCOUNT --text T [--kind K --score N --date D]`.
//! - `tenure requests [list] [--by arr|count|arr_at_risk] [--status S]`,
//!   `tenure requests add TITLE [--account A ...] [--feedback ID]`,
//!   `tenure requests link ID (--account A | --feedback ID)`,
//!   `tenure requests status ID STATUS` (shipped: the close-the-loop
//!   tasks), `tenure requests export [--out FILE]` (CSV).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use tenure_app::command::load_config;
use tenure_app::feedback::{self, ItemView, NewFeedback, NewRequest};
use tenure_core::model::Money;
use tenure_server::api::feedback::{
    FeedbackListOut, FeedbackParams, RequestParams, feedback_query, item_out, request_params,
    requests_out, suggestion_out, theme_out,
};
use tenure_store::api::Scope;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FeedbackArgs {
    #[command(subcommand)]
    pub command: Option<FeedbackCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Items with this theme.
    #[arg(long)]
    pub theme: Option<String>,
    /// survey, ticket, note or api.
    #[arg(long)]
    pub source: Option<String>,
    /// negative, neutral or positive.
    #[arg(long)]
    pub sentiment: Option<String>,
    /// One account's items.
    #[arg(long)]
    pub account: Option<String>,
    /// Only items without a theme.
    #[arg(long)]
    pub untagged: bool,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Feedback items, newest first.
    List(ListArgs),
    /// The configured themes and how many items carry each.
    Themes {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Suggested themes: keyword clusters of the items no theme tags.
    Suggest {
        /// Suggestions wanted, at most (1 to 20).
        #[arg(long, default_value_t = 5)]
        k: usize,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Make feedback from survey comments, tickets and notes now, with
    /// their themes (the background job does it on each pass).
    Refresh,
    /// Add feedback for an account by hand.
    Add {
        account: String,
        /// What the customer said.
        #[arg(long)]
        text: String,
        /// nps, csat or ces: the scale of --score.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        score: Option<i64>,
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        contact: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RequestsArgs {
    #[command(subcommand)]
    pub command: Option<RequestsCommand>,
    #[command(flatten)]
    pub rank: RankArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RankArgs {
    /// Rank by arr (of the accounts asking), count or arr_at_risk.
    #[arg(long, default_value = "arr")]
    pub by: String,
    /// Only open, planned, shipped or declined requests.
    #[arg(long)]
    pub status: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Requests ranked by the revenue asking for them.
    List {
        #[command(flatten)]
        rank: RankArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Make a request, asked for by accounts or by a feedback item's
    /// account.
    Add {
        title: String,
        /// An account asking; repeat for more.
        #[arg(long = "account")]
        accounts: Vec<String>,
        /// The feedback item it came from.
        #[arg(long)]
        feedback: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Add an account (or a feedback item's account) to a request.
    Link {
        id: String,
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        feedback: Option<String>,
    },
    /// Set a request's status: open, planned, shipped or declined. Shipped
    /// gives each asking account's CSM a task to tell the customer.
    Status { id: String, status: String },
    /// The ranking as CSV.
    Export {
        #[command(flatten)]
        rank: RankArgs,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn date(flag: &str, v: Option<&str>) -> Result<Option<jiff::civil::Date>, BadInput> {
    v.map(|s| {
        tenure_core::model::parse_date(s.trim()).map_err(|e| BadInput(format!("{flag}: {e}")))
    })
    .transpose()
}

/// One line of text, at most `n` characters.
fn short(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > n {
        one.chars().take(n - 1).collect::<String>() + "…"
    } else {
        one
    }
}

fn print_items(items: &[ItemView]) {
    if items.is_empty() {
        println!("No feedback.");
        return;
    }
    println!(
        "{:<10}  {:<20}  {:<6}  {:<8}  {:<24}  TEXT",
        "DATE", "ACCOUNT", "SOURCE", "FEELING", "THEMES"
    );
    for v in items {
        let i = &v.item;
        println!(
            "{:<10}  {:<20}  {:<6}  {:<8}  {:<24}  {}",
            i.day,
            short(&v.account_name, 20),
            i.source.as_str(),
            i.sentiment.map(|s| s.as_str()).unwrap_or("-"),
            short(&i.themes.join(", "), 24),
            short(&i.text, 80)
        );
    }
}

async fn list(
    store: &tenure_store::Store,
    config: &tenure_core::config::Config,
    a: ListArgs,
) -> Result<()> {
    let q = feedback_query(
        &FeedbackParams {
            theme: a.theme,
            source: a.source,
            sentiment: a.sentiment,
            account_id: a.account,
            untagged: Some(a.untagged),
            limit: Some(a.limit),
        },
        Scope::All,
    )
    .map_err(|m| BadInput(format!("--{m}")))?;
    let items = feedback::list(store, &q).await?;
    match a.format {
        Format::Json => {
            let themes = feedback::themes(store, config, &Scope::All).await?;
            print_json(&FeedbackListOut {
                items: items.iter().map(item_out).collect(),
                themes: themes.iter().map(theme_out).collect(),
            })
        }
        Format::Table => {
            print_items(&items);
            Ok(())
        }
    }
}

pub async fn run(db: &str, config_path: &Path, args: FeedbackArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    let today = tenure_app::clock::today();
    match args.command {
        None => list(&store, &config, args.list).await,
        Some(FeedbackCommand::List(a)) => list(&store, &config, a).await,
        Some(FeedbackCommand::Themes { format }) => {
            let themes = feedback::themes(&store, &config, &Scope::All).await?;
            match format {
                Format::Json => print_json(&themes.iter().map(theme_out).collect::<Vec<_>>()),
                Format::Table => {
                    if themes.is_empty() {
                        println!(
                            "No theme is configured: add [[feedback.themes]] to tenure.toml (tenure feedback suggest proposes some)."
                        );
                    }
                    for t in &themes {
                        let mut how = Vec::new();
                        if !t.keywords.is_empty() {
                            how.push(format!("keywords: {}", t.keywords.join(", ")));
                        }
                        if let Some(r) = &t.rule {
                            how.push(format!("rule: {r}"));
                        }
                        println!("{:<28} {:>6} items   {}", t.name, t.items, how.join("; "));
                    }
                    Ok(())
                }
            }
        }
        Some(FeedbackCommand::Suggest { k, format }) => {
            if !(1..=20).contains(&k) {
                return Err(BadInput(format!("--k: from 1 to 20, not {k}")).into());
            }
            let s = feedback::suggest(&store, &Scope::All, k).await?;
            match format {
                Format::Json => print_json(&s.iter().map(suggestion_out).collect::<Vec<_>>()),
                Format::Table => {
                    if s.is_empty() {
                        println!("Not enough untagged feedback to suggest a theme.");
                    }
                    for (n, x) in s.iter().enumerate() {
                        println!(
                            "{}. {} ({} items)",
                            n + 1,
                            x.suggestion.terms.join(", "),
                            x.suggestion.items
                        );
                        for e in &x.examples {
                            println!("     \"{}\"", short(&e.item.text, 100));
                        }
                        for l in x.suggestion.toml.lines() {
                            println!("     {l}");
                        }
                        println!();
                    }
                    Ok(())
                }
            }
        }
        Some(FeedbackCommand::Refresh) => {
            let c = feedback::refresh(&store, &config).await?;
            println!(
                "Feedback: {} added, {} updated, {} removed",
                c.added, c.updated, c.removed
            );
            Ok(())
        }
        Some(FeedbackCommand::Add {
            account,
            text,
            kind,
            score,
            date: day,
            contact,
        }) => {
            let day = date("--date", day.as_deref())?;
            let i = feedback::add(
                &store,
                &config,
                &Scope::All,
                &NewFeedback {
                    account_id: account,
                    contact_id: contact,
                    text,
                    day,
                    kind,
                    score,
                },
                None,
                today,
            )
            .await?;
            println!(
                "Feedback {} added{}",
                i.id,
                if i.themes.is_empty() {
                    String::new()
                } else {
                    format!(" with themes {}", i.themes.join(", "))
                }
            );
            Ok(())
        }
    }
}

fn rank_of(
    r: &RankArgs,
) -> Result<
    (
        tenure_core::feedback::RankBy,
        Option<tenure_core::feedback::RequestStatus>,
    ),
    BadInput,
> {
    request_params(&RequestParams {
        by: Some(r.by.clone()),
        status: r.status.clone(),
    })
    .map_err(|m| BadInput(format!("--{m}")))
}

async fn print_requests(
    store: &tenure_store::Store,
    config: &tenure_core::config::Config,
    rank: &RankArgs,
    format: Format,
) -> Result<()> {
    let (by, status) = rank_of(rank)?;
    let today = tenure_app::clock::today();
    let r = feedback::ranking(store, config, &Scope::All, by, status, today).await?;
    match format {
        Format::Json => print_json(&requests_out(&r)),
        Format::Table => {
            if r.rows.is_empty() {
                println!("No product request.");
                return Ok(());
            }
            let m = |v: i64| Money::new(v, r.currency).to_decimal_string();
            println!(
                "{:>3}  {:<20}  {:<36}  {:<8}  {:>8}  {:>14}  {:>14}",
                "#", "ID", "REQUEST", "STATUS", "ACCOUNTS", "ARR", "ARR AT RISK"
            );
            for (n, x) in r.rows.iter().enumerate() {
                println!(
                    "{:>3}  {:<20}  {:<36}  {:<8}  {:>8}  {:>14}  {:>14}",
                    n + 1,
                    x.request.id,
                    short(&x.request.title, 36),
                    x.request.status.as_str(),
                    x.standing.accounts,
                    m(x.standing.arr),
                    m(x.standing.arr_at_risk)
                );
            }
            println!(
                "ARR in {} on {}; ranked by {}.",
                r.currency,
                r.day,
                by.as_str()
            );
            Ok(())
        }
    }
}

pub async fn requests(db: &str, config_path: &Path, args: RequestsArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    let today = tenure_app::clock::today();
    match args.command {
        None => print_requests(&store, &config, &args.rank, args.format).await,
        Some(RequestsCommand::List { rank, format }) => {
            print_requests(&store, &config, &rank, format).await
        }
        Some(RequestsCommand::Add {
            title,
            accounts,
            feedback: item,
            description,
        }) => {
            let r = feedback::create(
                &store,
                &config,
                &Scope::All,
                &NewRequest {
                    title,
                    description,
                    account_ids: accounts,
                    feedback_id: item,
                },
                None,
                today,
            )
            .await?;
            println!("Request {} made: {}", r.id, r.title);
            Ok(())
        }
        Some(RequestsCommand::Link {
            id,
            account,
            feedback: item,
        }) => {
            let added = feedback::link(
                &store,
                &Scope::All,
                &id,
                account.as_deref(),
                item.as_deref(),
                None,
                today,
            )
            .await?;
            println!(
                "{}",
                if added {
                    format!("Added to request {id}")
                } else {
                    format!("That account already asks for request {id}")
                }
            );
            Ok(())
        }
        Some(RequestsCommand::Status { id, status }) => {
            let c = feedback::set_status(&store, &config, &id, &status, today).await?;
            if c.previous == c.request.status {
                println!("Request {id} is already {}", c.request.status.as_str());
            } else {
                println!(
                    "Request {id}: {} → {}",
                    c.previous.as_str(),
                    c.request.status.as_str()
                );
            }
            if !c.tasks.is_empty() {
                println!("{} task(s) to tell the customers:", c.tasks.len());
                for t in &c.tasks {
                    println!(
                        "  {}  {}  {}",
                        t.id,
                        t.owner_email.as_deref().unwrap_or("(no CSM)"),
                        t.title
                    );
                }
            }
            if let Some(w) = &c.webhook {
                println!("Webhook {w} queued for the product team's tracker");
            }
            Ok(())
        }
        Some(RequestsCommand::Export { rank, out }) => {
            let (by, status) = rank_of(&rank)?;
            let r = feedback::ranking(&store, &config, &Scope::All, by, status, today).await?;
            let csv = feedback::to_csv(&r)?;
            match out {
                Some(path) => std::fs::write(&path, csv)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{csv}"),
            }
            Ok(())
        }
    }
}
