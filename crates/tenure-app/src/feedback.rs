//! Feedback and product requests (docs/FEEDBACK.md).
//!
//! **Feedback items are materialised.** [`refresh`], a step of the daily
//! job, reads every survey comment, ticket subject and description and
//! engagement note, makes one item per source row with a stable id
//! (`fb-survey-ID`, `fb-ticket-ID`, `fb-note-ID`), its sentiment from the
//! score and its themes from `[[feedback.themes]]`, and writes only what
//! changed; a re-run adds nothing twice, and items whose row was deleted
//! go. Items sent to the API ([`add`]) are kept and re-tagged. Filtering by
//! theme, source and sentiment is then one indexed query.
//!
//! **Product requests** ([`create`], [`link`], [`set_status`],
//! [`ranking`]) are ranked by core's `feedback::rank` on the ARR of the
//! accounts asking (today, from the metrics engine) and the ARR at risk
//! among them (on today's risk board: a red band or an open flag). A new
//! request and every status change call the `[feedback] requests_webhook`
//! endpoint through the outbox; marking one shipped makes a task for each
//! asking account's CSM to tell the customer, in the same transaction as
//! the status.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::feedback::{
    self as core, ItemFacts, RankBy, RequestStatus, Sentiment, Source, Standing, Suggestion,
};
use tenure_core::model::{SurveyKind, add_days, date_from_day, day_of_micros};
use tenure_core::target::tasks::{Priority, TaskSource, TaskStatus};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::feedback::{
    FeedbackAccount, FeedbackItem, FeedbackQuery, ProductRequest, RequestLink, SyncCounts,
};
use tenure_store::target::Task;

use crate::clock::now_micros;
use crate::ids::new_id;
use crate::{Error, Result};

/// The longest text an item or a request title may have, in characters.
pub const MAX_TEXT: usize = 10_000;
const MAX_TITLE: usize = 200;
/// Days a close-the-loop task is due after the request shipped.
pub const TELL_WITHIN_DAYS: i32 = 7;
/// Untagged items read for suggested themes, newest first.
pub const SUGGEST_ITEMS: u32 = 5_000;

fn facts_of(
    text: &str,
    source: Source,
    kind: Option<SurveyKind>,
    score: Option<i64>,
    sentiment: Option<Sentiment>,
    account_id: &str,
    a: Option<&FeedbackAccount>,
) -> ItemFacts {
    ItemFacts {
        text: text.to_string(),
        source: source.as_str().to_string(),
        kind: kind.map(|k| k.as_str().to_string()),
        score,
        sentiment: sentiment.map(|s| s.as_str().to_string()),
        account_id: account_id.to_string(),
        account: a.map(|a| a.name.clone()).unwrap_or_default(),
        plan: a.and_then(|a| a.plan.clone()),
        industry: a.and_then(|a| a.industry.clone()),
        region: a.and_then(|a| a.region.clone()),
        csm_email: a.and_then(|a| a.csm_email.clone()),
    }
}

fn themes_of(config: &Config, i: &FeedbackItem, a: Option<&FeedbackAccount>) -> Vec<String> {
    let f = facts_of(
        &i.text,
        i.source,
        i.kind,
        i.score,
        i.sentiment,
        &i.account_id,
        a,
    );
    core::tag(&config.feedback.themes, &f)
}

