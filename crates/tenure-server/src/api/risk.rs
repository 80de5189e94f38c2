//! `/api/v1/risk` and `/api/v1/reviews`: the early-warning risk board and
//! leadership reviews, through the application layer (`tenure_app::risk`),
//! as `tenure risk` / `tenure reviews` and the `/risk` and `/reviews`
//! pages do; `tenure risk --format json` prints these shapes.
//!
//! Every role reads. A CSM limited to their own accounts sees and flags
//! only their portfolio's accounts (another's is 404) and sees only those
//! accounts of a review. Viewers may not write (403); holding a review is
//! for leaders and admins only (403 otherwise). Bad query parameters are
//! 400 and bad bodies 422, each message naming the field.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tenure_app::clock::today;
use tenure_app::risk::{
    self, Board, BoardRow, Decision, NewFlag, ReviewOutcome, ReviewView, ThresholdView,
};
use tenure_core::model::{self, Currency, add_days};
use tenure_core::react::risk::{FlagSource, Measure, Outcome};
use tenure_store::auth::Role;
use tenure_store::risk::{Flag, Review};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// Days of measures `GET /risk` returns for the chart.
pub const HISTORY_DAYS: i32 = 90;

/// Minor units as units of the currency.
pub fn units(minor: i64, c: Currency) -> f64 {
    minor as f64 / 10f64.powi(c.minor_digits() as i32)
}

/// A flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagOut {
    pub id: String,
    pub account_id: String,
    pub reason: String,
    /// manual, band or playbook:NAME.
    pub source: String,
    /// YYYY-MM-DD.
    pub flagged_on: String,
    pub flagged_by: Option<String>,
    pub next_step: Option<String>,
    pub next_step_due: Option<String>,
    pub resolved_on: Option<String>,
    /// saved, churned or downgraded; null while open (or a band flag
    /// whose account left the red band).
    pub outcome: Option<String>,
    pub notes: Option<String>,
}

pub fn flag_out(f: &Flag) -> FlagOut {
    FlagOut {
        id: f.id.clone(),
        account_id: f.account_id.clone(),
        reason: f.reason.clone(),
        source: f.source.as_string(),
        flagged_on: f.flagged_on.to_string(),
        flagged_by: f.flagged_by.clone(),
        next_step: f.next_step.clone(),
        next_step_due: f.next_step_due.map(|d| d.to_string()),
        resolved_on: f.resolved_on.map(|d| d.to_string()),
        outcome: f.outcome.map(|o| o.as_str().to_string()),
        notes: f.notes.clone(),
    }
}

/// An account on the board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardRowOut {
    pub account_id: String,
    pub account_name: String,
    /// The account's CSM.
    pub owner: Option<String>,
    /// In the reporting currency.
    pub arr: f64,
    pub reason: String,
    pub red: bool,
    pub next_step: Option<String>,
    pub next_step_due: Option<String>,
    pub days_on_board: i64,
    pub segment: Option<String>,
    pub flags: Vec<FlagOut>,
}

fn row_out(r: &BoardRow, c: Currency) -> BoardRowOut {
    BoardRowOut {
        account_id: r.account_id.clone(),
        account_name: r.name.clone(),
        owner: r.owner.clone(),
        arr: units(r.arr, c),
        reason: r.reason.clone(),
        red: r.red,
        next_step: r.next_step.clone(),
        next_step_due: r.next_step_due.map(|d| d.to_string()),
        days_on_board: r.days_on_board,
        segment: r.segment.clone(),
        flags: r.flags.iter().map(flag_out).collect(),
    }
}

/// A day's measure.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = RiskMeasureOut)]
pub struct MeasureOut {
    /// YYYY-MM-DD.
    pub day: String,
    pub accounts_at_risk: u64,
    pub arr_at_risk: f64,
    pub total_arr: f64,
    /// ARR at risk as a fraction of total ARR.
    pub arr_at_risk_share: f64,
}

