//! The early-warning risk board and leadership reviews (docs/REACT.md),
//! used alike by `tenure risk` / `tenure reviews`, the API's `/risk` and
//! `/reviews`, the `/risk` and `/reviews` pages and the background job.
//!
//! - [`board`]: the accounts at risk on a day (red health band, or an open
//!   flag put there by a playbook or by hand), each with its ARR, reason,
//!   owner (the account's CSM), next step and its due day, and days on
//!   the board; the day's measure against the `[risk]` thresholds.
//! - [`flag`] / [`flag_with`] put an account on the board, [`resolve`]
//!   and [`resolve_flag`] take it off with an outcome.
//! - [`daily`]: what the job runs: the day's measure recorded (for the
//!   chart), band flags kept in step with the red band, and a review
//!   opened when a threshold is crossed: once per crossing (core's
//!   `react::risk::advance`).
//! - [`digest`]: the weekly digest to leaders (`[risk.digest]`): the
//!   board's changes over the last seven days in words (core's
//!   `react::digest`); [`daily`] queues it on its weekday through the
//!   outbox, once per day ([`send_digest`]).
//! - [`hold_review`]: the date, attendees and a decision per account; a
//!   decision with an owner and a due day makes a task (source `review`),
//!   all in one transaction. [`reviews`] lists them with their outcome:
//!   how much of the reviewed ARR is still paying [`KEPT_AFTER_DAYS`]
//!   days after the review (or today, if sooner).
//!
//! Bad input is [`Error::Invalid`] with each problem as `field: message`
//! (fields as the API names them), problems joined by `"; "`.
//!
//! A red account resolved by hand leaves the board until the daily pass
//! sees it out of the red band; turning red again puts it back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::health::Band;
use tenure_core::metrics::{Dataset, Settings};
use tenure_core::model::{Currency, add_days, day_number};
use tenure_core::react::digest::{DIGEST_DAYS, Digest, Joined, Left, Recipient, ReviewLine};
use tenure_core::react::risk::{
    Above, FlagSource, Measure, Outcome, RED_REASON, above_all, advance, describe, reason,
};
use tenure_core::target::tasks::{
    Priority, TaskDraft, TaskSource, TaskStatus, check_owner, check_task,
};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::engage::Dimension;
use tenure_store::risk::{Flag, Review, ReviewItem, ReviewStatus, RiskAccount, RiskDay};
use tenure_store::target::Task;

use crate::ids::new_id;
use crate::{Error, Result};

/// Days after a review at which its accounts count as kept if still paying.
pub const KEPT_AFTER_DAYS: i32 = 90;

/// An account on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRow {
    pub account_id: String,
    pub name: String,
    /// The account's CSM.
    pub owner: Option<String>,
    /// ARR on the day, reporting minor units.
    pub arr: i64,
    pub reason: String,
    pub red: bool,
    /// The open flags, oldest first.
    pub flags: Vec<Flag>,
    pub next_step: Option<String>,
    pub next_step_due: Option<Date>,
    pub days_on_board: i64,
    pub segment: Option<String>,
}

/// A threshold against the day's measure.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdView {
    /// `arr_at_risk`, `SEGMENT/accounts_at_risk`, ...
    pub key: String,
    pub segment: Option<String>,
    /// `arr_at_risk`, `arr_at_risk_share` or `accounts_at_risk`.
    pub kind: &'static str,
    /// Minor units, a fraction or a count.
    pub limit: f64,
    pub value: f64,
    pub above: bool,
}

/// The board on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    pub day: Date,
    pub currency: Currency,
    /// By ARR, largest first.
    pub rows: Vec<BoardRow>,
    pub measure: Measure,
    pub thresholds: Vec<ThresholdView>,
}

/// What the board reads, in scope.
struct Book {
    currency: Currency,
    accounts: Vec<RiskAccount>,
    arr: HashMap<String, i64>,
    red: HashSet<String>,
    suppressed: HashSet<String>,
    flags: Vec<Flag>,
    segments: HashMap<String, String>,
}

pub(crate) async fn dataset(store: &Store, config: &Config) -> Result<Dataset> {
    let (rates, _) = Settings::from_config(config).map_err(|e| Error::Invalid(e.to_string()))?;
    crate::health::check_rates(store, config).await?;
    let load = store.load_metrics_input(None).await?;
    let input = load.input;
    tokio::task::spawn_blocking(move || Dataset::new(input, &rates))
        .await?
        .map_err(|e| Error::Invalid(e.to_string()))
}

fn arr_on(ds: &Dataset, id: &str, day: Date) -> i64 {
    ds.account_index(id).map_or(0, |i| ds.mrr_on(i, day) * 12)
}

