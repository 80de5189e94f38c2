//! `/accounts/{id}`: the account page (the "360"). Header (ARR, plan, CSM,
//! renewal), health with each measure explained and what changed, health,
//! MRR and weekly-active-user charts, a timeline (MRR movements,
//! engagements, tickets, survey answers, usage highlights), contacts and
//! champions, the account's standing on the risk board, and the forms to
//! log an engagement, to override the health score, and to put the account
//! on the risk board or take it off.
//!
//! Forms post to `/accounts/{id}/engagements`, `/accounts/{id}/override`,
//! `/accounts/{id}/risk/flag` and `/accounts/{id}/risk/resolve` with the
//! session's CSRF token. A form with mistakes is shown again with a
//! message next to each wrong field (status 422); a saved form redirects
//! back to the page (303) with a confirmation.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use tenure_app::health::OverrideRequest;
use tenure_core::engage::EngagementField;
use tenure_core::health::CheckedOverride;
use tenure_core::metrics::{LedgerQuery, MovementKind};
use tenure_core::model::{
    Account, Engagement, MICROS_PER_DAY, date_from_day, day_number, parse_date, utc_date,
};
use tenure_core::react::risk::FlagSource;
use tenure_store::Kind;
use tenure_store::rows::Record;

use super::account_cache::WeeklyUse;
use super::accounts::band_label;
use tenure_app::clock::today;
use tenure_core::model::{add_days, month_back};

use super::cache::View;
use super::charts::{self, Series};
use super::health::{self, HealthPanel};
use super::layout::{Nav, money, render, render_status, thousands, urlencode};
use super::overrides::{OverrideErrors, OverrideForm, check_form};
use super::{WebError, WebUser};
use crate::AppState;
use crate::auth::{CsrfForm, Principal, random_token};
use crate::error::AppError;

/// One entry of the timeline.
#[derive(Debug, Clone)]
pub struct Entry {
    pub date: String,
    /// For sorting: microseconds.
    pub at: i64,
    /// mrr, engagement, ticket, survey, usage, stage, segment.
    pub kind: &'static str,
    pub label: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct ContactOut {
    pub name: String,
    pub email: String,
    pub role: String,
    pub champion: bool,
}

/// What was typed into the engagement form, and what is wrong with it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EngagementForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, Default)]
pub struct EngagementErrors {
    pub kind: Option<String>,
    pub date: Option<String>,
    pub notes: Option<String>,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub id: String,
    pub action_base: String,
    pub name: String,
    pub facts: Vec<(&'static str, String)>,
    pub arr: String,
    pub mrr: String,
    pub renewal: String,
    pub health: Option<HealthPanel>,
    pub band: &'static str,
    pub band_label: &'static str,
    pub mrr_chart: String,
    pub wau_chart: String,
    pub timeline: Vec<Entry>,
    pub contacts: Vec<ContactOut>,
    pub saved: Option<&'static str>,
    /// The kinds the form offers: `engage.engagement_kinds` of tenure.toml.
    pub kinds: Vec<String>,
    pub eng: EngagementForm,
    pub eng_err: EngagementErrors,
    pub ovr: OverrideForm,
    pub ovr_err: OverrideErrors,
    pub can_override: bool,
    pub today: String,
    /// The account's success plan (its active one, else its latest).
    pub plan: Option<super::plans::PlanPanel>,
    /// The vendor's side beside the customer's outcomes.
    pub vendor: VendorSide,
    /// The account's tasks section (rendered HTML; empty on pages that do
    /// not show it).
    pub tasks: String,
    /// The "Add a task" form as typed, and why it was refused.
    pub add_task: super::tasks::AddTaskForm,
    pub add_task_error: Option<String>,
    /// The engagement kinds and priorities the form offers.
    pub priorities: Vec<&'static str>,
    pub next_week: String,
    /// The account's standing on the risk board today.
    pub risk: RiskPanel,
    /// The "Put on the risk board" form as typed, and why it was refused.
    pub risk_form: RiskFlagForm,
    pub risk_error: Option<String>,
    /// Why the "Resolve" form was refused.
    pub resolve_error: Option<String>,
    /// Whether the caller may flag and resolve (not a viewer, and a
    /// session that can post forms).
    pub can_flag: bool,
    /// Feedback, product requests and surveys of the account.
    pub voice: super::account_voice::VoicePanel,
    /// The churn model's latest prediction of the account and its trend.
    pub churn: super::account_churn::ChurnPanel,
}

/// One open flag of the account, as shown.
#[derive(Debug, Clone)]
pub struct RiskFlagOut {
    pub reason: String,
    /// By hand (by whom), a playbook's name, or the red health band.
    pub source: String,
    pub flagged_on: String,
    pub next_step: String,
    pub due: String,
    pub overdue: bool,
    pub days: i64,
}

/// The account's standing on the risk board today, as the board shows it
/// (`tenure_app::risk::board`): on it when its stored health band is red
/// (unless resolved by hand while still red) or it has an open flag; a
/// band flag counts only while the account is red.
#[derive(Debug, Clone, Default)]
pub struct RiskPanel {
    pub on_board: bool,
    /// The board's reason: the open flags' reasons, "Red health band".
    pub reason: String,
    /// Days on the board, since its oldest open flag.
    pub days: i64,
    pub since: String,
    pub next_step: String,
    pub due: String,
    pub overdue: bool,
    pub flags: Vec<RiskFlagOut>,
    /// Why it is not on the board, when it is not.
    pub note: String,
}

/// What was typed into the "Put on the risk board" form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RiskFlagForm {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub next_step: String,
    #[serde(default)]
    pub due: String,
}

/// The "Resolve" form: the outcome and optional notes.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RiskResolveForm {
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub notes: String,
}

