//! `/api/v1/segments`, `/journey`, `/cadence` and
//! `/accounts/{id}/engage`: segments and touch tiers, the journey funnel
//! and friction, cadence compliance and the overdue list
//! (docs/ENGAGE.md), from the application layer's report
//! (`tenure_app::engage::report`), the same as `tenure segments`,
//! `tenure journey`, `tenure cadence` and the dashboard's pages, whose
//! `--format json` prints these same shapes. A CSM sees their own
//! accounts; `POST /accounts/{id}/engagements` logs an engagement with the
//! rules every surface applies.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tenure_app::clock::today;
use tenure_app::engage::report::{ComplianceRow, Report, ReportQuery, report};
use tenure_app::engage::{AccountStatus, Overdue, account_status};
use tenure_core::engage::cadence::Compliance;
use tenure_core::engage::check_engagement;
use tenure_core::model::{self, add_days};
use tenure_store::api::Scope;
use tenure_store::rows::Record;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::crud::Resource;
use crate::api::engagements::{EngagementOut, Engagements};
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::health::visible;
use crate::auth::{Principal, random_token};
use crate::error::{AppError, ErrorBody};

/// The day and period asked for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EngageParams {
    /// The last day, YYYY-MM-DD (default: today, UTC).
    pub as_of: Option<String>,
    /// The first day of the period, YYYY-MM-DD (default: 89 days before
    /// `as_of`, a 90-day period).
    pub from: Option<String>,
    /// Only this CSM's accounts (their email). A CSM always sees their own.
    pub csm: Option<String>,
}

/// Days after today a query may reach.
pub const FUTURE_DAYS: i32 = 3660;

/// The report query of `params` for the caller: a CSM limited to their
/// own accounts gets those whatever `csm` says. Days must lie between 1970
/// and ten years ahead, and the period must not start after it ends; the
/// error names the parameter (`as_of: ...`, `from: ...`).
pub fn query(params: &EngageParams, scope: &Scope, today: Date) -> Result<ReportQuery, String> {
    let day = |name: &str, v: &Option<String>| -> Result<Option<Date>, String> {
        v.as_deref()
            .map(|s| model::parse_date(s.trim()).map_err(|e| format!("{name}: {e}")))
            .transpose()
    };
    let as_of = day("as_of", &params.as_of)?.unwrap_or(today);
    let mut q = ReportQuery::last_days(as_of, None);
    if let Some(from) = day("from", &params.from)? {
        q.from = from;
    }
    let latest = add_days(today, FUTURE_DAYS);
    for (name, d) in [("as_of", q.day), ("from", q.from)] {
        if d.year() < 1970 || d > latest {
            return Err(format!(
                "{name}: pick a day between 1970-01-01 and {latest}, not {d}"
            ));
        }
    }
    if q.from > q.day {
        return Err(format!(
            "from: the period starts on {} after its last day, {}: pick a start on or before {}",
            q.from, q.day, q.day
        ));
    }
    q.csm = match scope {
        Scope::Csm(email) => Some(email.clone()),
        Scope::All => params
            .csm
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    };
    Ok(q)
}

async fn report_for(
    state: &AppState,
    p: &Principal,
    params: &EngageParams,
) -> Result<Report, AppError> {
    let q = query(params, &p.scope(), today()).map_err(AppError::bad_request)?;
    Ok(report(&state.store, &state.web.config, &q).await?)
}

/// Days on time out of days required.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceOut {
    pub on_time_days: u32,
    pub days: u32,
    /// on_time_days ÷ days, 0–1; null when nothing was required.
    pub share: Option<f64>,
}

fn compliance_out(c: Compliance) -> ComplianceOut {
    ComplianceOut {
        on_time_days: c.on_time_days,
        days: c.days,
        share: c.share(),
    }
}

/// Churn of the accounts a segment held 90 days before the day.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChurnOut {
    pub accounts: u32,
    pub churned: u32,
    /// churned ÷ accounts; null when the segment held none.
    pub rate: Option<f64>,
}

/// A segment on the day.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentOut {
    pub segment: String,
    pub tier: String,
    pub persona: Option<String>,
    pub accounts: usize,
    /// In the reporting currency.
    pub arr: f64,
    pub mean_health: Option<f64>,
    pub churn_90d: ChurnOut,
    /// Its accounts' cadence compliance over the period.
    pub compliance: ComplianceOut,
}