async fn load_with(
    store: &Store,
    config: &Config,
    scope: &Scope,
    day: Date,
    ds: &Dataset,
) -> Result<Book> {
    let accounts = store.risk_accounts(scope).await?;
    let arr = accounts
        .iter()
        .map(|a| (a.id.clone(), arr_on(ds, &a.id, day)))
        .collect();
    let red = store
        .snapshots_on(day)
        .await?
        .into_iter()
        .filter(|(_, _, b)| *b == Some(Band::Red))
        .map(|(id, _, _)| id)
        .collect();
    let suppressed = store.risk_suppressed(day).await?.into_iter().collect();
    let flags = store.risk_flags(scope, Some(day)).await?;
    let segments = store
        .engage_runs(Some(day))
        .await?
        .into_iter()
        .filter(|r| {
            r.dimension == Dimension::Segment
                && r.entered_on <= day
                && r.left_on.is_none_or(|l| l > day)
        })
        .map(|r| (r.account_id, r.name))
        .collect();
    Ok(Book {
        currency: config.currency.reporting,
        accounts,
        arr,
        red,
        suppressed,
        flags,
        segments,
    })
}

fn rows_of(book: &Book, day: Date) -> Vec<BoardRow> {
    let mut by_account: HashMap<&str, Vec<&Flag>> = HashMap::new();
    for f in &book.flags {
        by_account.entry(f.account_id.as_str()).or_default().push(f);
    }
    let mut rows = Vec::new();
    for a in &book.accounts {
        let red = book.red.contains(&a.id) && !book.suppressed.contains(&a.id);
        // A band flag only dates the red band: it counts while red.
        let flags: Vec<&Flag> = by_account
            .remove(a.id.as_str())
            .unwrap_or_default()
            .into_iter()
            .filter(|f| red || f.source != FlagSource::Band)
            .collect();
        let pairs: Vec<(&FlagSource, &str)> = flags
            .iter()
            .map(|f| (&f.source, f.reason.as_str()))
            .collect();
        let Some(why) = reason(red, &pairs) else {
            continue;
        };
        let since = flags.iter().map(|f| f.flagged_on).min().unwrap_or(day);
        let step = flags.iter().rev().find(|f| f.next_step.is_some());
        rows.push(BoardRow {
            account_id: a.id.clone(),
            name: a.name.clone(),
            owner: a.csm_email.clone(),
            arr: book.arr.get(&a.id).copied().unwrap_or(0),
            reason: why,
            red,
            flags: flags.iter().map(|f| (*f).clone()).collect(),
            next_step: step.and_then(|f| f.next_step.clone()),
            next_step_due: step.and_then(|f| f.next_step_due),
            days_on_board: i64::from(day_number(day) - day_number(since)),
            segment: book.segments.get(&a.id).cloned(),
        });
    }
    rows.sort_by(|a, b| b.arr.cmp(&a.arr).then_with(|| a.name.cmp(&b.name)));
    rows
}

fn measure_of<'a>(rows: impl Iterator<Item = &'a BoardRow>, total_arr: i64) -> Measure {
    let mut m = Measure {
        total_arr,
        ..Measure::default()
    };
    for r in rows {
        m.accounts_at_risk += 1;
        m.arr_at_risk += r.arr;
    }
    m
}

/// The book's measure and each segment's.
fn measures(book: &Book, rows: &[BoardRow]) -> (Measure, BTreeMap<String, Measure>) {
    let total: i64 = book.arr.values().sum();
    let book_m = measure_of(rows.iter(), total);
    let mut segs: BTreeMap<String, Measure> = BTreeMap::new();
    for a in &book.accounts {
        if let Some(s) = book.segments.get(&a.id) {
            segs.entry(s.clone()).or_default().total_arr +=
                book.arr.get(&a.id).copied().unwrap_or(0);
        }
    }
    for r in rows {
        if let Some(s) = &r.segment {
            let m = segs.entry(s.clone()).or_default();
            m.accounts_at_risk += 1;
            m.arr_at_risk += r.arr;
        }
    }
    (book_m, segs)
}

