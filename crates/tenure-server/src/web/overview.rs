//! `/`: the overview. ARR and MRR with the monthly MRR movements, NRR, GRR
//! and logo churn by month, NPS and CSAT, the health band distribution and
//! its trend, and the revenue at risk. A CSM sees the same for their own
//! accounts.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use tenure_core::metrics::Metric;

use super::cache::{View, band_slot};
use super::charts::{self, Series};
use super::layout::{Nav, money, pct, render, thousands};
use super::{WebError, WebUser};
use crate::AppState;

/// A big number with a label and a line of context.
#[derive(Debug, Clone)]
pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub note: String,
    /// Shown as the value's tooltip: the metric's definition.
    pub help: &'static str,
}

#[derive(Debug, Clone)]
pub struct BandCell {
    pub band: &'static str,
    pub label: &'static str,
    pub count: String,
    pub share: String,
    /// Percentage width of its part of the bar.
    pub width: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub nav: Nav,
    pub scope_note: String,
    pub revenue: Vec<Card>,
    pub retention: Vec<Card>,
    pub voice: Vec<Card>,
    pub movements_chart: String,
    pub retention_chart: String,
    pub bands: Vec<BandCell>,
    pub band_chart: String,
    pub health_note: String,
    pub at_risk_arr: String,
    pub at_risk_count: String,
    pub warnings: Vec<String>,
}

fn month_label(d: jiff::civil::Date) -> String {
    d.strftime("%b %y").to_string()
}

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
) -> Result<Response, WebError> {
    let view = state.web.cache.view(&state, &p.scope()).await?;
    let nav = Nav::new(&p, "overview");
    render(&build(&view, nav))
}

