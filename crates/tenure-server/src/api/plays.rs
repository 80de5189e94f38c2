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
}