/// The vendor's side of the account: revenue kept and grown.
#[derive(Debug, Clone, Default)]
pub struct VendorSide {
    /// MRR movements of the last 12 months, in the reporting currency.
    pub expansion: String,
    pub contraction: String,
    pub net: String,
    pub net_class: &'static str,
    /// Days to the next renewal, or an en dash.
    pub renewal_in: String,
}

/// Expansion, contraction and net MRR change over the 12 months to `today`.
fn vendor_side(v: &View, index: Option<usize>, today: Date, renewal: Option<Date>) -> VendorSide {
    let cur = v.currency().to_string();
    let (mut up, mut down) = (0i64, 0i64);
    if let Some(i) = index {
        let since = add_days(today, -364);
        for m in v.dataset.ledger(&LedgerQuery {
            period: None,
            account: Some(i),
            kind: None,
        }) {
            if m.date < since || m.date > today {
                continue;
            }
            match m.kind {
                MovementKind::New | MovementKind::Expansion | MovementKind::Reactivation => {
                    up += m.amount_minor
                }
                MovementKind::Contraction | MovementKind::Churn => down += m.amount_minor,
            }
        }
    }
    let net = up - down;
    VendorSide {
        expansion: money(v.units(up), &cur, false),
        contraction: money(v.units(down), &cur, false),
        net: format!(
            "{}{}",
            if net > 0 { "+" } else { "" },
            money(v.units(net), &cur, false)
        ),
        net_class: if net > 0 {
            "pos"
        } else if net < 0 {
            "neg"
        } else {
            ""
        },
        renewal_in: renewal.map_or("–".to_string(), |r| {
            let d = day_number(r) - day_number(today);
            if d >= 0 {
                format!("in {d} days")
            } else {
                format!("{} days ago", -d)
            }
        }),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    saved: Option<String>,
    /// The task a change on the tasks section was about, and its warning.
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    warn: Option<String>,
}

/// The account if the caller may see it (404 otherwise, so existence does not leak).
pub(crate) async fn account(
    state: &AppState,
    p: &Principal,
    id: &str,
) -> Result<Account, AppError> {
    // PostgreSQL cannot hold NUL in text: such an id cannot exist.
    if id.contains('\0') || id.len() > 500 {
        return Err(AppError::not_found(format!("account {id:?} not found")));
    }
    match state
        .store
        .get_record(Kind::Accounts, id, &p.scope())
        .await?
    {
        Record::Account(a) => Ok(a),
        _ => Err(AppError::not_found(format!("account {id} not found"))),
    }
}

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let saved = match q.saved.as_deref() {
        Some("engagement") => Some("Engagement logged."),
        Some("override") => Some("Health override saved."),
        Some("flagged") => Some("The account is on the risk board."),
        Some("resolved") => Some("The account is off the risk board."),
        _ => None,
    };
    let mut page = build(&state, &p, &id, saved, None, None).await?;
    add_tasks(&state, &p, &mut page, q.task.as_deref(), q.warn.as_deref()).await?;
    render(&page)
}

/// The account's tasks section on its page, with the flash of a change
/// (`task`, `warn`).
async fn add_tasks(
    state: &AppState,
    p: &Principal,
    page: &mut AccountPage,
    task: Option<&str>,
    warn: Option<&str>,
) -> Result<(), AppError> {
    page.tasks =
        super::tasks::account_tasks_section_of(state, p, (&page.id, &page.name), task, warn)
            .await?
            .render()
            .map_err(AppError::internal)?;
    Ok(())
}

