//! `/metrics` (for browsers; Prometheus gets its text at the same path):
//! every metric of docs/METRICS.md for a chosen period, each with its
//! definition (`Metric::definition`) one click away, the cohort retention
//! heatmap and the MRR ledger with a drill-down to the subscriptions behind
//! each movement.
//!
//! The period's report is computed from the cached dataset on request (one
//! pass over the accounts' MRR change points); usage metrics stream the 30
//! days of events ending with the period once per cached view.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;
use tenure_core::metrics::{
    CohortMetric, CohortQuery, LedgerQuery, Metric, MetricKind, Movement, MovementKind, Period,
    Report, Usage,
};
use tenure_core::model::parse_date;

use tenure_core::model::{add_days, month_back};

use tenure_app::survival::{Groups, SurvivalQuery, runs_for};
use tenure_core::survival::{GroupBy, MILESTONES};
use tenure_store::engage::Run;

use super::cache::View;
use super::charts::{StepCurve, survival};
use super::layout::{Nav, money, num, pct, render, thousands, urlencode};
use super::{WebError, WebUser};
use crate::AppState;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetricsQuery {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub preset: Option<String>,
    #[serde(default)]
    pub cohort: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    /// The survival curves' grouping: `segment`, `plan`, `tier` or none.
    #[serde(default)]
    pub by: Option<String>,
}

