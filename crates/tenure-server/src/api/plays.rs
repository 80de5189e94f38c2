//! `/api/v1/playbooks`: the playbooks of tenure.toml, a dry run (who would
//! enter on a day and why, acting on nothing) and the history of firings
//! with their trace (docs/REACT.md), as `tenure plays` prints them. A CSM
//! sees their own accounts only.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use tenure_core::plays::ActionKind;
use tenure_store::api::Scope;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::ApiQuery;
use crate::api::plans::query_day;
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// One step of a playbook.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionOut {
    pub day: u32,
    /// task, note, email or webhook.
    pub kind: String,
    /// Runs only if the trigger still holds on its day.
    pub only_if_matching: bool,
    /// The task's title, the note's text or the email's subject, as a
    /// template; a webhook's endpoint.
    pub text: String,
}

/// A playbook.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaybookOut {
    pub name: String,
    pub description: Option<String>,
    pub version: String,
    pub trigger: String,
    pub exit: Option<String>,
    pub max_enrolments: u32,
    pub cooldown_days: u32,
    pub actions: Vec<ActionOut>,
}

pub fn playbook_out(p: &tenure_core::plays::Playbook) -> PlaybookOut {
    PlaybookOut {
        name: p.name.clone(),
        description: p.description.clone(),
        version: p.version.clone(),
        trigger: p.trigger.source().to_string(),
        exit: p.exit.as_ref().map(|r| r.source().to_string()),
        max_enrolments: p.max_enrolments,
        cooldown_days: p.cooldown_days,
        actions: p
            .actions
            .iter()
            .map(|a| ActionOut {
                day: a.day,
                kind: a.kind.name().to_string(),
                only_if_matching: a.only_if_matching,
                text: match &a.kind {
                    ActionKind::Task { title, .. } => title.source().to_string(),
                    ActionKind::Note { text } => text.source().to_string(),
                    ActionKind::Email { subject, .. } => subject.source().to_string(),
                    ActionKind::Webhook { endpoint } => endpoint.clone(),
                    ActionKind::Risk { reason } => reason.source().to_string(),
                },
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/playbooks", tag = "playbooks",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PlaybookOut>), (status = 401, body = ErrorBody)))]
pub async fn get_playbooks(State(state): State<AppState>, _p: Principal) -> Json<Vec<PlaybookOut>> {
    Json(
        state
            .web
            .config
            .playbooks
            .iter()
            .map(playbook_out)
            .collect(),
    )
}

/// A field the trigger read and its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct InputOut {
    pub field: String,
    pub value: String,
}

fn inputs_out(inputs: &[(String, String)]) -> Vec<InputOut> {
    inputs
        .iter()
        .map(|(f, v)| InputOut {
            field: f.clone(),
            value: v.clone(),
        })
        .collect()
}

/// An account whose trigger holds on the day.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    pub account_id: String,
    pub account_name: String,
    pub csm_email: Option<String>,
    pub arr: f64,
    pub would_enrol: bool,
    pub why_not: Option<String>,
    pub inputs: Vec<InputOut>,
}

pub fn candidate_out(c: &tenure_app::plays::Candidate) -> CandidateOut {
    CandidateOut {
        account_id: c.account_id.clone(),
        account_name: c.account_name.clone(),
        csm_email: c.csm_email.clone(),
        arr: c.arr,
        would_enrol: c.would_enrol,
        why_not: c.why_not.clone(),
        inputs: inputs_out(&c.inputs),
    }
}

/// A dry run.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunOut {
    pub playbook: PlaybookOut,
    pub as_of: String,
    pub accounts: Vec<CandidateOut>,
}

/// The day asked for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRunParams {
    /// YYYY-MM-DD (default: today, UTC).
    pub as_of: Option<String>,
}

/// A dry run for the caller: a CSM gets their own accounts only.
pub async fn dry_run(
    state: &AppState,
    scope: &Scope,
    name: &str,
    as_of: Option<&str>,
) -> Result<DryRunOut, AppError> {
    let day = query_day(as_of)?;
    let (p, who) = tenure_app::plays::dry_run(&state.store, &state.web.config, name, day)
        .await
        .map_err(|e| match e {
            tenure_app::Error::Invalid(m) => AppError::not_found(m),
            e => e.into(),
        })?;
    let mine = |c: &tenure_app::plays::Candidate| match scope {
        Scope::All => true,
        Scope::Csm(e) => c
            .csm_email
            .as_deref()
            .is_some_and(|x| x.trim().eq_ignore_ascii_case(e.trim())),
    };
    Ok(DryRunOut {
        playbook: playbook_out(&p),
        as_of: day.to_string(),
        accounts: who.iter().filter(|c| mine(c)).map(candidate_out).collect(),
    })
}