pub fn measure_out(day: Date, m: &Measure, c: Currency) -> MeasureOut {
    MeasureOut {
        day: day.to_string(),
        accounts_at_risk: m.accounts_at_risk,
        arr_at_risk: units(m.arr_at_risk, c),
        total_arr: units(m.total_arr, c),
        arr_at_risk_share: m.share(),
    }
}

/// A review threshold against the day's measure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThresholdOut {
    /// arr_at_risk, arr_at_risk_share or accounts_at_risk.
    pub kind: String,
    /// Null for the whole book.
    pub segment: Option<String>,
    /// Money in the reporting currency, a fraction or a count.
    pub limit: f64,
    pub value: f64,
    pub above: bool,
}

fn threshold_out(t: &ThresholdView, c: Currency) -> ThresholdOut {
    let money = t.kind == "arr_at_risk";
    let conv = |v: f64| {
        if money {
            v / 10f64.powi(c.minor_digits() as i32)
        } else {
            v
        }
    };
    ThresholdOut {
        kind: t.kind.to_string(),
        segment: t.segment.clone(),
        limit: conv(t.limit),
        value: conv(t.value),
        above: t.above,
    }
}

/// `GET /risk`: the board on a day, its measure against the thresholds,
/// and the measures of the 90 days before it for the chart.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskOut {
    /// YYYY-MM-DD.
    pub as_of: String,
    /// The reporting currency every amount is in.
    pub currency: String,
    /// The measure of the accounts in the caller's scope.
    pub measure: MeasureOut,
    pub thresholds: Vec<ThresholdOut>,
    /// By ARR, largest first.
    pub accounts: Vec<BoardRowOut>,
    /// The whole book's recorded daily measures, oldest first.
    pub history: Vec<MeasureOut>,
}

pub fn risk_out(b: &Board, history: &[(Date, Measure)]) -> RiskOut {
    let c = b.currency;
    RiskOut {
        as_of: b.day.to_string(),
        currency: c.as_str().to_string(),
        measure: measure_out(b.day, &b.measure, c),
        thresholds: b.thresholds.iter().map(|t| threshold_out(t, c)).collect(),
        accounts: b.rows.iter().map(|r| row_out(r, c)).collect(),
        history: history.iter().map(|(d, m)| measure_out(*d, m, c)).collect(),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RiskParams {
    /// YYYY-MM-DD (default: today, UTC).
    pub as_of: Option<String>,
}

/// The day of `as_of` (today when empty), within 1970 and a year ahead.
pub fn as_of(v: Option<&str>, today: Date) -> Result<Date, String> {
    let d = match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => today,
        Some(s) => model::parse_date(s).map_err(|e| format!("as_of: {e}"))?,
    };
    let latest = add_days(today, 366);
    if d.year() < 1970 || d > latest {
        return Err(format!(
            "as_of: pick a day between 1970-01-01 and {latest}, not {d}"
        ));
    }
    Ok(d)
}

/// The board and the history the API, the CLI and the page show.
pub async fn load_risk(
    state_store: &tenure_store::Store,
    config: &tenure_core::config::Config,
    scope: &tenure_store::api::Scope,
    day: Date,
) -> Result<(Board, Vec<(Date, Measure)>), tenure_app::Error> {
    let b = risk::board(state_store, config, scope, day).await?;
    let h = risk::history(state_store, add_days(day, -HISTORY_DAYS), day).await?;
    Ok((b, h))
}

#[utoipa::path(get, path = "/risk", tag = "risk",
    params(RiskParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RiskOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn get_risk(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<RiskParams>,
) -> Result<Json<RiskOut>, AppError> {
    let day = as_of(q.as_of.as_deref(), today()).map_err(AppError::bad_request)?;
    let (b, h) = load_risk(&state.store, &state.web.config, &p.scope(), day).await?;
    Ok(Json(risk_out(&b, &h)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagIn {
    pub account_id: String,
    pub reason: String,
    pub next_step: Option<String>,
    /// YYYY-MM-DD.
    pub next_step_due: Option<String>,
}

fn date_field(name: &str, v: Option<&str>) -> Result<Option<Date>, AppError> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| model::parse_date(s).map_err(|e| AppError::invalid(format!("{name}: {e}"))))
        .transpose()
}

/// Put an account on the board by hand.
#[utoipa::path(post, path = "/risk/flags", tag = "risk",
    request_body = FlagIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = FlagOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "The account is not in the caller's scope"),
        (status = 422, body = ErrorBody),
    ))]