/// Makes the stored feedback match its sources and the theme rules of
/// `config` (the daily job's step); returns what changed.
pub async fn refresh(store: &Store, config: &Config) -> Result<SyncCounts> {
    let accounts: HashMap<String, FeedbackAccount> = store
        .feedback_accounts()
        .await?
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    let now = now_micros();
    let mut items: Vec<FeedbackItem> = Vec::new();
    for s in store.feedback_sources().await? {
        let sentiment = match (s.kind, s.score) {
            (Some(k), Some(v)) => core::sentiment(k, v),
            _ => None,
        };
        let mut i = FeedbackItem {
            id: s.source.item_id(&s.source_id),
            account_id: s.account_id,
            contact_id: s.contact_id,
            source: s.source,
            source_id: Some(s.source_id),
            text: s.text.trim().to_string(),
            day: date_from_day(day_of_micros(s.at)),
            kind: s.kind,
            score: s.score,
            sentiment,
            themes: Vec::new(),
            created_by: None,
            created_at: now,
        };
        let a = accounts.get(&i.account_id);
        i.themes = themes_of(config, &i, a);
        items.push(i);
    }
    let q = FeedbackQuery {
        source: Some(Source::Api),
        ..FeedbackQuery::default()
    };
    for mut i in store.feedback_items(&q).await? {
        let a = accounts.get(&i.account_id);
        i.themes = themes_of(config, &i, a);
        items.push(i);
    }
    let counts = store
        .sync_feedback(&items, &[Source::Survey, Source::Ticket, Source::Note])
        .await?;
    Ok(counts)
}

/// Feedback entered through the API or by hand.
#[derive(Debug, Clone, Default)]
pub struct NewFeedback {
    pub account_id: String,
    pub contact_id: Option<String>,
    pub text: String,
    /// Today when not given.
    pub day: Option<Date>,
    /// The scale of `score`: nps, csat or ces.
    pub kind: Option<String>,
    pub score: Option<i64>,
}

/// Every problem with `new`, each as `field: message`.
fn check_new(new: &NewFeedback) -> std::result::Result<(Option<SurveyKind>, Option<i64>), Error> {
    let mut problems = Vec::new();
    if new.account_id.trim().is_empty() {
        problems.push("account_id: name the account".to_string());
    }
    let text = new.text.trim();
    if text.is_empty() {
        problems.push("text: write what the customer said".to_string());
    } else if text.chars().count() > MAX_TEXT {
        problems.push(format!("text: at most {MAX_TEXT} characters"));
    }
    if text.contains('\0') {
        problems.push("text: must not contain the character U+0000".to_string());
    }
    let kind = match new.kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(k) => match SurveyKind::parse(k) {
            Ok(k) => Some(k),
            Err(e) => {
                problems.push(format!("kind: {}", e.0));
                None
            }
        },
    };
    let score = match (kind, new.score) {
        (_, None) => None,
        (None, Some(_)) if new.kind.is_none() => {
            problems.push("score: give the kind of the score too (nps, csat or ces)".into());
            None
        }
        (None, Some(_)) => None,
        (Some(k), Some(v)) => match k.check_score(v) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(format!("score: {}", e.0));
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(Error::Invalid(problems.join("; ")));
    }
    Ok((kind, score))
}

/// Adds an item for an account in scope, tagged with the themes; `by` is
/// who entered it.
pub async fn add(
    store: &Store,
    config: &Config,
    scope: &Scope,
    new: &NewFeedback,
    by: Option<&str>,
    today: Date,
) -> Result<FeedbackItem> {
    let (kind, score) = check_new(new)?;
    let account_id = new.account_id.trim();
    let account = store
        .feedback_accounts()
        .await?
        .into_iter()
        .find(|a| a.id == account_id);
    let mut i = FeedbackItem {
        id: new_id("fb"),
        account_id: account_id.to_string(),
        contact_id: new
            .contact_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string),
        source: Source::Api,
        source_id: None,
        text: new.text.trim().to_string(),
        day: new.day.unwrap_or(today),
        kind,
        score,
        sentiment: kind.zip(score).and_then(|(k, v)| core::sentiment(k, v)),
        themes: Vec::new(),
        created_by: by.map(str::to_string),
        created_at: now_micros(),
    };
    i.themes = themes_of(config, &i, account.as_ref());
    store.add_feedback(&i, scope).await?;
    Ok(i)
}

/// An item with its account's name.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    pub item: FeedbackItem,
    pub account_name: String,
}

/// The items in scope that match `q`, newest first.
pub async fn list(store: &Store, q: &FeedbackQuery) -> Result<Vec<ItemView>> {
    let names: HashMap<String, String> = store
        .risk_accounts(&q.scope)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    Ok(store
        .feedback_items(q)
        .await?
        .into_iter()
        .map(|item| ItemView {
            account_name: names.get(&item.account_id).cloned().unwrap_or_default(),
            item,
        })
        .collect())
}