/// `GET /segments`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentsOut {
    /// YYYY-MM-DD: the day.
    pub as_of: String,
    /// YYYY-MM-DD: the period's first day.
    pub from: String,
    pub accounts: usize,
    pub segments: Vec<SegmentOut>,
    /// Accounts in no segment.
    pub unsegmented: usize,
    pub rule_errors: Vec<RuleErrorOut>,
}

/// A rule that could not be decided on an account's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleErrorOut {
    pub account_id: String,
    pub error: String,
}

fn rule_errors(r: &Report) -> Vec<RuleErrorOut> {
    r.errors
        .iter()
        .map(|(a, e)| RuleErrorOut {
            account_id: a.clone(),
            error: e.clone(),
        })
        .collect()
}

pub fn segments_out(r: &Report) -> SegmentsOut {
    let segmented: usize = r.segments.iter().map(|s| s.row.accounts).sum();
    SegmentsOut {
        as_of: r.day.to_string(),
        from: r.from.to_string(),
        accounts: r.accounts,
        unsegmented: r.accounts - segmented,
        segments: r
            .segments
            .iter()
            .map(|s| SegmentOut {
                segment: s.row.name.clone(),
                tier: s.row.tier.clone(),
                persona: s.row.persona.clone(),
                accounts: s.row.accounts,
                arr: s.row.arr,
                mean_health: s.row.mean_health,
                churn_90d: ChurnOut {
                    accounts: s.churn.accounts,
                    churned: s.churn.churned,
                    rate: s.churn.rate(),
                },
                compliance: compliance_out(s.compliance),
            })
            .collect(),
        rule_errors: rule_errors(r),
    }
}

/// Where the runs of a stage that ended in the period went.
#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelOut {
    /// Accounts that entered the stage in the period.
    pub entered: u32,
    /// Runs of the stage that ended in the period, by where they went.
    pub advanced: u32,
    pub went_back: u32,
    pub lost: u32,
    pub exited: u32,
    /// advanced ÷ ended; null when none ended.
    pub conversion: Option<f64>,
    /// Median days in the stage of the runs that ended in the period.
    pub median_days: Option<f64>,
}

/// A journey stage on the day and over the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageOut {
    pub stage: String,
    pub target_days: Option<u32>,
    /// Accounts in the stage on the day.
    pub accounts: usize,
    pub arr: f64,
    /// Median days the accounts on the day have been in it.
    pub median_days_in_stage: Option<f64>,
    /// Accounts there longer than target_days.
    pub over_target: usize,
    pub funnel: FunnelOut,
}

/// A stage and segment where accounts stay past the stage's target.
#[derive(Debug, Serialize, ToSchema)]
pub struct FrictionOut {
    pub stage: String,
    pub target_days: u32,
    /// Null: accounts in no segment.
    pub segment: Option<String>,
    pub accounts: usize,
    pub over_target: usize,
    pub arr_over_target: f64,
}

/// An account in its stage past the target.
#[derive(Debug, Serialize, ToSchema)]
pub struct StuckOut {
    pub account_id: String,
    pub account_name: String,
    pub csm_email: Option<String>,
    pub stage: String,
    pub segment: Option<String>,
    pub days_in_stage: i64,
    pub target_days: u32,
    pub arr: f64,
}

/// `GET /journey`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JourneyOut {
    pub as_of: String,
    pub from: String,
    pub accounts: usize,
    pub stages: Vec<StageOut>,
    pub friction: Vec<FrictionOut>,
    /// Longest past target first.
    pub stuck: Vec<StuckOut>,
    pub rule_errors: Vec<RuleErrorOut>,
}

pub fn journey_out(r: &Report) -> JourneyOut {
    JourneyOut {
        as_of: r.day.to_string(),
        from: r.from.to_string(),
        accounts: r.accounts,
        stages: r
            .stages
            .iter()
            .map(|s| StageOut {
                stage: s.row.name.clone(),
                target_days: s.row.target_days,
                accounts: s.row.accounts,
                arr: s.row.arr,
                median_days_in_stage: s.row.median_days,
                over_target: s.row.over_target,
                funnel: FunnelOut {
                    entered: s.funnel.entered,
                    advanced: s.funnel.advanced,
                    went_back: s.funnel.went_back,
                    lost: s.funnel.lost,
                    exited: s.funnel.exited,
                    conversion: s.funnel.conversion(),
                    median_days: s.funnel.median_days,
                },
            })
            .collect(),
        friction: r
            .friction
            .iter()
            .map(|f| FrictionOut {
                stage: f.stage.clone(),
                target_days: f.target_days,
                segment: f.segment.clone(),
                accounts: f.accounts,
                over_target: f.over_target,
                arr_over_target: f.arr_over_target,
            })
            .collect(),
        stuck: r
            .stuck
            .iter()
            .map(|s| StuckOut {
                account_id: s.account_id.clone(),
                account_name: s.account_name.clone(),
                csm_email: s.csm_email.clone(),
                stage: s.stage.clone(),
                segment: s.segment.clone(),
                days_in_stage: s.days_in_stage,
                target_days: s.target_days,
                arr: s.arr,
            })
            .collect(),
        rule_errors: rule_errors(r),
    }
}

