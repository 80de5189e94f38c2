//! `tenure demo`: simulate a B2B SaaS company (tenure-core's demo module) and
//! load it into the database through the bulk path, or write it out as
//! importable files.
//!
//! Generation runs on its own threads, one account at a time, while this task
//! writes the previous accounts; memory stays flat whatever the size.
//!
//! Unless `--no-serve`, the demo then creates three users (an admin, a
//! leader and one of the simulated CSMs), each with a random password
//! printed once, and serves the dashboard, printing its URL.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use tenure_core::demo::{AccountBundle, Demo, DemoConfig};
use tenure_core::model::parse_date;
use tenure_store::Kind;
use tenure_store::bulk::BulkWriter;
use tenure_store::export::{ExportFormat, RecordWriter};
use tenure_store::rows::Record;

use crate::BadInput;
use crate::data::{open_store, progress_bar, thousands};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of customer accounts to simulate.
    #[arg(long, default_value_t = 2000)]
    pub accounts: u32,
    /// Random seed: the same seed and end date give the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last simulated day (default: today, UTC).
    #[arg(long)]
    pub end: Option<String>,
    /// Days of history to simulate.
    #[arg(long, default_value_t = 730)]
    pub days: u32,
    /// Write importable files to this folder instead of loading the database.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Load the data but do not start the dashboard.
    #[arg(long)]
    pub no_serve: bool,
    /// Address the dashboard listens on.
    #[arg(long, env = "TENURE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Accounts written per transaction when loading.
const ACCOUNTS_PER_COMMIT: u32 = 500;

fn config(args: &DemoArgs) -> Result<DemoConfig> {
    if args.accounts == 0 {
        return Err(BadInput("--accounts must be at least 1".into()).into());
    }
    if args.days < 30 {
        return Err(BadInput("--days must be at least 30".into()).into());
    }
    let end = match &args.end {
        Some(s) => parse_date(s).map_err(|e| BadInput(format!("--end: {e}")))?,
        None => tenure_app::clock::today(),
    };
    Ok(DemoConfig {
        accounts: args.accounts,
        seed: args.seed,
        end,
        days: args.days,
    })
}

/// Generates bundles in order on background threads and hands them over
/// through a bounded channel.
fn generate(demo: Demo) -> mpsc::Receiver<AccountBundle> {
    let (tx, rx) = mpsc::sync_channel::<AccountBundle>(256);
    std::thread::spawn(move || {
        for i in 0..demo.len() {
            if tx.send(demo.account(i)).is_err() {
                return;
            }
        }
    });
    rx
}

fn records(b: AccountBundle) -> impl Iterator<Item = Record> {
    std::iter::once(Record::Account(b.account))
        .chain(b.contacts.into_iter().map(Record::Contact))
        .chain(b.subscriptions.into_iter().map(Record::Subscription))
        .chain(b.tickets.into_iter().map(Record::Ticket))
        .chain(b.survey_responses.into_iter().map(Record::SurveyResponse))
        .chain(b.engagements.into_iter().map(Record::Engagement))
        .chain(b.events.into_iter().map(Record::Event))
}