async fn build(
    state: &AppState,
    p: &Principal,
    id: &str,
    saved: Option<&'static str>,
    eng: Option<(EngagementForm, EngagementErrors)>,
    ovr: Option<(OverrideForm, OverrideErrors)>,
) -> Result<AccountPage, AppError> {
    let a = account(state, p, id).await?;
    let view = state.web.cache.view(state, &p.scope()).await?;
    // What the kept score and weekly use must have been computed under.
    let fresh = state.web.accounts.freshness(state).await?;
    let today = fresh.day;
    let (eng, eng_err) = eng.unwrap_or_else(|| {
        (
            EngagementForm {
                kind: "call".into(),
                date: today.to_string(),
                notes: String::new(),
            },
            EngagementErrors::default(),
        )
    });
    let (ovr, ovr_err) = ovr.unwrap_or_else(|| {
        (
            OverrideForm {
                score: String::new(),
                reason: String::new(),
                until: add_days(today, 30).to_string(),
            },
            OverrideErrors::default(),
        )
    });
    let index = view.dataset.account_index(&a.id);
    let cur = view.currency().to_string();
    let mrr_minor = index.map_or(0, |i| view.dataset.mrr_on(i, today));
    let renewal_day = index.and_then(|i| view.rows.get(i)).and_then(|r| r.renewal);
    let renewal = renewal_day.map_or("–".to_string(), |d| d.to_string());
    let vendor = vendor_side(&view, index, today, renewal_day);
    let plan = super::plans::account_panel(state, &p.scope(), &a.id, today).await?;

    let mut timeline = Vec::new();
    let mrr_chart = match index {
        Some(i) => mrr_history(&view, i, today, &mut timeline),
        None => String::new(),
    };
    let uses = state.web.accounts.weekly_use(state, &fresh, &a.id).await?;
    let wau_chart = usage(&uses, today, &mut timeline);

    // The engagements and the Engage runs are read once: the timeline
    // shows them and the facts' segment, stage and cadence come from them
    // (`engage_facts`).
    let mut done = Vec::new();
    for kind in [Kind::Engagements, Kind::Tickets, Kind::SurveyResponses] {
        for r in state.store.account_records(kind, &a.id).await? {
            if let Record::Engagement(e) = &r {
                done.push((e.kind.clone(), utc_date(e.occurred_at)));
            }
            if let Some(e) = entry(&r) {
                timeline.push(e);
            }
        }
    }
    let runs = state.store.account_engage_runs(&a.id).await?;
    for r in &runs {
        timeline.push(run_entry(r, today));
    }
    // Playbooks that fired, with the values their trigger saw, and the
    // notes they added.
    for e in state
        .store
        .play_enrolments(&p.scope(), Some(&a.id), None)
        .await?
    {
        let seen: Vec<String> = e.inputs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        let left = e
            .exited_on
            .map(|d| format!("; left {d} ({})", e.exit_reason.as_deref().unwrap_or("")))
            .unwrap_or_default();
        timeline.push(Entry {
            date: e.enrolled_on.to_string(),
            at: i64::from(day_number(e.enrolled_on)) * MICROS_PER_DAY,
            kind: "play",
            label: format!("Playbook: {}", e.playbook),
            text: format!(
                "Entered because {}: {}{left}",
                e.trigger.split_whitespace().collect::<Vec<_>>().join(" "),
                seen.join(", ")
            ),
        });
    }
    for n in state.store.account_notes(&a.id).await? {
        timeline.push(Entry {
            date: n.day.to_string(),
            at: i64::from(day_number(n.day)) * MICROS_PER_DAY + 1,
            kind: "note",
            label: "Note".into(),
            text: format!("{} ({})", n.text, n.source),
        });
    }
    timeline.sort_by(|x, y| y.at.cmp(&x.at).then(x.kind.cmp(y.kind)));
    timeline.truncate(60);

    let mut contacts: Vec<ContactOut> = state
        .store
        .account_records(Kind::Contacts, &a.id)
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Record::Contact(c) => Some(ContactOut {
                name: c.name.unwrap_or_default(),
                email: c.email,
                role: c.role.unwrap_or_default(),
                champion: c.champion == Some(true),
            }),
            _ => None,
        })
        .collect();
    contacts.sort_by(|x, y| y.champion.cmp(&x.champion).then(x.name.cmp(&y.name)));

    // Read once: the health panel's history, and today's band for the
    // risk panel.
    let history = health::history(state, &a.id, today).await?;
    let red_today = red_on(&history, today);
    let health = health::panel_with_history(state, &fresh, &a, history).await?;
    let band = health.as_ref().map_or("none", |h| h.band);
    let mut facts = vec![
        ("Plan", a.plan.clone().unwrap_or_else(|| "–".into())),
        ("CSM", a.csm_email.clone().unwrap_or_else(|| "–".into())),
    ];
    for (k, v) in [("Industry", &a.industry), ("Region", &a.region)] {
        if let Some(v) = v {
            facts.push((k, v.clone()));
        }
    }
    if let Some(e) = a.employees {
        facts.push(("Employees", thousands(e)));
    }
    if let Some(c) = a.created_at {
        facts.push(("Customer since", c.to_string()));
    }
    engage_facts(state, &runs, &done, today, &mut facts);
    let risk = risk_panel_with(state, p, &a.id, today, red_today).await?;
    let voice =
        super::account_voice::panel(state, &p.scope(), &a.id, tenure_app::clock::now_micros())
            .await?;
    let churn = super::account_churn::panel(state, &a.id).await?;
    Ok(AccountPage {
        nav: Nav::new(p, "accounts"),
        id: a.id.clone(),
        action_base: format!("/accounts/{}", urlencode(&a.id)),
        name: a.name.clone(),
        facts,
        arr: money(view.units(mrr_minor * 12), &cur, false),
        mrr: money(view.units(mrr_minor), &cur, false),
        renewal,
        can_override: p.role.can_write(),
        health,
        band,
        band_label: band_label(band),
        mrr_chart,
        wau_chart,
        timeline,
        contacts,
        saved,
        kinds: state.web.config.engagement_kinds.clone(),
        eng,
        eng_err,
        ovr,
        ovr_err,
        today: today.to_string(),
        plan,
        vendor,
        tasks: String::new(),
        add_task: super::tasks::AddTaskForm::default(),
        add_task_error: None,
        priorities: tenure_core::target::tasks::Priority::ALL
            .iter()
            .map(|p| p.as_str())
            .collect(),
        next_week: add_days(today, 7).to_string(),
        risk,
        risk_form: RiskFlagForm::default(),
        risk_error: None,
        resolve_error: None,
        can_flag: p.role.can_write() && p.csrf_token.is_some(),
        voice,
        churn,
    })
}

