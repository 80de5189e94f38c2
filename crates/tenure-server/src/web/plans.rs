//! Success plans on the dashboard (docs/TARGET.md): `/plans` (every plan
//! with its execution, and execution by CSM and by segment over 90 days),
//! `/plans/{id}` (the plan editor: goals with progress bars, milestones,
//! proven value, each with its form), the plan panel of the account page,
//! and `/accounts/{id}/qbr` (a printable business review).
//!
//! Forms post with the session's CSRF token through the application
//! layer's rules (`tenure_app::target::plans`); a refused form shows the
//! plan again with the message (422), a saved one redirects back (303).

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use serde::Deserialize;
use tenure_app::clock::today;
use tenure_app::target::plans::{
    self as app, GoalDraft, GoalView, MilestoneDraft, PlanView, ProvenDraft,
};
use tenure_core::model::{add_days, parse_date};
use tenure_core::target::plans::{Execution, MilestoneStatus, PlanStatus, standing};
use tenure_store::api::Scope;

use super::layout::{Nav, pct, render, render_status, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::auth::{CsrfForm, Principal};
use crate::error::AppError;

/// Execution as a page shows it: the percentage and its colour class.
#[derive(Debug, Clone)]
pub struct ExecutionCell {
    pub pct: String,
    /// good, fair, poor or none.
    pub class: &'static str,
    /// Width of the bar, 0–100.
    pub width: u32,
    pub text: String,
}

pub fn execution_cell(e: Execution) -> ExecutionCell {
    let rate = e.rate();
    ExecutionCell {
        pct: pct(rate),
        class: match rate {
            None => "none",
            Some(r) if r >= 0.8 => "good",
            Some(r) if r >= 0.5 => "fair",
            Some(_) => "poor",
        },
        width: rate.map_or(0, |r| (r * 100.0).round() as u32),
        text: format!("{} of {} due on time", e.on_time, e.due),
    }
}

/// A goal row with its progress bar.
#[derive(Debug, Clone)]
pub struct GoalRow {
    pub id: String,
    pub name: String,
    pub value: String,
    pub target: String,
    /// measured from `metric`, or "set by hand".
    pub source: String,
    pub manual: bool,
    pub width: u32,
    pub class: &'static str,
    pub progress: String,
    pub met: bool,
    pub achieved_on: String,
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

pub fn goal_row(g: &GoalView) -> GoalRow {
    let value = g.goal.value.map_or("no data".to_string(), number);
    GoalRow {
        id: g.goal.id.clone(),
        name: g.goal.name.clone(),
        target: format!(
            "{}{}",
            if g.goal.at_most { "≤ " } else { "" },
            number(g.goal.target)
        ),
        value,
        source: g
            .goal
            .metric
            .as_ref()
            .map_or("set by hand".to_string(), |m| format!("measured from {m}")),
        manual: g.goal.metric.is_none(),
        width: g.progress.map_or(0, |p| (p * 100.0).round() as u32),
        class: match g.progress {
            None => "none",
            Some(_) if g.met => "good",
            Some(p) if p >= 0.5 => "fair",
            Some(_) => "poor",
        },
        progress: pct(g.progress),
        met: g.met,
        achieved_on: g
            .goal
            .achieved_on
            .map(|d| d.to_string())
            .unwrap_or_default(),
    }
}

/// A milestone row.
#[derive(Debug, Clone)]
pub struct MilestoneRow {
    pub id: String,
    pub name: String,
    pub due: String,
    pub owner: String,
    /// open, overdue, done, missed, dropped.
    pub standing: &'static str,
    pub done_on: String,
    pub open: bool,
}

pub fn milestone_rows(v: &PlanView, day: Date) -> Vec<MilestoneRow> {
    v.milestones
        .iter()
        .map(|m| MilestoneRow {
            id: m.id.clone(),
            name: m.name.clone(),
            due: m.due_on.to_string(),
            owner: match &m.owner_email {
                Some(e) => format!("{e} ({})", m.owner_role.replace('_', " ")),
                None => m.owner_role.replace('_', " "),
            },
            standing: standing(m.status, m.due_on, day),
            done_on: m.done_on.map(|d| d.to_string()).unwrap_or_default(),
            open: m.status == MilestoneStatus::Open,
        })
        .collect()
}

/// A proven-value row.
#[derive(Debug, Clone)]
pub struct ProvenRow {
    pub title: String,
    pub evidence: String,
    /// The evidence is a link.
    pub link: bool,
    pub on: String,
    pub confirmed: bool,
}

pub fn proven_rows(v: &PlanView) -> Vec<ProvenRow> {
    v.proven
        .iter()
        .map(|p| {
            let evidence = p.evidence.clone().unwrap_or_default();
            ProvenRow {
                link: evidence.starts_with("https://") || evidence.starts_with("http://"),
                evidence,
                title: p.title.clone(),
                on: p.delivered_on.to_string(),
                confirmed: p.confirmed,
            }
        })
        .collect()
}

/// The plan panel of the account page and the QBR.
#[derive(Debug, Clone)]
pub struct PlanPanel {
    pub id: String,
    pub href: String,
    pub name: String,
    pub status: &'static str,
    pub started: String,
    pub templates: String,
    pub execution: ExecutionCell,
    pub overdue: usize,
    pub goals: Vec<GoalRow>,
    pub milestones: Vec<MilestoneRow>,
    pub proven: Vec<ProvenRow>,
}

fn panel(v: &PlanView, day: Date) -> PlanPanel {
    PlanPanel {
        id: v.plan.id.clone(),
        href: format!("/plans/{}", urlencode(&v.plan.id)),
        name: v.plan.name.clone(),
        status: v.plan.status.as_str(),
        started: v.plan.started_on.to_string(),
        templates: v.plan.templates.join(", "),
        execution: execution_cell(v.execution),
        overdue: v.overdue,
        goals: v.goals.iter().map(goal_row).collect(),
        milestones: milestone_rows(v, day),
        proven: proven_rows(v),
    }
}

/// The account's active plan (else its latest), for the account page.
pub async fn account_panel(
    state: &AppState,
    scope: &Scope,
    account_id: &str,
    day: Date,
) -> Result<Option<PlanPanel>, AppError> {
    let views = app::plan_views(&state.store, scope, day, Some(account_id), None).await?;
    let chosen = views
        .iter()
        .rev()
        .find(|v| v.plan.status == PlanStatus::Active)
        .or(views.last());
    Ok(chosen.map(|v| panel(v, day)))
}

/// One row of the plans list.
#[derive(Debug, Clone)]
pub struct PlanListRow {
    pub href: String,
    pub account_href: String,
    pub account: String,
    pub name: String,
    pub csm: String,
    pub status: &'static str,
    pub execution: ExecutionCell,
    pub overdue: usize,
    pub goals: String,
    pub next: String,
}

/// Execution of a group (a CSM's or a segment's plans) over the period.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub name: String,
    pub accounts: usize,
    pub execution: ExecutionCell,
}

#[derive(Template)]
#[template(path = "plans.html")]
pub struct PlansPage {
    pub nav: Nav,
    pub day: String,
    pub from: String,
    pub status: String,
    pub rows: Vec<PlanListRow>,
    pub by_csm: Vec<GroupRow>,
    pub by_segment: Vec<GroupRow>,
    pub ttv: String,
    pub ttv_reached: String,
    /// Time to value by segment and by cohort (month of first MRR, the
    /// last twelve): `(name, accounts, reached, median)`.
    pub ttv_segments: Vec<(String, usize, usize, String)>,
    pub ttv_cohorts: Vec<(String, usize, usize, String)>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
}

/// Days of the period execution by CSM and segment covers.
const PERIOD_DAYS: i32 = 90;

pub async fn list(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let status = q
        .ok()
        .and_then(|Query(q)| q.status)
        .filter(|s| PlanStatus::parse(s).is_some())
        .unwrap_or_else(|| "active".to_string());
    let day = today();
    let from = add_days(day, -(PERIOD_DAYS - 1));
    let scope = p.scope();
    let mut views = app::plan_views(&state.store, &scope, day, None, None).await?;
    if status != "all" {
        views.retain(|v| v.plan.status.as_str() == status);
    }
    // What needs attention first: overdue milestones, then the lowest
    // execution.
    views.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(
                a.execution
                    .rate()
                    .unwrap_or(2.0)
                    .total_cmp(&b.execution.rate().unwrap_or(2.0)),
            )
            .then_with(|| a.account_name.cmp(&b.account_name))
    });
    let rows = views
        .iter()
        .map(|v| PlanListRow {
            href: format!("/plans/{}", urlencode(&v.plan.id)),
            account_href: format!("/accounts/{}", urlencode(&v.plan.account_id)),
            account: v.account_name.clone(),
            name: v.plan.name.clone(),
            csm: v.csm_email.clone().unwrap_or_else(|| "–".into()),
            status: v.plan.status.as_str(),
            execution: execution_cell(v.execution),
            overdue: v.overdue,
            goals: format!(
                "{}/{}",
                v.goals.iter().filter(|g| g.met).count(),
                v.goals.len()
            ),
            next: v
                .next
                .map(|i| format!("{} · due {}", v.milestones[i].name, v.milestones[i].due_on))
                .unwrap_or_else(|| "–".into()),
        })
        .collect();
    // Execution over the period by CSM and by segment, of the plans shown.
    let by_account = app::execution_by_account(&state.store, from, day).await?;
    let segments = app::segments_on(&state.store, day).await?;
    let mut by_csm: BTreeMap<String, (usize, Execution)> = BTreeMap::new();
    let mut by_segment: BTreeMap<String, (usize, Execution)> = BTreeMap::new();
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for v in &views {
        if seen.insert(v.plan.account_id.as_str(), ()).is_some() {
            continue;
        }
        let e = by_account
            .get(&v.plan.account_id)
            .copied()
            .unwrap_or_default();
        let csm = v.csm_email.clone().unwrap_or_else(|| "no CSM".into());
        let seg = segments
            .get(&v.plan.account_id)
            .cloned()
            .unwrap_or_else(|| "no segment".into());
        for (map, key) in [(&mut by_csm, csm), (&mut by_segment, seg)] {
            let entry = map.entry(key).or_default();
            entry.0 += 1;
            entry.1.add(e);
        }
    }
    let groups = |m: BTreeMap<String, (usize, Execution)>| {
        m.into_iter()
            .map(|(name, (accounts, e))| GroupRow {
                name,
                accounts,
                execution: execution_cell(e),
            })
            .collect()
    };
    let ttv = app::time_to_value_for(&state.store, &scope, day).await?;
    let ttv_rows = |groups: &[app::TtvGroup]| -> Vec<(String, usize, usize, String)> {
        groups
            .iter()
            .map(|g| {
                (
                    g.name.clone(),
                    g.accounts,
                    g.reached,
                    g.median_days.map_or("–".to_string(), |d| format!("{d:.0}")),
                )
            })
            .collect()
    };
    let cohorts = &ttv.by_cohort[ttv.by_cohort.len().saturating_sub(12)..];
    let page = PlansPage {
        nav: Nav::new(&p, "plans"),
        day: day.to_string(),
        from: from.to_string(),
        status,
        rows,
        by_csm: groups(by_csm),
        by_segment: groups(by_segment),
        ttv: ttv
            .median_days
            .map_or("–".to_string(), |d| format!("{d:.0} days")),
        ttv_reached: format!(
            "{} of {} paying accounts have reached value",
            ttv.accounts.iter().filter(|a| a.days.is_some()).count(),
            ttv.accounts.len()
        ),
        ttv_segments: ttv_rows(&ttv.by_segment),
        ttv_cohorts: ttv_rows(cohorts),
    };
    render(&page)
}

