//! `/`: the overview. ARR and MRR with the monthly MRR movements, NRR, GRR
//! and logo churn by month, NPS and CSAT, the health band distribution and
//! its trend, the revenue at risk and the renewal forecast. A CSM sees the
//! same for their own accounts.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use tenure_core::health::Band;
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

/// A group of accounts without a health band, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unscored {
    pub label: &'static str,
    pub count: String,
    pub reason: String,
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
    /// Accounts without a band that are not customers today, by reason.
    pub unscored: Vec<Unscored>,
    pub band_chart: String,
    pub health_note: String,
    pub at_risk_arr: String,
    pub at_risk_count: String,
    /// The renewal forecast panel (docs/FORECAST.md).
    pub forecast: super::forecast::ForecastPanel,
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
    let labels: Vec<String> = v
        .months
        .iter()
        .map(|r| month_label(r.period.from()))
        .collect();
    let risky: Vec<_> = v.rows.iter().filter(|r| r.at_risk()).collect();
    let at_risk_minor: i64 = risky.iter().map(|r| r.mrr_minor * 12).sum();
    let groups = Groups::of(v);
    OverviewPage {
        scope_note: if nav.own_only {
            "Your accounts only.".into()
        } else {
            "All accounts.".into()
        },
        nav,
        revenue: revenue_cards(v, &cur),
        retention: retention_cards(v),
        voice: voice_cards(v),
        movements_chart: movements_chart(v, &labels, &cur),
        retention_chart: retention_chart(v, &labels),
        bands: band_cells(&groups),
        unscored: unscored(v, &groups),
        band_chart: band_chart(v),
        health_note: match v.health_day {
            Some(d) => format!("Scores as of {d}."),
            None => "No health scores yet: run `tenure health recompute`.".into(),
        },
        at_risk_arr: money(v.units(at_risk_minor), &cur, true),
        at_risk_count: thousands(risky.len() as i64),
        forecast: super::forecast::panel(&v.forecast, false),
        warnings: v.warnings.iter().take(5).cloned().collect(),
    }
}

/// ARR, MRR with this month's net new MRR, and ARPA.
fn revenue_cards(v: &View, cur: &str) -> Vec<Card> {
    let mrr_now: i64 = v.rows.iter().map(|r| r.mrr_minor).sum();
    let net_new = v.months.last().map_or(0, |r| r.movements.net());
    let active = v.rows.iter().filter(|r| r.mrr_minor > 0).count();
    vec![
        Card {
            label: "ARR",
            value: money(v.units(mrr_now * 12), cur, true),
            note: format!("{} paying accounts", thousands(active as i64)),
            help: "12 × MRR today",
        },
        Card {
            label: "MRR",
            value: money(v.units(mrr_now), cur, true),
            note: format!(
                "{} net new this month",
                if net_new >= 0 { "+" } else { "" }.to_string()
                    + &money(v.units(net_new), cur, true)
            ),
            help: "Sum of running subscriptions' MRR today",
        },
        Card {
            label: "ARPA",
            value: v
                .last30
                .get(Metric::Arpa)
                .map_or("–".into(), |x| money(x, cur, true)),
            note: "per paying account, monthly".into(),
            help: "MRR ÷ paying accounts",
        },
    ]
}

/// NRR, GRR and logo churn over the last 30 days.
fn retention_cards(v: &View) -> Vec<Card> {
    let r30 = &v.last30;
    vec![
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
    ]
}

/// NPS and CSAT over the last 90 days.
fn voice_cards(v: &View) -> Vec<Card> {
    let r90 = &v.last90;
    vec![
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
    ]
}

/// The monthly MRR movements, gains stacked up and losses down.
fn movements_chart(v: &View, labels: &[String], cur: &str) -> String {
    let series =
        |name: &str, class: &'static str, f: &dyn Fn(&tenure_core::metrics::Report) -> i64| {
            Series::new(
                name,
                class,
                v.months.iter().map(|r| Some(v.units(f(r)))).collect(),
            )
        };
    charts::stacked(
        "movements",
        "MRR movements by month",
        labels,
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
        &|x| money(x, cur, true),
    )
}

/// Monthly NRR, GRR and logo churn as lines.
fn retention_chart(v: &View, labels: &[String]) -> String {
    let frac = |metric: Metric| v.months.iter().map(|r| r.get(metric)).collect::<Vec<_>>();
    charts::lines(
        "retention",
        "Monthly NRR, GRR and logo churn",
        labels,
        &[
            Series::new("NRR", "s-nrr", frac(Metric::Nrr)),
            Series::new("GRR", "s-grr", frac(Metric::Grr)),
            Series::new("Logo churn", "s-churn", frac(Metric::LogoChurnRate)),
        ],
        None,
        &|x| format!("{:.0}%", x * 100.0),
    )
}

