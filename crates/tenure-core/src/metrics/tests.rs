//! Hand-computed fixtures for every metric and every edge case of the issue.
//!
//! Fixtures are small text files, one record a line:
//!
//! ```text
//! account ID [trial=START..END]                  # trial end may be empty
//! sub ID ACCOUNT MRR START..[END] [renewal=D] [seats=N] [cur=EUR]
//! nps|csat|ces ACCOUNT CONTACT|- SCORE TIMESTAMP [id=ID]
//! ticket ACCOUNT TIMESTAMP true|false|-
//! event ACCOUNT USER TIMESTAMP
//! ```
//!
//! Accounts are created on first mention; `MRR` is in currency units.

use jiff::Timestamp;
use jiff::civil::Date;

use super::*;
use crate::model::{Currency, Money, SurveyKind, parse_date, parse_timestamp};

pub(super) fn d(s: &str) -> Date {
    parse_date(s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    parse_timestamp(s).unwrap()
}

fn period(s: &str) -> Period {
    let (a, b) = s.split_once("..").unwrap();
    Period::new(d(a), d(b)).unwrap()
}

/// A parsed fixture: the metrics input and the events, streamed later.
struct Fixture {
    input: MetricsInput,
    events: Vec<(usize, String, i64)>,
}

fn fixture(text: &str) -> Fixture {
    let mut fx = Fixture {
        input: MetricsInput::default(),
        events: Vec::new(),
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let opt = |name: &str| {
            words
                .iter()
                .find_map(|w| w.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        };
        match words[0] {
            "account" => {
                let a = fx.account(words[1]);
                if let Some(t) = opt("trial") {
                    let (s, e) = t.split_once("..").unwrap();
                    fx.input.accounts[a].trial_start = Some(d(s));
                    fx.input.accounts[a].trial_end = (!e.is_empty()).then(|| d(e));
                }
            }
            "sub" => {
                let account = fx.account(words[2]);
                let currency = Currency::parse(opt("cur").unwrap_or("USD")).unwrap();
                let (s, e) = words[4].split_once("..").unwrap();
                fx.input.subscriptions.push(SubscriptionInput {
                    id: words[1].to_string(),
                    account,
                    mrr: Money::parse_decimal(words[3], currency).unwrap(),
                    start: d(s),
                    end: (!e.is_empty()).then(|| d(e)),
                    renewal: opt("renewal").map(d),
                    seats: opt("seats").map(|n| n.parse().unwrap()),
                });
            }
            "nps" | "csat" | "ces" => {
                let account = fx.account(words[1]);
                let n = fx.input.responses.len();
                fx.input.responses.push(ResponseInput {
                    id: opt("id").map_or(format!("r{n:03}"), str::to_string),
                    account,
                    contact_id: (words[2] != "-").then(|| words[2].to_string()),
                    kind: SurveyKind::parse(words[0]).unwrap(),
                    score: words[3].parse().unwrap(),
                    responded_at: ts(words[4]),
                });
            }
            "ticket" => {
                let account = fx.account(words[1]);
                fx.input.tickets.push(TicketInput {
                    account,
                    opened_at: ts(words[2]),
                    first_contact_resolved: match words[3] {
                        "-" => None,
                        w => Some(w.parse().unwrap()),
                    },
                });
            }
            "event" => {
                let account = fx.account(words[1]);
                let micros = ts(words[3]).as_microsecond();
                fx.events.push((account, words[2].to_string(), micros));
            }
            other => panic!("unknown fixture record {other:?}"),
        }
    }
    fx
}

impl Fixture {
    fn account(&mut self, id: &str) -> usize {
        if let Some(i) = self.input.accounts.iter().position(|a| a.id == id) {
            return i;
        }
        self.input.accounts.push(AccountInput {
            id: id.to_string(),
            trial_start: None,
            trial_end: None,
        });
        self.input.accounts.len() - 1
    }

    fn dataset(&self) -> Dataset {
        Dataset::new(self.input.clone(), &Rates::new(Currency::USD)).unwrap()
    }

    fn usage(&self, ends: &[Date]) -> Usage {
        let mut acc = UsageAccumulator::new(ends);
        // Stream in reverse to show that order does not matter.
        for (account, user, micros) in self.events.iter().rev() {
            acc.add(*account, user, *micros);
        }
        acc.finish()
    }
}

fn report_with(text: &str, p: &str, settings: &Settings) -> Report {
    let fx = fixture(text);
    let p = period(p);
    let usage = fx.usage(&[p.to()]);
    fx.dataset().report(p, settings, Some(&usage))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Checks the listed metrics of a report; `None` means undefined.
fn check_report(report: &Report, expected: &[(Metric, Option<f64>)]) {
    for &(metric, want) in expected {
        let got = report.get(metric);
        let ok = match (got, want) {
            (Some(g), Some(w)) => close(g, w),
            (None, None) => true,
            _ => false,
        };
        assert!(
            ok,
            "{}: got {got:?} ({:?}), expected {want:?}",
            metric.key(),
            report.value(metric).reason
        );
        if got.is_none() {
            assert!(
                report.value(metric).reason.is_some(),
                "{} has no reason",
                metric.key()
            );
        }
    }
}

fn check(text: &str, p: &str, expected: &[(Metric, Option<f64>)]) -> Report {
    let report = report_with(text, p, &Settings::default());
    check_report(&report, expected);
    report
}

use Metric::*;

/// One quarter exercising every metric; each value is worked out by hand in
/// the comments (and in docs/METRICS.md).
const QUARTER: &str = r#"
    # a1: steady 100 all along.
    sub s1 a1 100 2024-06-01.. renewal=2025-02-01 seats=10
    # a2: 200 until 2025-02-15: churn 200. Renewal on a day it is no longer active.
    sub s2 a2 200 2024-01-01..2025-02-15 renewal=2025-02-15 seats=20
    # a3: 100, plus 50 from 2025-01-10: expansion 50. Renewal on D1.
    sub s3 a3 100 2024-03-01.. renewal=2025-01-01
    sub s4 a3 50 2025-01-10..
    # a4: 400 over two lines; s6 cancelled on 2025-03-01: contraction 100.
    # s5 ends on D2 + 1, so it still counts at the end.
    sub s5 a4 300 2024-05-01..2025-04-01 renewal=2025-04-01 seats=1
    sub s6 a4 100 2024-05-01..2025-03-01 seats=5
    # a5: starts on D1: new 80.
    sub s7 a5 80 2025-01-01..
    # a6: churns on 2025-01-20 and returns on 2025-02-10: churn 60, reactivation 60.
    sub s8 a6 60 2024-01-01..2025-01-20
    sub s9 a6 60 2025-02-10..
    # a7: trial, converts within trial end + 30 days: new 50.
    account a7 trial=2025-01-05..2025-01-19
    sub s10 a7 50 2025-02-15..
    # a8: trial in the period, never pays. a9: trial before the period.
    account a8 trial=2025-02-01..2025-02-14
    account a9 trial=2024-12-20..2025-01-03

    # NPS: c1 answers twice (latest: 10); c3 and c4 answer outside the period;
    # answers without contact count alone; c5 and c6 sit on the boundaries.
    nps a1 c1 3 2025-01-05T10:00:00Z
    nps a1 c1 10 2025-03-01T10:00:00Z
    nps a1 c1 0 2025-04-02T10:00:00Z
    nps a2 c2 8 2025-02-01T10:00:00Z
    nps a3 - 9 2025-01-10T10:00:00Z
    nps a3 - 5 2025-01-11T10:00:00Z
    nps a4 c3 0 2024-12-31T23:59:59Z
    nps a4 c4 0 2025-04-01T00:00:00Z
    nps a5 c5 10 2025-01-01T00:00:00Z
    nps a5 c6 6 2025-03-31T23:59:59.999999Z

    csat a1 c1 5 2025-01-02T00:00:00Z
    csat a1 c1 4 2025-01-03T00:00:00Z
    csat a2 c2 3 2025-02-03T00:00:00Z
    csat a2 c2 1 2025-03-03T00:00:00Z
    csat a2 c2 5 2025-04-03T00:00:00Z

    ces a1 c1 7 2025-01-02T00:00:00Z
    ces a1 c1 4 2025-02-02T00:00:00Z
    ces a1 c1 5 2025-03-02T00:00:00Z

    ticket a1 2025-01-01T00:00:00Z true
    ticket a1 2025-02-10T12:00:00Z true
    ticket a1 2025-03-31T23:59:59Z false
    ticket a1 2025-04-01T01:00:00+02:00 true   # 2025-03-31T23:00Z: inside
    ticket a2 2025-02-11T12:00:00Z -
    ticket a2 2024-12-31T23:59:59Z false
    ticket a2 2025-04-01T00:00:00Z true

    # u1: 10:00, 10:20, 10:50 (gap of exactly 30 min stays in): 50 min;
    # 11:30 (gap 40 min) starts a session of 0 min; on 03-30 a 10 min session.
    event a1 u1 2025-03-31T10:00:00Z
    event a1 u1 2025-03-31T10:20:00Z
    event a1 u1 2025-03-31T10:50:00Z
    event a1 u1 2025-03-31T11:30:00Z
    event a1 u1 2025-03-30T09:00:00Z
    event a1 u1 2025-03-30T09:10:00Z
    event a1 u2 2025-03-26T08:00:00Z
    event a1 u2 2025-03-26T08:05:00Z
    # u3: one event on the window's first instant; the one a minute before is outside.
    event a3 u3 2025-03-01T23:59:00Z
    event a3 u3 2025-03-02T00:00:00Z
    event a4 u4 2025-03-10T12:00:00Z
    event a4 u5 2025-02-28T12:00:00Z
"#;

#[test]
fn every_metric_of_a_quarter_by_hand() {
    let settings = Settings {
        gross_margin: 0.8,
        cs_cost_monthly: Some(1000.0),
    };
    let r = report_with(QUARTER, "2025-01-01..2025-03-31", &settings);
    // Start (2024-12-31): a1 100 + a2 200 + a3 100 + a4 400 + a6 60.
    // End (2025-03-31): a1 100 + a3 150 + a4 300 + a5 80 + a6 60 + a7 50.
    let arpa = 740.0 / 6.0;
    let monthly_churn = 1.0 - 0.8f64.powf(30.4375 / 90.0);
    check_report(
        &r,
        &[
            (MrrStart, Some(860.0)),
            (MrrEnd, Some(740.0)),
            (ArrEnd, Some(8880.0)),
            (NewMrr, Some(130.0)),
            (ExpansionMrr, Some(50.0)),
            (ContractionMrr, Some(100.0)),
            (ChurnedMrr, Some(260.0)),
            (ReactivationMrr, Some(60.0)),
            // Cohort a1 a2 a3 a4 a6: at the end 100 + 0 + 150 + 300 + 60.
            (Nrr, Some(610.0 / 860.0)),
            // min(end, start): 100 + 0 + 100 + 300 + 60.
            (Grr, Some(560.0 / 860.0)),
            (RevenueChurnRate, Some(300.0 / 860.0)),
            // a2 lost; a6 churned and returned, so it is not a lost logo.
            (LogoChurnRate, Some(0.2)),
            (AccountsStart, Some(5.0)),
            (AccountsEnd, Some(6.0)),
            (Arpa, Some(arpa)),
            (Cltv, Some(arpa * 0.8 / monthly_churn)),
            // 1000 a month × 90 / 30.4375 days, over the 4 retained accounts.
            (Crc, Some(1000.0 * 90.0 / 30.4375 / 4.0)),
            // Counted: c1 10, c2 8, 9 and 5 without contact, c5 10, c6 6:
            // 3 promoters, 2 detractors out of 6.
            (Nps, Some(100.0 / 6.0)),
            (Csat, Some(0.5)),
            (Ces, Some(16.0 / 3.0)),
            (Fcr, Some(0.75)),
            // s1 and s3 renewed (ARR 1200 each), s2 not (ARR 2400).
            (RenewalRate, Some(2.0 / 3.0)),
            (RenewalRateArr, Some(0.5)),
            (TrialConversionRate, Some(0.5)),
            (Dau, Some(1.0)),
            (Wau, Some(2.0)),
            (Mau, Some(4.0)),
            // User-days: u1 2, u2 1, u3 1, u4 1 = 5; 5 / 30 / 4.
            (Stickiness, Some(5.0 / 120.0)),
            // a1: min(2 users, 10 seats); a4: min(1 user, 1 seat); 3 / 11.
            (UsageRate, Some(3.0 / 11.0)),
            // 50 + 0 + 10 + 5 + 0 + 0 minutes over 4 users.
            (AvgTimeOnPlatformMinutes, Some(16.25)),
            // No success plans in this data.
            (TimeToValueDays, None),
        ],
    );
    assert_eq!(r.values().len(), 31);
    let expected_totals = MovementTotals {
        new: 13000,
        expansion: 5000,
        contraction: 10000,
        churned: 26000,
        reactivation: 6000,
    };
    assert_eq!(r.movements, expected_totals);
    assert_eq!(r.mrr_end_minor - r.mrr_start_minor, r.movements.net());
}

#[test]
fn report_json_has_the_design_keys_in_order_and_nulls_for_undefined() {
    let fx = fixture("sub s1 a1 100.5 2025-01-01..");
    let r = fx
        .dataset()
        .report(period("2025-01-01..2025-01-31"), &Settings::default(), None);
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        json.starts_with(
            r#"{"mrr_start":0.0,"mrr_end":100.5,"arr_end":1206.0,"new_mrr":100.5,"expansion_mrr":0.0,"#
        ),
        "{json}"
    );
    assert!(json.contains(r#""nrr":null,"#), "{json}");
    assert!(
        json.contains(r#""accounts_start":0,"accounts_end":1,"arpa":100.5,"#),
        "{json}"
    );
    assert!(
        json.ends_with(
            r#""usage_rate":null,"avg_time_on_platform_minutes":null,"time_to_value_days":null}"#
        ),
        "{json}"
    );
    let keys: Vec<String> = json
        .trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .map(|kv| kv.split(':').next().unwrap().trim_matches('"').to_string())
        .collect();
    let expected: Vec<&str> = Metric::ALL.iter().map(|m| m.key()).collect();
    assert_eq!(keys, expected);
    assert_eq!(
        r.value(Nrr).reason,
        Some("no account was active on the day before the period")
    );
    assert_eq!(r.value(Dau).reason, Some("usage events were not loaded"));
}

#[test]
fn empty_data_gives_zero_money_and_undefined_rates_with_reasons() {
    let r = check(
        "",
        "2025-01-01..2025-01-31",
        &[
            (MrrStart, Some(0.0)),
            (MrrEnd, Some(0.0)),
            (Nrr, None),
            (Grr, None),
            (RevenueChurnRate, None),
            (LogoChurnRate, None),
            (AccountsEnd, Some(0.0)),
            (Arpa, None),
            (Cltv, None),
            (Crc, None),
            (Nps, None),
            (Csat, None),
            (Ces, None),
            (Fcr, None),
            (RenewalRate, None),
            (RenewalRateArr, None),
            (TrialConversionRate, None),
            (Dau, Some(0.0)),
            (Mau, Some(0.0)),
            (Stickiness, None),
            (UsageRate, None),
            (AvgTimeOnPlatformMinutes, None),
        ],
    );
    for v in r.values() {
        assert_eq!(v.value.is_none(), v.reason.is_some(), "{:?}", v.metric);
    }
}

#[test]
fn subscription_ending_on_d2_plus_one_still_counts_at_the_end() {
    let text = "sub s1 a1 100 2024-01-01..2025-04-01";
    check(
        text,
        "2025-01-01..2025-03-31",
        &[
            (MrrEnd, Some(100.0)),
            (ChurnedMrr, Some(0.0)),
            (LogoChurnRate, Some(0.0)),
        ],
    );
    // The churn belongs to the next period.
    check(
        text,
        "2025-04-01..2025-06-30",
        &[
            (MrrStart, Some(100.0)),
            (MrrEnd, Some(0.0)),
            (ChurnedMrr, Some(100.0)),
        ],
    );
}

#[test]
fn subscription_starting_on_d1_is_a_movement_of_the_period() {
    let text = "sub s1 a1 100 2025-01-01..";
    check(
        text,
        "2025-01-01..2025-03-31",
        &[
            (MrrStart, Some(0.0)),
            (NewMrr, Some(100.0)),
            (AccountsStart, Some(0.0)),
        ],
    );
    check(
        text,
        "2024-10-01..2024-12-31",
        &[(MrrEnd, Some(0.0)), (NewMrr, Some(0.0))],
    );
}

#[test]
fn churn_and_return_inside_one_period_is_churn_then_reactivation() {
    let text = "
        sub s1 a1 100 2024-01-01..2025-02-01
        sub s2 a1 120 2025-03-01..
    ";
    check(
        text,
        "2025-01-01..2025-03-31",
        &[
            (ChurnedMrr, Some(100.0)),
            (ReactivationMrr, Some(120.0)),
            (NewMrr, Some(0.0)),
            (LogoChurnRate, Some(0.0)),
            (Nrr, Some(1.2)),
            (Grr, Some(1.0)),
        ],
    );
    let ledger = fixture(text).dataset().ledger(&LedgerQuery::default());
    let kinds: Vec<_> = ledger
        .iter()
        .map(|m| (m.date.to_string(), m.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("2024-01-01".to_string(), MovementKind::New),
            ("2025-02-01".to_string(), MovementKind::Churn),
            ("2025-03-01".to_string(), MovementKind::Reactivation),
        ]
    );
}

#[test]
fn cancelling_one_of_several_subscriptions_is_contraction_not_churn() {
    check(
        "
        sub s1 a1 100 2024-01-01..
        sub s2 a1 30 2024-01-01..2025-02-01
        ",
        "2025-01-01..2025-03-31",
        &[
            (ContractionMrr, Some(30.0)),
            (ChurnedMrr, Some(0.0)),
            (LogoChurnRate, Some(0.0)),
            (Grr, Some(100.0 / 130.0)),
        ],
    );
}

#[test]
fn several_changes_on_one_day_net_to_one_movement() {
    let text = "
        # a1 swaps two lines for the same total: no movement.
        sub s1 a1 100 2024-01-01..2025-02-01
        sub s2 a1 100 2025-02-01..
        # a2 upgrades 100 -> 150 and adds 20 the same day: one expansion of 70.
        sub s3 a2 100 2024-01-01..2025-02-10
        sub s4 a2 150 2025-02-10..
        sub s5 a2 20 2025-02-10..
        # a3 starts and stops a line on the same day it starts another: 0 -> 40.
        sub s6 a3 40 2025-03-01..
        sub s7 a3 99 2025-03-01..2025-03-01
    ";
    check(
        text,
        "2025-01-01..2025-03-31",
        &[
            (ExpansionMrr, Some(70.0)),
            (ContractionMrr, Some(0.0)),
            (ChurnedMrr, Some(0.0)),
            (NewMrr, Some(40.0)),
        ],
    );
    let ds = fixture(text).dataset();
    let ledger = ds.ledger(&LedgerQuery {
        period: Some(period("2025-01-01..2025-03-31")),
        ..LedgerQuery::default()
    });
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    assert_eq!(ledger[0].subscription_ids, ["s3", "s4", "s5"]);
    assert_eq!(
        (ledger[0].mrr_before_minor, ledger[0].mrr_after_minor),
        (10000, 17000)
    );
    assert_eq!(ledger[1].subscription_ids, ["s6", "s7"]);
    assert_eq!(
        ds.warnings().len(),
        1,
        "s7 has no days: {:?}",
        ds.warnings()
    );
}

#[test]
fn first_mrr_after_a_trial_is_new_and_a_later_return_is_reactivation() {
    let text = "
        account a1 trial=2024-11-01..2024-11-14
        # A zero-MRR trial line is not MRR.
        sub t1 a1 0 2024-11-01..2024-11-15
        sub s1 a1 100 2024-11-15..2024-12-01
        sub s2 a1 100 2025-02-01..
    ";
    check(
        text,
        "2024-11-01..2024-11-30",
        &[(NewMrr, Some(100.0)), (ReactivationMrr, Some(0.0))],
    );
    // The first MRR lies before this period: the return is a reactivation.
    check(
        text,
        "2025-01-01..2025-03-31",
        &[
            (NewMrr, Some(0.0)),
            (ReactivationMrr, Some(100.0)),
            (AccountsStart, Some(0.0)),
        ],
    );
}

#[test]
fn nps_counts_each_contacts_latest_response_only() {
    // c1: 0 then 10 (latest 10); c2: two answers at the same instant, the
    // greater id (r2, a 9) wins; two answers without contact count alone.
    check(
        "
        nps a1 c1 0 2025-01-02T00:00:00Z
        nps a1 c1 10 2025-01-03T00:00:00Z
        nps a1 c2 9 2025-01-04T00:00:00Z id=r2
        nps a1 c2 3 2025-01-04T00:00:00Z id=r1
        nps a1 - 2 2025-01-05T00:00:00Z
        nps a1 - 2 2025-01-05T00:00:00Z
        ",
        "2025-01-01..2025-01-31",
        // 2 promoters, 2 detractors out of 4.
        &[(Nps, Some(0.0))],
    );
    // Only the latest answer within the period counts: c1's later 0 is outside.
    check(
        "
        nps a1 c1 10 2025-01-03T00:00:00Z
        nps a1 c1 0 2025-02-03T00:00:00Z
        ",
        "2025-01-01..2025-01-31",
        &[(Nps, Some(100.0))],
    );
}

#[test]
fn responses_and_tickets_exactly_at_period_boundaries() {
    let text = "
        csat a1 - 5 2024-12-31T23:59:59.999999Z
        csat a1 - 5 2025-01-01T00:00:00Z
        csat a1 - 1 2025-01-31T23:59:59.999999Z
        csat a1 - 1 2025-02-01T00:00:00Z
        ces a1 - 1 2024-12-31T23:59:59Z
        ces a1 - 6 2025-01-01T00:00:00Z
        ces a1 - 7 2025-01-31T23:59:59Z
        ces a1 - 1 2025-02-01T00:00:00Z
        nps a1 - 0 2024-12-31T23:59:59Z
        nps a1 - 10 2025-01-01T00:00:00Z
        nps a1 - 10 2025-01-31T23:59:59Z
        nps a1 - 0 2025-02-01T00:00:00Z
        # A local time whose UTC date is inside: 2025-01-31T23:30Z.
        ticket a1 2025-02-01T01:30:00+02:00 true
        ticket a1 2025-01-01T00:00:00Z false
        ticket a1 2024-12-31T23:59:59Z true
        ticket a1 2025-02-01T00:00:00Z true
    ";
    check(
        text,
        "2025-01-01..2025-01-31",
        &[
            (Csat, Some(0.5)),
            (Ces, Some(6.5)),
            (Nps, Some(100.0)),
            (Fcr, Some(0.5)),
        ],
    );
}

#[test]
fn csat_counts_scores_four_and_five_of_csat_surveys_only() {
    check(
        "
        csat a1 - 4 2025-01-02T00:00:00Z
        csat a1 - 3 2025-01-02T00:00:00Z
        csat a1 - 5 2025-01-02T00:00:00Z
        nps a1 - 10 2025-01-02T00:00:00Z
        ",
        "2025-01-01..2025-01-31",
        &[(Csat, Some(2.0 / 3.0)), (Ces, None)],
    );
}

#[test]
fn cltv_is_undefined_without_churn_and_crc_without_cost() {
    let r = check(
        "sub s1 a1 100 2024-01-01..",
        "2025-01-01..2025-03-31",
        &[
            (LogoChurnRate, Some(0.0)),
            (Cltv, None),
            (Crc, None),
            (Arpa, Some(100.0)),
        ],
    );
    assert!(r.value(Cltv).reason.unwrap().contains("no logo churn"));
    // Half of the cohort lost.
    let settings = Settings {
        gross_margin: 1.0,
        cs_cost_monthly: Some(500.0),
    };
    let r = report_with(
        "
        sub s1 a1 100 2024-01-01..2025-02-01
        sub s2 a2 100 2024-01-01..
        ",
        "2025-01-01..2025-03-31",
        &settings,
    );
    // Half lost in 90 days: monthly churn 1 − 0.5^(30.4375/90).
    let monthly = 1.0 - 0.5f64.powf(30.4375 / 90.0);
    check_report(
        &r,
        &[
            (Cltv, Some(100.0 / monthly)),
            (Crc, Some(500.0 * 90.0 / 30.4375)),
        ],
    );
}

#[test]
fn renewal_rate_uses_renewal_dates_only() {
    check(
        "
        # Renews and stays: counted, renewed.
        sub s1 a1 100 2024-01-01.. renewal=2025-01-15
        # Ends the day before its renewal date: counted, not renewed.
        sub s2 a2 300 2024-01-01..2025-01-20 renewal=2025-01-20
        # Ends in the period but has no renewal date: left out.
        sub s3 a3 500 2024-01-01..2025-01-10
        # Renewal on the last day; another line of the account keeps it active.
        sub s4 a4 100 2024-01-01..2025-01-31 renewal=2025-01-31
        sub s5 a4 100 2025-01-31..
        ",
        "2025-01-01..2025-01-31",
        &[
            (RenewalRate, Some(2.0 / 3.0)),
            (RenewalRateArr, Some(200.0 / 500.0)),
        ],
    );
}

#[test]
fn trial_conversion_counts_paid_subscriptions_up_to_trial_end_plus_30_days() {
    check(
        "
        account a1 trial=2025-01-01..2025-01-14
        sub s1 a1 10 2025-02-13..       # trial end + 30: converted
        account a2 trial=2025-01-01..2025-01-14
        sub s2 a2 10 2025-02-14..       # trial end + 31: not converted
        account a3 trial=2025-01-10..2025-01-24
        sub s3 a3 0 2025-01-20..        # free plan: not converted
        account a4 trial=2025-01-20..
        sub s4 a4 10 2025-02-19..       # no trial end: trial start + 30
        account a5 trial=2024-12-31..2025-01-14
        sub s5 a5 10 2025-01-05..       # trial started before the period
        ",
        "2025-01-01..2025-01-31",
        &[(TrialConversionRate, Some(0.5))],
    );
}

#[test]
fn usage_rate_caps_each_account_at_its_seats() {
    check(
        "
        sub s1 a1 10 2025-01-01.. seats=2
        sub s2 a1 10 2025-01-01.. seats=1
        sub s3 a2 10 2025-01-01.. seats=5
        sub s4 a3 10 2025-01-01..       # no seats: left out
        sub s5 a4 10 2024-01-01..2025-01-31 seats=100   # ended: left out
        event a1 u1 2025-01-20T00:00:00Z
        event a1 u2 2025-01-20T00:00:00Z
        event a1 u3 2025-01-20T00:00:00Z
        event a1 u4 2025-01-20T00:00:00Z
        event a2 u5 2025-01-20T00:00:00Z
        event a3 u6 2025-01-20T00:00:00Z
        event a4 u7 2025-01-20T00:00:00Z
        ",
        "2025-01-01..2025-01-31",
        // a1: min(4, 3) = 3; a2: min(1, 5) = 1; (3 + 1) / (3 + 5).
        &[(UsageRate, Some(0.5)), (Mau, Some(7.0))],
    );
}

#[test]
fn currencies_are_converted_with_the_configured_rates() {
    let fx = fixture(
        "
        sub s1 a1 100 2025-01-01..
        sub s2 a2 100 2025-01-01.. cur=EUR
        sub s3 a3 1500 2025-01-01.. cur=JPY
        ",
    );
    let eur = Currency::parse("EUR").unwrap();
    let jpy = Currency::parse("JPY").unwrap();
    let rates = Rates::new(Currency::USD).with(eur, 1.1).with(jpy, 0.0067);
    let ds = Dataset::new(fx.input.clone(), &rates).unwrap();
    let r = ds.report(period("2025-01-01..2025-01-31"), &Settings::default(), None);
    check_report(&r, &[(MrrEnd, Some(100.0 + 110.0 + 10.05))]);

    let err = Dataset::new(fx.input.clone(), &Rates::new(Currency::USD).with(eur, 1.1));
    assert_eq!(
        err.unwrap_err(),
        MetricsError::MissingRate {
            currency: jpy,
            reporting: Currency::USD
        }
    );
}

#[test]
fn an_account_whose_lines_sum_below_zero_counts_as_zero() {
    let text = "
        sub s1 a1 100 2025-01-01..2025-01-20
        sub s2 a1 -30 2025-01-01..
    ";
    let fx = fixture(text);
    let ds = fx.dataset();
    assert_eq!(ds.warnings().len(), 1);
    check(
        text,
        "2025-01-01..2025-01-31",
        &[
            (NewMrr, Some(70.0)),
            (ChurnedMrr, Some(70.0)),
            (MrrEnd, Some(0.0)),
        ],
    );
}

#[test]
fn consecutive_periods_chain_exactly() {
    let fx = fixture(QUARTER);
    let ds = fx.dataset();
    let s = Settings::default();
    let jan = ds.report(period("2025-01-01..2025-01-31"), &s, None);
    let feb = ds.report(period("2025-02-01..2025-02-28"), &s, None);
    assert_eq!(jan.mrr_end_minor, feb.mrr_start_minor);
    assert_eq!(jan.get(AccountsEnd), feb.get(AccountsStart));
}

fn check_split(p: &str, interval: Interval, expected: &[&str]) {
    let got: Vec<String> = period(p)
        .split(interval)
        .iter()
        .map(|p| format!("{}..{}", p.from(), p.to()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn intervals_are_iso_weeks_calendar_months_and_quarters_clipped_to_the_period() {
    // 2025-01-01 is a Wednesday.
    check_split(
        "2025-01-01..2025-01-20",
        Interval::Week,
        &[
            "2025-01-01..2025-01-05",
            "2025-01-06..2025-01-12",
            "2025-01-13..2025-01-19",
            "2025-01-20..2025-01-20",
        ],
    );
    check_split(
        "2024-01-15..2024-03-10",
        Interval::Month,
        &[
            "2024-01-15..2024-01-31",
            "2024-02-01..2024-02-29",
            "2024-03-01..2024-03-10",
        ],
    );
    check_split(
        "2024-11-15..2025-07-01",
        Interval::Quarter,
        &[
            "2024-11-15..2024-12-31",
            "2025-01-01..2025-03-31",
            "2025-04-01..2025-06-30",
            "2025-07-01..2025-07-01",
        ],
    );
    check_split(
        "2025-03-05..2025-03-05",
        Interval::Month,
        &["2025-03-05..2025-03-05"],
    );
    assert_eq!(period("2025-01-01..2025-03-31").days(), 90);
    assert!(Period::new(d("2025-02-01"), d("2025-01-31")).is_err());
}

#[test]
fn a_series_is_one_report_per_interval_and_its_movements_add_up() {
    let fx = fixture(QUARTER);
    let ds = fx.dataset();
    let p = period("2025-01-01..2025-03-31");
    let ends: Vec<Date> = p.split(Interval::Month).iter().map(|p| p.to()).collect();
    let usage = fx.usage(&ends);
    let series = ds.series(p, Interval::Month, &Settings::default(), Some(&usage));
    assert_eq!(series.reports.len(), 3);
    let mut sum = MovementTotals::default();
    for r in &series.reports {
        for k in MovementKind::ALL {
            let amount = match k {
                MovementKind::New => r.movements.new,
                MovementKind::Expansion => r.movements.expansion,
                MovementKind::Contraction => r.movements.contraction,
                MovementKind::Churn => r.movements.churned,
                MovementKind::Reactivation => r.movements.reactivation,
            };
            sum.add(k, amount);
        }
    }
    // a6 churns in January and returns in February: the same as the quarter.
    assert_eq!(sum, ds.report(p, &Settings::default(), None).movements);
    // The March row has the quarter's usage (same window).
    assert_eq!(series.reports[2].get(Mau), Some(4.0));
    // January's window (01-02..01-31) has no events.
    assert_eq!(series.reports[0].get(Mau), Some(0.0));
    let json = serde_json::to_value(&series).unwrap();
    assert_eq!(json[1]["from"], "2025-02-01");
    assert_eq!(json[1]["to"], "2025-02-28");
    assert_eq!(json[1]["churned_mrr"], 200.0);
}

#[test]
fn the_ledger_lists_each_movement_with_its_subscriptions() {
    let fx = fixture(QUARTER);
    let ds = fx.dataset();
    let p = period("2025-01-01..2025-03-31");
    let ledger = ds.ledger(&LedgerQuery {
        period: Some(p),
        ..LedgerQuery::default()
    });
    let rows: Vec<String> = ledger
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {} {}->{} {}",
                m.date,
                ds.account_id(m.account),
                m.kind.as_str(),
                m.amount_minor / 100,
                m.mrr_before_minor / 100,
                m.mrr_after_minor / 100,
                m.subscription_ids.join(",")
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "2025-01-01 a5 new 80 0->80 s7",
            "2025-01-10 a3 expansion 50 100->150 s4",
            "2025-01-20 a6 churn 60 60->0 s8",
            "2025-02-10 a6 reactivation 60 0->60 s9",
            "2025-02-15 a2 churn 200 200->0 s2",
            "2025-02-15 a7 new 50 0->50 s10",
            "2025-03-01 a4 contraction 100 400->300 s6",
        ]
    );
    assert_eq!(
        MovementTotals::of(&ledger),
        ds.report(p, &Settings::default(), None).movements
    );

    let a6 = ds.account_index("a6").unwrap();
    let only = ds.ledger(&LedgerQuery {
        period: None,
        account: Some(a6),
        kind: Some(MovementKind::Churn),
    });
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].date, d("2025-01-20"));
    // Without a period, the whole history: a6's first MRR in 2024 is new.
    let all = ds.ledger(&LedgerQuery {
        account: Some(a6),
        ..LedgerQuery::default()
    });
    assert_eq!(all[0].kind, MovementKind::New);
    assert_eq!(all[0].date, d("2024-01-01"));

    let json = serde_json::to_string(&ds.entry(&ledger[1])).unwrap();
    assert_eq!(
        json,
        r#"{"date":"2025-01-10","account_id":"a3","type":"expansion","amount":50.0,"mrr_before":100.0,"mrr_after":150.0,"subscription_ids":["s4"]}"#
    );
}

fn check_cohorts(text: &str, as_of: &str, metric: CohortMetric, expected: &[(&str, u64, &[f64])]) {
    let ds = fixture(text).dataset();
    let table = ds.cohorts(&CohortQuery {
        from: None,
        as_of: d(as_of),
    });
    let got: Vec<(String, u64, Vec<Option<f64>>)> = table
        .rows
        .iter()
        .map(|r| {
            let values = (0..r.months()).map(|k| r.retention(metric, k)).collect();
            (r.month.strftime("%Y-%m").to_string(), r.size, values)
        })
        .collect();
    let want: Vec<(String, u64, Vec<Option<f64>>)> = expected
        .iter()
        .map(|(m, n, v)| (m.to_string(), *n, v.iter().map(|&x| Some(x)).collect()))
        .collect();
    assert_eq!(got, want);
}

const COHORTS: &str = "
    # January cohort: a1 stays, a2 churns in February, a3 churns in January.
    sub s1 a1 100 2025-01-05..
    sub e1 a1 100 2025-03-01..     # expansion in March
    sub s2 a2 100 2025-01-20..2025-02-10
    sub s3 a3 200 2025-01-02..2025-01-25
    # February cohort: a4, churns on 2025-03-31 (not active at March's end).
    sub s4 a4 50 2025-02-10..2025-03-31
    # No MRR in the table's range.
    sub s5 a5 50 2025-05-01..
";

#[test]
fn cohort_logo_retention_by_month_of_first_mrr() {
    check_cohorts(
        COHORTS,
        "2025-03-15",
        CohortMetric::Logo,
        &[
            // Jan end: a1, a2 of 3; Feb end: a1; Mar 15 (as of): a1.
            ("2025-01", 3, &[2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]),
            // Feb end: a4; Mar 15: a4 (it leaves on 03-31).
            ("2025-02", 1, &[1.0, 1.0]),
        ],
    );
    check_cohorts(
        COHORTS,
        "2025-03-31",
        CohortMetric::Logo,
        &[
            ("2025-01", 3, &[2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]),
            ("2025-02", 1, &[1.0, 0.0]),
        ],
    );
}

#[test]
fn cohort_revenue_retention_against_starting_mrr() {
    check_cohorts(
        COHORTS,
        "2025-03-31",
        CohortMetric::Revenue,
        &[
            // Starting MRR 100 + 100 + 200 = 400; Jan end 200, Feb 100, Mar 200.
            ("2025-01", 3, &[0.5, 0.25, 0.5]),
            ("2025-02", 1, &[1.0, 0.0]),
        ],
    );
    let ds = fixture(COHORTS).dataset();
    let table = ds.cohorts(&CohortQuery {
        from: Some(d("2025-02-01")),
        as_of: d("2025-03-31"),
    });
    let json = serde_json::to_string(&table.view(CohortMetric::Revenue)).unwrap();
    assert_eq!(
        json,
        r#"[{"cohort":"2025-02","size":1,"starting_mrr":50.0,"retention":[1.0,0.0]}]"#
    );
}

#[test]
fn usage_windows_merge_and_ignore_events_outside_them() {
    let acc = UsageAccumulator::new(&[
        d("2025-01-31"),
        d("2025-02-28"),
        d("2025-06-30"),
        d("2025-01-31"),
    ]);
    assert_eq!(acc.window_range(), Some((d("2025-01-02"), d("2025-06-30"))));
    assert_eq!(
        acc.windows(),
        [
            (d("2025-01-02"), d("2025-02-28")),
            (d("2025-06-01"), d("2025-06-30"))
        ]
    );
    assert_eq!(UsageAccumulator::new(&[]).window_range(), None);

    let mut acc = UsageAccumulator::new(&[d("2025-01-31")]);
    let at = |s: &str| ts(s).as_microsecond();
    acc.add(0, "u1", at("2025-01-01T23:59:59Z")); // outside
    acc.add(0, "u1", at("2025-01-02T00:00:00Z"));
    acc.add(0, "u1", at("2025-01-02T00:30:00Z")); // exactly 30 minutes: same session
    acc.add(0, "u1", at("2025-01-02T01:00:00.000001Z")); // 30 min + 1 µs: new session
    acc.add(1, "u1", at("2025-01-31T12:00:00Z"));
    acc.add(1, "u2", at("2025-02-01T00:00:00Z")); // outside
    let usage = acc.finish();
    let w = usage.window(d("2025-01-31")).unwrap();
    assert_eq!((w.dau, w.wau, w.mau, w.user_days), (1, 1, 1, 2));
    assert_eq!(w.session_micros, 30 * 60 * 1_000_000);
    assert_eq!(
        (w.account_mau(0), w.account_mau(1), w.account_mau(7)),
        (1, 1, 0)
    );
    assert!(usage.window(d("2025-01-30")).is_none());
}

#[test]
fn a_record_pointing_past_the_accounts_is_an_error() {
    let mut fx = fixture("sub s1 a1 10 2025-01-01..");
    fx.input.subscriptions[0].account = 3;
    let err = Dataset::new(fx.input, &Rates::new(Currency::USD)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "subscription s1 refers to account number 3, but only 1 accounts were loaded"
    );
}

#[test]
fn command_line_words_parse() {
    assert_eq!(Interval::parse("Month"), Ok(Interval::Month));
    assert!(Interval::parse("year").is_err());
    for k in MovementKind::ALL {
        assert_eq!(MovementKind::parse(k.as_str()), Ok(k));
    }
    assert!(MovementKind::parse("downgrade").is_err());
    assert_eq!(CohortMetric::parse("revenue"), Ok(CohortMetric::Revenue));
    assert!(CohortMetric::parse("seats").is_err());
}

#[test]
fn time_to_value_is_the_median_over_accounts_reaching_value_in_the_period() {
    // a1 pays from 01-01, a2 from 01-10, a3 from 02-01 (after a trial),
    // a4 never pays.
    let mut fx = fixture(
        "sub s1 a1 100 2025-01-01..
         sub s2 a2 100 2025-01-10..
         sub s3 a3 100 2025-02-01..
         account a4",
    );
    let d = |s: &str| -> Date { s.parse().unwrap() };
    fx.input.first_values = vec![
        (0, d("2025-02-15")), // a1: 45 days
        (1, d("2025-03-01")), // a2: 50 days
        (2, d("2025-01-20")), // a3: before its first MRR, in its trial: 0
        (3, d("2025-03-05")), // a4: never paid, left out
    ];
    let value = |p: &str| {
        fx.dataset()
            .report(period(p), &Settings::default(), None)
            .value(TimeToValueDays)
            .value
    };
    // Q1: a1, a3 and a2 reached value: 0, 45, 50.
    assert_eq!(value("2025-01-01..2025-03-31"), Some(45.0));
    // February: a1 only; March: a2 (a4 never paid).
    assert_eq!(value("2025-02-01..2025-02-28"), Some(45.0));
    assert_eq!(value("2025-03-01..2025-03-31"), Some(50.0));
    assert_eq!(value("2025-04-01..2025-04-30"), None);
    // An account index out of range is refused.
    fx.input.first_values.push((9, d("2025-01-01")));
    assert!(Dataset::new(fx.input.clone(), &Rates::new(Currency::USD)).is_err());
}

#[test]
fn account_index_finds_every_account_whatever_the_load_order() {
    let fx = fixture(
        "sub s1 zed 100 2025-01-01..\nsub s2 a10 100 2025-01-01..\nsub s3 a9 100 2025-01-01..\nsub s4 Mid 100 2025-01-01..",
    );
    let ds = fx.dataset();
    for id in ["zed", "a10", "a9", "Mid"] {
        let i = ds.account_index(id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(ds.account_id(i), id);
    }
    assert_eq!(ds.account_index("a1"), None);
    assert_eq!(ds.account_index(""), None);
}
