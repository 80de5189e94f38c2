//! Health scoring, as a specification.

use std::collections::BTreeMap;

use jiff::civil::Date;
use proptest::prelude::*;

use super::*;
use crate::config::{Config, CurrencyConfig, parse_config};
use crate::model::{Account, Currency, Money, Priority, Subscription, SurveyKind};

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

/// Microseconds since the epoch of a UTC timestamp such as `2025-03-31T23:59:59`.
fn us(s: &str) -> i64 {
    format!("{s}Z")
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_microsecond()
}

fn health(toml: &str) -> HealthConfig {
    match parse_config(toml) {
        Ok(c) => c.health,
        Err(e) => panic!("{e:?}"),
    }
}

/// A scorecard of `custom_attribute` measures named a, b, c, ... whose raw
/// value is the attribute and whose points equal the raw value.
fn attribute_scorecard(weights: &[f64]) -> HealthModel {
    let mut toml = String::new();
    for (i, w) in weights.iter().enumerate() {
        let name = (b'a' + i as u8) as char;
        toml.push_str(&format!(
            "[[health.measures]]\nname = \"{name}\"\nkind = \"custom_attribute\"\nattribute = \"{name}\"\nweight = {w:?}\nlinear = {{ min = 0, max = 100 }}\n"
        ));
    }
    HealthModel::new(&health(&toml))
}

/// Signals where attribute i has value `values[i]` (`None` = no data).
fn attribute_signals(model: &HealthModel, values: &[Option<f64>], as_of: Date) -> AccountSignals {
    let mut s = AccountSignals::empty(model.plan(), as_of);
    s.attributes = values.to_vec();
    s
}

#[test]
fn score_is_the_weighted_mean_of_points() {
    let model = attribute_scorecard(&[3.0, 1.0]);
    let s = model.score(
        0,
        &attribute_signals(&model, &[Some(80.0), Some(40.0)], d("2025-03-31")),
        &[],
    );
    assert_eq!(s.computed, Some(70.0)); // (3·80 + 1·40) / 4
    assert_eq!(s.score, Some(70.0));
    assert_eq!(s.band, Some(Band::Green));
    let contributions: Vec<f64> = s.measures.iter().map(|m| m.contribution).collect();
    assert_eq!(contributions, [60.0, 10.0]);
    assert_eq!(s.measures[0].effective_weight, Some(0.75));
    assert_eq!(s.scorecard_name.as_ref(), "default");
}

#[test]
fn a_measure_without_data_is_left_out_and_the_rest_reweighted() {
    let model = attribute_scorecard(&[3.0, 1.0, 1.0]);
    let s = model.score(
        0,
        &attribute_signals(&model, &[None, Some(40.0), Some(60.0)], d("2025-03-31")),
        &[],
    );
    assert_eq!(s.computed, Some(50.0));
    assert_eq!(s.band, Some(Band::Yellow));
    assert_eq!(s.missing().collect::<Vec<_>>(), ["a"]);
    let a = &s.measures[0];
    assert_eq!(
        (a.raw, a.normalised, a.effective_weight, a.contribution),
        (None, None, None, 0.0)
    );
    assert_eq!(a.weight, 3.0);
    assert_eq!(s.measures[1].effective_weight, Some(0.5));
}

#[test]
fn no_data_at_all_gives_no_score() {
    let model = attribute_scorecard(&[1.0, 1.0]);
    let s = model.score(
        0,
        &attribute_signals(&model, &[None, None], d("2025-03-31")),
        &[],
    );
    assert_eq!((s.computed, s.score, s.band), (None, None, None));
    assert_eq!(s.missing().count(), 2);
}

#[test]
fn overrides_apply_from_the_day_they_are_set_until_they_expire() {
    let model = attribute_scorecard(&[1.0]);
    let ov = Override {
        score: 20.0,
        reason: "Champion left".into(),
        author: "ana@example.com".into(),
        set_on: d("2025-03-10"),
        until: d("2025-03-31"),
    };
    let at = |date: &str| {
        model.score(
            0,
            &attribute_signals(&model, &[Some(90.0)], d(date)),
            std::slice::from_ref(&ov),
        )
    };
    let before = at("2025-03-09");
    assert_eq!(
        (before.score, before.override_applied.as_ref()),
        (Some(90.0), None)
    );
    let first = at("2025-03-10");
    assert_eq!(first.score, Some(20.0));
    assert_eq!(first.band, Some(Band::Red));
    assert_eq!(first.computed, Some(90.0));
    assert_eq!(first.computed_band, Some(Band::Green));
    assert_eq!(
        first.override_applied.as_ref().map(|o| o.reason.as_str()),
        Some("Champion left")
    );
    assert_eq!(at("2025-03-31").score, Some(20.0)); // the last day still applies
    let expired = at("2025-04-01");
    assert_eq!(
        (expired.score, expired.override_applied),
        (Some(90.0), None)
    );
}

#[test]
fn the_override_set_last_wins() {
    let model = attribute_scorecard(&[1.0]);
    let ov = |score, set_on: &str| Override {
        score,
        reason: String::new(),
        author: String::new(),
        set_on: d(set_on),
        until: d("2025-12-31"),
    };
    let overrides = [ov(60.0, "2025-03-05"), ov(30.0, "2025-03-01")];
    let s = model.score(
        0,
        &attribute_signals(&model, &[None], d("2025-03-31")),
        &overrides,
    );
    assert_eq!(s.score, Some(60.0));
    assert_eq!(s.computed, None);
}