/// Accounts per health band today, and those without a band by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Groups {
    /// Red, yellow, green.
    bands: [u32; 3],
    /// Customers scored on the latest day without a score: no measure of
    /// their scorecard had data.
    no_data: u32,
    /// Customers today with no score stored on the latest day (they became
    /// customers after it).
    not_yet: u32,
    /// Not customers today, paid before.
    churned: u32,
    /// Not customers today, never paid.
    never_paid: u32,
}

impl Groups {
    fn of(v: &View) -> Groups {
        let mut g = Groups::default();
        let today = v.today;
        for r in &v.rows {
            if let Some(b) = r.health.band {
                g.bands[band_slot(Some(b))] += 1;
                continue;
            }
            let a = &v.accounts[r.index];
            if v.raw.health.current.contains_key(&a.id) {
                g.no_data += 1;
            } else if r.mrr_minor > 0 || a.in_trial_on(today) {
                g.not_yet += 1;
            } else if v
                .dataset
                .mrr_history(r.index)
                .iter()
                .any(|&(d, mrr)| d <= today && mrr > 0)
            {
                g.churned += 1;
            } else {
                g.never_paid += 1;
            }
        }
        g
    }
}

/// Today's customers per health band, with their share of the bar:
/// red, yellow, green, and customers without a score (no data, or not
/// scored yet).
fn band_cells(g: &Groups) -> Vec<BandCell> {
    let counts = [g.bands[0], g.bands[1], g.bands[2], g.no_data + g.not_yet];
    let total: u32 = counts.iter().sum();
    let names = [
        ("red", "Red"),
        ("yellow", "Yellow"),
        ("green", "Green"),
        ("none", "No data"),
    ];
    names
        .iter()
        .zip(counts)
        .map(|((band, label), n)| {
            let share = if total > 0 {
                f64::from(n) / f64::from(total)
            } else {
                0.0
            };
            BandCell {
                band,
                label,
                count: thousands(i64::from(n)),
                share: pct(Some(share)),
                width: format!("{:.2}", share * 100.0),
            }
        })
        .collect()
}

/// The accounts without a band, in groups with the reason for each:
/// customers whose scorecard had no data, customers not scored yet, and
/// the accounts that are not customers (churned or never paid), which are
/// not scored by design. Empty groups are left out.
fn unscored(v: &View, g: &Groups) -> Vec<Unscored> {
    let day = v.health_day.map_or("the latest scores".to_string(), |d| {
        format!("the scores of {d}")
    });
    [
        (
            "No data",
            g.no_data,
            "customers (paying or in trial) for whom no measure of the scorecard has data yet: no events, seats, answers or engagements"
                .to_string(),
        ),
        (
            "Not scored yet",
            g.not_yet,
            format!("became customers after {day}; scored at the next recompute"),
        ),
        (
            "Churned",
            g.churned,
            "paid before and pay no more today: health is scored for paying and trialling customers only"
                .to_string(),
        ),
        (
            "Never paid",
            g.never_paid,
            "trials that did not convert and accounts without a subscription yet: not customers, so not scored"
                .to_string(),
        ),
    ]
    .into_iter()
    .filter(|(_, n, _)| *n > 0)
    .map(|(label, n, reason)| Unscored {
        label,
        count: thousands(i64::from(n)),
        reason,
    })
    .collect()
}

/// Accounts per health band over time; empty without stored scores.
fn band_chart(v: &View) -> String {
    if v.band_trend.is_empty() {
        return String::new();
    }
    let trend_labels: Vec<String> = v
        .band_trend
        .iter()
        .map(|(d, _)| d.strftime("%d %b").to_string())
        .collect();
    let band_series = |band: Band, name: &str, class: &'static str| {
        let i = band_slot(Some(band));
        Series::new(
            name,
            class,
            v.band_trend
                .iter()
                .map(|(_, c)| Some(f64::from(c[i])))
                .collect(),
        )
    };
    charts::stacked(
        "bands",
        "Accounts by health band over time",
        &trend_labels,
        &[
            band_series(Band::Green, "Green", "s-green"),
            band_series(Band::Yellow, "Yellow", "s-yellow"),
            band_series(Band::Red, "Red", "s-red"),
        ],
        &[],
        &|x| thousands(x.round() as i64),
    )
}