#[utoipa::path(get, path = "/playbooks/{name}/dry-run", tag = "playbooks",
    params(("name" = String, Path), DryRunParams),
    security(("bearer" = [])),
    responses((status = 200, body = DryRunOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_dry_run(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<DryRunParams>,
) -> Result<Json<DryRunOut>, AppError> {
    Ok(Json(
        dry_run(&state, &p.scope(), &name, q.as_of.as_deref()).await?,
    ))
}

/// Counts of a backtest, over a month of sampled days or all of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestCountsOut {
    /// Sampled days.
    pub days: usize,
    /// Account-days of the audience on which the trigger held.
    pub held: usize,
    /// Simulated entries (the re-enrolment rule applied).
    pub entries: usize,
    /// Entries of paying accounts whose 90 days are over by the data's
    /// last day, and those that stopped paying within them.
    pub judged: usize,
    pub churned: usize,
    /// churned ÷ judged.
    pub precision: Option<f64>,
    /// Paying account-days of the audience on the judged days, and those
    /// that stopped paying within 90 days.
    pub audience: usize,
    pub audience_churned: usize,
    /// audience_churned ÷ audience.
    pub base_rate: Option<f64>,
    /// precision ÷ base_rate.
    pub lift: Option<f64>,
    /// ARR on the entry day of every entry, the judged ones, the churned.
    pub arr_entered: f64,
    pub arr_judged: f64,
    pub arr_churned: f64,
}

fn counts_out(c: &tenure_core::plays_backtest::Counts) -> BacktestCountsOut {
    BacktestCountsOut {
        days: c.days,
        held: c.held,
        entries: c.entries,
        judged: c.judged,
        churned: c.churned,
        precision: c.precision(),
        audience: c.audience,
        audience_churned: c.audience_churned,
        base_rate: c.base_rate(),
        lift: c.lift(),
        arr_entered: c.arr_entered,
        arr_judged: c.arr_judged,
        arr_churned: c.arr_churned,
    }
}

/// One month of sampled days.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestMonthOut {
    /// YYYY-MM.
    pub month: String,
    pub counts: BacktestCountsOut,
}

/// One simulated entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestEntryOut {
    pub account_id: String,
    pub account_name: String,
    pub day: String,
    pub arr: f64,
    /// Whether it stopped paying within 90 days; null when not judged.
    pub churned: Option<bool>,
}

/// A playbook's backtest.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestOut {
    pub playbook: PlaybookOut,
    pub from: String,
    pub to: String,
    pub every_days: u32,
    /// The data's last day (today): an entry is judged once its 90 days
    /// are over by then.
    pub last_day: String,
    pub horizon_days: u32,
    pub totals: BacktestCountsOut,
    /// Churns of accounts seen paying in the audience on a judged day,
    /// and those the playbook had entered at most 90 days before.
    pub churns: usize,
    pub caught: usize,
    /// caught ÷ churns.
    pub recall: Option<f64>,
    /// Account-days whose trigger could not be decided.
    pub undecided: usize,
    pub months: Vec<BacktestMonthOut>,
    /// Every entry, in day order.
    pub entries: Vec<BacktestEntryOut>,
}

pub fn backtest_out(b: &tenure_app::plays_backtest::PlaybookBacktest) -> BacktestOut {
    let r = &b.result;
    BacktestOut {
        playbook: playbook_out(&b.playbook),
        from: b.from.to_string(),
        to: b.to.to_string(),
        every_days: b.every_days,
        last_day: r.last_day.to_string(),
        horizon_days: r.horizon_days,
        totals: counts_out(&r.totals),
        churns: r.churns,
        caught: r.caught,
        recall: r.recall(),
        undecided: b.undecided,
        months: r
            .months
            .iter()
            .map(|m| BacktestMonthOut {
                month: m.month.strftime("%Y-%m").to_string(),
                counts: counts_out(&m.counts),
            })
            .collect(),
        entries: r
            .entries
            .iter()
            .map(|e| {
                let (id, name) = &b.accounts[e.account];
                BacktestEntryOut {
                    account_id: id.clone(),
                    account_name: name.clone(),
                    day: e.day.to_string(),
                    arr: e.arr,
                    churned: e.churned,
                }
            })
            .collect(),
    }
}