/// What was typed into one of the plan page's forms.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub at_most: Option<String>,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub due: String,
    #[serde(default)]
    pub owner_role: String,
    #[serde(default)]
    pub owner_email: String,
    #[serde(default)]
    pub on: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub evidence: String,
    #[serde(default)]
    pub confirmed: Option<String>,
    /// The plan a goal's or milestone's form belongs to (where to go back).
    #[serde(default)]
    pub plan: String,
}

#[derive(Template)]
#[template(path = "plan.html")]
pub struct PlanPage {
    pub nav: Nav,
    pub plan: PlanPanel,
    pub account: String,
    pub account_href: String,
    pub qbr_href: String,
    pub csm: String,
    pub day: String,
    /// The due day the milestone form offers: two weeks ahead.
    pub default_due: String,
    pub saved: Option<&'static str>,
    /// Which form was refused (`edit`, `goal`, `value`, `milestone`,
    /// `status`, `proven`) and why.
    pub error: Option<(&'static str, String)>,
    pub form: PlanForm,
    pub roles: Vec<String>,
    pub metrics: Vec<&'static str>,
    pub can_write: bool,
}

#[derive(Debug, Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    q: Result<Query<SavedQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let saved = match q.ok().and_then(|Query(q)| q.saved).as_deref() {
        Some("plan") => Some("Plan saved."),
        Some("goal") => Some("Goal saved."),
        Some("milestone") => Some("Milestone saved."),
        Some("status") => Some("Milestone updated."),
        Some("proven") => Some("Proven value recorded."),
        _ => None,
    };
    render(&build(&state, &p, &id, saved, None, PlanForm::default()).await?)
}