proptest! {
    /// The explanation adds up: the contributions, summed in order, are the
    /// score exactly (not just approximately), every contribution is
    /// non-negative, and the score is the weighted mean within rounding.
    #[test]
    fn contributions_add_up_to_the_score_exactly(
        measures in prop::collection::vec(
            (0.001f64..1000.0, prop::option::weighted(0.8, 0.0f64..=100.0)),
            1..12,
        )
    ) {
        let weights: Vec<f64> = measures.iter().map(|m| m.0).collect();
        let values: Vec<Option<f64>> = measures.iter().map(|m| m.1).collect();
        let model = attribute_scorecard(&weights);
        let s = model.score(0, &attribute_signals(&model, &values, d("2025-03-31")), &[]);
        let total: f64 = s.measures.iter().map(|m| m.contribution).sum();
        match s.computed {
            None => prop_assert!(values.iter().all(Option::is_none)),
            Some(score) => {
                prop_assert_eq!(total, score);
                prop_assert!((0.0..=100.0).contains(&score));
                prop_assert!(s.measures.iter().all(|m| m.contribution >= 0.0));
                let w: f64 = measures.iter().filter(|m| m.1.is_some()).map(|m| m.0).sum();
                let wn: f64 = measures.iter().filter_map(|m| Some(m.0 * m.1?)).sum();
                prop_assert!((score - wn / w).abs() < 1e-9);
                let shares: f64 = s.measures.iter().filter_map(|m| m.effective_weight).sum();
                prop_assert!((shares - 1.0).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn equal_points_give_exactly_those_points_whatever_the_weights() {
    // A band boundary must not be missed by a rounding error.
    let model = attribute_scorecard(&[1.0, 1.0, 1.0, 7.0, 0.1]);
    let s = model.score(
        0,
        &attribute_signals(&model, &[Some(70.0); 5], d("2025-03-31")),
        &[],
    );
    assert_eq!(s.computed, Some(70.0));
    assert_eq!(s.band, Some(Band::Green));
}

// ---------------------------------------------------------------------------
// Signals from raw rows.
// ---------------------------------------------------------------------------

const SIGNALS_TOML: &str = r#"
[[health.measures]]
name = "Active users"
kind = "active_user_ratio"
window_days = 7
denominator = "known_users"
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Seats used"
kind = "seat_utilisation"
window_days = 30
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Reports"
kind = "event_count"
window_days = 7
events = ["report_created"]
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Trend"
kind = "event_trend"
window_days = 7
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Features"
kind = "feature_adoption"
window_days = 7
features = ["report_created", "integration_synced", "export"]
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "NPS"
kind = "latest_nps"
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "CSAT"
kind = "csat_average"
window_days = 30
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Tickets"
kind = "open_tickets"
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Engagement"
kind = "days_since_engagement"
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Renewal"
kind = "days_to_renewal"
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Payments"
kind = "payment_failures"
window_days = 30
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Sponsor"
kind = "custom_attribute"
attribute = "sponsor"
weight = 1
thresholds = [[0, 0]]
"#;

fn usd(units: i64) -> Money {
    Money::new(units * 100, Currency::USD)
}

fn sub(
    start: &str,
    end: Option<&str>,
    seats: Option<i64>,
    renewal: Option<&str>,
    mrr: Money,
) -> Subscription {
    Subscription {
        id: "s".into(),
        account_id: "a".into(),
        mrr,
        plan: None,
        seats,
        start_date: d(start),
        end_date: end.map(d),
        renewal_date: renewal.map(d),
    }
}

/// One kind of raw row, to feed in any order.
#[derive(Debug, Clone)]
enum Row {
    Event(usize, &'static str, &'static str, i64),
    Ticket(usize, i64, Option<i64>, Option<Priority>),
    Survey(usize, SurveyKind, i64, i64),
    Engagement(usize, i64),
    Payment(usize, i64),
    Sub(usize, Subscription),
}

fn feed(b: &mut SignalsBuilder, rows: &[Row]) {
    for r in rows {
        match r {
            Row::Event(a, u, e, t) => b.event(*a, u, e, *t),
            Row::Ticket(a, o, c, p) => b.ticket(*a, *o, *c, *p),
            Row::Survey(a, k, s, t) => b.survey_response(*a, *k, *s, *t),
            Row::Engagement(a, t) => b.engagement(*a, *t),
            Row::Payment(a, t) => b.payment_failure(*a, *t),
            Row::Sub(a, s) => b.subscription(*a, s).unwrap(),
        }
    }
}

fn currency() -> CurrencyConfig {
    Config::default().currency
}

fn build(model: &HealthModel, dates: &[Date], rows: &[Row]) -> SignalsTable {
    let mut b = SignalsBuilder::new(model.plan(), dates, 2, &currency());
    b.track_payments(true);
    feed(&mut b, rows);
    let mut attrs = BTreeMap::new();
    attrs.insert("sponsor".to_string(), " 7.5 ".to_string());
    b.attributes(0, &attrs);
    b.finish()
}

/// Account 0 as of 2025-03-31, one row of each kind and the edge cases of
/// each window.
fn fixture_rows() -> Vec<Row> {
    use Row::*;
    vec![
        // Users: u1 active in the last 7 days (on the as-of day, late
        // evening), u2 only 8 days before, u3 only long ago.
        Event(0, "u1", "report_created", us("2025-03-31T23:59:59")),
        Event(0, "u1", "integration_synced", us("2025-03-25T00:00:00")),
        Event(0, "u2", "report_created", us("2025-03-24T12:00:00")),
        Event(0, "u3", "login", us("2024-06-01T08:00:00")),
        // Previous 7-day window (03-18..03-24): u2's event plus these two.
        Event(0, "u2", "login", us("2025-03-18T00:00:00")),
        Event(0, "u2", "login", us("2025-03-20T00:00:00")),
        // Another account's events do not count here.
        Event(1, "u9", "export", us("2025-03-30T00:00:00")),
        // Tickets: open; closed on the as-of day; closed after it (so open
        // then); opened after it.
        Ticket(0, us("2025-03-01T00:00:00"), None, Some(Priority::Urgent)),
        Ticket(
            0,
            us("2025-03-02T00:00:00"),
            Some(us("2025-03-31T10:00:00")),
            Some(Priority::High),
        ),
        Ticket(
            0,
            us("2025-03-03T00:00:00"),
            Some(us("2025-04-02T10:00:00")),
            None,
        ),
        // NPS: two answers at the same latest time average; CSAT in window.
        Survey(0, SurveyKind::Nps, 3, us("2025-01-10T09:00:00")),
        Survey(0, SurveyKind::Nps, 8, us("2025-03-15T09:00:00")),
        Survey(0, SurveyKind::Nps, 9, us("2025-03-15T09:00:00")),
        Survey(0, SurveyKind::Csat, 5, us("2025-03-20T09:00:00")),
        Survey(0, SurveyKind::Csat, 2, us("2025-03-02T09:00:00")),
        Survey(0, SurveyKind::Csat, 1, us("2025-02-28T09:00:00")), // outside 30 days
        Survey(0, SurveyKind::Ces, 7, us("2025-03-20T09:00:00")),
        Engagement(0, us("2025-03-11T15:00:00")),
        Engagement(0, us("2025-02-01T15:00:00")),
        Payment(0, us("2025-03-05T00:00:00")),
        Payment(0, us("2025-02-20T00:00:00")), // outside 30 days
        // Subscriptions: two running (seats 10 + none), one ended the day
        // before... the as-of day is its end date (exclusive), so it is over.
        Sub(
            0,
            sub("2024-06-01", None, Some(10), Some("2025-06-01"), usd(1000)),
        ),
        Sub(
            0,
            sub(
                "2025-01-01",
                None,
                None,
                Some("2025-05-01"),
                Money::new(10_000, Currency::parse("EUR").unwrap()),
            ),
        ),
        Sub(
            0,
            sub(
                "2024-01-01",
                Some("2025-03-31"),
                Some(50),
                Some("2025-04-01"),
                usd(99),
            ),
        ),
    ]
}

fn later_rows() -> Vec<Row> {
    use Row::*;
    vec![
        Event(0, "u7", "export", us("2025-04-01T00:00:00")),
        Event(0, "u1", "report_created", us("2025-04-01T00:00:01")),
        Ticket(0, us("2025-04-01T00:00:00"), None, Some(Priority::Urgent)),
        Survey(0, SurveyKind::Nps, 0, us("2025-04-01T00:00:00")),
        Survey(0, SurveyKind::Csat, 1, us("2025-04-03T00:00:00")),
        Engagement(0, us("2025-04-01T00:00:00")),
        Payment(0, us("2025-04-01T00:00:00")),
        Sub(
            0,
            sub("2025-04-01", None, Some(100), Some("2025-04-10"), usd(5000)),
        ),
    ]
}

#[test]
fn signals_from_rows() {
    let model = HealthModel::new(&health(SIGNALS_TOML));
    let as_of = d("2025-03-31");
    let s = build(&model, &[as_of], &fixture_rows()).signals(0, 0);
    let score = model.score(0, &s, &[]);
    let raw: Vec<(&str, Option<f64>)> = score.measures.iter().map(|m| (&*m.name, m.raw)).collect();
    assert_eq!(
        raw,
        [
            ("Active users", Some(1.0 / 3.0)), // u1 of u1, u2, u3
            ("Seats used", Some(0.2)),         // u1, u2 of 10 seats
            ("Reports", Some(1.0)),            // 03-24 is outside 7 days
            ("Trend", Some(2.0 / 3.0)),        // 2 events vs 3
            ("Features", Some(2.0 / 3.0)),     // report_created, integration_synced
            ("NPS", Some(8.5)),                // 8 and 9 at the same latest time
            ("CSAT", Some(3.5)),               // 5 and 2
            ("Tickets", Some(5.0)),            // urgent 4 + normal 1
            ("Engagement", Some(20.0)),
            ("Renewal", Some(31.0)), // 2025-05-01
            ("Payments", Some(1.0)),
            ("Sponsor", Some(7.5)),
        ]
    );
    assert_eq!(s.seats, Some(10));
    assert!((s.mrr - 1108.0).abs() < 1e-9); // 1000 USD + 100 EUR at 1.08
    assert_eq!(s.known_users, 3);
    assert_eq!(
        s.open_tickets,
        TicketCounts {
            normal: 1,
            urgent: 1,
            ..TicketCounts::default()
        }
    );
    assert_eq!(s.latest_nps.map(|n| n.date), Some(d("2025-03-15")));
}

#[test]
fn rows_after_the_as_of_date_change_nothing() {
    let model = HealthModel::new(&health(SIGNALS_TOML));
    let as_of = [d("2025-03-31")];
    let mut rows = fixture_rows();
    let without = build(&model, &as_of, &rows).signals(0, 0);
    rows.extend(later_rows());
    let with = build(&model, &as_of, &rows).signals(0, 0);
    assert_eq!(with, without);
}

#[test]
fn row_order_does_not_matter() {
    let model = HealthModel::new(&health(SIGNALS_TOML));
    let as_of = [d("2025-03-31")];
    let mut rows = fixture_rows();
    let forward = build(&model, &as_of, &rows).signals(0, 0);
    rows.reverse();
    assert_eq!(build(&model, &as_of, &rows).signals(0, 0), forward);
}

#[test]
fn many_dates_in_one_pass_equal_one_pass_per_date() {
    let model = HealthModel::new(&Config::default().health);
    let mut rows = fixture_rows();
    rows.extend(later_rows());
    let dates = [
        d("2025-04-02"),
        d("2025-03-31"),
        d("2025-01-15"),
        d("2025-03-24"),
        d("2025-04-01"),
    ];
    let table = build(&model, &dates, &rows);
    assert_eq!(table.dates()[0], d("2025-01-15"));
    for (i, date) in table.dates().iter().enumerate() {
        let alone = build(&model, &[*date], &rows);
        for account in 0..2 {
            assert_eq!(
                table.signals(i, account),
                alone.signals(0, account),
                "{date}"
            );
        }
    }
}

#[test]
fn the_horizon_plus_first_seen_users_equals_the_whole_history() {
    let model = HealthModel::new(&health(SIGNALS_TOML));
    let as_of = [d("2025-03-31")];
    let whole = build(&model, &as_of, &fixture_rows()).signals(0, 0);

    let mut b = SignalsBuilder::new(model.plan(), &as_of, 2, &currency());
    b.track_payments(true);
    let start = b.horizon_start().unwrap();
    assert_eq!(start, d("2025-03-02")); // the 30-day seat window is the longest
    let start_us = crate::model::day_number(start) as i64 * 86_400_000_000;
    let rows: Vec<Row> = fixture_rows()
        .into_iter()
        .filter(|r| !matches!(r, Row::Event(_, _, _, t) if *t < start_us))
        .collect();
    feed(&mut b, &rows);
    b.user_first_seen(0, "u3", us("2024-06-01T08:00:00"));
    b.user_first_seen(0, "u1", us("2024-01-01T08:00:00"));
    let mut attrs = BTreeMap::new();
    attrs.insert("sponsor".to_string(), "7.5".to_string());
    b.attributes(0, &attrs);
    assert_eq!(b.finish().signals(0, 0), whole);
}

#[test]
fn payment_failures_are_no_data_unless_tracked() {
    let model = HealthModel::new(&Config::default().health);
    let mut b = SignalsBuilder::new(model.plan(), &[d("2025-03-31")], 1, &currency());
    b.event(0, "u1", "login", us("2025-03-30T00:00:00"));
    let s = model.score(0, &b.finish().signals(0, 0), &[]);
    assert!(s.missing().any(|m| m == "Payment failures"));
}

#[test]
fn a_subscription_in_a_currency_without_rate_is_an_error() {
    let model = HealthModel::new(&Config::default().health);
    let mut b = SignalsBuilder::new(model.plan(), &[d("2025-03-31")], 1, &currency());
    let jpy = Currency::parse("JPY").unwrap();
    let err = b
        .subscription(
            0,
            &sub("2025-01-01", None, None, None, Money::new(100, jpy)),
        )
        .unwrap_err();
    assert_eq!(err.0, jpy);
}

#[derive(Debug, Clone)]
struct RandomRow {
    account: usize,
    user: usize,
    event: usize,
    day: i32,
    second: i64,
}

proptest! {
    /// For random events: rows dated after an as-of date never change its
    /// signals, and one pass over many dates equals one pass per date.
    #[test]
    fn no_look_ahead_for_random_events(
        rows in prop::collection::vec(
            (0usize..3, 0usize..4, 0usize..4, -70i32..20, 0i64..86_400)
                .prop_map(|(account, user, event, day, second)| RandomRow { account, user, event, day, second }),
            0..80,
        )
    ) {
        const USERS: [&str; 4] = ["u0", "u1", "u2", "u3"];
        const EVENTS: [&str; 4] = ["report_created", "integration_synced", "login", "export"];
        let model = HealthModel::new(&Config::default().health);
        let base = crate::model::day_number(d("2025-03-31"));
        let dates = [d("2025-03-01"), d("2025-03-31"), d("2025-04-10")];
        let ts = |r: &RandomRow| i64::from(base + r.day) * 86_400_000_000 + r.second * 1_000_000;
        let run = |dates: &[Date], keep: &dyn Fn(&RandomRow) -> bool| {
            let mut b = SignalsBuilder::new(model.plan(), dates, 3, &currency());
            for r in rows.iter().filter(|r| keep(r)) {
                b.event(r.account, USERS[r.user], EVENTS[r.event], ts(r));
            }
            b.finish()
        };
        let all = run(&dates, &|_| true);
        for (i, date) in dates.iter().enumerate() {
            let cut = crate::model::day_number(*date) - base;
            let upto = run(&[*date], &|r: &RandomRow| r.day <= cut);
            for a in 0..3 {
                prop_assert_eq!(all.signals(i, a), upto.signals(0, a));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The default scorecard on a typical account among four others.
// ---------------------------------------------------------------------------

#[test]
fn default_scorecard_explained_on_a_typical_account() {
    let config = Config::default();
    let model = HealthModel::new(&config.health);
    let as_of = d("2025-03-31");
    let mut b = SignalsBuilder::new(model.plan(), &[as_of], 5, &currency());
    b.track_payments(true);
    b.subscription(
        0,
        &sub("2024-04-15", None, Some(10), Some("2025-04-15"), usd(2000)),
    )
    .unwrap();
    // Account 0: six users, each active every third day of the 90 days
    // ending with the as-of date, two of them on any day: 2 events a day,
    // 60 in the last 30 days, 10 per active user; steady against its own
    // baseline.
    let jan1 = i64::from(crate::model::day_number(d("2025-01-01")));
    for (i, user) in ["u1", "u2", "u3", "u4", "u5", "u6"].iter().enumerate() {
        for day in 0..90 {
            if (day + i as i64) % 3 == 0 {
                b.event(
                    0,
                    user,
                    "login",
                    (jan1 + day) * 86_400_000_000 + 3_600_000_000,
                );
            }
        }
    }
    b.survey_response(0, SurveyKind::Nps, 8, us("2025-02-10T10:00:00"));
    // Tickets and engagements are not in the default scorecard.
    b.ticket(0, us("2025-03-20T10:00:00"), None, Some(Priority::High));
    b.engagement(0, us("2025-03-03T10:00:00"));
    // Four other customers: (active users, events per active user) in
    // March.
    for (a, (users, each)) in [(2, 5), (4, 20), (10, 10), (1, 2)].into_iter().enumerate() {
        for u in 0..users {
            for k in 0..each {
                b.event(
                    a + 1,
                    &format!("p{u}"),
                    "page_viewed",
                    us("2025-03-20T10:00:00") + k * 1_000_000,
                );
            }
        }
    }
    let table = b.finish();
    let accounts: Vec<Account> = (0..5).map(|i| Account::bare(&format!("a{i}"))).collect();
    let signals: Vec<AccountSignals> = (0..5).map(|i| table.signals(0, i)).collect();
    let ranks = model.day_ranks(accounts.iter().zip(&signals).map(|(a, s)| (0, a, s)));
    let s = model.score_ranked(0, &signals[0], Some((&accounts[0], &ranks)), &[]);
    let explained: Vec<(&str, Option<f64>, Option<f64>)> = s
        .measures
        .iter()
        .map(|m| (&*m.name, m.raw, m.normalised))
        .collect();
    // Active users 6 among 6, 2, 4, 10, 1: 3 below, itself equal, (3 +
    // 0.5) / 5 = 70th percentile. Events per active user 10 among 10, 5,
    // 20, 10, 2: 2 below, 2 equal, (2 + 1) / 5 = 60th.
    assert_eq!(
        explained,
        [
            ("Active users", Some(6.0), Some(70.0)),
            ("Events per active user", Some(10.0), Some(60.0)),
            ("Usage against own baseline", Some(1.0), Some(100.0)),
            ("Latest NPS", Some(8.0), Some(70.0)),
            ("Days to renewal", Some(15.0), Some(40.0)),
            ("Payment failures", Some(0.0), Some(100.0)),
        ]
    );
    // Fewer than 30 on the plan: compared with all customers.
    let standing: Vec<Option<String>> = s.measures.iter().map(|m| m.standing()).collect();
    assert_eq!(
        standing,
        [
            Some("70th percentile of all accounts".to_string()),
            Some("60th percentile of all accounts".to_string()),
            None,
            None,
            None,
            None
        ]
    );
    // The close renewal keeps it just below green.
    let expected =
        (20.0 * 70.0 + 20.0 * 60.0 + 5.0 * 100.0 + 10.0 * 70.0 + 10.0 * 40.0 + 10.0 * 100.0) / 75.0;
    let score = s.score.unwrap();
    assert!((score - expected).abs() < 1e-9, "{score} vs {expected}");
    assert_eq!(s.band, Some(Band::Yellow));
    assert_eq!(
        s.scorecard_version.as_ref(),
        config.health.default.version()
    );
}

// ---------------------------------------------------------------------------
// The threshold scorecard (the former default) on a typical account.
// ---------------------------------------------------------------------------

#[test]
fn threshold_scorecard_explained_on_a_typical_account() {
    let card = health(THRESHOLD_SCORECARD);
    let model = HealthModel::new(&card);
    let as_of = d("2025-03-31");
    let mut b = SignalsBuilder::new(model.plan(), &[as_of], 1, &currency());
    b.track_payments(true);
    b.subscription(
        0,
        &sub("2024-04-15", None, Some(10), Some("2025-04-15"), usd(2000)),
    )
    .unwrap();
    // Six of ten seats active in March, steady usage, reports but no
    // integration.
    for (i, user) in ["u1", "u2", "u3", "u4", "u5", "u6"].iter().enumerate() {
        for day in 0..60 {
            // 2025-01-31 + day: the 60 days ending with the as-of date.
            let t = (i64::from(crate::model::day_number(d("2025-01-31"))) + day) * 86_400_000_000;
            if (day + i as i64) % 3 == 0 {
                b.event(
                    0,
                    user,
                    if i == 0 { "report_created" } else { "login" },
                    t + 3_600_000_000,
                );
            }
        }
    }
    b.survey_response(0, SurveyKind::Nps, 8, us("2025-02-10T10:00:00"));
    b.ticket(0, us("2025-03-20T10:00:00"), None, Some(Priority::High));
    b.engagement(0, us("2025-03-03T10:00:00"));
    let s = model.score(0, &b.finish().signals(0, 0), &[]);
    let explained: Vec<(&str, Option<f64>, Option<f64>)> = s
        .measures
        .iter()
        .map(|m| (&*m.name, m.raw, m.normalised))
        .collect();
    assert_eq!(
        explained,
        [
            ("Active users", Some(0.6), Some(80.0)),
            ("Usage trend", Some(60.0 / 60.0), Some(85.0)),
            ("Key feature adoption", Some(0.5), Some(50.0)),
            ("Latest NPS", Some(8.0), Some(70.0)),
            ("Open tickets", Some(2.0), Some(80.0)),
            (
                "Days since last engagement",
                Some(28.0),
                Some(100.0 - 14.0 / 106.0 * 100.0)
            ),
            ("Days to renewal", Some(15.0), Some(40.0)),
            ("Payment failures", Some(0.0), Some(100.0)),
        ]
    );
    let expected = (25.0 * 80.0
        + 15.0 * 85.0
        + 15.0 * 50.0
        + 10.0 * 70.0
        + 10.0 * 80.0
        + 10.0 * (100.0 - 14.0 / 106.0 * 100.0)
        + 5.0 * 40.0
        + 10.0 * 100.0)
        / 100.0;
    let score = s.score.unwrap();
    assert!((score - expected).abs() < 1e-9, "{score} vs {expected}");
    assert_eq!(s.band, Some(Band::Green));
    assert_eq!(s.scorecard_version.as_ref(), card.default.version());
}

#[test]
fn accounts_get_the_first_matching_scorecard() {
    let cfg = health(
        r#"
[[health.measures]]
name = "Tickets"
kind = "open_tickets"
weight = 1
thresholds = [[0, 100], [1, 0]]

[[health.scorecards]]
name = "enterprise"
match = { plan = "enterprise" }

[[health.scorecards.measures]]
name = "Sponsor"
kind = "custom_attribute"
attribute = "sponsor"
weight = 1
linear = { min = 0, max = 10 }
"#,
    );
    let model = HealthModel::new(&cfg);
    assert_eq!(model.scorecard_count(), 2);
    let mut acct = Account::bare("a");
    assert_eq!(model.scorecard_index(&acct), 0);
    acct.plan = Some("Enterprise".into());
    assert_eq!(model.scorecard_index(&acct), 1);
    assert_eq!(model.scorecard_name(1), "enterprise");
    let mut s = AccountSignals::empty(model.plan(), d("2025-03-31"));
    s.attributes = vec![Some(5.0)];
    let scored = model.score(1, &s, &[]);
    assert_eq!(
        (scored.computed, &*scored.scorecard_name),
        (Some(50.0), "enterprise")
    );
    assert_eq!(model.score(0, &s, &[]).computed, Some(100.0));
}

#[test]
fn what_changed_compares_with_a_week_before_else_the_latest_earlier_snapshot() {
    let days = [
        d("2025-03-20"),
        d("2025-03-24"),
        d("2025-03-30"),
        d("2025-03-31"),
    ];
    // 7 days before 03-31 is 03-24: a week earlier.
    assert_eq!(
        change_reference(&days, d("2025-03-31")),
        Some((1, Since::WeekBefore))
    );
    // Without a snapshot between 03-21 and 03-24 (and not the as-of day
    // itself): the latest earlier one.
    let days = [d("2025-03-10"), d("2025-03-30"), d("2025-03-31")];
    assert_eq!(
        change_reference(&days, d("2025-03-31")),
        Some((1, Since::LatestEarlier))
    );
    // Only the as-of day's own snapshot (or later ones): nothing to compare.
    assert_eq!(
        change_reference(&[d("2025-03-31"), d("2025-04-02")], d("2025-03-31")),
        None
    );
}

#[test]
fn what_changed_says_up_down_unchanged_or_no_earlier_score() {
    let as_of = d("2025-03-31");
    assert_eq!(
        change_sentence(
            70.2,
            as_of,
            Some((d("2025-03-24"), Since::WeekBefore, 64.0))
        ),
        "Score up 6 since 2025-03-24, a week earlier (64 → 70)."
    );
    assert_eq!(
        change_sentence(
            51.0,
            as_of,
            Some((d("2025-03-29"), Since::LatestEarlier, 64.0))
        ),
        "Score down 13 since 2025-03-29, 2 days earlier (64 → 51); \
         no score is stored from a week before."
    );
    // Equal as shown (whole points): unchanged, never "up" from 64 to 64.
    assert_eq!(
        change_sentence(
            64.3,
            as_of,
            Some((d("2025-03-24"), Since::WeekBefore, 63.8))
        ),
        "Score unchanged since 2025-03-24, a week earlier (64)."
    );
    assert_eq!(
        change_sentence(
            64.0,
            as_of,
            Some((d("2025-03-30"), Since::LatestEarlier, 64.0))
        ),
        "Score unchanged since 2025-03-30, 1 day earlier (64); \
         no score is stored from a week before."
    );
    assert_eq!(
        change_sentence(64.0, as_of, None),
        "No earlier score to compare with: 2025-03-31 is the first day with a stored score."
    );
}

/// Signals with `events` in the 30-day event window, `users` active users
/// in it, on an account of `plan`.
fn usage(model: &HealthModel, events: u64, users: u32) -> AccountSignals {
    let mut s = AccountSignals::empty(model.plan(), d("2025-03-31"));
    s.event_counts.iter_mut().for_each(|c| *c = events);
    s.active_users.iter_mut().for_each(|u| *u = users);
    s
}

fn on_plan(id: &str, plan: &str) -> Account {
    let mut a = Account::bare(id);
    a.plan = Some(plan.into());
    a
}

const PER_USER_PERCENTILE: &str = r#"
[[health.measures]]
name = "Events per active user"
kind = "event_count"
window_days = 30
per = "active_user"
percentile = { among = "plan", min_group = 3 }
weight = 1
"#;

#[test]
fn percentile_rank_is_the_mid_rank() {
    let sorted = [1.0, 2.0, 2.0, 4.0];
    assert_eq!(percentile_of(&sorted, 1.0), Some(12.5));
    assert_eq!(percentile_of(&sorted, 2.0), Some(50.0));
    assert_eq!(percentile_of(&sorted, 3.0), Some(75.0));
    assert_eq!(percentile_of(&sorted, 9.0), Some(100.0));
    assert_eq!(percentile_of(&[], 1.0), None);
}

#[test]
fn a_relative_measure_places_the_account_among_its_plan_or_else_all_accounts() {
    let model = HealthModel::new(&health(PER_USER_PERCENTILE));
    assert!(model.is_relative());
    // Three growth accounts (10, 20, 30 events per user) and two starter
    // accounts, too few for their own group (min_group 3).
    let accounts = [
        on_plan("g1", "Growth"),
        on_plan("g2", "growth"),
        on_plan("g3", "growth"),
        on_plan("s1", "starter"),
        on_plan("s2", "starter"),
    ];
    let signals = [
        usage(&model, 100, 10),
        usage(&model, 200, 10),
        usage(&model, 300, 10),
        usage(&model, 50, 10),
        usage(&model, 400, 10),
    ];
    let ranks = model.day_ranks(accounts.iter().zip(&signals).map(|(a, s)| (0, a, s)));
    let score = |i: usize| model.score_ranked(0, &signals[i], Some((&accounts[i], &ranks)), &[]);
    let g1 = score(0);
    assert_eq!(g1.measures[0].raw, Some(10.0));
    // Lowest of three growth accounts: (0 + ½) / 3.
    assert!((g1.measures[0].percentile.unwrap() - 100.0 / 6.0).abs() < 1e-9);
    assert_eq!(
        g1.measures[0].standing().as_deref(),
        Some("17th percentile of growth-plan accounts")
    );
    assert!((g1.computed.unwrap() - 100.0 / 6.0).abs() < 1e-9);
    // A starter account is compared with all five: 40 per user is the top.
    let s2 = score(4);
    assert_eq!(s2.measures[0].percentile, Some(90.0));
    assert_eq!(
        s2.measures[0].standing().as_deref(),
        Some("90th percentile of all accounts")
    );
    // Scored alone, a relative measure has no data.
    assert_eq!(model.score(0, &signals[0], &[]).computed, None);
    // No active user: no events per user, left out of the ranks.
    let idle = usage(&model, 0, 0);
    assert_eq!(
        model
            .score_ranked(0, &idle, Some((&accounts[0], &ranks)), &[])
            .computed,
        None
    );
}

#[test]
fn a_lower_is_better_percentile_is_turned_around_and_thresholds_apply_to_it() {
    let model = HealthModel::new(&health(
        r#"
[[health.measures]]
name = "Events"
kind = "event_count"
percentile = { direction = "lower_is_better" }
thresholds = [[0, 0], [50, 100]]
weight = 1
"#,
    ));
    let accounts = [Account::bare("a"), Account::bare("b")];
    let signals = [usage(&model, 1, 1), usage(&model, 9, 1)];
    let ranks = model.day_ranks(accounts.iter().zip(&signals).map(|(a, s)| (0, a, s)));
    let a = model.score_ranked(0, &signals[0], Some((&accounts[0], &ranks)), &[]);
    assert_eq!(a.measures[0].percentile, Some(75.0));
    assert_eq!(a.computed, Some(100.0));
    let b = model.score_ranked(0, &signals[1], Some((&accounts[1], &ranks)), &[]);
    assert_eq!(b.measures[0].percentile, Some(25.0));
    assert_eq!(b.computed, Some(0.0));
}

#[test]
fn usage_against_the_own_baseline_is_per_day() {
    let model = HealthModel::new(&health(
        r#"
[[health.measures]]
name = "Usage against own baseline"
kind = "event_trend"
window_days = 28
baseline_days = 90
linear = { min = 0, max = 2 }
weight = 1
"#,
    ));
    let plan = model.plan();
    let last = plan
        .event_windows
        .iter()
        .position(|w| w.window == Window::ending_on_as_of(28))
        .unwrap();
    let earlier = plan
        .event_windows
        .iter()
        .position(|w| w.window.days == 62 && w.window.ends_days_before == 28)
        .unwrap();
    let mut s = AccountSignals::empty(plan, d("2025-03-31"));
    // 28 events in 28 days against 124 in the 62 days before: 1 a day
    // against 2 a day.
    s.event_counts[last] = 28;
    s.event_counts[earlier] = 124;
    assert_eq!(model.score(0, &s, &[]).measures[0].raw, Some(0.5));
    s.event_counts[earlier] = 0;
    assert_eq!(model.score(0, &s, &[]).computed, None);
}

#[test]
fn relative_settings_are_checked_and_change_the_version() {
    let bad = |toml: &str| parse_config(toml).is_err();
    assert!(bad(
        "[[health.measures]]\nname = \"x\"\nkind = \"event_count\"\nper = \"day\"\nweight = 1\nlinear = { min = 0, max = 1 }\n"
    ));
    assert!(bad(
        "[[health.measures]]\nname = \"x\"\nkind = \"event_count\"\nbaseline_days = 90\nweight = 1\nlinear = { min = 0, max = 1 }\n"
    ));
    assert!(bad(
        "[[health.measures]]\nname = \"x\"\nkind = \"event_trend\"\nwindow_days = 28\nbaseline_days = 20\nweight = 1\nlinear = { min = 0, max = 1 }\n"
    ));
    assert!(bad(
        "[[health.measures]]\nname = \"x\"\nkind = \"event_count\"\npercentile = { min_group = 0 }\nweight = 1\n"
    ));
    let a = health(PER_USER_PERCENTILE);
    let b = health(&PER_USER_PERCENTILE.replace("among = \"plan\"", "among = \"segment\""));
    assert_eq!(
        b.default.measures[0].relative.as_ref().unwrap().among,
        Among::Attribute("segment".into())
    );
    assert_ne!(a.default.version(), b.default.version());
}

#[test]
fn the_adaptive_scorecard_parses_and_compares_usage_with_the_company() {
    let h = health(ADAPTIVE_SCORECARD);
    let model = HealthModel::new(&h);
    assert!(model.is_relative());
    let names: Vec<&str> = h.default.measures.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Active users",
            "Events per active user",
            "Usage against own baseline",
            "Latest NPS",
            "Days to renewal",
            "Payment failures"
        ]
    );
    // Without product events listed by name, it does not depend on them.
    assert!(
        h.default
            .measures
            .iter()
            .all(|m| !matches!(&m.kind, MeasureKind::FeatureAdoption { .. }))
    );
}

#[test]
fn day_ranks_do_not_depend_on_the_order_accounts_are_added() {
    let model = HealthModel::new(&health(PER_USER_PERCENTILE));
    let accounts: Vec<Account> = (0..40)
        .map(|i| {
            on_plan(
                &format!("a{i}"),
                if i % 3 == 0 { "starter" } else { "growth" },
            )
        })
        .collect();
    let signals: Vec<AccountSignals> = (0..40u64)
        .map(|i| usage(&model, (i * 37) % 101, 1 + (i % 4) as u32))
        .collect();
    let forward = model.day_ranks(accounts.iter().zip(&signals).map(|(a, s)| (0, a, s)));
    // The same accounts in two parts, the second first (as shards may come).
    let mut b = RanksBuilder::default();
    for (a, s) in accounts.iter().zip(&signals).skip(25) {
        b.add(&model, 0, a, s);
    }
    for (a, s) in accounts.iter().zip(&signals).take(25) {
        b.add(&model, 0, a, s);
    }
    let parts = b.finish(&model);
    for (a, s) in accounts.iter().zip(&signals) {
        let one = model.score_ranked(0, s, Some((a, &forward)), &[]);
        let two = model.score_ranked(0, s, Some((a, &parts)), &[]);
        assert_eq!(one, two);
        assert!(one.computed.is_some());
    }
    // 26 growth accounts, more than `min_group` (3): compared among them.
    let growth = model.score_ranked(0, &signals[1], Some((&accounts[1], &forward)), &[]);
    assert_eq!(
        growth.measures[0].compared_with.as_deref(),
        Some("growth-plan accounts")
    );
}

/// A scorecard of one `churn_risk` measure (100 points at probability 0,
/// none at 0.5 and above) and one attribute worth its value in points.
fn churn_risk_scorecard() -> HealthModel {
    HealthModel::new(&health(
        r#"
[[health.measures]]
name = "Churn risk"
kind = "churn_risk"
weight = 1
linear = { min = 0, max = 0.5, direction = "lower_is_better" }

[[health.measures]]
name = "a"
kind = "custom_attribute"
attribute = "a"
weight = 1
linear = { min = 0, max = 100 }
"#,
    ))
}

#[test]
fn churn_risk_measure_reads_the_stored_probability_and_is_missing_without_one() {
    let model = churn_risk_scorecard();
    assert!(model.plan().needs_churn_risk);
    let mut s = attribute_signals(&model, &[Some(40.0)], d("2025-03-31"));
    s.churn_risk = Some(0.1);
    let scored = model.score(0, &s, &[]);
    // Churn risk 0.1 of 0.5 → 80 points; (80 + 40) / 2.
    assert_eq!(scored.measures[0].raw, Some(0.1));
    assert_eq!(scored.measures[0].kind, "churn_risk");
    assert_eq!(scored.computed, Some(60.0));
    // No prediction: left out and the other measure re-weighted.
    s.churn_risk = None;
    let scored = model.score(0, &s, &[]);
    assert_eq!(scored.missing().collect::<Vec<_>>(), ["Churn risk"]);
    assert_eq!(scored.computed, Some(40.0));
}

#[test]
fn churn_risk_comes_from_the_latest_prediction_day_on_or_before_the_as_of_date() {
    let model = churn_risk_scorecard();
    let dates = [
        d("2025-03-01"),
        d("2025-03-10"),
        d("2025-03-31"),
        d("2025-06-01"),
    ];
    let mut b = SignalsBuilder::new(model.plan(), &dates, 2, &CurrencyConfig::default());
    b.churn_prediction_days(&[d("2025-03-10"), d("2025-03-05"), d("2025-04-01")]);
    b.churn_prediction(0, d("2025-03-05"), 0.2);
    b.churn_prediction(0, d("2025-03-10"), 0.3);
    b.churn_prediction(1, d("2025-03-05"), 0.6);
    // Made after every as-of date but the last: read only by that one.
    b.churn_prediction(0, d("2025-04-01"), 0.9);
    let t = b.finish();
    let risk = |date: usize, account: usize| t.signals(date, account).churn_risk;
    // Before any prediction: none (no look-ahead).
    assert_eq!(risk(0, 0), None);
    assert_eq!(risk(1, 0), Some(0.3));
    // 2025-03-31 reads 2025-03-10's predictions; account 1 had none that
    // day (not paying then), so it has none, not its older one.
    assert_eq!(risk(2, 0), Some(0.3));
    assert_eq!(risk(2, 1), None);
    // 61 days after the last prediction day: too old to count.
    assert_eq!(risk(3, 0), None);
    let days = [d("2025-03-05"), d("2025-03-10")];
    assert_eq!(churn_prediction_day(&days, d("2025-03-04")), None);
    assert_eq!(
        churn_prediction_day(&days, d("2025-03-09")),
        Some(d("2025-03-05"))
    );
    assert_eq!(
        churn_prediction_day(&days, d("2025-04-10")),
        Some(d("2025-03-10"))
    );
    assert_eq!(churn_prediction_day(&days, d("2025-04-11")), None);
}

#[test]
fn churn_risk_is_not_loaded_unless_something_reads_it() {
    let model = attribute_scorecard(&[1.0]);
    assert!(!model.plan().needs_churn_risk);
    let as_of = d("2025-03-31");
    let mut b = SignalsBuilder::new(model.plan(), &[as_of], 1, &CurrencyConfig::default());
    b.churn_prediction_days(&[as_of]);
    b.churn_prediction(0, as_of, 0.4);
    assert_eq!(b.finish().signals(0, 0).churn_risk, None);
}