/// The sampled days of a backtest.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BacktestParams {
    /// YYYY-MM-DD, the first sampled day (default: 364 days before `to`).
    pub from: Option<String>,
    /// YYYY-MM-DD, the last day sampled at most (default: 90 days before
    /// today, so that every entry can be judged; at most today).
    pub to: Option<String>,
    /// Days between sampled days (default 7).
    pub every: Option<u32>,
}

/// A backtest for the caller: a CSM's audience is their own accounts.
/// An unknown playbook is 404, a bad window 400.
pub async fn backtest(
    state: &AppState,
    scope: &Scope,
    name: &str,
    q: &BacktestParams,
) -> Result<BacktestOut, AppError> {
    let config = &state.web.config;
    tenure_app::plays::find(config, name).map_err(|e| AppError::not_found(e.to_string()))?;
    let date = |field: &str, v: Option<&str>| {
        v.map(|s| {
            tenure_core::model::parse_date(s.trim())
                .map_err(|e| AppError::bad_request(format!("{field}: {e}")))
        })
        .transpose()
    };
    let window = tenure_app::plays_backtest::Window {
        from: date("from", q.from.as_deref())?,
        to: date("to", q.to.as_deref())?,
        every_days: q.every,
    };
    let b = tenure_app::plays_backtest::backtest(
        &state.store,
        config,
        name,
        window,
        tenure_app::clock::today(),
        scope,
    )
    .await
    .map_err(|e| match e {
        tenure_app::Error::Invalid(m) => AppError::bad_request(m),
        e => e.into(),
    })?;
    Ok(backtest_out(&b))
}

#[utoipa::path(get, path = "/playbooks/{name}/backtest", tag = "playbooks",
    params(("name" = String, Path), BacktestParams),
    security(("bearer" = [])),
    responses((status = 200, body = BacktestOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_backtest(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<BacktestParams>,
) -> Result<Json<BacktestOut>, AppError> {
    Ok(Json(backtest(&state, &p.scope(), &name, &q).await?))
}

/// One firing with its trace.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentOut {
    pub id: String,
    pub playbook: String,
    pub version: String,
    pub account_id: String,
    pub enrolled_on: String,
    pub exited_on: Option<String>,
    pub exit_reason: Option<String>,
    pub trigger: String,
    pub inputs: Vec<InputOut>,
    /// `{action, run_on, result, detail}` of each action run or skipped.
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<serde_json::Value>,
}

pub fn enrolment_out(e: &tenure_store::plays::Enrolment) -> EnrolmentOut {
    EnrolmentOut {
        id: e.id.clone(),
        playbook: e.playbook.clone(),
        version: e.version.clone(),
        account_id: e.account_id.clone(),
        enrolled_on: e.enrolled_on.to_string(),
        exited_on: e.exited_on.map(|d| d.to_string()),
        exit_reason: e.exit_reason.clone(),
        trigger: e.trigger.clone(),
        inputs: inputs_out(&e.inputs),
        actions: e
            .actions
            .iter()
            .map(|a| {
                serde_json::json!({"action": a.action, "run_on": a.run_on.to_string(),
                    "result": a.result, "detail": a.detail})
            })
            .collect(),
    }
}

/// Which firings.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    pub account_id: Option<String>,
    pub playbook: Option<String>,
}

#[utoipa::path(get, path = "/playbooks/history", tag = "playbooks",
    params(HistoryParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<EnrolmentOut>), (status = 401, body = ErrorBody)))]
pub async fn get_history(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<HistoryParams>,
) -> Result<Json<Vec<EnrolmentOut>>, AppError> {
    let mut all = state
        .store
        .play_enrolments(&p.scope(), q.account_id.as_deref(), q.playbook.as_deref())
        .await?;
    all.sort_by(|a, b| b.enrolled_on.cmp(&a.enrolled_on).then(a.id.cmp(&b.id)));
    Ok(Json(all.iter().map(enrolment_out).collect()))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_playbooks))
        .routes(routes!(get_history))
        .routes(routes!(get_dry_run))
        .routes(routes!(get_backtest))
}