/// A configured theme with how many items in scope carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeCount {
    pub name: String,
    pub keywords: Vec<String>,
    pub rule: Option<String>,
    pub items: u64,
}

/// The configured themes, in file order, with their counts in scope.
pub async fn themes(store: &Store, config: &Config, scope: &Scope) -> Result<Vec<ThemeCount>> {
    let counts = store.feedback_theme_counts(scope).await?;
    Ok(config
        .feedback
        .themes
        .iter()
        .map(|t| ThemeCount {
            name: t.name.clone(),
            keywords: t
                .keywords
                .iter()
                .map(|k| format!("{}{}", k.words.join(" "), if k.prefix { "*" } else { "" }))
                .collect(),
            rule: t.rule.as_ref().map(|r| r.source().to_string()),
            items: counts.get(&t.name).copied().unwrap_or(0),
        })
        .collect())
}

/// A suggested theme with its example items.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestedTheme {
    pub suggestion: Suggestion,
    pub examples: Vec<ItemView>,
}

/// Suggested themes from what customers wrote that no theme tags yet:
/// the untagged survey comments, ticket text and items from the API in
/// scope (the newest [`SUGGEST_ITEMS`]; CSM notes, mostly about what the
/// CSM did, are left out), up to `k` of them.
pub async fn suggest(store: &Store, scope: &Scope, k: usize) -> Result<Vec<SuggestedTheme>> {
    let q = FeedbackQuery {
        scope: scope.clone(),
        untagged: true,
        limit: Some(SUGGEST_ITEMS),
        ..FeedbackQuery::default()
    };
    let items: Vec<ItemView> = list(store, &q)
        .await?
        .into_iter()
        .filter(|i| i.item.source != Source::Note)
        .collect();
    let texts: Vec<String> = items.iter().map(|i| i.item.text.clone()).collect();
    let k = k.clamp(1, 20);
    let suggestions = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        core::suggest(&refs, k)
    })
    .await?;
    Ok(suggestions
        .into_iter()
        .map(|s| SuggestedTheme {
            examples: s.examples.iter().map(|&i| items[i].clone()).collect(),
            suggestion: s,
        })
        .collect())
}

/// A request to create.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub title: String,
    pub description: Option<String>,
    /// The accounts asking.
    pub account_ids: Vec<String>,
    /// The feedback item it came from; its account is added.
    pub feedback_id: Option<String>,
}

fn check_title(title: &str) -> Result<String> {
    let t = title.trim();
    if t.is_empty() {
        return Err(Error::Invalid(
            "title: say what is asked for, such as \"Scheduled CSV exports\"".into(),
        ));
    }
    if t.chars().count() > MAX_TITLE {
        return Err(Error::Invalid(format!(
            "title: at most {MAX_TITLE} characters"
        )));
    }
    if t.contains('\0') {
        return Err(Error::Invalid(
            "title: must not contain the character U+0000".into(),
        ));
    }
    Ok(t.to_string())
}

/// The webhook's JSON body: the request, the change, and its standing.
async fn payload(
    store: &Store,
    config: &Config,
    event: &str,
    r: &ProductRequest,
    from: Option<RequestStatus>,
    day: Date,
) -> Result<serde_json::Value> {
    let links = store.request_links(Some(&r.id), &Scope::All).await?;
    let ids: Vec<&str> = links.iter().map(|l| l.account_id.as_str()).collect();
    payload_of(store, config, event, r, from, &ids, day).await
}