async fn build(
    state: &AppState,
    p: &Principal,
    id: &str,
    saved: Option<&'static str>,
    error: Option<(&'static str, String)>,
    form: PlanForm,
) -> Result<PlanPage, AppError> {
    if id.contains('\0') || id.len() > 200 {
        return Err(AppError::not_found(format!("plan {id:?} not found")));
    }
    let day = today();
    let views = app::plan_views(&state.store, &p.scope(), day, None, Some(id)).await?;
    let v = views
        .first()
        .ok_or_else(|| AppError::not_found(format!("plan {id:?} not found")))?;
    Ok(PlanPage {
        nav: Nav::new(p, "plans"),
        plan: panel(v, day),
        account: v.account_name.clone(),
        account_href: format!("/accounts/{}", urlencode(&v.plan.account_id)),
        qbr_href: format!("/accounts/{}/qbr", urlencode(&v.plan.account_id)),
        csm: v.csm_email.clone().unwrap_or_else(|| "–".into()),
        day: day.to_string(),
        default_due: add_days(day, 14).to_string(),
        saved,
        error,
        form,
        roles: state.web.config.target.roles.clone(),
        metrics: tenure_core::target::plans::GOAL_FACTS.to_vec(),
        can_write: p.role.can_write() && p.csrf_token.is_some(),
    })
}

/// Answers a form: back to the plan when saved, the plan with the message
/// (422) when the application layer refused it.
async fn answer(
    state: &AppState,
    p: &Principal,
    plan: &str,
    which: &'static str,
    form: PlanForm,
    result: Result<(), tenure_app::Error>,
) -> Result<Response, WebError> {
    match result {
        Ok(()) => {
            state.web.cache.invalidate();
            let saved = match which {
                "edit" => "plan",
                "value" => "goal",
                "status" => "status",
                other => other,
            };
            Ok(Redirect::to(&format!("/plans/{}?saved={saved}", urlencode(plan))).into_response())
        }
        Err(e) if e.is_bad_input() && !matches!(e, tenure_app::Error::NotFound(_)) => {
            let page = build(state, p, plan, None, Some((which, e.to_string())), form).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(WebError::from(AppError::from(e))),
    }
}

/// The plan a goal's or milestone's form came from (where it goes back
/// to), if the caller may see it.
async fn form_plan(state: &AppState, p: &Principal, form: &PlanForm) -> Result<String, AppError> {
    state.store.plan_account(&form.plan, &p.scope()).await?;
    Ok(form.plan.clone())
}

/// A date field of a form: empty is `None`, a bad one an error naming it.
fn form_day(field: &str, s: &str) -> Result<Option<Date>, tenure_app::Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    parse_date(s)
        .map(Some)
        .map_err(|e| tenure_app::Error::Invalid(format!("{field}: {e}")))
}

fn form_number(field: &str, s: &str) -> Result<Option<f64>, tenure_app::Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(Some)
        .ok_or_else(|| tenure_app::Error::Invalid(format!("{field}: {s:?} is not a number")))
}

pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<PlanForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let name = (!form.name.trim().is_empty()).then_some(form.name.as_str());
    let status = (!form.status.trim().is_empty()).then_some(form.status.as_str());
    let r = app::edit_plan(&state.store, &p.scope(), &id, name, status, today()).await;
    answer(&state, &p, &id, "edit", form.clone(), r).await
}

pub async fn add_goal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<PlanForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let r = async {
        let target = form_number("target", &form.target)?
            .ok_or_else(|| tenure_app::Error::Invalid("target: the target is missing".into()))?;
        let draft = GoalDraft {
            name: &form.name,
            metric: &form.metric,
            target,
            at_most: form.at_most.is_some(),
        };
        app::add_goal(&state.store, &p.scope(), &id, &draft)
            .await
            .map(|_| ())
    }
    .await;
    answer(&state, &p, &id, "goal", form.clone(), r).await
}

pub async fn set_goal_value(
    State(state): State<AppState>,
    Path(goal): Path<String>,
    form: Result<CsrfForm<PlanForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let plan = form_plan(&state, &p, &form).await?;
    let r = async {
        let value = form_number("value", &form.value)?;
        app::edit_goal(
            &state.store,
            &p.scope(),
            &goal,
            None,
            None,
            Some(value),
            today(),
        )
        .await
    }
    .await;
    answer(&state, &p, &plan, "value", form.clone(), r).await
}

