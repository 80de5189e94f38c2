//! `tenure demo`: simulate a B2B SaaS company (tenure-core's demo module) and
//! load it into the database through the bulk path, or write it out as
//! importable files.
//!
//! Generation runs on its own threads, one account at a time, while this task
//! writes the previous accounts; memory stays flat whatever the size.
//!
//! Loading into a database with no `tenure.toml` at the configured path
//! writes one: the defaults, with the leadership-review thresholds a CS
//! leader of the simulated company's size would set ([`demo_config`]).
//!
//! Unless `--no-serve`, the demo then scores the history, records the risk
//! board's (opening leadership reviews where a threshold crossed, and
//! holding the oldest of several as the simulated leaders did), creates
//! three users (an admin, a leader and one of the simulated CSMs), each
//! with a random password printed once, and serves the dashboard,
//! printing its URL.

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
pub(crate) fn generate(demo: Demo) -> mpsc::Receiver<AccountBundle> {
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

pub(crate) fn records(b: AccountBundle) -> impl Iterator<Item = Record> {
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
    write_demo_config(config_path, args.accounts, args.quiet)?;
    let csms = demo.csms().to_vec();
    let total = demo.len();
    let pb = progress_bar(u64::from(total), args.quiet, false);
    if let Some(pb) = &pb {
        pb.set_message("simulating and loading accounts");
    }
    let rx = generate(demo);
    let mut writer = BulkWriter::default();
    let mut tx = store.pool().begin().await?;
    store.lock_bulk_writers(&mut tx).await?;
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
            store.lock_bulk_writers(&mut tx).await?;
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
    let leader = format!("leader@{}", demo_domain(&csms));
    score_health(&store, &tenure_config, &config, &leader, args.quiet).await?;
    train_churn(&store, &tenure_config, &config, args.quiet).await?;
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
    crate::serve::serve_until_signal(listener, state, Some(tenure_app::jobs::SERVE_INTERVAL))
        .await?;
    store.close().await;
    Ok(())
}

/// Days of daily history the demo builds before serving: health scores
/// and the stage and segment runs of every account.
const HISTORY_DAYS: i32 = 180;

/// Days of playbook history: the job's daily playbook pass over the last
/// two weeks.
const PLAYBOOK_DAYS: i32 = 14;

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
    leader: &str,
    quiet: bool,
) -> Result<()> {
    let end = demo.end;
    use tenure_app::health::{Quiet, recompute};
    use tenure_core::model::{add_days, date_from_day, day_number};
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
    // The voice of the customer: the NPS survey sent two weeks before the
    // end and answered over them, then health rescored over those days so
    // that it counts the answers.
    let voice_started = Instant::now();
    let voice = crate::demo_voice::survey(store, config, demo.seed, end, leader).await?;
    if let Some(v) = &voice
        && let Some(sent_on) = v.sent_on
    {
        recompute(store, config, sent_on, end, &Quiet)
            .await
            .with_context(|| format!("scoring health from {sent_on} to {end}"))?;
    }
    let voice_secs = voice_started.elapsed().as_secs_f64();
    let day = tenure_app::engage::rebuild(store, config, from, end, &Quiet)
        .await
        .with_context(|| format!("deciding stages and segments from {from} to {end}"))?;
    let plans = tenure_app::target::plans::demo_history(store, config, demo.seed, from, &day)
        .await
        .context("making the success plans")?;
    // The playbooks as the job ran them over the last days, so that their
    // firings, tasks and flags have history (and the first pass when the
    // dashboard starts is an ordinary day, not a burst).
    let plays_from = add_days(end, 1 - PLAYBOOK_DAYS);
    let mut fired = tenure_app::plays::PlayDay::default();
    for day in (day_number(plays_from)..=day_number(end)).map(date_from_day) {
        let engage = tenure_app::engage::evaluate(store, config, day)
            .await
            .with_context(|| format!("deciding stages and segments on {day}"))?;
        let out = tenure_app::plays::run(store, config, &engage)
            .await
            .with_context(|| format!("running the playbooks on {day}"))?;
        fired.enrolled += out.enrolled;
        fired.actions += out.actions;
    }
    if !quiet {
        eprintln!(
            "playbooks: run daily from {plays_from} to {end}: {} enrolments, {} actions",
            fired.enrolled, fired.actions
        );
    }
    // The risk board's history (accounts and ARR at risk by day, reviews
    // opened by a crossing) over the scored days.
    let (days, reviews) = tenure_app::risk::backfill(store, config, from, end)
        .await
        .context("recording the risk board's history")?;
    let held = hold_first_review(store, config, &reviews, end).await?;
    if !quiet {
        eprintln!(
            "risk board: {days} days recorded, {} leadership reviews opened{}",
            reviews.len(),
            held.map_or(String::new(), |(id, n)| format!(
                "; the oldest ({id}) held with {n} decisions, the newest left open"
            ))
        );
    }
    let requests_started = Instant::now();
    let requests = crate::demo_voice::requests(store, config, demo.seed, end).await?;
    let requests_secs = requests_started.elapsed().as_secs_f64();
    if !quiet {
        match &voice {
            Some(v) => eprintln!(
                "voice: {:?} sent on {} to {} contacts (recorded, no email queued), {} answered on the hosted page's path ({} with a comment), NPS of the answers {}; {} more due on {end} recorded; health rescored since ({:.1} s)",
                v.survey,
                v.sent_on.map(|d| d.to_string()).unwrap_or_default(),
                v.sent,
                v.answered,
                v.comments,
                v.nps.map_or("-".to_string(), |n| format!("{n:+.0}")),
                v.due_on_end,
                voice_secs
            ),
            None => eprintln!("voice: no NPS survey in the configuration, none sent"),
        }
        if let Some((name, on)) = voice.as_ref().and_then(|v| v.scheduled.as_ref()) {
            eprintln!("voice: the leader scheduled the next {name:?} wave for {on} (see /surveys)");
        }
        eprintln!(
            "feedback: {} items made; {} product requests asked by {} accounts{} ({:.1} s)",
            requests.items,
            requests.made,
            requests.links,
            requests.shipped.as_ref().map_or(String::new(), |t| format!(
                "; {t:?} shipped with {} close-the-loop tasks",
                requests.tasks
            )),
            requests_secs
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

/// Days of stored churn predictions the demo makes after training, so
/// that the account page shows a short trend; the background job adds
/// one a day from then on.
const CHURN_DAYS: i32 = 7;

/// Trains the churn model on the simulated history (`tenure churn train`
/// with its default horizon, from the first month of the history to the
/// horizon before its end) and stores the predictions of the last
/// [`CHURN_DAYS`] days (`tenure churn predict --save`), so that the
/// account page shows churn risk from the start. Too little history or
/// too few churners (a small `--accounts`) is said and skipped.
async fn train_churn(
    store: &tenure_store::Store,
    config: &tenure_core::config::Config,
    demo: &DemoConfig,
    quiet: bool,
) -> Result<()> {
    use tenure_core::model::add_days;
    let started = Instant::now();
    let horizon = 90;
    let end = demo.end;
    let first = add_days(end, 1 - demo.days as i32);
    let from = if first.day() == 1 {
        first
    } else {
        add_days(first.last_of_month(), 1)
    };
    let to = add_days(end, -(horizon as i32));
    let req =
        tenure_app::churn::TrainRequest::new(from, to, horizon, tenure_app::clock::now_micros());
    let report = match tenure_app::churn::train(store, config, req).await {
        Ok(r) => r,
        Err(tenure_app::Error::Invalid(why)) => {
            if !quiet {
                eprintln!("churn model: not trained: {why}");
            }
            return Ok(());
        }
        Err(e) => return Err(e).context("training the churn model"),
    };
    let trained = started.elapsed().as_secs_f64();
    let mut stored = 0;
    for k in (0..CHURN_DAYS).rev() {
        let day = add_days(end, -k);
        let p = tenure_app::churn::save_predictions(store, config, day)
            .await
            .with_context(|| format!("predicting churn on {day}"))?;
        stored = p.accounts.len();
    }
    if !quiet {
        eprintln!(
            "churn model {}: trained on {} to {} (AUC {} on the later dates, the scorecard's {}) in {trained:.1} s; {stored} paying accounts' predictions stored for each of the last {CHURN_DAYS} days in {:.1} s",
            report.version,
            from,
            to,
            report
                .evaluation
                .stats
                .auc
                .map_or("-".to_string(), |a| format!("{a:.3}")),
            report
                .scorecard
                .auc
                .map_or("-".to_string(), |a| format!("{a:.3}")),
            started.elapsed().as_secs_f64() - trained
        );
    }
    Ok(())
}

pub use tenure_core::demo::config::demo_config;

/// Writes [`demo_config`] to `path` unless a file is there already (the
/// user's own configuration is kept).
fn write_demo_config(path: &Path, accounts: u32, quiet: bool) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let text = demo_config(accounts);
    if let Err(es) = tenure_core::config::parse_config(&text) {
        anyhow::bail!("the demo's configuration does not parse: {es:?}");
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    if !quiet {
        eprintln!(
            "wrote {}: the default settings, with leadership-review thresholds for the demo company's size",
            path.display()
        );
    }
    Ok(())
}

/// When the history opened more than one review, holds the oldest as its
/// leaders would have, two days after it opened: a decision with a task
/// for the CSM of each of its two largest accounts (done by the CSM on its
/// due day, when that has passed), leaving the newer reviews open to hold
/// by hand. Returns the review held and its number of decisions.
async fn hold_first_review(
    store: &tenure_store::Store,
    config: &tenure_core::config::Config,
    opened: &[tenure_store::risk::Review],
    end: jiff::civil::Date,
) -> Result<Option<(String, usize)>> {
    use tenure_app::risk::{Decision, hold_review, review};
    use tenure_core::model::add_days;
    let [first, _, ..] = opened else {
        return Ok(None);
    };
    let held_on = add_days(first.opened_on, 2).min(end);
    let v = review(
        store,
        config,
        &tenure_store::api::Scope::All,
        &first.id,
        held_on,
    )
    .await
    .context("reading the oldest review")?;
    let csms: std::collections::HashMap<String, Option<String>> = store
        .risk_accounts(&tenure_store::api::Scope::All)
        .await?
        .into_iter()
        .map(|a| (a.id, a.csm_email))
        .collect();
    let actions = [
        ("Executive sponsor call to agree a recovery plan", 7),
        (
            "Review adoption with the champion and reset the success plan",
            14,
        ),
    ];
    let decisions: Vec<Decision> = v
        .items
        .iter()
        .zip(actions)
        .map(|((item, _, _), (action, days))| {
            let owner = csms.get(&item.account_id).cloned().flatten();
            Decision {
                account_id: item.account_id.clone(),
                action: action.to_string(),
                due: owner.as_ref().map(|_| add_days(held_on, days)),
                owner_email: owner.unwrap_or_default(),
                notes: String::new(),
            }
        })
        .collect();
    if decisions.is_empty() {
        return Ok(None);
    }
    let held = hold_review(
        store,
        config,
        &first.id,
        held_on,
        &[
            "CEO".to_string(),
            "VP Customer Success".to_string(),
            "CFO".to_string(),
        ],
        &decisions,
    )
    .await
    .context("holding the oldest review")?;
    // The CSMs did what was decided, on its due day when that has passed.
    for (item, _, _) in &held.items {
        if let (Some(task), Some(due)) = (&item.task_id, item.due_on)
            && due <= end
        {
            tenure_app::target::tasks::complete(
                store,
                config,
                &tenure_store::api::Scope::All,
                task,
                &tenure_app::target::tasks::Completion {
                    log: tenure_app::target::tasks::LogChoice::Nothing,
                    on: Some(due),
                    ..Default::default()
                },
                end,
                jiff::Timestamp::now(),
            )
            .await
            .context("completing a review's task")?;
        }
    }
    Ok(Some((first.id.clone(), decisions.len())))
}

/// The domain of the demo's users: the simulated CSMs'.
fn demo_domain(csms: &[tenure_core::demo::Csm]) -> String {
    csms.first()
        .and_then(|c| c.email.split_once('@'))
        .map_or("example.com".to_string(), |(_, d)| d.to_string())
}

/// Creates the demo's users: an admin, a leader, a viewer from sales (who
/// sees the shared views) and the first simulated CSM.
/// Returns `(role, email, password)` of each.
async fn demo_users(
    store: &tenure_store::Store,
    csms: &[tenure_core::demo::Csm],
) -> Result<Vec<(&'static str, String, String)>> {
    use tenure_server::auth::{hash_password, random_token};
    use tenure_store::auth::{NewUser, Role};
    let domain = demo_domain(csms);
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
        (
            Role::Viewer,
            "viewer",
            format!("sales@{domain}"),
            Some("Demo sales colleague (the shared views)".to_string()),
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

#[cfg(test)]
mod tests {
    use super::demo_config;
    use tenure_core::config::{Config, parse_config};

    #[test]
    fn the_demo_config_is_the_default_with_thresholds_for_its_size() {
        let c = parse_config(&demo_config(2000)).unwrap();
        let t = c.risk.thresholds;
        assert_eq!(t.arr_at_risk_share, Some(0.03));
        assert_eq!(t.accounts_at_risk, Some(30));
        assert_eq!(t.arr_at_risk, None);
        assert_eq!(c.risk.segments.len(), 1);
        assert_eq!(c.risk.segments[0].segment, "Strategic");
        assert_eq!(c.risk.segments[0].thresholds.accounts_at_risk, Some(2));
        // Everything else is the default's.
        let default = Config::default();
        assert_eq!(c.engage.segments.0.len(), default.engage.segments.0.len());
        assert_eq!(c.playbooks.len(), default.playbooks.len());
        assert_eq!(c.outbound, default.outbound);
        // A larger company gets larger counts; a tiny one a floor.
        let big = parse_config(&demo_config(20_000)).unwrap().risk;
        assert_eq!(big.thresholds.accounts_at_risk, Some(300));
        assert_eq!(big.segments[0].thresholds.accounts_at_risk, Some(20));
        let small = parse_config(&demo_config(50)).unwrap().risk;
        assert_eq!(small.thresholds.accounts_at_risk, Some(5));
        assert_eq!(small.segments[0].thresholds.accounts_at_risk, Some(2));
    }
}