fn threshold_views(
    config: &Config,
    m: &Measure,
    segs: &BTreeMap<String, Measure>,
) -> Vec<ThresholdView> {
    // Every configured threshold, above or not: `above_all` with limits
    // lowered to "always above" would lose the limit, so list them here.
    let mut out = Vec::new();
    let now: Vec<Above> = above_all(&config.risk, m, |s| segs.get(s));
    let mut push =
        |segment: Option<&str>, t: &tenure_core::react::risk::Thresholds, m: &Measure| {
            let mut one = |kind: &'static str, limit: Option<f64>, value: f64| {
                if let Some(limit) = limit {
                    let key = match segment {
                        None => kind.to_string(),
                        Some(s) => format!("{s}/{kind}"),
                    };
                    out.push(ThresholdView {
                        above: now.iter().any(|a| a.key() == key),
                        key,
                        segment: segment.map(str::to_string),
                        kind,
                        limit,
                        value,
                    });
                }
            };
            one(
                "arr_at_risk",
                t.arr_at_risk.map(|v| v as f64),
                m.arr_at_risk as f64,
            );
            one("arr_at_risk_share", t.arr_at_risk_share, m.share());
            one(
                "accounts_at_risk",
                t.accounts_at_risk.map(|v| v as f64),
                m.accounts_at_risk as f64,
            );
        };
    push(None, &config.risk.thresholds, m);
    for s in &config.risk.segments {
        let sm = segs.get(&s.segment).copied().unwrap_or_default();
        push(Some(&s.segment), &s.thresholds, &sm);
    }
    out
}

/// The board on `day` for the accounts in scope, with the day's measure
/// (of the accounts in scope) against the thresholds.
pub async fn board(store: &Store, config: &Config, scope: &Scope, day: Date) -> Result<Board> {
    let ds = dataset(store, config).await?;
    board_with(store, config, scope, day, &ds).await
}

/// [`board`] over a dataset the caller built already.
pub(crate) async fn board_with(
    store: &Store,
    config: &Config,
    scope: &Scope,
    day: Date,
    ds: &Dataset,
) -> Result<Board> {
    let book = load_with(store, config, scope, day, ds).await?;
    let rows = rows_of(&book, day);
    let (m, segs) = measures(&book, &rows);
    Ok(Board {
        day,
        currency: book.currency,
        thresholds: threshold_views(config, &m, &segs),
        measure: m,
        rows,
    })
}

/// The book's measures from `from` to `to` as the daily pass recorded them.
pub async fn history(store: &Store, from: Date, to: Date) -> Result<Vec<(Date, Measure)>> {
    Ok(store.risk_measures("", from, to).await?)
}

/// A flag to add, with an optional next step.
#[derive(Debug, Clone)]
pub struct NewFlag<'a> {
    pub account_id: &'a str,
    pub reason: &'a str,
    pub source: FlagSource,
    pub next_step: &'a str,
    pub next_step_due: Option<Date>,
    pub by: Option<&'a str>,
}

/// Puts an account in scope on the board on `day` for `reason`.
/// An account already flagged by the same source (the same playbook,
/// say) keeps its open flag, which is returned: flagging is idempotent.
pub async fn flag(
    store: &Store,
    scope: &Scope,
    account_id: &str,
    reason: &str,
    source: FlagSource,
    day: Date,
    by: Option<&str>,
) -> Result<Flag> {
    flag_with(
        store,
        scope,
        &NewFlag {
            account_id,
            reason,
            source,
            next_step: "",
            next_step_due: None,
            by,
        },
        day,
    )
    .await
}

/// [`flag`] with a next step and its due day.
pub async fn flag_with(store: &Store, scope: &Scope, new: &NewFlag<'_>, day: Date) -> Result<Flag> {
    let mut problems = Vec::new();
    let account = new.account_id.trim();
    if account.is_empty() {
        problems.push("account_id: the account is missing".to_string());
    }
    let why = new.reason.trim();
    if why.is_empty() {
        problems.push("reason: say why the account is at risk".to_string());
    } else if why.chars().count() > 500 {
        problems.push("reason: at most 500 characters".to_string());
    }
    let step = new.next_step.trim();
    if step.chars().count() > 500 {
        problems.push("next_step: at most 500 characters".to_string());
    }
    if new.next_step_due.is_some() && step.is_empty() {
        problems.push("next_step: give the next step its due day is for".to_string());
    }
    if let Some(d) = new.next_step_due
        && d < day
    {
        problems.push(format!("next_step_due: {d} is before today, {day}"));
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems.join("; ")));
    }
    if account.contains('\0') {
        return Err(Error::NotFound(format!("account {account:?}")));
    }
    if step.is_empty()
        && let Some(f) = store
            .risk_flags(scope, None)
            .await?
            .into_iter()
            .find(|f| f.account_id == account && f.source == new.source)
    {
        return Ok(f);
    }
    let f = Flag {
        id: new_id("rsk"),
        account_id: account.to_string(),
        reason: why.to_string(),
        source: new.source.clone(),
        flagged_on: day,
        flagged_by: new.by.map(|b| b.trim().to_ascii_lowercase()),
        next_step: (!step.is_empty()).then(|| step.to_string()),
        next_step_due: new.next_step_due,
        resolved_on: None,
        outcome: None,
        notes: None,
    };
    store
        .add_risk_flag(&f, scope, crate::clock::now_micros())
        .await?;
    Ok(f)
}

