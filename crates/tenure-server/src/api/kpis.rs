//! `/api/v1/kpis` and `/api/v1/kpis/history`: the CSM KPIs against their
//! targets (docs/TARGET.md), from the application layer
//! (`tenure_app::target::kpis`), the same as `tenure kpis` (whose `--format
//! json` prints these shapes) and the team page.
//!
//! Every role but the viewer (403: it sees only the shared views) may
//! read them. Admins and leaders (and a CSM allowed every account) see every CSM's row and the team's; a CSM sees
//! their own row and the team's. A CSM who asks for another CSM
//! (`csm=other@...`) is answered 404, whether or not that CSM exists, so
//! the answer tells them nothing about other portfolios; asking for
//! themselves is the same as not asking.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tenure_app::clock::today;
use tenure_app::target::kpis::{KpiQuery, KpiRow, Kpis, MAX_MONTHS, kpi_history, kpis};
use tenure_core::target::kpis::{Direction, Kpi, Unit};
use tenure_store::api::Scope;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::engage::{EngageParams, query as period_query};
use crate::api::extract::ApiQuery;
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// Months of history when none is asked.
pub const DEFAULT_MONTHS: usize = 12;

/// The day, the period and the CSM asked for.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiParams {
    /// The last day, YYYY-MM-DD (default: today, UTC): the day of the
    /// counts, ARR, health, usage, overdue tasks and time to value.
    pub as_of: Option<String>,
    /// The first day of the period of NPS, CSAT, plan execution, cadence
    /// compliance, GRR and NRR, YYYY-MM-DD (default: 89 days before
    /// `as_of`, a 90-day period).
    pub from: Option<String>,
    /// Only this CSM's row (their email; the team's row always comes). A
    /// CSM gets their own row; asking for another CSM's is 404.
    pub csm: Option<String>,
}

/// The history asked for.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// The day the history runs to, YYYY-MM-DD (default: today, UTC):
    /// the whole months ending on or before it.
    pub as_of: Option<String>,
    /// How many months, 1 to 36 (default 12).
    pub months: Option<String>,
    /// Only this CSM's rows, as for `/kpis`.
    pub csm: Option<String>,
}

/// Why a query cannot be answered: a bad parameter (400, its name first)
/// or another CSM's portfolio (404).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Bad(String),
    NotFound(String),
}

impl From<Refused> for AppError {
    fn from(r: Refused) -> AppError {
        match r {
            Refused::Bad(m) => AppError::bad_request(m),
            Refused::NotFound(m) => AppError::not_found(m),
        }
    }
}

/// The CSM a caller in `scope` gets: a CSM their own (another is refused),
/// anyone else the one asked, if any.
fn csm_for(asked: Option<&str>, scope: &Scope) -> Result<Option<String>, Refused> {
    let asked = asked.map(str::trim).filter(|s| !s.is_empty());
    match scope {
        Scope::All => Ok(asked.map(str::to_string)),
        Scope::Csm(own) => match asked {
            Some(a) if !a.eq_ignore_ascii_case(own.trim()) => Err(Refused::NotFound(format!(
                "csm: no portfolio of {a:?} among those you may see (a CSM sees their own)"
            ))),
            _ => Ok(Some(own.clone())),
        },
    }
}

/// The KPI query of `params` for a caller in `scope`, checked as the
/// Engage routes check theirs: days between 1970 and ten years ahead, a
/// period that does not end before it starts; each error names its
/// parameter (`as_of: ...`, `from: ...`).
pub fn query(params: &KpiParams, scope: &Scope, today: Date) -> Result<KpiQuery, Refused> {
    let q = period_query(
        &EngageParams {
            as_of: params.as_of.clone(),
            from: params.from.clone(),
            csm: None,
        },
        &Scope::All,
        today,
    )
    .map_err(Refused::Bad)?;
    Ok(KpiQuery {
        day: q.day,
        from: q.from,
        csm: csm_for(params.csm.as_deref(), scope)?,
    })
}