/// One survival curve's line in the table under the chart.
#[derive(Debug, Clone)]
pub struct SurvivalRow {
    pub name: String,
    pub accounts: String,
    pub churned: String,
    pub median: String,
    /// Survival at 3, 6, 12 and 24 months with its band.
    pub at: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct MetricRow {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub definition: &'static str,
}

#[derive(Debug, Clone)]
pub struct CohortOut {
    pub month: String,
    pub size: String,
    pub cells: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct SubOut {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct LedgerOut {
    pub date: String,
    pub account: String,
    pub href: String,
    pub kind: &'static str,
    pub amount: String,
    pub before_after: String,
    pub subs: Vec<SubOut>,
}

#[derive(Template)]
#[template(path = "metrics.html")]
pub struct MetricsPage {
    pub nav: Nav,
    pub from: String,
    pub to: String,
    pub error: Option<String>,
    pub presets: Vec<(&'static str, &'static str, String)>,
    pub groups: Vec<(&'static str, Vec<MetricRow>)>,
    pub cohort_metric: &'static str,
    pub cohort_other: (&'static str, String),
    pub cohort_months: Vec<String>,
    pub cohorts: Vec<CohortOut>,
    pub ledger: Vec<LedgerOut>,
    pub ledger_total: String,
    pub ledger_kind: String,
    pub kind_links: Vec<(&'static str, String, bool)>,
    pub period_query: String,
    /// The survival curves' grouping and the choices of the selector:
    /// `(value, label, selected)`.
    pub survival_by: &'static str,
    pub survival_options: Vec<(&'static str, &'static str, bool)>,
    pub survival_chart: String,
    pub survival_rows: Vec<SurvivalRow>,
}

fn presets(today: Date) -> Vec<(&'static str, &'static str, Date, Date)> {
    let q_first = month_back(
        Date::new(today.year(), (today.month() - 1) / 3 * 3 + 1, 1).unwrap_or(today),
        0,
    );
    let last_q_first = month_back(q_first, 3);
    vec![
        ("30d", "Last 30 days", add_days(today, -29), today),
        ("qtd", "Quarter to date", q_first, today),
        ("lastq", "Last quarter", last_q_first, add_days(q_first, -1)),
        (
            "ytd",
            "Year to date",
            Date::new(today.year(), 1, 1).unwrap_or(today),
            today,
        ),
        (
            "12m",
            "Last 12 months",
            month_back(today.first_of_month(), 11),
            today,
        ),
    ]
}

/// The period from the query: a preset, or from/to dates; a bad value
/// falls back to the last 30 days with a message.
fn period(q: &MetricsQuery, today: Date) -> (Period, Option<String>) {
    let ps = presets(today);
    let default = Period::new(ps[0].2, ps[0].3).expect("30 days");
    if let Some(p) = q
        .preset
        .as_deref()
        .and_then(|k| ps.iter().find(|p| p.0 == k))
    {
        return (Period::new(p.2, p.3).unwrap_or(default), None);
    }
    let (f, t) = (
        q.from.as_deref().unwrap_or("").trim(),
        q.to.as_deref().unwrap_or("").trim(),
    );
    if f.is_empty() && t.is_empty() {
        return (default, None);
    }
    match (parse_date(f), parse_date(t)) {
        (Ok(a), Ok(b)) if a <= b && b <= add_days(today, 3660) && a.year() >= 1970 => {
            (Period::new(a, b).unwrap_or(default), None)
        }
        (Ok(a), Ok(b)) if a > b => (
            default,
            Some("The period ends before it starts: showing the last 30 days.".into()),
        ),
        _ => (
            default,
            Some("Enter both dates as YYYY-MM-DD: showing the last 30 days.".into()),
        ),
    }
}

fn show(v: &View, m: Metric, value: Option<f64>, reason: Option<&str>) -> String {
    let cur = v.currency();
    match value {
        None => format!("n/a ({})", reason.unwrap_or("undefined")),
        Some(x) => match m.kind() {
            MetricKind::Money => money(x, cur, false),
            MetricKind::Fraction => pct(Some(x)),
            MetricKind::Count => thousands(x.round() as i64),
            MetricKind::Nps => format!("{x:+.1}"),
            MetricKind::Score => num(Some(x), 2),
            MetricKind::Minutes => format!("{} min", num(Some(x), 1)),
            MetricKind::Days => format!("{} days", num(Some(x), 1)),
        },
    }
}

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<MetricsQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let v = state.web.cache.view(&state, &p.scope()).await?;
    let (period, _) = period(&q, v.today);
    let usage = v.usage(&state.store, period.to()).await?;
    let runs = runs_for(&state.store, survival_by(&q)).await?;
    render(&build(&v, Nav::new(&p, "metrics"), &q, Some(&usage), &runs))
}

/// The survival curves' grouping asked for (one curve when none or an
/// unknown one).
fn survival_by(q: &MetricsQuery) -> GroupBy {
    GroupBy::parse(q.by.as_deref().unwrap_or("")).unwrap_or(GroupBy::All)
}

/// The page; `runs` are the recorded Engage runs when the survival
/// curves are grouped by segment or tier.
pub fn build(
    v: &View,
    nav: Nav,
    q: &MetricsQuery,
    usage: Option<&Usage>,
    runs: &[Run],
) -> MetricsPage {
    let today = v.today;
    let (period, error) = period(q, today);
    let report = v.dataset.report(period, &v.settings, usage);
    let groups = metric_groups(v, &report);

    let metric = match q.cohort.as_deref() {
        Some("revenue") => CohortMetric::Revenue,
        _ => CohortMetric::Logo,
    };
    let (months, cohorts) = cohort_rows(v, metric);

    let kind = q.kind.as_deref().and_then(|k| MovementKind::parse(k).ok());
    let (ledger, ledger_total) = ledger_rows(v, period, kind);
    let period_query = format!("from={}&to={}", period.from(), period.to());
    let kind_links = kind_links(&period_query, kind);
    let by = survival_by(q);
    let (survival_chart, survival_rows) = survival_section(v, by, runs);
    MetricsPage {
        nav,
        from: period.from().to_string(),
        to: period.to().to_string(),
        error,
        presets: presets(today)
            .into_iter()
            .map(|(k, l, a, b)| (k, l, format!("?from={a}&to={b}")))
            .collect(),
        groups,
        cohort_metric: metric.as_str(),
        cohort_other: match metric {
            CohortMetric::Logo => ("revenue", format!("?{period_query}&cohort=revenue#cohorts")),
            CohortMetric::Revenue => ("logo", format!("?{period_query}&cohort=logo#cohorts")),
        },
        cohort_months: (0..months).map(|k| format!("M{k}")).collect(),
        cohorts,
        ledger,
        ledger_total,
        ledger_kind: kind.map_or("all".into(), |k| k.as_str().to_string()),
        kind_links,
        period_query,
        survival_by: by.as_str(),
        survival_options: [
            (GroupBy::All, "All accounts"),
            (GroupBy::Segment, "Segment"),
            (GroupBy::Plan, "Plan"),
            (GroupBy::Tier, "Tier"),
        ]
        .into_iter()
        .map(|(g, label)| (g.as_str(), label, g == by))
        .collect(),
        survival_chart,
        survival_rows,
    }
}

/// The Kaplan–Meier chart of the view's accounts on its day, one curve per
/// group (the first six groups by accounts drawn, every group in the
/// table), and the table's rows: the same pipeline as `tenure survival`
/// on the view's dataset and accounts.
fn survival_section(v: &View, by: GroupBy, runs: &[Run]) -> (String, Vec<SurvivalRow>) {
    let report = tenure_app::survival::report(
        &v.dataset,
        SurvivalQuery { by, as_of: v.today },
        &Groups {
            visible: &|_| true,
            plan: &|i| v.accounts[i].plan.clone(),
            runs,
        },
    );
    let pct_band = |p: Option<tenure_core::survival::Point>| match p {
        Some(p) => format!(
            "{:.0}% ({:.0}–{:.0})",
            p.survival * 100.0,
            p.lower * 100.0,
            p.upper * 100.0
        ),
        None => "n/a".into(),
    };
    let days = |d: Option<u32>| d.map_or("not reached".to_string(), |d| format!("{d}"));
    let rows: Vec<SurvivalRow> = report
        .groups
        .iter()
        .map(|g| SurvivalRow {
            name: g.name.clone(),
            accounts: thousands(g.curve.accounts as i64),
            churned: thousands(g.curve.churned as i64),
            median: match g.median.days {
                Some(d) => format!(
                    "{d} days (95% CI {}–{})",
                    days(g.median.lower),
                    days(g.median.upper)
                ),
                None => "not reached".into(),
            },
            at: MILESTONES
                .iter()
                .map(|&(_, d)| pct_band(g.curve.at(d)))
                .collect(),
        })
        .collect();
    let mut drawn: Vec<&tenure_app::survival::GroupCurve> = report.groups.iter().collect();
    drawn.sort_by_key(|g| std::cmp::Reverse(g.curve.accounts));
    drawn.truncate(KM_CLASSES.len());
    drawn.sort_by(|a, b| a.name.cmp(&b.name));
    let curves: Vec<StepCurve> = drawn
        .iter()
        .zip(KM_CLASSES)
        .map(|(g, class)| StepCurve {
            name: g.name.clone(),
            class,
            steps: g
                .curve
                .steps
                .iter()
                .filter(|s| s.churned > 0)
                .map(|s| (s.day as f64, s.survival, s.lower, s.upper))
                .collect(),
            last_day: g.curve.steps.last().map_or(0.0, |s| s.day as f64),
        })
        .collect();
    let desc = rows
        .iter()
        .map(|r| {
            format!(
                "{}: {} accounts, {} churned, median lifetime {}, still customers after 12 months {}",
                r.name, r.accounts, r.churned, r.median, r.at[2]
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let chart = if curves.is_empty() {
        String::new()
    } else {
        survival(
            "survival",
            "Share of accounts still customers by months since first MRR",
            &curves,
            &desc,
        )
    };
    (chart, rows)
}

/// The colours of the survival curves, at most six drawn.
const KM_CLASSES: [&str; 6] = ["km0", "km1", "km2", "km3", "km4", "km5"];

/// The section of the page a metric is listed in: an index into the groups
/// of [`metric_groups`].
fn group_of(m: Metric) -> usize {
    match m {
        Metric::MrrStart
        | Metric::MrrEnd
        | Metric::ArrEnd
        | Metric::NewMrr
        | Metric::ExpansionMrr
        | Metric::ContractionMrr
        | Metric::ChurnedMrr
        | Metric::ReactivationMrr
        | Metric::Arpa
        | Metric::Cltv
        | Metric::Crc => 0,
        Metric::Nrr
        | Metric::Grr
        | Metric::RevenueChurnRate
        | Metric::LogoChurnRate
        | Metric::AccountsStart
        | Metric::AccountsEnd
        | Metric::RenewalRate
        | Metric::RenewalRateArr
        | Metric::TrialConversionRate => 1,
        Metric::Nps | Metric::Csat | Metric::Ces | Metric::Fcr => 2,
        _ => 3,
    }
}

/// Every metric of the report, formatted, in its section.
fn metric_groups(v: &View, report: &Report) -> Vec<(&'static str, Vec<MetricRow>)> {
    let mut groups: Vec<(&'static str, Vec<MetricRow>)> = vec![
        ("Revenue", vec![]),
        ("Retention", vec![]),
        ("Customer voice and support", vec![]),
        ("Product usage", vec![]),
    ];
    for mv in report.values() {
        let m = mv.metric;
        let reason = mv.reason;
        groups[group_of(m)].1.push(MetricRow {
            key: m.key(),
            label: m.label(),
            value: show(v, m, mv.value, reason),
            definition: m.definition(),
        });
    }
    groups
}

/// The cohort heatmap of the last twelve months: the number of month
/// columns, and one row per cohort with a colour per cell.
fn cohort_rows(v: &View, metric: CohortMetric) -> (usize, Vec<CohortOut>) {
    let table = v.dataset.cohorts(&CohortQuery {
        from: Some(month_back(v.today.first_of_month(), 11)),
        as_of: v.today,
    });
    let months = table.rows.iter().map(|r| r.months()).max().unwrap_or(0);
    let cohorts = table
        .rows
        .iter()
        .map(|r| CohortOut {
            month: r.month.strftime("%Y-%m").to_string(),
            size: thousands(r.size as i64),
            cells: (0..r.months())
                .map(|k| match r.retention(metric, k) {
                    Some(x) => {
                        // Lightness from 92% (0 retention) to 38% (full or more).
                        let l = 92.0 - (x.min(1.2) / 1.2) * 54.0;
                        (
                            format!("{:.0}%", x * 100.0),
                            format!(
                                "background: hsl(205 60% {l:.0}%); color: {}",
                                if l < 60.0 { "#fff" } else { "#111" }
                            ),
                        )
                    }
                    None => ("–".into(), String::new()),
                })
                .collect(),
        })
        .collect();
    (months, cohorts)
}

/// The period's MRR movements of `kind` (all without one), newest and
/// largest first, the first 200 of them, and the line totalling them all.
fn ledger_rows(v: &View, period: Period, kind: Option<MovementKind>) -> (Vec<LedgerOut>, String) {
    let mut ledger = v.dataset.ledger(&LedgerQuery {
        period: Some(period),
        account: None,
        kind,
    });
    ledger.sort_by(|a, b| {
        b.date
            .cmp(&a.date)
            .then(b.amount_minor.cmp(&a.amount_minor))
    });
    let cur = v.currency().to_string();
    let ledger_total = format!(
        "{} movements, net {}",
        thousands(ledger.len() as i64),
        money(
            v.units(
                ledger
                    .iter()
                    .map(|m| m.mrr_after_minor - m.mrr_before_minor)
                    .sum()
            ),
            &cur,
            false
        )
    );
    let rows = ledger
        .iter()
        .take(200)
        .map(|m| ledger_row(v, m, &cur))
        .collect();
    (rows, ledger_total)
}

/// One movement of the ledger, with the subscriptions behind it.
fn ledger_row(v: &View, m: &Movement, cur: &str) -> LedgerOut {
    let a = &v.accounts[m.account];
    LedgerOut {
        date: m.date.to_string(),
        account: a.name.clone(),
        href: format!("/accounts/{}", urlencode(&a.id)),
        kind: m.kind.as_str(),
        amount: money(v.units(m.amount_minor), cur, false),
        before_after: format!(
            "{} → {}",
            money(v.units(m.mrr_before_minor), cur, false),
            money(v.units(m.mrr_after_minor), cur, false)
        ),
        subs: m
            .subscription_ids
            .iter()
            .map(|id| SubOut {
                id: id.clone(),
                text: match v.subscriptions.get(id) {
                    Some(s) => format!(
                        "{} · {} MRR{} · {} → {}{}",
                        s.plan.as_deref().unwrap_or("no plan"),
                        s.mrr,
                        s.seats.map(|n| format!(" · {n} seats")).unwrap_or_default(),
                        s.start,
                        s.end.map_or("open".to_string(), |d| d.to_string()),
                        s.renewal
                            .map(|d| format!(" · renews {d}"))
                            .unwrap_or_default()
                    ),
                    None => String::new(),
                },
            })
            .collect(),
    }
}

/// The ledger's filter links: all movements, then each kind.
fn kind_links(period_query: &str, kind: Option<MovementKind>) -> Vec<(&'static str, String, bool)> {
    std::iter::once(("all", format!("?{period_query}#ledger"), kind.is_none()))
        .chain(MovementKind::ALL.iter().map(|k| {
            (
                k.as_str(),
                format!("?{period_query}&kind={}#ledger", k.as_str()),
                kind == Some(*k),
            )
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_period_falls_back_to_thirty_days_with_a_message() {
        let today = parse_date("2026-03-10").unwrap();
        let q = |f: &str, t: &str| MetricsQuery {
            from: Some(f.into()),
            to: Some(t.into()),
            ..MetricsQuery::default()
        };
        let (p, e) = period(&q("2026-02-01", "2026-01-01"), today);
        assert_eq!(p.days(), 30);
        assert!(e.unwrap().contains("ends before"));
        let (_, e) = period(&q("yesterday", ""), today);
        assert!(e.is_some());
        let (p, e) = period(&q("2026-01-01", "2026-01-31"), today);
        assert_eq!((p.days(), e), (31, None));
        let (p, _) = period(
            &MetricsQuery {
                preset: Some("lastq".into()),
                ..MetricsQuery::default()
            },
            today,
        );
        assert_eq!(p.from().to_string(), "2025-10-01");
        assert_eq!(p.to().to_string(), "2025-12-31");
    }
}