/// [`payload`] for the accounts `ids` asking.
async fn payload_of(
    store: &Store,
    config: &Config,
    event: &str,
    r: &ProductRequest,
    from: Option<RequestStatus>,
    ids: &[&str],
    day: Date,
) -> Result<serde_json::Value> {
    let (arr, risk) = revenue(store, config, day).await?;
    let s = core::standing(ids.iter().copied(), &arr, &risk);
    let currency = config.currency.reporting;
    Ok(serde_json::json!({
        "event": event,
        "request": {
            "id": r.id,
            "title": r.title,
            "description": r.description,
            "status": r.status.as_str(),
            "previous_status": from.map(RequestStatus::as_str),
            "accounts": s.accounts,
            "arr": tenure_core::model::Money::new(s.arr, currency).to_decimal_string(),
            "arr_at_risk": tenure_core::model::Money::new(s.arr_at_risk, currency).to_decimal_string(),
            "currency": currency.to_string(),
            "account_ids": ids,
        }
    }))
}

/// Creates a request asked for by accounts in scope (at least one for a
/// CSM) and tells the product team's tracker when `[feedback]
/// requests_webhook` is set.
pub async fn create(
    store: &Store,
    config: &Config,
    scope: &Scope,
    new: &NewRequest,
    by: Option<&str>,
    today: Date,
) -> Result<ProductRequest> {
    let title = check_title(&new.title)?;
    let description = new
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_TEXT || d.contains('\0'))
    {
        return Err(Error::Invalid(format!(
            "description: at most {MAX_TEXT} characters, without U+0000"
        )));
    }
    let r = ProductRequest {
        id: new_id("req"),
        title,
        description,
        status: RequestStatus::Open,
        created_by: by.map(str::to_string),
        created_at: now_micros(),
        status_on: today,
    };
    let mut links: Vec<RequestLink> = Vec::new();
    let mut push = |account: &str, feedback: Option<String>| {
        let account = account.trim();
        if !account.is_empty() && !links.iter().any(|l| l.account_id == account) {
            links.push(link_of(&r.id, account, feedback, by, today));
        }
    };
    if let Some(f) = &new.feedback_id {
        let item = store.feedback_item(f.trim(), scope).await?;
        push(&item.account_id, Some(item.id.clone()));
    }
    for a in &new.account_ids {
        push(a, None);
    }
    if links.is_empty() && matches!(scope, Scope::Csm(_)) {
        return Err(Error::Invalid(
            "account_ids: name at least one of your accounts asking for it".into(),
        ));
    }
    // The tracker's webhook is queued in the transaction that writes the
    // request: both or neither.
    let webhook = match &config.feedback.requests_webhook {
        Some(endpoint) => {
            let ids: Vec<&str> = links.iter().map(|l| l.account_id.as_str()).collect();
            let p = payload_of(store, config, "request.created", &r, None, &ids, today).await?;
            Some((endpoint, p))
        }
        None => None,
    };
    let mut tx = store.begin_write().await?;
    tenure_store::feedback::insert_request(&mut tx, &r, &links, scope).await?;
    if let Some((endpoint, p)) = webhook {
        crate::outbound::queue_webhook_in(
            &mut tx,
            config,
            endpoint,
            &p,
            &format!("request:{}", r.id),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(r)
}

fn link_of(
    request: &str,
    account: &str,
    feedback: Option<String>,
    by: Option<&str>,
    today: Date,
) -> RequestLink {
    RequestLink {
        request_id: request.to_string(),
        account_id: account.to_string(),
        account_name: String::new(),
        csm_email: None,
        feedback_id: feedback,
        added_on: today,
        added_by: by.map(str::to_string),
    }
}

/// Adds an account in scope (or a feedback item's account) to a request;
/// false when it was already asking.
pub async fn link(
    store: &Store,
    scope: &Scope,
    request_id: &str,
    account_id: Option<&str>,
    feedback_id: Option<&str>,
    by: Option<&str>,
    today: Date,
) -> Result<bool> {
    let (account, feedback) = match (account_id.map(str::trim), feedback_id.map(str::trim)) {
        (_, Some(f)) if !f.is_empty() => {
            let item = store.feedback_item(f, scope).await?;
            if let Some(a) = account_id.map(str::trim).filter(|a| !a.is_empty())
                && a != item.account_id
            {
                return Err(Error::Invalid(format!(
                    "account_id: feedback {f:?} is from account {:?}, not {a:?}",
                    item.account_id
                )));
            }
            (item.account_id, Some(item.id))
        }
        (Some(a), _) if !a.is_empty() => (a.to_string(), None),
        _ => {
            return Err(Error::Invalid(
                "account_id: name the account asking, or feedback_id the item it said it in".into(),
            ));
        }
    };
    Ok(store
        .link_request(&link_of(request_id, &account, feedback, by, today), scope)
        .await?)
}

/// What a status change did.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub request: ProductRequest,
    pub previous: RequestStatus,
    /// The close-the-loop tasks made (when it shipped).
    pub tasks: Vec<Task>,
    /// The outbox id of the webhook call, when one is configured.
    pub webhook: Option<String>,
}