pub async fn add_flag(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<FlagIn>,
) -> Result<(StatusCode, Json<FlagOut>), AppError> {
    p.require_write()?;
    let due = date_field("next_step_due", body.next_step_due.as_deref())?;
    let f = risk::flag_with(
        &state.store,
        &p.scope(),
        &NewFlag {
            account_id: &body.account_id,
            reason: &body.reason,
            source: FlagSource::Manual,
            next_step: body.next_step.as_deref().unwrap_or(""),
            next_step_due: due,
            by: p.email.as_deref(),
        },
        today(),
    )
    .await?;
    state.web.cache.invalidate();
    Ok((StatusCode::CREATED, Json(flag_out(&f))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// saved, churned or downgraded.
    pub outcome: String,
    pub notes: Option<String>,
}

/// An outcome, or the error naming the field.
pub fn outcome_field(s: &str) -> Result<Outcome, String> {
    Outcome::parse(s)
        .ok_or_else(|| format!("outcome: expected saved, churned or downgraded, not {s:?}"))
}

/// Take a flag off the board with an outcome.
#[utoipa::path(post, path = "/risk/flags/{id}/resolve", tag = "risk",
    params(("id" = String, Path)),
    request_body = ResolveIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = FlagOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn resolve_flag(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveIn>,
) -> Result<Json<FlagOut>, AppError> {
    p.require_write()?;
    let outcome = outcome_field(&body.outcome).map_err(AppError::invalid)?;
    let f = risk::resolve_flag(
        &state.store,
        &p.scope(),
        &id,
        outcome,
        body.notes.as_deref(),
        today(),
    )
    .await?;
    state.web.cache.invalidate();
    Ok(Json(flag_out(&f)))
}

/// How much of a review's ARR was kept.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeOut {
    /// YYYY-MM-DD: 90 days after the review, or today when sooner.
    pub as_of: String,
    pub accounts: usize,
    /// Accounts still paying on `as_of`.
    pub kept_accounts: usize,
    pub reviewed_arr: f64,
    pub kept_arr: f64,
}

fn outcome_out(o: &ReviewOutcome, c: Currency) -> OutcomeOut {
    OutcomeOut {
        as_of: o.as_of.to_string(),
        accounts: o.accounts,
        kept_accounts: o.kept_accounts,
        reviewed_arr: units(o.reviewed_arr, c),
        kept_arr: units(o.kept_arr, c),
    }
}

/// A leadership review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewOut {
    pub id: String,
    /// YYYY-MM-DD.
    pub opened_on: String,
    /// The thresholds that crossed, in words.
    pub crossed: String,
    /// open or held.
    pub status: String,
    pub held_on: Option<String>,
    pub attendees: Vec<String>,
    pub outcome: OutcomeOut,
}

pub fn review_out(r: &Review, o: &ReviewOutcome, c: Currency) -> ReviewOut {
    ReviewOut {
        id: r.id.clone(),
        opened_on: r.opened_on.to_string(),
        crossed: r.crossed.clone(),
        status: r.status.as_str().to_string(),
        held_on: r.held_on.map(|d| d.to_string()),
        attendees: r.attendees.clone(),
        outcome: outcome_out(o, c),
    }
}

/// An account of a review and its decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewItemOut {
    pub account_id: String,
    pub account_name: String,
    /// ARR at risk when the review opened.
    pub arr: f64,
    pub reason: String,
    pub action: Option<String>,
    pub decision: Option<String>,
    pub owner_email: Option<String>,
    pub due: Option<String>,
    /// The task the decision made.
    pub task_id: Option<String>,
    /// Still paying on the outcome's day.
    pub still_paying: bool,
}