/// The history asked for: `(day, months, csm)`.
pub fn history_query(
    params: &HistoryParams,
    scope: &Scope,
    today: Date,
) -> Result<(Date, usize, Option<String>), Refused> {
    let q = query(
        &KpiParams {
            as_of: params.as_of.clone(),
            from: None,
            csm: params.csm.clone(),
        },
        scope,
        today,
    )?;
    let months = match params.months.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_MONTHS,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|m| (1..=MAX_MONTHS).contains(m))
            .ok_or_else(|| {
                Refused::Bad(format!(
                    "months: a whole number from 1 to {MAX_MONTHS}, not {m:?}"
                ))
            })?,
    };
    Ok((q.day, months, q.csm))
}

/// A KPI's definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiDefOut {
    /// The name used in tenure.toml's `[target.kpis]` and as the key of
    /// `values`.
    pub kpi: &'static str,
    pub label: &'static str,
    /// `at_least` (higher is better) or `at_most`.
    pub direction: &'static str,
    /// count, money (reporting currency units), score (0–100),
    /// fraction (0–1), nps (−100..100) or days.
    pub unit: &'static str,
}

/// Every KPI, in the order pages and tables show them.
pub fn definitions() -> Vec<KpiDefOut> {
    Kpi::ALL
        .into_iter()
        .map(|k| KpiDefOut {
            kpi: k.name(),
            label: k.label(),
            direction: match k.direction() {
                Direction::AtLeast => "at_least",
                Direction::AtMost => "at_most",
            },
            unit: unit_name(k.unit()),
        })
        .collect()
}

/// The JSON name of a unit.
pub fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Count => "count",
        Unit::Money => "money",
        Unit::Score => "score",
        Unit::Fraction => "fraction",
        Unit::Nps => "nps",
        Unit::Days => "days",
    }
}

/// A KPI's value against its target.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiValueOut {
    /// Null when there is nothing to measure (never 0 for "no data").
    pub value: Option<f64>,
    /// Null when no target is set (tenure.toml `[target.kpis]`, or the
    /// CSM's own under `[[target.csm]]`).
    pub target: Option<f64>,
    /// green, amber or red; null without a value or a target.
    pub rag: Option<&'static str>,
}

/// A CSM's portfolio or the team's.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiRowOut {
    /// The CSM's email in lower case; null for the team.
    pub csm: Option<String>,
    /// Accounts in the portfolio, customers or not.
    pub accounts_in_portfolio: u64,
    /// Each KPI by name.
    pub values: BTreeMap<String, KpiValueOut>,
}

pub fn row_out(r: &KpiRow) -> KpiRowOut {
    KpiRowOut {
        csm: r.csm.clone(),
        accounts_in_portfolio: r.members,
        values: r
            .cells
            .iter()
            .map(|c| {
                (
                    c.kpi.name().to_string(),
                    KpiValueOut {
                        value: c.value,
                        target: c.target,
                        rag: c.rag.map(|r| r.as_str()),
                    },
                )
            })
            .collect(),
    }
}

/// `GET /kpis`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpisOut {
    /// YYYY-MM-DD: the day.
    pub as_of: String,
    /// YYYY-MM-DD: the period's first day.
    pub from: String,
    /// The reporting currency of ARR.
    pub currency: String,
    pub kpis: Vec<KpiDefOut>,
    /// One row per CSM the caller may see (or the one asked), by email.
    pub csms: Vec<KpiRowOut>,
    pub team: KpiRowOut,
}

pub fn kpis_out(k: &Kpis) -> KpisOut {
    KpisOut {
        as_of: k.day.to_string(),
        from: k.from.to_string(),
        currency: k.currency.clone(),
        kpis: definitions(),
        csms: k.csms.iter().map(row_out).collect(),
        team: row_out(&k.team),
    }
}

/// One month of the history.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = KpiMonthOut)]
pub struct MonthOut {
    /// YYYY-MM.
    pub month: String,
    /// YYYY-MM-DD: its first and last days, the period.
    pub from: String,
    pub to: String,
    pub csms: Vec<KpiRowOut>,
    pub team: KpiRowOut,
}