/// Takes an account in scope off the board on `day`: every open flag
/// resolved with `outcome`. A red account is kept off until it leaves the
/// red band. An account not on the board is [`Error::Invalid`].
pub async fn resolve(
    store: &Store,
    config: &Config,
    scope: &Scope,
    account_id: &str,
    outcome: Outcome,
    notes: Option<&str>,
    day: Date,
) -> Result<Vec<Flag>> {
    let account_id = account_id.trim();
    let b = board(store, config, scope, day).await?;
    let Some(row) = b.rows.iter().find(|r| r.account_id == account_id) else {
        if store
            .risk_accounts(scope)
            .await?
            .iter()
            .any(|a| a.id == account_id)
        {
            return Err(Error::Invalid(format!(
                "account_id: {account_id:?} is not on the risk board on {day}"
            )));
        }
        return Err(Error::NotFound(format!("account {account_id:?}")));
    };
    let mut ids: Vec<String> = row.flags.iter().map(|f| f.id.clone()).collect();
    if row.red && !row.flags.iter().any(|f| f.source == FlagSource::Band) {
        // Red without a band flag yet (the daily pass has not run today):
        // record one, to resolve with the others.
        let f = flag(
            store,
            scope,
            account_id,
            RED_REASON,
            FlagSource::Band,
            day,
            None,
        )
        .await?;
        ids.push(f.id);
    }
    Ok(store
        .resolve_risk_flags(
            &ids,
            day,
            outcome,
            notes.map(str::trim).filter(|n| !n.is_empty()),
            scope,
        )
        .await?)
}

/// Resolves one flag in scope by its id.
pub async fn resolve_flag(
    store: &Store,
    scope: &Scope,
    flag_id: &str,
    outcome: Outcome,
    notes: Option<&str>,
    day: Date,
) -> Result<Flag> {
    let mut out = store
        .resolve_risk_flags(
            &[flag_id.trim().to_string()],
            day,
            outcome,
            notes.map(str::trim).filter(|n| !n.is_empty()),
            scope,
        )
        .await?;
    out.pop()
        .ok_or_else(|| Error::NotFound(format!("risk flag {flag_id:?}")))
}

/// What a day's pass did.
#[derive(Debug, Clone, PartialEq)]
pub struct Daily {
    pub measure: Measure,
    /// The review opened today, if a threshold crossed.
    pub opened: Option<Review>,
    /// The digest emails queued today (outbox ids), on the digest's
    /// weekday, by the first pass of the day.
    pub digest: Vec<String>,
}

/// The daily pass on `day` over every account: records the day's measure
/// (the book's and each segment's), keeps band flags in step with the red
/// band, and opens a review when a threshold crossed since the last
/// measured day (once per crossing). Run again on the same day, it opens
/// no second review for the same crossing. A day before the last measured
/// one only records its measure.
///
/// On the weekday of `[risk.digest]`, the first pass of the day then queues
/// the weekly digest to its recipients ([`send_digest`]).
pub async fn daily(store: &Store, config: &Config, day: Date) -> Result<Daily> {
    let ds = dataset(store, config).await?;
    let mut out = daily_with(store, config, day, &ds).await?;
    if config.risk.digest.as_ref().is_some_and(|d| d.is_due(day))
        && !store.risk_digest_queued(day).await?
    {
        out.digest = send_digest_with(store, config, day, &ds)
            .await?
            .unwrap_or_default();
    }
    Ok(out)
}

/// The weekly digest of the board's changes over the [`DIGEST_DAYS`] days
/// ending on `day`: the accounts that came on the board (first day on it
/// within the week) with their ARR, reason and owner; those that left it
/// (flags resolved within the week, the account off the board on `day`)
/// with their outcome; the measure on `day` against the one recorded a
/// week before; and the reviews opened and held within the week.
pub async fn digest(store: &Store, config: &Config, day: Date) -> Result<Digest> {
    let ds = dataset(store, config).await?;
    digest_with(store, config, day, &ds).await
}