pub async fn run(db: &str, config_path: &Path, args: DemoArgs) -> Result<()> {
    let config = config(&args)?;
    let demo = Demo::new(config.clone());
    if let Some(dir) = &args.out {
        return write_files(demo, dir, args.quiet);
    }
    let started = Instant::now();
    let store = open_store(db).await?;
    let existing = store.count(Kind::Accounts).await?;
    if existing > 0 {
        return Err(BadInput(format!(
            "the database already holds {existing} accounts; run the demo on a new database (e.g. --db sqlite://demo.db)"
        ))
        .into());
    }
    let csms = demo.csms().to_vec();
    let total = demo.len();
    let pb = progress_bar(u64::from(total), args.quiet, false);
    if let Some(pb) = &pb {
        pb.set_message("simulating and loading accounts");
    }
    let rx = generate(demo);
    let mut writer = BulkWriter::default();
    let mut tx = store.pool().begin().await?;
    let mut done = 0u32;
    while let Ok(bundle) = rx.recv() {
        for rec in records(bundle) {
            writer.push(&mut tx, &rec).await?;
        }
        done += 1;
        if done.is_multiple_of(ACCOUNTS_PER_COMMIT) {
            writer.flush(&mut tx).await?;
            tx.commit().await?;
            tx = store.pool().begin().await?;
        }
        if let Some(pb) = &pb {
            pb.set_position(u64::from(done));
        }
    }
    writer.flush(&mut tx).await?;
    tx.commit().await.context("saving the demo data")?;
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let w = &writer.written;
    if !args.quiet {
        println!(
            "demo company loaded into {} in {:.1} s: {} accounts, {} contacts, {} subscriptions, {} events, {} tickets, {} survey responses, {} engagements; {} CSMs; history {} to {}",
            crate::data::redact_url(db),
            started.elapsed().as_secs_f64(),
            thousands(w[0]),
            thousands(w[1]),
            thousands(w[2]),
            thousands(w[3]),
            thousands(w[4]),
            thousands(w[5]),
            thousands(w[6]),
            csms.len(),
            config
                .end
                .checked_sub(jiff::Span::new().days(i64::from(config.days) - 1))
                .unwrap_or(config.end),
            config.end
        );
    }
    if args.no_serve {
        return Ok(());
    }
    let tenure_config = tenure_app::command::load_config(config_path)?;
    let listener = crate::serve::bind(args.addr).await?;
    score_health(&store, &tenure_config, &config, args.quiet).await?;
    let logins = demo_users(&store, &csms).await?;
    let url = format!("http://{}/", listener.local_addr()?);
    println!("\ndashboard: {url}");
    println!("log in with one of these (passwords are shown only now):");
    for (role, email, password) in &logins {
        println!("  {role:<7} {email:<36} {password}");
    }
    println!("stop with Ctrl-C");
    crate::serve::init_logging(crate::serve::LogFormat::Compact);
    let server_config = crate::serve::server_config(&tenure_config, false);
    let state = tenure_server::AppState::new(store.clone(), server_config)
        .with_tenure_config(tenure_config.clone());
    crate::serve::serve_until_signal(listener, state).await?;
    store.close().await;
    Ok(())
}

/// Days of daily history the demo builds before serving: health scores
/// and the stage and segment runs of every account.
const HISTORY_DAYS: i32 = 180;

/// Scores health every day of the last [`HISTORY_DAYS`] simulated days and
/// at the month ends of the year before, then rebuilds the stage and
/// segment history over the daily range (`tenure health recompute --from`
/// does the same), so that the dashboard has current scores, their
/// 30-day change, a year of band trend, time in stage and a funnel; then
/// gives the accounts their success plans as the simulated CSMs worked
/// them (milestones done, missed or open, value recorded, follow-ups).
async fn score_health(
    store: &tenure_store::Store,
    config: &tenure_core::config::Config,
    demo: &DemoConfig,
    quiet: bool,
) -> Result<()> {
    let end = demo.end;
    use tenure_app::health::{Quiet, recompute};
    use tenure_core::model::add_days;
    let from = add_days(end, 1 - HISTORY_DAYS);
    let mut month_ends = Vec::new();
    let mut first = from.first_of_month();
    while month_ends.len() < 6 {
        let last = add_days(first, -1);
        month_ends.push(last);
        first = last.first_of_month();
    }
    if !quiet {
        eprintln!(
            "scoring health daily from {from} to {end} and on {} earlier month ends, then the stage and segment history...",
            month_ends.len()
        );
    }
    for d in month_ends {
        recompute(store, config, d, d, &Quiet)
            .await
            .with_context(|| format!("scoring health on {d}"))?;
    }
    recompute(store, config, from, end, &Quiet)
        .await
        .with_context(|| format!("scoring health from {from} to {end}"))?;
    let day = tenure_app::engage::rebuild(store, config, from, end, &Quiet)
        .await
        .with_context(|| format!("deciding stages and segments from {from} to {end}"))?;
    let plans = tenure_app::target::plans::demo_history(store, config, demo.seed, from, &day)
        .await
        .context("making the success plans")?;
    // The risk board's history (accounts and ARR at risk by day, reviews
    // opened by a crossing) over the scored days.
    let (days, reviews) = tenure_app::risk::backfill(store, config, from, end)
        .await
        .context("recording the risk board's history")?;
    if !quiet {
        eprintln!(
            "risk board: {days} days recorded, {} leadership reviews opened",
            reviews.len()
        );
    }
    if !quiet {
        eprintln!(
            "success plans: {} from the templates, {} milestones done and {} missed by the simulated CSMs, {} proven-value records, {} follow-up tasks; {} earlier onboarding plans of accounts that paid first before {from}",
            plans.applied.plans_created,
            plans.done,
            plans.missed,
            plans.values,
            plans.tasks,
            plans.earlier
        );
    }
    Ok(())
}