pub async fn add_milestone(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<PlanForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let r = async {
        let draft = MilestoneDraft {
            name: &form.name,
            due: form_day("due", &form.due)?,
            owner_role: &form.owner_role,
            owner_email: &form.owner_email,
        };
        app::add_milestone(
            &state.store,
            &state.web.config,
            &p.scope(),
            &id,
            &draft,
            today(),
        )
        .await
        .map(|_| ())
    }
    .await;
    answer(&state, &p, &id, "milestone", form.clone(), r).await
}

pub async fn set_milestone(
    State(state): State<AppState>,
    Path(milestone): Path<String>,
    form: Result<CsrfForm<PlanForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let plan = form_plan(&state, &p, &form).await?;
    let r = async {
        let on = form_day("on", &form.on)?;
        app::edit_milestone(
            &state.store,
            &p.scope(),
            &milestone,
            Some(&form.status),
            on,
            None,
            today(),
        )
        .await
    }
    .await;
    answer(&state, &p, &plan, "status", form.clone(), r).await
}

pub async fn add_proven(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<PlanForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let r = async {
        let draft = ProvenDraft {
            title: &form.title,
            evidence: &form.evidence,
            delivered_on: form_day("delivered_on", &form.on)?,
            confirmed: form.confirmed.is_some(),
        };
        app::add_proven_value(&state.store, &p.scope(), &id, &draft, today())
            .await
            .map(|_| ())
    }
    .await;
    answer(&state, &p, &id, "proven", form.clone(), r).await
}

/// `POST /accounts/{id}/plans`: a plan by hand from the account page.
pub async fn create(
    State(state): State<AppState>,
    Path(account): Path<String>,
    form: Result<CsrfForm<PlanForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let day = today();
    let name = if form.name.trim().is_empty() {
        "Success plan"
    } else {
        form.name.as_str()
    };
    let plan = app::create_plan(&state.store, &p.scope(), &account, name, day, day).await?;
    state.web.cache.invalidate();
    Ok(Redirect::to(&format!("/plans/{}?saved=plan", urlencode(&plan.id))).into_response())
}