async fn digest_with(store: &Store, config: &Config, day: Date, ds: &Dataset) -> Result<Digest> {
    let book = load_with(store, config, &Scope::All, day, ds).await?;
    let rows = rows_of(&book, day);
    let (now, _) = measures(&book, &rows);
    let since = Digest::since(day);
    let joined: Vec<Joined> = rows
        .iter()
        .filter(|r| r.days_on_board < i64::from(DIGEST_DAYS))
        .map(|r| Joined {
            account_id: r.account_id.clone(),
            name: r.name.clone(),
            arr: r.arr,
            reason: r.reason.clone(),
            owner: r.owner.clone(),
            since: add_days(day, -(r.days_on_board as i32)),
        })
        .collect();
    // Left: resolved within the week and off the board today; the latest
    // resolution with an outcome says how.
    let on_board: HashSet<&str> = rows.iter().map(|r| r.account_id.as_str()).collect();
    let mut gone: BTreeMap<String, (Date, Option<Outcome>)> = BTreeMap::new();
    for f in store.risk_flags_resolved(since, day).await? {
        if on_board.contains(f.account_id.as_str()) {
            continue;
        }
        let Some(on) = f.resolved_on else { continue };
        let e = gone.entry(f.account_id.clone()).or_insert((on, None));
        e.0 = e.0.max(on);
        if f.outcome.is_some() {
            e.1 = f.outcome;
        }
    }
    let names: HashMap<&str, &str> = book
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let mut left: Vec<Left> = gone
        .into_iter()
        .map(|(id, (on, outcome))| Left {
            name: names
                .get(id.as_str())
                .copied()
                .unwrap_or_default()
                .to_string(),
            arr: arr_on(ds, &id, add_days(on, -1)),
            account_id: id,
            outcome,
            on,
        })
        .collect();
    left.sort_by(|a, b| b.arr.cmp(&a.arr).then_with(|| a.name.cmp(&b.name)));
    let before = store
        .risk_measures("", add_days(day, -DIGEST_DAYS), add_days(day, -1))
        .await?
        .into_iter()
        .next();
    let mut items: HashMap<String, (usize, usize, usize)> = HashMap::new();
    for i in store.risk_review_items(None).await? {
        let e = items.entry(i.review_id).or_default();
        e.0 += 1;
        e.1 += usize::from(i.action.is_some());
        e.2 += usize::from(i.task_id.is_some());
    }
    let within = |d: Date| d >= since && d <= day;
    let mut opened = Vec::new();
    let mut held = Vec::new();
    for r in store.risk_reviews().await?.into_iter().rev() {
        let (accounts, decisions, tasks) = items.get(&r.id).copied().unwrap_or_default();
        if within(r.opened_on) {
            opened.push(ReviewLine {
                id: r.id.clone(),
                on: r.opened_on,
                what: r.crossed.clone(),
                accounts,
                decisions: 0,
                tasks: 0,
            });
        }
        if let Some(h) = r.held_on.filter(|h| within(*h)) {
            held.push(ReviewLine {
                id: r.id.clone(),
                on: h,
                what: r.attendees.join(", "),
                accounts,
                decisions,
                tasks,
            });
        }
    }
    Ok(Digest {
        day,
        currency: book.currency,
        joined,
        left,
        now,
        before,
        opened,
        held,
    })
}