/// Sets a request's status (leaders and admins: the caller checks). On the
/// change to shipped, each asking account's CSM gets a task, due in
/// [`TELL_WITHIN_DAYS`], to tell the customer, written with the status in
/// one transaction, with the webhook call. Setting the status it already
/// has changes nothing.
pub async fn set_status(
    store: &Store,
    config: &Config,
    id: &str,
    status: &str,
    today: Date,
) -> Result<StatusChange> {
    let status =
        RequestStatus::parse(status).map_err(|m| Error::Invalid(format!("status: {m}")))?;
    let before = store.request(id).await?;
    if before.status == status {
        return Ok(StatusChange {
            previous: status,
            request: before,
            tasks: Vec::new(),
            webhook: None,
        });
    }
    let links = store.request_links(Some(id), &Scope::All).await?;
    let now = now_micros();
    let tasks: Vec<Task> = if status == RequestStatus::Shipped {
        links
            .iter()
            .map(|l| close_the_loop_task(&before, l, today, now))
            .collect()
    } else {
        Vec::new()
    };
    let mut after = before.clone();
    after.status = status;
    after.status_on = today;
    let payload = match &config.feedback.requests_webhook {
        Some(_) => Some(
            payload(
                store,
                config,
                "request.status_changed",
                &after,
                Some(before.status),
                today,
            )
            .await?,
        ),
        None => None,
    };
    let mut tx = store.begin_write().await?;
    tenure_store::feedback::set_request_status(&mut tx, id, status, today, &tasks).await?;
    let webhook = match (&config.feedback.requests_webhook, payload) {
        (Some(endpoint), Some(p)) => Some(
            crate::outbound::queue_webhook_in(
                &mut tx,
                config,
                endpoint,
                &p,
                &format!("request:{id}"),
                None,
            )
            .await?,
        ),
        _ => None,
    };
    tx.commit().await?;
    Ok(StatusChange {
        request: after,
        previous: before.status,
        tasks,
        webhook,
    })
}

/// The task telling one asking account that its request shipped.
fn close_the_loop_task(r: &ProductRequest, l: &RequestLink, today: Date, now: i64) -> Task {
    let mut title = format!("Tell {}: \"{}\" has shipped", l.account_name, r.title);
    if title.chars().count() > 200 {
        title = title.chars().take(199).collect::<String>() + "…";
    }
    Task {
        id: new_id("tsk"),
        account_id: l.account_id.clone(),
        title,
        owner_email: l.csm_email.clone(),
        due_on: Some(add_days(today, TELL_WITHIN_DAYS)),
        status: TaskStatus::Open,
        priority: Priority::Normal,
        source: TaskSource::Request,
        source_id: Some(r.id.clone()),
        notes: Some(format!(
            "Product request {} shipped on {today}; this account asked for it{}. Close the loop: tell them.",
            r.id,
            l.feedback_id
                .as_deref()
                .map(|f| format!(" (feedback {f})"))
                .unwrap_or_default()
        )),
        log_kind: None,
        engagement_id: None,
        created_at: now,
        completed_on: None,
    }
}