/// Compliance of one group over the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceRowOut {
    /// The CSM's email, the segment, the account id or the policy.
    pub key: String,
    /// The account's name (rows per account).
    pub name: Option<String>,
    pub on_time_days: u32,
    pub days: u32,
    pub share: Option<f64>,
    pub accounts: usize,
    /// Engagements overdue on the day.
    pub overdue: usize,
}

fn rows_out(rows: &[ComplianceRow]) -> Vec<ComplianceRowOut> {
    rows.iter()
        .map(|r| ComplianceRowOut {
            key: r.key.clone(),
            name: r.label.clone(),
            on_time_days: r.compliance.on_time_days,
            days: r.compliance.days,
            share: r.compliance.share(),
            accounts: r.accounts,
            overdue: r.overdue,
        })
        .collect()
}

/// A required engagement past its due day.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueOut {
    pub account_id: String,
    pub account_name: String,
    pub csm_email: Option<String>,
    pub arr: f64,
    pub segment: Option<String>,
    pub stage: Option<String>,
    pub kind: String,
    pub every_days: u32,
    /// YYYY-MM-DD; null when never done.
    pub last_done: Option<String>,
    /// YYYY-MM-DD.
    pub due: String,
    pub overdue_days: i32,
}

pub fn overdue_out(o: &Overdue) -> OverdueOut {
    OverdueOut {
        account_id: o.account_id.clone(),
        account_name: o.account_name.clone(),
        csm_email: o.csm_email.clone(),
        arr: o.arr,
        segment: o.segment.clone(),
        stage: o.stage.clone(),
        kind: o.kind.clone(),
        every_days: o.every_days,
        last_done: o.last_done.map(|d| d.to_string()),
        due: o.due.to_string(),
        overdue_days: o.overdue_days,
    }
}

/// `GET /cadence`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CadenceOut {
    pub as_of: String,
    pub from: String,
    /// Every required engagement over the period.
    pub compliance: ComplianceOut,
    pub by_csm: Vec<ComplianceRowOut>,
    pub by_segment: Vec<ComplianceRowOut>,
    pub by_policy: Vec<ComplianceRowOut>,
    /// Least compliant first.
    pub by_account: Vec<ComplianceRowOut>,
    /// Most overdue first, then by ARR.
    pub overdue: Vec<OverdueOut>,
}

pub fn cadence_out(r: &Report) -> CadenceOut {
    CadenceOut {
        as_of: r.day.to_string(),
        from: r.from.to_string(),
        compliance: compliance_out(r.compliance),
        by_csm: rows_out(&r.by_csm),
        by_segment: rows_out(&r.by_segment),
        by_policy: rows_out(&r.by_policy),
        by_account: rows_out(&r.by_account),
        overdue: r.overdue.iter().map(overdue_out).collect(),
    }
}

/// Accounts, ARR, mean health, 90-day churn and compliance per segment.
#[utoipa::path(get, path = "/segments", tag = "engage",
    params(EngageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SegmentsOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn get_segments(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<EngageParams>,
) -> Result<Json<SegmentsOut>, AppError> {
    Ok(Json(segments_out(&report_for(&state, &p, &q).await?)))
}

/// Each stage on the day, its funnel over the period, and friction.
#[utoipa::path(get, path = "/journey", tag = "engage",
    params(EngageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = JourneyOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn get_journey(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<EngageParams>,
) -> Result<Json<JourneyOut>, AppError> {
    Ok(Json(journey_out(&report_for(&state, &p, &q).await?)))
}

/// Cadence compliance over the period and the overdue engagements.
#[utoipa::path(get, path = "/cadence", tag = "engage",
    params(EngageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CadenceOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn get_cadence(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<EngageParams>,
) -> Result<Json<CadenceOut>, AppError> {
    Ok(Json(cadence_out(&report_for(&state, &p, &q).await?)))
}

/// A run of days in a stage or segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    /// `stage` or `segment`.
    pub dimension: String,
    pub name: String,
    pub tier: Option<String>,
    /// YYYY-MM-DD.
    pub entered_on: String,
    /// YYYY-MM-DD: the first day no longer in it; null while it is.
    pub left_on: Option<String>,
}

/// A required engagement and where it stands today.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequiredOut {
    pub kind: String,
    pub every_days: u32,
    pub last_done: Option<String>,
    pub due: String,
    pub overdue_days: i32,
}

/// `GET /accounts/{id}/engage`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountEngageOut {
    pub account_id: String,
    pub stage: Option<String>,
    pub stage_since: Option<String>,
    pub segment: Option<String>,
    pub tier: Option<String>,
    pub segment_since: Option<String>,
    /// Every recorded run, by dimension then oldest first.
    pub runs: Vec<RunOut>,
    /// Most urgent first.
    pub required: Vec<RequiredOut>,
}