/// The addresses `[risk.digest]` names, `leaders` read from the users
/// (enabled leaders and admins), each once, in the order written.
pub async fn digest_recipients(store: &Store, config: &Config) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let Some(d) = &config.risk.digest else {
        return Ok(out);
    };
    for r in &d.to {
        let add = match r {
            Recipient::Address(a) => vec![a.clone()],
            Recipient::Leaders => store.leader_emails().await?,
        };
        for a in add {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// Queues the digest of `day` to every recipient through the outbox
/// (source `risk:digest:DAY`), claiming the day in the same transaction:
/// `None` when that day's digest was already queued, or when
/// `[risk.digest]` is not set or names no one (`leaders` with no leader
/// or admin yet), so a later pass can still send it. Returns the outbox
/// ids.
pub async fn send_digest(store: &Store, config: &Config, day: Date) -> Result<Option<Vec<String>>> {
    let ds = dataset(store, config).await?;
    send_digest_with(store, config, day, &ds).await
}

async fn send_digest_with(
    store: &Store,
    config: &Config,
    day: Date,
    ds: &Dataset,
) -> Result<Option<Vec<String>>> {
    let to = digest_recipients(store, config).await?;
    if to.is_empty() {
        if config.risk.digest.is_some() {
            tracing::warn!(%day, "the risk digest has no recipient: no leader or admin user yet");
        }
        return Ok(None);
    }
    let d = digest_with(store, config, day, ds).await?;
    let (subject, body) = (d.subject(), d.text());
    let source = tenure_core::react::digest::source(day);
    let now = crate::clock::now_micros();
    let mut tx = store.begin_write().await?;
    if !tenure_store::risk::claim_risk_digest(&mut tx, day, to.len(), now).await? {
        return Ok(None);
    }
    let mut ids = Vec::new();
    for a in &to {
        ids.push(
            crate::outbound::queue_email_in(&mut tx, a, &subject, &body, &source, None).await?,
        );
    }
    tx.commit().await?;
    tracing::info!(%day, recipients = to.len(), "the weekly risk digest was queued");
    Ok(Some(ids))
}

/// The daily pass over every day from `from` to `to` that has health
/// snapshots, oldest first, from one load of the revenue: the chart's
/// history for data loaded after the fact (a demo, an import). Days before
/// the last measured one only record their measure; later ones open
/// reviews as the job would have. Returns the days measured and the
/// reviews opened.
pub async fn backfill(
    store: &Store,
    config: &Config,
    from: Date,
    to: Date,
) -> Result<(usize, Vec<Review>)> {
    if from > to {
        return Err(Error::Invalid(format!(
            "from: {from} is after the last day, {to}"
        )));
    }
    let ds = dataset(store, config).await?;
    let days = store.snapshot_days(from, to).await?;
    let mut opened = Vec::new();
    for d in &days {
        if let Some(r) = daily_with(store, config, *d, &ds).await?.opened {
            opened.push(r);
        }
    }
    Ok((days.len(), opened))
}

async fn daily_with(store: &Store, config: &Config, day: Date, ds: &Dataset) -> Result<Daily> {
    let book = load_with(store, config, &Scope::All, day, ds).await?;
    let rows = rows_of(&book, day);
    let (m, segs) = measures(&book, &rows);
    let (last, state) = store.risk_threshold_state().await?;
    let moves = last.is_none_or(|l| day >= l);
    let mut out = RiskDay {
        day,
        measures: std::iter::once((String::new(), m))
            .chain(segs.iter().map(|(s, m)| (s.clone(), *m)))
            .collect(),
        advance: moves,
        ..RiskDay::default()
    };
    let mut opened = None;
    if moves {
        let rerun = last == Some(day);
        let was: BTreeSet<String> = state
            .iter()
            .filter(|(_, since)| !rerun || **since < day)
            .map(|(k, _)| k.clone())
            .collect();
        let today: BTreeSet<&String> = state
            .iter()
            .filter(|(_, since)| rerun && **since == day)
            .map(|(k, _)| k)
            .collect();
        let now = above_all(&config.risk, &m, |s| segs.get(s));
        let (keys, crossed) = advance(&was, &now);
        let crossed: Vec<Above> = crossed
            .into_iter()
            .filter(|a| !today.contains(&a.key()))
            .collect();
        out.above = keys
            .into_iter()
            .map(|k| {
                let since = state
                    .get(&k)
                    .copied()
                    .filter(|_| was.contains(&k) || today.contains(&k));
                (k, since.unwrap_or(day))
            })
            .collect();
        if !crossed.is_empty() {
            let whole = crossed.iter().any(|a| a.segment.is_none());
            let in_segs: HashSet<&str> = crossed
                .iter()
                .filter_map(|a| a.segment.as_deref())
                .collect();
            let review = Review {
                id: new_id("rev"),
                opened_on: day,
                crossed: crossed
                    .iter()
                    .map(|a| describe(a, book.currency.minor_digits()))
                    .collect::<Vec<_>>()
                    .join("; "),
                status: ReviewStatus::Open,
                held_on: None,
                attendees: Vec::new(),
            };
            let items = rows
                .iter()
                .filter(|r| whole || r.segment.as_deref().is_some_and(|s| in_segs.contains(s)))
                .map(|r| ReviewItem {
                    review_id: review.id.clone(),
                    account_id: r.account_id.clone(),
                    arr: r.arr,
                    reason: r.reason.clone(),
                    decision: None,
                    action: None,
                    owner_email: None,
                    due_on: None,
                    task_id: None,
                })
                .collect();
            opened = Some(review.clone());
            out.review = Some((review, items));
        }
        // Band flags follow the red band.
        let banded: HashSet<&str> = book
            .flags
            .iter()
            .filter(|f| f.source == FlagSource::Band)
            .map(|f| f.account_id.as_str())
            .collect();
        let mut red: Vec<&String> = book
            .red
            .iter()
            .filter(|a| !banded.contains(a.as_str()) && !book.suppressed.contains(*a))
            .collect();
        red.sort();
        out.new_flags = red
            .into_iter()
            .map(|a| Flag {
                id: new_id("rsk"),
                account_id: a.clone(),
                reason: RED_REASON.to_string(),
                source: FlagSource::Band,
                flagged_on: day,
                flagged_by: None,
                next_step: None,
                next_step_due: None,
                resolved_on: None,
                outcome: None,
                notes: None,
            })
            .collect();
        out.cleared = book
            .flags
            .iter()
            .filter(|f| f.source == FlagSource::Band && !book.red.contains(&f.account_id))
            .map(|f| f.id.clone())
            .collect();
        out.not_red = book
            .suppressed
            .iter()
            .filter(|a| !book.red.contains(*a))
            .cloned()
            .collect();
    }
    store
        .save_risk_day(&out, crate::clock::now_micros())
        .await?;
    Ok(Daily {
        measure: m,
        opened,
        digest: Vec::new(),
    })
}

/// A decision for one account of a review.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub account_id: String,
    /// What was decided; a task's title when it has an owner and a due day.
    pub action: String,
    pub owner_email: String,
    pub due: Option<Date>,
    pub notes: String,
}

/// A review with its accounts and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewView {
    pub review: Review,
    pub currency: Currency,
    /// Each item with its account's name and whether it is still paying on
    /// [`ReviewOutcome::as_of`].
    pub items: Vec<(ReviewItem, String, bool)>,
    pub outcome: ReviewOutcome,
}