/// Each account's ARR today (reporting minor units) and the accounts on
/// today's risk board.
async fn revenue(
    store: &Store,
    config: &Config,
    day: Date,
) -> Result<(HashMap<String, i64>, HashSet<String>)> {
    let ds = crate::risk::dataset(store, config).await?;
    let arr: HashMap<String, i64> = store
        .risk_accounts(&Scope::All)
        .await?
        .into_iter()
        .map(|a| {
            let v = ds
                .account_index(&a.id)
                .map_or(0, |i| ds.mrr_on(i, day) * 12);
            (a.id, v)
        })
        .collect();
    let board = crate::risk::board_with(store, config, &Scope::All, day, &ds).await?;
    let risk = board.rows.into_iter().map(|r| r.account_id).collect();
    Ok((arr, risk))
}

/// A request with its standing and the accounts in scope asking.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedRequest {
    pub request: ProductRequest,
    pub standing: Standing,
    pub accounts: Vec<RequestLink>,
    /// Of `accounts`, those on today's risk board.
    pub at_risk: Vec<String>,
}

/// Requests ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub day: Date,
    pub currency: tenure_core::model::Currency,
    pub by: RankBy,
    pub rows: Vec<RankedRequest>,
}

/// The requests (with `status` when given) ranked by `by` over the
/// accounts in scope asking for them: a CSM sees the requests their
/// accounts ask for, counted over those accounts.
pub async fn ranking(
    store: &Store,
    config: &Config,
    scope: &Scope,
    by: RankBy,
    status: Option<RequestStatus>,
    day: Date,
) -> Result<Ranking> {
    let (arr, risk) = revenue(store, config, day).await?;
    let mut links: HashMap<String, Vec<RequestLink>> = HashMap::new();
    for l in store.request_links(None, scope).await? {
        links.entry(l.request_id.clone()).or_default().push(l);
    }
    let mut rows: Vec<RankedRequest> = Vec::new();
    for r in store.requests().await? {
        if status.is_some_and(|s| s != r.status) {
            continue;
        }
        let accounts = links.remove(&r.id).unwrap_or_default();
        if matches!(scope, Scope::Csm(_)) && accounts.is_empty() {
            continue;
        }
        let standing = core::standing(accounts.iter().map(|l| l.account_id.as_str()), &arr, &risk);
        let at_risk = accounts
            .iter()
            .filter(|l| risk.contains(&l.account_id))
            .map(|l| l.account_id.clone())
            .collect();
        rows.push(RankedRequest {
            request: r,
            standing,
            accounts,
            at_risk,
        });
    }
    let keys: Vec<(&str, Standing)> = rows
        .iter()
        .map(|r| (r.request.title.as_str(), r.standing))
        .collect();
    let order = core::rank(&keys, by);
    let mut slots: Vec<Option<RankedRequest>> = rows.into_iter().map(Some).collect();
    let rows = order.into_iter().filter_map(|i| slots[i].take()).collect();
    Ok(Ranking {
        day,
        currency: config.currency.reporting,
        by,
        rows,
    })
}

/// A cell a spreadsheet shows as text: one starting with a formula
/// character gets a leading `'`.
fn as_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The ranking as CSV (titles starting with a formula character get a
/// leading `'`): rank, id, title, status, accounts, ARR, ARR at
/// risk (decimal, reporting currency), currency, account ids.
pub fn to_csv(r: &Ranking) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Internal(format!("writing CSV: {e}"));
    w.write_record([
        "rank",
        "id",
        "title",
        "status",
        "accounts",
        "arr",
        "arr_at_risk",
        "currency",
        "account_ids",
    ])
    .map_err(fail)?;
    for (n, row) in r.rows.iter().enumerate() {
        let money = |v: i64| tenure_core::model::Money::new(v, r.currency).to_decimal_string();
        let ids: Vec<&str> = row.accounts.iter().map(|l| l.account_id.as_str()).collect();
        w.write_record([
            (n + 1).to_string(),
            row.request.id.clone(),
            as_text(&row.request.title),
            row.request.status.as_str().to_string(),
            row.standing.accounts.to_string(),
            money(row.standing.arr),
            money(row.standing.arr_at_risk),
            r.currency.to_string(),
            ids.join(" "),
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Internal(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(e.to_string()))
}