pub fn build(v: &View, nav: Nav) -> OverviewPage {
    let cur = v.currency().to_string();
    let m = |x: f64| money(x, &cur, true);
    let mrr_now: i64 = v.rows.iter().map(|r| r.mrr_minor).sum();
    let this_month = v.months.last();
    let net_new = this_month.map_or(0, |r| r.movements.net());
    let active = v.rows.iter().filter(|r| r.mrr_minor > 0).count();
    let revenue = vec![
        Card {
            label: "ARR",
            value: money(v.units(mrr_now * 12), &cur, true),
            note: format!("{} paying accounts", thousands(active as i64)),
            help: "12 × MRR today",
        },
        Card {
            label: "MRR",
            value: money(v.units(mrr_now), &cur, true),
            note: format!(
                "{} net new this month",
                if net_new >= 0 { "+" } else { "" }.to_string()
                    + &money(v.units(net_new), &cur, true)
            ),
            help: "Sum of running subscriptions' MRR today",
        },
        Card {
            label: "ARPA",
            value: v.last30.get(Metric::Arpa).map_or("–".into(), m),
            note: "per paying account, monthly".into(),
            help: "MRR ÷ paying accounts",
        },
    ];
    let r30 = &v.last30;
    let retention = vec![
        Card {
            label: "NRR (30 days)",
            value: pct(r30.get(Metric::Nrr)),
            note: "revenue kept incl. expansion".into(),
            help: "Σ cohort MRR today ÷ Σ cohort MRR 30 days ago",
        },
        Card {
            label: "GRR (30 days)",
            value: pct(r30.get(Metric::Grr)),
            note: "revenue kept excl. expansion".into(),
            help: "Σ min(MRR today, MRR at start) ÷ Σ MRR at start",
        },
        Card {
            label: "Logo churn (30 days)",
            value: pct(r30.get(Metric::LogoChurnRate)),
            note: format!(
                "of {} accounts at start",
                r30.get(Metric::AccountsStart)
                    .map_or("–".into(), |x| thousands(x as i64))
            ),
            help: "Cohort accounts not active today ÷ cohort size",
        },
    ];
    let r90 = &v.last90;
    let voice = vec![
        Card {
            label: "NPS (90 days)",
            value: r90
                .get(Metric::Nps)
                .map_or("–".into(), |x| format!("{x:+.0}")),
            note: "promoters − detractors".into(),
            help: "% promoters (9–10) − % detractors (0–6), latest answer per contact",
        },
        Card {
            label: "CSAT (90 days)",
            value: pct(r90.get(Metric::Csat)),
            note: "answers scoring 4 or 5".into(),
            help: "CSAT survey answers scoring 4–5 ÷ all CSAT answers",
        },
    ];
    let labels: Vec<String> = v
        .months
        .iter()
        .map(|r| month_label(r.period.from()))
        .collect();
    let series =
        |name: &str, class: &'static str, f: &dyn Fn(&tenure_core::metrics::Report) -> i64| {
            Series::new(
                name,
                class,
                v.months.iter().map(|r| Some(v.units(f(r)))).collect(),
            )
        };
    let movements_chart = charts::stacked(
        "movements",
        "MRR movements by month",
        &labels,
        &[
            series("New", "s-new", &|r| r.movements.new),
            series("Expansion", "s-expansion", &|r| r.movements.expansion),
            series("Reactivation", "s-reactivation", &|r| {
                r.movements.reactivation
            }),
        ],
        &[
            series("Contraction", "s-contraction", &|r| r.movements.contraction),
            series("Churn", "s-churn", &|r| r.movements.churned),
        ],
        &m,
    );
    let frac = |metric: Metric| v.months.iter().map(|r| r.get(metric)).collect::<Vec<_>>();
    let retention_chart = charts::lines(
        "retention",
        "Monthly NRR, GRR and logo churn",
        &labels,
        &[
            Series::new("NRR", "s-nrr", frac(Metric::Nrr)),
            Series::new("GRR", "s-grr", frac(Metric::Grr)),
            Series::new("Logo churn", "s-churn", frac(Metric::LogoChurnRate)),
        ],
        None,
        &|x| format!("{:.0}%", x * 100.0),
    );
    let total: u32 = v.bands.iter().sum();
    let names = [
        ("red", "Red"),
        ("yellow", "Yellow"),
        ("green", "Green"),
        ("none", "Not scored"),
    ];
    let bands = names
        .iter()
        .enumerate()
        .map(|(i, (band, label))| {
            let share = if total > 0 {
                f64::from(v.bands[i]) / f64::from(total)
            } else {
                0.0
            };
            BandCell {
                band,
                label,
                count: thousands(i64::from(v.bands[i])),
                share: pct(Some(share)),
                width: format!("{:.2}", share * 100.0),
            }
        })
        .collect();
    let trend_labels: Vec<String> = v
        .band_trend
        .iter()
        .map(|(d, _)| d.strftime("%d %b").to_string())
        .collect();
    let band_series = |i: usize, name: &str, class: &'static str| {
        Series::new(
            name,
            class,
            v.band_trend
                .iter()
                .map(|(_, c)| Some(f64::from(c[i])))
                .collect(),
        )
    };
    let band_chart = if v.band_trend.is_empty() {
        String::new()
    } else {
        charts::stacked(
            "bands",
            "Accounts by health band over time",
            &trend_labels,
            &[
                band_series(
                    band_slot(Some(tenure_core::health::Band::Green)),
                    "Green",
                    "s-green",
                ),
                band_series(
                    band_slot(Some(tenure_core::health::Band::Yellow)),
                    "Yellow",
                    "s-yellow",
                ),
                band_series(
                    band_slot(Some(tenure_core::health::Band::Red)),
                    "Red",
                    "s-red",
                ),
            ],
            &[],
            &|x| thousands(x.round() as i64),
        )
    };
    let health_note = match v.health_day {
        Some(d) => format!("Scores as of {d}."),
        None => "No health scores yet: run `tenure health recompute`.".into(),
    };
    let risky: Vec<_> = v.rows.iter().filter(|r| r.at_risk()).collect();
    let at_risk_minor: i64 = risky.iter().map(|r| r.mrr_minor * 12).sum();
    OverviewPage {
        scope_note: if nav.own_only {
            "Your accounts only.".into()
        } else {
            "All accounts.".into()
        },
        nav,
        revenue,
        retention,
        voice,
        movements_chart,
        retention_chart,
        bands,
        band_chart,
        health_note,
        at_risk_arr: money(v.units(at_risk_minor), &cur, true),
        at_risk_count: thousands(risky.len() as i64),
        warnings: v.warnings.iter().take(5).cloned().collect(),
    }
}