/// Creates the demo's users: an admin, a leader and the first simulated CSM.
/// Returns `(role, email, password)` of each.
async fn demo_users(
    store: &tenure_store::Store,
    csms: &[tenure_core::demo::Csm],
) -> Result<Vec<(&'static str, String, String)>> {
    use tenure_server::auth::{hash_password, random_token};
    use tenure_store::auth::{NewUser, Role};
    let domain = csms
        .first()
        .and_then(|c| c.email.split_once('@'))
        .map_or("example.com".to_string(), |(_, d)| d.to_string());
    let mut users = vec![
        (
            Role::Admin,
            "admin",
            format!("admin@{domain}"),
            Some("Demo admin".to_string()),
        ),
        (
            Role::Leader,
            "leader",
            format!("leader@{domain}"),
            Some("Demo leader".to_string()),
        ),
    ];
    if let Some(c) = csms.first() {
        users.push((
            Role::Csm,
            "csm",
            c.email.to_ascii_lowercase(),
            Some(c.name.clone()),
        ));
    }
    let mut out = Vec::new();
    for (role, label, email, name) in users {
        let password = random_token(12);
        let password_hash = hash_password(&password)
            .map_err(|e| anyhow::anyhow!("hashing a password: {}", e.message))?;
        store
            .create_user(
                &NewUser {
                    id: format!("usr_{}", random_token(12)),
                    email: email.clone(),
                    name,
                    role,
                    all_accounts: false,
                    password_hash,
                },
                jiff::Timestamp::now(),
            )
            .await
            .with_context(|| format!("creating the demo user {email}"))?;
        out.push((label, email, password));
    }
    Ok(out)
}

/// Writes one importable file per kind into `dir`, named after the kind.
fn write_files(demo: Demo, dir: &Path, quiet: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let started = Instant::now();
    let open = |kind: Kind| -> Result<RecordWriter<std::io::BufWriter<std::fs::File>>> {
        let path = dir.join(kind.file_name());
        let file =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let format = if kind == Kind::Events {
            ExportFormat::Ndjson
        } else {
            ExportFormat::Csv
        };
        Ok(RecordWriter::new(
            kind,
            format,
            std::io::BufWriter::with_capacity(256 * 1024, file),
            Vec::new(),
        )?)
    };
    // Accounts are written last, once every custom attribute name is known.
    let mut accounts = Vec::new();
    let mut attribute_names = BTreeSet::new();
    let kinds = [
        Kind::Contacts,
        Kind::Subscriptions,
        Kind::Tickets,
        Kind::SurveyResponses,
        Kind::Engagements,
        Kind::Events,
    ];
    let mut writers = kinds.iter().map(|k| open(*k)).collect::<Result<Vec<_>>>()?;
    let total = demo.len();
    let pb = progress_bar(u64::from(total), quiet, false);
    let rx = generate(demo);
    let mut done = 0u64;
    while let Ok(bundle) = rx.recv() {
        for rec in records(bundle) {
            match rec {
                Record::Account(a) => {
                    attribute_names.extend(a.attributes.keys().cloned());
                    accounts.push(a);
                }
                other => {
                    let i = kinds.iter().position(|k| *k == other.kind()).unwrap_or(0);
                    writers[i].write(&other)?;
                }
            }
        }
        done += 1;
        if let Some(pb) = &pb {
            pb.set_position(done);
        }
    }
    let mut counts: Vec<(Kind, u64)> = Vec::new();
    for (kind, w) in kinds.iter().zip(writers) {
        counts.push((*kind, w.count()));
        w.finish()?;
    }
    let path = dir.join(Kind::Accounts.file_name());
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = RecordWriter::new(
        Kind::Accounts,
        ExportFormat::Csv,
        std::io::BufWriter::new(file),
        attribute_names.into_iter().collect(),
    )?;
    for a in accounts {
        w.write(&Record::Account(a))?;
    }
    counts.insert(0, (Kind::Accounts, w.count()));
    w.finish()?;
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    if !quiet {
        let parts: Vec<String> = counts
            .iter()
            .map(|(k, n)| format!("{} {}", k.file_name(), thousands(*n)))
            .collect();
        println!(
            "wrote {} in {:.1} s: {}",
            dir.display(),
            started.elapsed().as_secs_f64(),
            parts.join(", ")
        );
        println!(
            "import them in this order: tenure import accounts {0}/accounts.csv, then contacts, subscriptions, tickets, survey_responses, engagements and events",
            dir.display()
        );
    }
    Ok(())
}