/// How much of a review's ARR was kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReviewOutcome {
    /// [`KEPT_AFTER_DAYS`] after the review (held, else opened), or today
    /// when sooner.
    pub as_of: Date,
    pub accounts: usize,
    pub kept_accounts: usize,
    pub reviewed_arr: i64,
    pub kept_arr: i64,
}

fn outcome_of(
    ds: &Dataset,
    r: &Review,
    items: &[ReviewItem],
    today: Date,
) -> (ReviewOutcome, Vec<bool>) {
    let as_of = add_days(r.held_on.unwrap_or(r.opened_on), KEPT_AFTER_DAYS).min(today);
    let paying: Vec<bool> = items
        .iter()
        .map(|i| arr_on(ds, &i.account_id, as_of) > 0)
        .collect();
    let mut o = ReviewOutcome {
        as_of,
        accounts: items.len(),
        kept_accounts: 0,
        reviewed_arr: 0,
        kept_arr: 0,
    };
    for (i, p) in items.iter().zip(&paying) {
        o.reviewed_arr += i.arr;
        if *p {
            o.kept_accounts += 1;
            o.kept_arr += i.arr;
        }
    }
    (o, paying)
}

/// Every review, newest first, with its outcome as of `today` over the
/// accounts in scope.
pub async fn reviews(
    store: &Store,
    config: &Config,
    scope: &Scope,
    today: Date,
) -> Result<Vec<(Review, ReviewOutcome)>> {
    let ds = dataset(store, config).await?;
    let mine = in_scope(store, scope).await?;
    let mut items: HashMap<String, Vec<ReviewItem>> = HashMap::new();
    for i in store.risk_review_items(None).await? {
        if mine.as_ref().is_some_and(|m| !m.contains(&i.account_id)) {
            continue;
        }
        items.entry(i.review_id.clone()).or_default().push(i);
    }
    Ok(store
        .risk_reviews()
        .await?
        .into_iter()
        .map(|r| {
            let (o, _) = outcome_of(
                &ds,
                &r,
                items.get(&r.id).map_or(&[][..], Vec::as_slice),
                today,
            );
            (r, o)
        })
        .collect())
}

/// The accounts of a CSM's scope; `None` for every account.
async fn in_scope(store: &Store, scope: &Scope) -> Result<Option<HashSet<String>>> {
    Ok(match scope {
        Scope::All => None,
        s => Some(
            store
                .risk_accounts(s)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect(),
        ),
    })
}

/// One review with its accounts in scope and their outcome as of `today`.
pub async fn review(
    store: &Store,
    config: &Config,
    scope: &Scope,
    id: &str,
    today: Date,
) -> Result<ReviewView> {
    let r = store.risk_review(id.trim()).await?;
    let mine = in_scope(store, scope).await?;
    let items: Vec<ReviewItem> = store
        .risk_review_items(Some(&r.id))
        .await?
        .into_iter()
        .filter(|i| mine.as_ref().is_none_or(|m| m.contains(&i.account_id)))
        .collect();
    let ds = dataset(store, config).await?;
    let names: HashMap<String, String> = store
        .risk_accounts(&Scope::All)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let (outcome, paying) = outcome_of(&ds, &r, &items, today);
    Ok(ReviewView {
        review: r,
        currency: config.currency.reporting,
        items: items
            .into_iter()
            .zip(paying)
            .map(|(i, p)| {
                let n = names.get(&i.account_id).cloned().unwrap_or_default();
                (i, n, p)
            })
            .collect(),
        outcome,
    })
}