/// `GET /reviews/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewDetailOut {
    #[serde(flatten)]
    pub review: ReviewOut,
    pub currency: String,
    pub accounts: Vec<ReviewItemOut>,
}

pub fn review_detail_out(v: &ReviewView) -> ReviewDetailOut {
    let c = v.currency;
    ReviewDetailOut {
        review: review_out(&v.review, &v.outcome, c),
        currency: c.as_str().to_string(),
        accounts: v
            .items
            .iter()
            .map(|(i, name, paying)| ReviewItemOut {
                account_id: i.account_id.clone(),
                account_name: name.clone(),
                arr: units(i.arr, c),
                reason: i.reason.clone(),
                action: i.action.clone(),
                decision: i.decision.clone(),
                owner_email: i.owner_email.clone(),
                due: i.due_on.map(|d| d.to_string()),
                task_id: i.task_id.clone(),
                still_paying: *paying,
            })
            .collect(),
    }
}

/// `GET /reviews`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewsOut {
    pub currency: String,
    /// Newest first.
    pub reviews: Vec<ReviewOut>,
}

#[utoipa::path(get, path = "/reviews", tag = "risk",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReviewsOut),
        (status = 401, body = ErrorBody),
    ))]
pub async fn list_reviews(
    State(state): State<AppState>,
    p: Principal,
) -> Result<Json<ReviewsOut>, AppError> {
    let c = state.web.config.currency.reporting;
    let all = risk::reviews(&state.store, &state.web.config, &p.scope(), today()).await?;
    Ok(Json(ReviewsOut {
        currency: c.as_str().to_string(),
        reviews: all.iter().map(|(r, o)| review_out(r, o, c)).collect(),
    }))
}

#[utoipa::path(get, path = "/reviews/{id}", tag = "risk",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReviewDetailOut),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_review(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<ReviewDetailOut>, AppError> {
    let v = risk::review(&state.store, &state.web.config, &p.scope(), &id, today()).await?;
    Ok(Json(review_detail_out(&v)))
}

/// A decision for one account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    pub account_id: String,
    /// What was decided; the task's title when it has an owner and a due day.
    pub action: String,
    pub owner_email: Option<String>,
    /// YYYY-MM-DD.
    pub due: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldIn {
    /// YYYY-MM-DD (default: today).
    pub held_on: Option<String>,
    pub attendees: Vec<String>,
    #[serde(default)]
    pub decisions: Vec<DecisionIn>,
}

/// The app's decisions from the JSON's.
pub fn decisions(body: &[DecisionIn]) -> Result<Vec<Decision>, AppError> {
    body.iter()
        .map(|d| {
            Ok(Decision {
                account_id: d.account_id.clone(),
                action: d.action.clone(),
                owner_email: d.owner_email.clone().unwrap_or_default(),
                due: date_field("due", d.due.as_deref())?,
                notes: d.notes.clone().unwrap_or_default(),
            })
        })
        .collect()
}

/// Hold a review: attendees and a decision per account; decisions with an
/// owner and a due day make tasks. Leaders and admins only.
#[utoipa::path(post, path = "/reviews/{id}/hold", tag = "risk",
    params(("id" = String, Path)),
    request_body = HoldIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReviewDetailOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn hold_review(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HoldIn>,
) -> Result<Json<ReviewDetailOut>, AppError> {
    p.require_role(&[Role::Admin, Role::Leader])?;
    let held_on = date_field("held_on", body.held_on.as_deref())?.unwrap_or_else(today);
    let ds = decisions(&body.decisions)?;
    let v = risk::hold_review(
        &state.store,
        &state.web.config,
        &id,
        held_on,
        &body.attendees,
        &ds,
    )
    .await?;
    state.web.cache.invalidate();
    Ok(Json(review_detail_out(&v)))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_risk))
        .routes(routes!(add_flag))
        .routes(routes!(resolve_flag))
        .routes(routes!(list_reviews))
        .routes(routes!(get_review))
        .routes(routes!(hold_review))
}