/// An account's stage and segment with their history, and its required
/// engagements.
#[utoipa::path(get, path = "/accounts/{id}/engage", tag = "engage",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountEngageOut),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_account_engage(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<AccountEngageOut>, AppError> {
    visible(&state, &p, &id).await?;
    let status: AccountStatus =
        account_status(&state.store, &state.web.config, &id, today()).await?;
    let runs = state.store.account_engage_runs(&id).await?;
    let mut required: Vec<RequiredOut> = status
        .cadence
        .iter()
        .map(|(kind, every, s)| RequiredOut {
            kind: kind.clone(),
            every_days: *every,
            last_done: s.last_done.map(|d| d.to_string()),
            due: s.due.to_string(),
            overdue_days: s.overdue_days,
        })
        .collect();
    required.sort_by(|a, b| a.due.cmp(&b.due));
    Ok(Json(AccountEngageOut {
        account_id: id,
        stage: status.stage.as_ref().map(|s| s.0.clone()),
        stage_since: status.stage.as_ref().map(|s| s.1.to_string()),
        segment: status.segment.as_ref().map(|s| s.0.clone()),
        tier: status.segment.as_ref().map(|s| s.1.clone()),
        segment_since: status.segment.as_ref().map(|s| s.2.to_string()),
        runs: runs
            .iter()
            .map(|r| RunOut {
                dimension: r.dimension.as_str().to_string(),
                name: r.name.clone(),
                tier: r.tier.clone(),
                entered_on: r.entered_on.to_string(),
                left_on: r.left_on.map(|d| d.to_string()),
            })
            .collect(),
        required,
    }))
}

/// An engagement to log with an account. The rules are those of every
/// surface: a kind from `engage.engagement_kinds` in tenure.toml, a day
/// neither in the future nor more than ten years back, notes of at most
/// 4,000 characters.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogIn {
    pub kind: String,
    /// YYYY-MM-DD (default: today, UTC).
    pub date: Option<String>,
    pub notes: Option<String>,
    /// Who held it (default: the caller's email).
    pub csm_email: Option<String>,
}

/// Log an engagement; it counts for cadence at once.
#[utoipa::path(post, path = "/accounts/{id}/engagements", tag = "engage",
    params(("id" = String, Path)),
    request_body = LogIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = EngagementOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn log_engagement(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LogIn>,
) -> Result<(StatusCode, Json<EngagementOut>), AppError> {
    p.require_write()?;
    visible(&state, &p, &id).await?;
    let today = today();
    let day = match body.date.as_deref() {
        None => today,
        Some(s) => {
            model::parse_date(s.trim()).map_err(|e| AppError::invalid(format!("date: {e}")))?
        }
    };
    let checked = check_engagement(
        &body.kind,
        day,
        body.notes.as_deref().unwrap_or(""),
        &state.web.config.engagement_kinds,
        today,
    )
    .map_err(|problems| {
        AppError::invalid(
            problems
                .iter()
                .map(|p| format!("{}: {}", p.field.name(), p.message))
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let csm_email = body
        .csm_email
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .or_else(|| p.email.clone());
    let rec = Record::Engagement(checked.record(
        format!("eng_{}", random_token(12)),
        &id,
        csm_email,
        today,
        jiff::Timestamp::now(),
    ));
    state.store.create_record(&rec, &p.scope()).await?;
    state.web.cache.invalidate();
    let out = Engagements::to_out(rec).ok_or_else(|| AppError::not_found("record"))?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_segments))
        .routes(routes!(get_journey))
        .routes(routes!(get_cadence))
        .routes(routes!(get_account_engage))
        .routes(routes!(log_engagement))
}