/// Holds an open review on `held_on`: its attendees and a decision per
/// account (accounts of the review only, each at most once). A decision
/// with an owner and a due day makes a task for that owner (source
/// `review`), all in one transaction; a review already held is refused.
pub async fn hold_review(
    store: &Store,
    config: &Config,
    id: &str,
    held_on: Date,
    attendees: &[String],
    decisions: &[Decision],
) -> Result<ReviewView> {
    let r = store.risk_review(id.trim()).await?;
    let items = store.risk_review_items(Some(&r.id)).await?;
    let mut problems: Vec<String> = Vec::new();
    if r.status == ReviewStatus::Held {
        problems.push(format!("id: review {:?} was already held", r.id));
    }
    let attendees: Vec<String> = attendees
        .iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    if attendees.is_empty() {
        problems.push("attendees: name who attended".into());
    }
    if held_on < r.opened_on {
        problems.push(format!(
            "held_on: {held_on} is before the review opened, {}",
            r.opened_on
        ));
    }
    let mut seen = HashSet::new();
    let mut stored = Vec::new();
    let mut tasks = Vec::new();
    let now = crate::clock::now_micros();
    for (n, d) in decisions.iter().enumerate() {
        let at = format!("decisions[{n}]");
        let account = d.account_id.trim();
        if !items.iter().any(|i| i.account_id == account) {
            problems.push(format!(
                "account_id: {at}: {account:?} is not in this review"
            ));
            continue;
        }
        if !seen.insert(account.to_string()) {
            problems.push(format!("account_id: {at}: {account:?} is decided twice"));
            continue;
        }
        let action = d.action.trim();
        if action.is_empty() {
            problems.push(format!("action: {at}: say what was decided"));
            continue;
        }
        let owner = match d.owner_email.trim() {
            "" => None,
            e => match check_owner(e) {
                Ok(e) => Some(e),
                Err(m) => {
                    problems.push(format!("owner_email: {at}: {m}"));
                    continue;
                }
            },
        };
        let mut task_id = None;
        if let (Some(o), Some(due)) = (&owner, d.due) {
            match check_task(
                &TaskDraft {
                    title: action,
                    due: Some(due),
                    priority: "high",
                    notes: d.notes.trim(),
                    log_kind: "",
                },
                &config.engagement_kinds,
                held_on,
            ) {
                Ok(c) => {
                    let t = Task {
                        id: new_id("tsk"),
                        account_id: account.to_string(),
                        title: c.title,
                        owner_email: Some(o.clone()),
                        due_on: c.due,
                        status: TaskStatus::Open,
                        priority: Priority::High,
                        source: TaskSource::Review,
                        source_id: Some(r.id.clone()),
                        notes: c.notes,
                        log_kind: None,
                        engagement_id: None,
                        created_at: now,
                        completed_on: None,
                    };
                    task_id = Some(t.id.clone());
                    tasks.push(t);
                }
                Err(ps) => {
                    for p in ps {
                        let field = match p.field.name() {
                            "title" => "action",
                            f => f,
                        };
                        problems.push(format!("{field}: {at}: {}", p.message));
                    }
                    continue;
                }
            }
        } else if owner.is_some() != d.due.is_some() {
            problems.push(format!(
                "due: {at}: give both an owner and a due day to make a task, or neither"
            ));
            continue;
        }
        stored.push(ReviewItem {
            review_id: r.id.clone(),
            account_id: account.to_string(),
            arr: 0,
            reason: String::new(),
            decision: (!d.notes.trim().is_empty()).then(|| d.notes.trim().to_string()),
            action: Some(action.to_string()),
            owner_email: owner,
            due_on: d.due,
            task_id,
        });
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems.join("; ")));
    }
    store
        .hold_risk_review(&r.id, held_on, &attendees, &stored, &tasks)
        .await?;
    review(store, config, &Scope::All, &r.id, held_on).await
}

/// A decision written `ACCOUNT=ACTION[,OWNER,DUE]` (the CLI's
/// `--decision`): the action may not hold a comma when an owner follows.
pub fn parse_decision(s: &str) -> Result<Decision> {
    let Some((account, rest)) = s.split_once('=') else {
        return Err(Error::Invalid(format!(
            "decision: {s:?} is not ACCOUNT=ACTION[,OWNER,DUE]"
        )));
    };
    let parts: Vec<&str> = rest.rsplitn(3, ',').collect();
    let (action, owner, due) = match parts.as_slice() {
        [due, owner, action] if owner.contains('@') => (*action, *owner, Some(*due)),
        _ => (rest, "", None),
    };
    let due = match due {
        None => None,
        Some(d) => Some(
            tenure_core::model::parse_date(d.trim())
                .map_err(|e| Error::Invalid(format!("due: {s:?}: {e}")))?,
        ),
    };
    Ok(Decision {
        account_id: account.trim().to_string(),
        action: action.trim().to_string(),
        owner_email: owner.trim().to_string(),
        due,
        notes: String::new(),
    })
}