/// The account page again with the "Add a task" form as typed and what
/// is wrong with it (422).
pub async fn with_task_error(
    state: &AppState,
    p: &Principal,
    id: &str,
    form: super::tasks::AddTaskForm,
    error: String,
) -> Result<Response, WebError> {
    let mut page = build(state, p, id, None, None, None).await?;
    add_tasks(state, p, &mut page, None, None).await?;
    page.add_task = form;
    page.add_task_error = Some(error);
    render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// `/accounts/{id}/qbr`: a business review to print (or save as PDF from
/// the browser): health and its history, the plan's goals, milestones and
/// proven value, usage, survey answers, and revenue.
#[derive(Template)]
#[template(path = "qbr.html")]
pub struct QbrPage {
    pub nav: Nav,
    pub a: AccountPage,
    pub nps: String,
    pub csat: String,
    pub answers: String,
    pub next: Vec<super::plans::MilestoneRow>,
    pub achieved: Vec<super::plans::GoalRow>,
}

pub async fn qbr(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let a = build(&state, &p, &id, None, None, None).await?;
    let today = today();
    let since = add_days(today, -364);
    // NPS and CSAT of the account's answers over the last 12 months, by
    // docs/METRICS.md's rules (NPS: each contact's latest answer).
    // Answers without a contact count alone.
    let mut nps_latest: BTreeMap<(bool, String), (i64, i64)> = BTreeMap::new();
    let (mut csat_good, mut csat_all) = (0u32, 0u32);
    for r in state
        .store
        .account_records(Kind::SurveyResponses, &a.id)
        .await?
    {
        let Record::SurveyResponse(s) = r else {
            continue;
        };
        let day = utc_date(s.responded_at);
        if day < since || day > today {
            continue;
        }
        match s.kind {
            tenure_core::model::SurveyKind::Nps => {
                let key = match &s.contact_id {
                    Some(c) => (true, c.clone()),
                    None => (false, s.id.clone()),
                };
                let at = s.responded_at.as_microsecond();
                let e = nps_latest.entry(key).or_insert((at, s.score));
                if at >= e.0 {
                    *e = (at, s.score);
                }
            }
            tenure_core::model::SurveyKind::Csat => {
                csat_all += 1;
                if s.score >= 4 {
                    csat_good += 1;
                }
            }
            tenure_core::model::SurveyKind::Ces => {}
        }
    }
    let n = nps_latest.len();
    let nps = (n > 0).then(|| {
        let promoters = nps_latest.values().filter(|(_, s)| *s >= 9).count() as f64;
        let detractors = nps_latest.values().filter(|(_, s)| *s <= 6).count() as f64;
        (promoters - detractors) * 100.0 / n as f64
    });
    let csat = (csat_all > 0).then(|| f64::from(csat_good) / f64::from(csat_all));
    let (next, achieved) = match &a.plan {
        Some(plan) => (
            plan.milestones
                .iter()
                .filter(|m| m.open)
                .take(5)
                .cloned()
                .collect(),
            plan.goals.iter().filter(|g| g.met).cloned().collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let page = QbrPage {
        nav: a.nav.clone(),
        nps: nps.map_or("–".to_string(), |v| format!("{v:.0}")),
        csat: super::layout::pct(csat),
        answers: format!("{n} NPS and {csat_all} CSAT answers since {since}"),
        next,
        achieved,
        a,
    };
    render(&page)
}

/// The MRR chart (month ends over two years) and the MRR movements for the timeline.
fn mrr_history(v: &View, i: usize, today: Date, timeline: &mut Vec<Entry>) -> String {
    let cur = v.currency().to_string();
    let first = month_back(today.first_of_month(), 23);
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for k in 0..24 {
        let start = month_back(today.first_of_month(), 23 - k);
        let end = start.last_of_month().min(today);
        if end < first {
            continue;
        }
        labels.push(start.strftime("%b %y").to_string());
        values.push(Some(v.units(v.dataset.mrr_on(i, end))));
    }
    for m in v.dataset.ledger(&LedgerQuery {
        period: None,
        account: Some(i),
        kind: None,
    }) {
        let verb = match m.kind {
            MovementKind::New => "New",
            MovementKind::Expansion => "Expansion",
            MovementKind::Contraction => "Contraction",
            MovementKind::Churn => "Churn",
            MovementKind::Reactivation => "Reactivation",
        };
        timeline.push(Entry {
            date: m.date.to_string(),
            at: i64::from(day_number(m.date)) * MICROS_PER_DAY,
            kind: "mrr",
            label: format!("MRR {}", verb.to_lowercase()),
            text: format!(
                "{verb}: MRR {} → {}",
                money(v.units(m.mrr_before_minor), &cur, false),
                money(v.units(m.mrr_after_minor), &cur, false)
            ),
        });
    }
    charts::lines(
        "mrr-history",
        "MRR at each month end",
        &labels,
        &[Series::new("MRR", "s-mrr", values)],
        None,
        &|x| money(x, &cur, true),
    )
}

/// Weekly active users over 13 weeks, and usage highlights for the timeline.
fn usage(w: &WeeklyUse, today: Date, timeline: &mut Vec<Entry>) -> String {
    let t = i64::from(day_number(today));
    let labels: Vec<String> = (0..13)
        .map(|k| {
            date_from_day((t - 7 * (12 - k as i64)) as i32)
                .strftime("%d %b")
                .to_string()
        })
        .collect();
    let values: Vec<Option<f64>> = w.weeks.iter().map(|&n| Some(n as f64)).collect();
    if !w.top.is_empty() {
        let text = w
            .top
            .iter()
            .map(|(e, n, users)| format!("{e} ×{} by {users} users", thousands(*n)))
            .collect::<Vec<_>>()
            .join("; ");
        timeline.push(Entry {
            date: today.to_string(),
            at: i64::from(day_number(today)) * MICROS_PER_DAY,
            kind: "usage",
            label: "Usage, last 30 days".into(),
            text: format!("Top events: {text}"),
        });
    }
    let (last, prev) = (w.weeks[12], w.weeks[11]);
    if prev >= 5 && last * 2 <= prev {
        timeline.push(Entry {
            date: today.to_string(),
            at: i64::from(day_number(today)) * MICROS_PER_DAY + 1,
            kind: "usage",
            label: "Usage drop".into(),
            text: format!("Weekly active users fell from {prev} to {last}."),
        });
    }
    charts::bars(
        "wau",
        "Weekly active users (weeks ending on the date shown)",
        &labels,
        &Series::new("Weekly active users", "s-wau", values),
        &|x| thousands(x.round() as i64),
    )
}

fn entry(r: &Record) -> Option<Entry> {
    let when = |t: Timestamp| utc_date(t).to_string();
    Some(match r {
        Record::Engagement(e) => Entry {
            date: when(e.occurred_at),
            at: e.occurred_at.as_microsecond(),
            kind: "engagement",
            label: format!("Engagement: {}", e.kind),
            text: match (&e.csm_email, &e.notes) {
                (Some(c), Some(n)) => format!("{n} ({c})"),
                (None, Some(n)) => n.clone(),
                (Some(c), None) => format!("by {c}"),
                (None, None) => String::new(),
            },
        },
        Record::Ticket(t) => Entry {
            date: when(t.opened_at),
            at: t.opened_at.as_microsecond(),
            kind: "ticket",
            label: format!(
                "Ticket {}",
                t.priority.map(|p| p.as_str()).unwrap_or("normal")
            ),
            text: format!(
                "{}{}{}",
                t.id,
                match t.closed_at {
                    Some(c) => format!(", closed {}", when(c)),
                    None => ", open".into(),
                },
                t.csat.map(|c| format!(", CSAT {c}/5")).unwrap_or_default()
            ),
        },
        Record::SurveyResponse(s) => Entry {
            date: when(s.responded_at),
            at: s.responded_at.as_microsecond(),
            kind: "survey",
            label: format!("{} answer", s.kind.as_str().to_uppercase()),
            text: format!(
                "Score {}{}",
                s.score,
                s.comment
                    .as_deref()
                    .map(|c| format!(": “{c}”"))
                    .unwrap_or_default()
            ),
        },
        _ => return None,
    })
}

/// Checks the engagement form (the date's text first, then the rules every
/// surface shares, `tenure_core::engage::check_engagement`); `Ok` holds the
/// engagement to save.
pub fn check_engagement(
    f: &EngagementForm,
    kinds: &[String],
    account_id: &str,
    csm_email: Option<String>,
    today: Date,
) -> Result<Engagement, EngagementErrors> {
    let mut err = EngagementErrors::default();
    let date = parse_date(f.date.trim()).ok();
    if date.is_none() {
        err.date = Some("Enter a date as YYYY-MM-DD.".into());
    }
    let checked = tenure_core::engage::check_engagement(
        &f.kind,
        date.unwrap_or(today),
        &f.notes,
        kinds,
        today,
    );
    match checked {
        Ok(c) if date.is_some() => Ok(c.record(
            format!("eng_{}", random_token(12)),
            account_id,
            csm_email,
            today,
            Timestamp::now(),
        )),
        Ok(_) => Err(err),
        Err(problems) => {
            for p in problems {
                let slot = match p.field {
                    EngagementField::Kind => &mut err.kind,
                    EngagementField::Date => &mut err.date,
                    EngagementField::Notes => &mut err.notes,
                };
                slot.get_or_insert(p.message);
            }
            Err(err)
        }
    }
}

pub async fn log_engagement(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<EngagementForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let a = account(&state, &p, &id).await?;
    let kinds = &state.web.config.engagement_kinds;
    match check_engagement(&form, kinds, &a.id, p.email.clone(), today()) {
        Ok(e) => {
            state
                .store
                .create_record(&Record::Engagement(e), &p.scope())
                .await?;
            state.web.cache.invalidate();
            Ok(Redirect::to(&format!(
                "/accounts/{}?saved=engagement#timeline",
                urlencode(&a.id)
            ))
            .into_response())
        }
        Err(errors) => {
            let page = build(&state, &p, &a.id, None, Some((form, errors)), None).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

pub async fn set_override(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<OverrideForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let a = account(&state, &p, &id).await?;
    let today = today();
    let result = match check_form(&form, today) {
        Ok(o) => save_override(&state, &p, &a, o, today).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            state.web.cache.invalidate();
            Ok(Redirect::to(&format!(
                "/accounts/{}?saved=override#health",
                urlencode(&a.id)
            ))
            .into_response())
        }
        Err(errors) => {
            let page = build(&state, &p, &a.id, None, None, Some((form, errors))).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// The account's standing on the risk board on `today`, read as the board
/// reads it: its open flags in the caller's scope, its stored health band
/// of the day and whether a hand resolution keeps it off while red; the
/// reason is core's (`react::risk::reason`). One account's rows only, so
/// the page does not load every account's revenue as the board does.
pub(crate) async fn risk_panel(
    state: &AppState,
    p: &Principal,
    id: &str,
    today: Date,
) -> Result<RiskPanel, AppError> {
    let stored = state
        .store
        .account_snapshots(id, Some(today), Some(today))
        .await?;
    risk_panel_with(state, p, id, today, red_on(&stored, today)).await
}

/// Whether the stored health band of `day` among `snapshots` is red.
fn red_on(snapshots: &[tenure_store::health::Snapshot], day: Date) -> bool {
    snapshots
        .iter()
        .any(|s| s.day == day && s.band == Some(tenure_core::health::Band::Red))
}

/// [`risk_panel`] with whether the account's stored band of `today` is
/// red already read.
async fn risk_panel_with(
    state: &AppState,
    p: &Principal,
    id: &str,
    today: Date,
    red_band: bool,
) -> Result<RiskPanel, AppError> {
    let mut flags: Vec<tenure_store::risk::Flag> = state
        .store
        .account_risk_flags(&p.scope(), id, today)
        .await?;
    let red = red_band && !state.store.risk_suppressed_account(today, id).await?;
    // A band flag only dates the red band: it counts while red.
    flags.retain(|f| red || f.source != FlagSource::Band);
    let pairs: Vec<(&FlagSource, &str)> = flags
        .iter()
        .map(|f| (&f.source, f.reason.as_str()))
        .collect();
    let Some(reason) = tenure_core::react::risk::reason(red, &pairs) else {
        return Ok(RiskPanel {
            note: if red_band {
                "Resolved by hand while its health band is red: it stays off the board until it leaves the red band.".into()
            } else {
                "Not at risk today: the health band is not red and no playbook or person has flagged the account.".into()
            },
            ..RiskPanel::default()
        });
    };
    let days_since = |d: Date| i64::from(day_number(today) - day_number(d));
    let since = flags.iter().map(|f| f.flagged_on).min().unwrap_or(today);
    let step = flags.iter().rev().find(|f| f.next_step.is_some());
    let due = step.and_then(|f| f.next_step_due);
    Ok(RiskPanel {
        on_board: true,
        reason,
        days: days_since(since),
        since: since.to_string(),
        next_step: step.and_then(|f| f.next_step.clone()).unwrap_or_default(),
        due: due.map(|d| d.to_string()).unwrap_or_default(),
        overdue: due.is_some_and(|d| d < today),
        note: String::new(),
        flags: flags
            .iter()
            .map(|f| RiskFlagOut {
                reason: f.reason.clone(),
                source: match &f.source {
                    FlagSource::Manual => match &f.flagged_by {
                        Some(by) => format!("By hand ({by})"),
                        None => "By hand".into(),
                    },
                    FlagSource::Playbook(n) => format!("Playbook {n}"),
                    FlagSource::Band => "Health band".into(),
                },
                flagged_on: f.flagged_on.to_string(),
                next_step: f.next_step.clone().unwrap_or_default(),
                due: f.next_step_due.map(|d| d.to_string()).unwrap_or_default(),
                overdue: f.next_step_due.is_some_and(|d| d < today),
                days: days_since(f.flagged_on),
            })
            .collect(),
    })
}

/// The account page again with a risk form's message (422): the flag
/// form's, with the form as typed, or else the resolve form's.
async fn with_risk_error(
    state: &AppState,
    p: &Principal,
    id: &str,
    form: Option<RiskFlagForm>,
    error: String,
) -> Result<Response, WebError> {
    let mut page = build(state, p, id, None, None, None).await?;
    add_tasks(state, p, &mut page, None, None).await?;
    match form {
        Some(f) => {
            page.risk_form = f;
            page.risk_error = Some(error);
        }
        None => page.resolve_error = Some(error),
    }
    render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// `POST /accounts/{id}/risk/flag`: puts the account on the risk board by
/// hand (`tenure_app::risk::flag_with`, source `manual`), as the form on
/// `/risk` does. Viewers get 403; an account outside the caller's scope
/// 404; a form with mistakes comes back with its message (422).
pub async fn flag_risk(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<RiskFlagForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let a = account(&state, &p, &id).await?;
    let day = today();
    // PostgreSQL cannot hold NUL in text: refused here, not as a failure.
    let nul = [("reason", &form.reason), ("next_step", &form.next_step)]
        .into_iter()
        .find(|(_, v)| v.contains('\0'));
    let result = match (nul, form.due.trim()) {
        (Some((field, _)), _) => Err(tenure_app::Error::Invalid(format!(
            "{field}: may not contain a NUL character"
        ))),
        (None, "") => Ok(None),
        (None, s) => parse_date(s)
            .map(Some)
            .map_err(|e| tenure_app::Error::Invalid(format!("next_step_due: {e}"))),
    };
    let result = match result {
        Ok(due) => {
            tenure_app::risk::flag_with(
                &state.store,
                &p.scope(),
                &tenure_app::risk::NewFlag {
                    account_id: &a.id,
                    reason: &form.reason,
                    source: FlagSource::Manual,
                    next_step: &form.next_step,
                    next_step_due: due,
                    by: p.email.as_deref(),
                },
                day,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            state.web.cache.invalidate();
            Ok(
                Redirect::to(&format!("/accounts/{}?saved=flagged", urlencode(&a.id)))
                    .into_response(),
            )
        }
        Err(tenure_app::Error::Invalid(m)) => {
            with_risk_error(&state, &p, &a.id, Some(form), super::risk::sentences(&m)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /accounts/{id}/risk/resolve`: takes the account off the risk
/// board with an outcome (`tenure_app::risk::resolve`), as the form on
/// `/risk` does. Viewers get 403; an account outside the caller's scope
/// 404; a bad outcome, or an account not on the board, 422 with the page.
pub async fn resolve_risk(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<RiskResolveForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let a = account(&state, &p, &id).await?;
    let result = match crate::api::risk::outcome_field(&form.outcome) {
        Ok(_) if form.notes.contains('\0') => Err(tenure_app::Error::Invalid(
            "notes: may not contain a NUL character".into(),
        )),
        Ok(outcome) => {
            tenure_app::risk::resolve(
                &state.store,
                &state.web.config,
                &p.scope(),
                &a.id,
                outcome,
                Some(&form.notes),
                today(),
            )
            .await
        }
        Err(m) => Err(tenure_app::Error::Invalid(m)),
    };
    match result {
        Ok(_) => {
            state.web.cache.invalidate();
            Ok(
                Redirect::to(&format!("/accounts/{}?saved=resolved", urlencode(&a.id)))
                    .into_response(),
            )
        }
        Err(tenure_app::Error::Invalid(m)) => {
            with_risk_error(&state, &p, &a.id, None, super::risk::sentences(&m)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A stage or segment the account entered, for the timeline: the journey's
/// history on the account page.
fn run_entry(r: &tenure_store::engage::Run, today: Date) -> Entry {
    let days =
        i64::from(day_number(r.left_on.unwrap_or(today).min(today)) - day_number(r.entered_on));
    let stay = match r.left_on {
        Some(_) => format!("stayed {days} days"),
        None => format!("there {days} days so far"),
    };
    let (kind, label, text) = match r.dimension {
        tenure_store::engage::Dimension::Stage => (
            "stage",
            "Journey stage",
            format!("Entered {}: {stay}", r.name),
        ),
        tenure_store::engage::Dimension::Segment => (
            "segment",
            "Segment",
            format!(
                "Moved to {} ({} touch): {stay}",
                r.name,
                r.tier.as_deref().unwrap_or("no")
            ),
        ),
    };
    Entry {
        date: r.entered_on.to_string(),
        at: i64::from(day_number(r.entered_on)) * MICROS_PER_DAY,
        kind,
        label: label.to_string(),
        text,
    }
}

/// Segment, tier, journey stage and the next required engagement, from
/// the runs the daily pass recorded (docs/ENGAGE.md) and the account's
/// engagements as `(kind, day)`, both read for the timeline.
fn engage_facts(
    state: &AppState,
    runs: &[tenure_store::engage::Run],
    done: &[(String, Date)],
    today: Date,
    facts: &mut Vec<(&'static str, String)>,
) {
    let status = tenure_app::engage::account_status_of(&state.web.config, runs, done, today);
    if let Some((segment, tier, since)) = &status.segment {
        facts.push(("Segment", format!("{segment} ({tier} touch) since {since}")));
    }
    if let Some((stage, since)) = &status.stage {
        facts.push(("Stage", format!("{stage} since {since}")));
    }
    // The most overdue, else the soonest due.
    let next = status.cadence.iter().max_by(|x, y| {
        x.2.overdue_days
            .cmp(&y.2.overdue_days)
            .then(y.2.due.cmp(&x.2.due))
    });
    if let Some((kind, every, s)) = next {
        let text = if s.overdue_days > 0 {
            format!(
                "{kind} overdue by {} days (every {every} days)",
                s.overdue_days
            )
        } else {
            format!("{kind} due {} (every {every} days)", s.due)
        };
        facts.push(("Next engagement", text));
    }
}

/// Saves a checked override through the application layer (which also
/// rewrites the account's snapshot for today, so that every page shows it).
async fn save_override(
    state: &AppState,
    p: &Principal,
    a: &Account,
    o: CheckedOverride,
    today: Date,
) -> Result<(), OverrideErrors> {
    let req = OverrideRequest {
        account_id: a.id.clone(),
        score: o.score,
        reason: o.reason,
        until: o.until,
        author: p.email.clone().unwrap_or_else(|| "unknown".into()),
    };
    tenure_app::health::set_override(
        &state.store,
        &state.web.config,
        &req,
        today,
        tenure_app::clock::now_micros(),
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        let e = AppError::from(e);
        OverrideErrors {
            form: Some(if e.status.is_server_error() {
                tracing::error!(error = %e.message, "saving an override failed");
                "The override could not be saved; try again.".to_string()
            } else {
                e.message
            }),
            ..OverrideErrors::default()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    #[test]
    fn engagement_form_reports_each_field() {
        let today = d("2026-03-10");
        let f = EngagementForm {
            kind: "party".into(),
            date: "2026-04-01".into(),
            notes: "x".repeat(5000),
        };
        let kinds = tenure_core::config::Config::default().engagement_kinds;
        let e = check_engagement(&f, &kinds, "a1", None, today).unwrap_err();
        assert!(e.kind.is_some() && e.date.is_some() && e.notes.is_some());
        let f = EngagementForm {
            kind: "QBR".into(),
            date: "2026-03-09".into(),
            notes: "  renewal talk ".into(),
        };
        let e = check_engagement(&f, &kinds, "a1", Some("c@x".into()), today).unwrap();
        assert_eq!(
            (e.kind.as_str(), e.notes.as_deref()),
            ("qbr", Some("renewal talk"))
        );
        assert_eq!(utc_date(e.occurred_at), d("2026-03-09"));
    }
}