/// `GET /kpis/history`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = KpiHistoryOut)]
pub struct HistoryOut {
    pub as_of: String,
    pub currency: String,
    pub kpis: Vec<KpiDefOut>,
    /// Oldest first.
    pub months: Vec<MonthOut>,
}

pub fn history_out(day: Date, currency: &str, months: &[Kpis]) -> HistoryOut {
    HistoryOut {
        as_of: day.to_string(),
        currency: currency.to_string(),
        kpis: definitions(),
        months: months
            .iter()
            .map(|m| MonthOut {
                month: format!("{:04}-{:02}", m.day.year(), m.day.month()),
                from: m.from.to_string(),
                to: m.day.to_string(),
                csms: m.csms.iter().map(row_out).collect(),
                team: row_out(&m.team),
            })
            .collect(),
    }
}

/// Each CSM's KPIs and the team's over the period, against their targets.
#[utoipa::path(get, path = "/kpis", tag = "kpis",
    params(KpiParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = KpisOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn get_kpis(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(params): ApiQuery<KpiParams>,
) -> Result<Json<KpisOut>, AppError> {
    let q = query(&params, &p.scope(), today())?;
    let k = kpis(&state.store, &state.web.config, &q).await?;
    Ok(Json(kpis_out(&k)))
}

/// The same KPIs for each of the last whole months (each month its own
/// period), oldest first.
#[utoipa::path(get, path = "/kpis/history", tag = "kpis",
    params(HistoryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = HistoryOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn get_history(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<HistoryOut>, AppError> {
    let (day, months, csm) = history_query(&params, &p.scope(), today())?;
    let config = &state.web.config;
    let list = kpi_history(&state.store, config, day, months, csm.as_deref()).await?;
    Ok(Json(history_out(
        day,
        config.currency.reporting.as_str(),
        &list,
    )))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_kpis))
        .routes(routes!(get_history))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(as_of: &str, from: &str, csm: &str) -> KpiParams {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        KpiParams {
            as_of: opt(as_of),
            from: opt(from),
            csm: opt(csm),
        }
    }

    #[test]
    fn dates_are_checked_and_a_csm_gets_only_their_own_row() {
        let today: Date = "2026-03-10".parse().unwrap();
        let all = Scope::All;
        let q = query(&params("", "", ""), &all, today).unwrap();
        assert_eq!(
            (q.day, q.from.to_string(), q.csm),
            (today, "2025-12-11".into(), None)
        );
        let Err(Refused::Bad(m)) = query(&params("2026-13-01", "", ""), &all, today) else {
            panic!()
        };
        assert!(m.starts_with("as_of: "), "{m}");
        let Err(Refused::Bad(m)) = query(&params("2026-03-01", "2026-03-02", ""), &all, today)
        else {
            panic!()
        };
        assert!(m.starts_with("from: "), "{m}");
        assert_eq!(
            query(&params("", "", " Ann@X.com "), &all, today)
                .unwrap()
                .csm
                .as_deref(),
            Some("Ann@X.com")
        );
        let own = Scope::Csm("bo@x.com".into());
        assert_eq!(
            query(&params("", "", ""), &own, today)
                .unwrap()
                .csm
                .as_deref(),
            Some("bo@x.com")
        );
        assert!(query(&params("", "", "BO@x.com"), &own, today).is_ok());
        assert!(matches!(
            query(&params("", "", "ann@x.com"), &own, today),
            Err(Refused::NotFound(_))
        ));
    }

    #[test]
    fn months_are_one_to_thirty_six() {
        let today: Date = "2026-03-10".parse().unwrap();
        let h = |m: &str| HistoryParams {
            months: (!m.is_empty()).then(|| m.to_string()),
            ..HistoryParams::default()
        };
        assert_eq!(history_query(&h(""), &Scope::All, today).unwrap().1, 12);
        assert_eq!(history_query(&h("36"), &Scope::All, today).unwrap().1, 36);
        for bad in ["0", "37", "x", "-1"] {
            let Err(Refused::Bad(m)) = history_query(&h(bad), &Scope::All, today) else {
                panic!("{bad}")
            };
            assert!(m.starts_with("months: "), "{m}");
        }
    }
}
