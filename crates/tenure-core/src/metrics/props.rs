//! Property tests: the engine against a naive day-by-day reference written
//! straight from docs/METRICS.md, and the invariants the issue lists (the
//! MRR identity, ledger totals equal to report movements, rates within
//! [0, 1], NRR ≥ GRR).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use proptest::prelude::*;

use super::*;
use crate::model::{Currency, Money, SurveyKind, date_from_day, day_number};

/// Day 0 of the generated histories.
fn base() -> i32 {
    day_number(Date::constant(2025, 1, 1))
}

type SubSpec = (usize, i64, i32, Option<i32>, Option<i32>, Option<i64>);

fn sub_strategy(accounts: usize) -> impl Strategy<Value = SubSpec> {
    (
        0..accounts,
        // Mostly positive, some zero and a few negative lines.
        prop_oneof![8 => 1..400i64, 1 => Just(0i64), 1 => -100..0i64],
        0..60i32,
        prop::option::of(0..40i32),
        prop::option::of(0..80i32),
        prop::option::of(0..6i64),
    )
}

fn build(accounts: usize, subs: &[SubSpec], trials: &[Option<(i32, i32)>]) -> MetricsInput {
    MetricsInput {
        accounts: (0..accounts)
            .map(|a| AccountInput {
                id: format!("a{a}"),
                trial_start: trials
                    .get(a)
                    .copied()
                    .flatten()
                    .map(|t| date_from_day(base() + t.0)),
                trial_end: trials
                    .get(a)
                    .copied()
                    .flatten()
                    .map(|t| date_from_day(base() + t.0 + t.1)),
            })
            .collect(),
        subscriptions: subs
            .iter()
            .enumerate()
            .map(
                |(i, &(account, mrr, start, len, renewal, seats))| SubscriptionInput {
                    id: format!("s{i:02}"),
                    account,
                    mrr: Money::new(mrr, Currency::USD),
                    start: date_from_day(base() + start),
                    end: len.map(|l| date_from_day(base() + start + l)),
                    renewal: renewal.map(|r| date_from_day(base() + r)),
                    seats,
                },
            )
            .collect(),
        responses: Vec::new(),
        tickets: Vec::new(),
        first_values: Vec::new(),
    }
}

/// MRR of an account on a day, straight from docs/METRICS.md, "MRR, ARR and
/// active accounts" (floored at zero, as documented).
fn naive_mrr(input: &MetricsInput, account: usize, day: i32) -> i64 {
    let sum: i64 = input
        .subscriptions
        .iter()
        .filter(|s| s.account == account)
        .filter(|s| day_number(s.start) <= day && s.end.is_none_or(|e| day < day_number(e)))
        .map(|s| s.mrr.minor)
        .sum();
    sum.max(0)
}

#[derive(Debug, Default, PartialEq)]
struct Naive {
    mrr_start: i64,
    mrr_end: i64,
    totals: MovementTotals,
    accounts_start: u64,
    accounts_end: u64,
    retained: u64,
    cohort_end: i64,
    cohort_kept: i64,
    renewed: u64,
    renewing: u64,
    converted: u64,
    trials: u64,
}

/// Every MRR figure of a period, comparing each account day by day from the
/// day before the period to its last day.
fn naive(input: &MetricsInput, first: i32, last: i32) -> Naive {
    let mut n = Naive::default();
    let earliest = base() - 1;
    for a in 0..input.accounts.len() {
        let start = naive_mrr(input, a, first - 1);
        let end = naive_mrr(input, a, last);
        n.mrr_start += start;
        n.mrr_end += end;
        n.accounts_start += u64::from(start > 0);
        n.accounts_end += u64::from(end > 0);
        if start > 0 {
            n.retained += u64::from(end > 0);
            n.cohort_end += end;
            n.cohort_kept += end.min(start);
        }
        for day in first..=last {
            let before = naive_mrr(input, a, day - 1);
            let after = naive_mrr(input, a, day);
            if before == after {
                continue;
            }
            if before == 0 {
                let had = (earliest..day).any(|e| naive_mrr(input, a, e) > 0);
                let kind = if had {
                    MovementKind::Reactivation
                } else {
                    MovementKind::New
                };
                n.totals.add(kind, after);
            } else if after == 0 {
                n.totals.add(MovementKind::Churn, before);
            } else if after > before {
                n.totals.add(MovementKind::Expansion, after - before);
            } else {
                n.totals.add(MovementKind::Contraction, before - after);
            }
        }
        if let Some(t) = input.accounts[a].trial_start.map(day_number)
            && (first..=last).contains(&t)
        {
            n.trials += 1;
            let deadline = day_number(input.accounts[a].trial_end.unwrap()) + 30;
            let converted = input
                .subscriptions
                .iter()
                .any(|s| s.account == a && s.mrr.minor > 0 && day_number(s.start) <= deadline);
            n.converted += u64::from(converted);
        }
    }
    for s in &input.subscriptions {
        if let Some(r) = s.renewal.map(day_number)
            && (first..=last).contains(&r)
        {
            n.renewing += 1;
            n.renewed += u64::from(naive_mrr(input, s.account, r) > 0);
        }
    }
    n
}

fn within_unit(r: &Report, metric: Metric) -> bool {
    r.get(metric).is_none_or(|v| (0.0..=1.0).contains(&v))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_engine_matches_a_day_by_day_reference(
        accounts in 1..6usize,
        subs in prop::collection::vec(sub_strategy(5), 0..14),
        trials in prop::collection::vec(prop::option::of((0..60i32, 0..20i32)), 0..6),
        from in 0..70i32,
        len in 1..40i32,
    ) {
        let subs: Vec<SubSpec> = subs.into_iter().filter(|s| s.0 < accounts).collect();
        let input = build(accounts, &subs, &trials);
        let ds = Dataset::new(input.clone(), &Rates::new(Currency::USD)).unwrap();
        let (first, last) = (base() + from, base() + from + len - 1);
        let p = Period::new(date_from_day(first), date_from_day(last)).unwrap();
        let r = ds.report(p, &Settings::default(), None);
        let n = naive(&input, first, last);

        prop_assert_eq!(r.mrr_start_minor, n.mrr_start);
        prop_assert_eq!(r.mrr_end_minor, n.mrr_end);
        prop_assert_eq!(r.movements, n.totals);
        prop_assert_eq!(r.get(Metric::AccountsStart), Some(n.accounts_start as f64));
        prop_assert_eq!(r.get(Metric::AccountsEnd), Some(n.accounts_end as f64));
        if n.mrr_start > 0 {
            prop_assert_eq!(r.get(Metric::Nrr), Some(n.cohort_end as f64 / n.mrr_start as f64));
            prop_assert_eq!(r.get(Metric::Grr), Some(n.cohort_kept as f64 / n.mrr_start as f64));
            let lost = (n.accounts_start - n.retained) as f64 / n.accounts_start as f64;
            prop_assert_eq!(r.get(Metric::LogoChurnRate), Some(lost));
        } else {
            prop_assert_eq!(r.get(Metric::Nrr), None);
        }
        if n.renewing > 0 {
            prop_assert_eq!(r.get(Metric::RenewalRate), Some(n.renewed as f64 / n.renewing as f64));
        }
        if n.trials > 0 {
            let rate = n.converted as f64 / n.trials as f64;
            prop_assert_eq!(r.get(Metric::TrialConversionRate), Some(rate));
        }
    }

    #[test]
    fn mrr_identity_ledger_totals_rates_and_nrr_over_grr(
        accounts in 1..8usize,
        subs in prop::collection::vec(sub_strategy(8), 0..30),
        from in 0..90i32,
        len in 1..120i32,
    ) {
        let subs: Vec<SubSpec> = subs.into_iter().filter(|s| s.0 < accounts).collect();
        let input = build(accounts, &subs, &[]);
        let ds = Dataset::new(input, &Rates::new(Currency::USD)).unwrap();
        let p = Period::new(
            date_from_day(base() + from),
            date_from_day(base() + from + len - 1),
        ).unwrap();
        let r = ds.report(p, &Settings::default(), None);
        let m = r.movements;

        // The MRR identity of docs/METRICS.md ("MRR movements and the
        // ledger"), every term ≥ 0.
        prop_assert!(m.new >= 0 && m.expansion >= 0 && m.contraction >= 0);
        prop_assert!(m.churned >= 0 && m.reactivation >= 0);
        prop_assert_eq!(
            r.mrr_end_minor - r.mrr_start_minor,
            m.new + m.expansion + m.reactivation - m.contraction - m.churned
        );

        // The ledger of the period has the report's totals.
        let ledger = ds.ledger(&LedgerQuery { period: Some(p), ..LedgerQuery::default() });
        prop_assert_eq!(MovementTotals::of(&ledger), m);
        for mv in &ledger {
            prop_assert!(mv.amount_minor > 0);
            prop_assert_eq!((mv.mrr_after_minor - mv.mrr_before_minor).abs(), mv.amount_minor);
        }
        // Filtering by type partitions the ledger.
        let by_kind: usize = MovementKind::ALL
            .iter()
            .map(|&k| ds.ledger(&LedgerQuery { period: Some(p), kind: Some(k), account: None }).len())
            .sum();
        prop_assert_eq!(by_kind, ledger.len());

        for metric in [Metric::Grr, Metric::RevenueChurnRate, Metric::LogoChurnRate,
                       Metric::RenewalRate, Metric::RenewalRateArr] {
            prop_assert!(within_unit(&r, metric), "{} = {:?}", metric.key(), r.get(metric));
        }
        if let (Some(nrr), Some(grr)) = (r.get(Metric::Nrr), r.get(Metric::Grr)) {
            prop_assert!(nrr >= grr, "nrr {} < grr {}", nrr, grr);
        }

        // A monthly series chains and its movements add up to the period's.
        let series = ds.series(p, Interval::Month, &Settings::default(), None);
        let mut sum = MovementTotals::default();
        let mut prev_end = r.mrr_start_minor;
        for s in &series.reports {
            prop_assert_eq!(s.mrr_start_minor, prev_end);
            prev_end = s.mrr_end_minor;
            sum.new += s.movements.new;
            sum.expansion += s.movements.expansion;
            sum.contraction += s.movements.contraction;
            sum.churned += s.movements.churned;
            sum.reactivation += s.movements.reactivation;
        }
        prop_assert_eq!(prev_end, r.mrr_end_minor);
        prop_assert_eq!(sum, m);
    }

    #[test]
    fn survey_and_ticket_rates_match_a_reference_and_stay_in_range(
        responses in prop::collection::vec(
            (0..3u8, prop::option::of(0..4u8), 0..11i64, -2..33i64, 0..3u8), 0..25),
        tickets in prop::collection::vec((-2..33i64, prop::option::of(any::<bool>())), 0..15),
        from in 0..10i32,
        len in 1..25i32,
    ) {
        let hour = 3_600_000_000i64;
        let at = |h: i64| Timestamp::from_microsecond(i64::from(base()) * 24 * hour + h * 7 * hour).unwrap();
        let mut input = build(1, &[], &[]);
        for (i, &(kind, contact, score, h, id)) in responses.iter().enumerate() {
            let kind = [SurveyKind::Nps, SurveyKind::Csat, SurveyKind::Ces][kind as usize];
            let (lo, hi) = kind.range();
            input.responses.push(ResponseInput {
                id: format!("r{id}-{i:02}"),
                account: 0,
                contact_id: contact.map(|c| format!("c{c}")),
                kind,
                score: score.clamp(lo, hi),
                responded_at: at(h),
            });
        }
        for &(h, fcr) in &tickets {
            input.tickets.push(TicketInput { account: 0, opened_at: at(h), first_contact_resolved: fcr });
        }
        let ds = Dataset::new(input.clone(), &Rates::new(Currency::USD)).unwrap();
        let (first, last) = (base() + from, base() + from + len - 1);
        let p = Period::new(date_from_day(first), date_from_day(last)).unwrap();
        let r = ds.report(p, &Settings::default(), None);
        let inside = |t: Timestamp| (first..=last).contains(&crate::model::day_of_micros(t.as_microsecond()));

        // NPS: each contact's latest answer, ties to the greater id.
        let mut latest: BTreeMap<String, (Timestamp, String, i64)> = BTreeMap::new();
        let mut scores = Vec::new();
        for x in input.responses.iter().filter(|x| x.kind == SurveyKind::Nps && inside(x.responded_at)) {
            match &x.contact_id {
                None => scores.push(x.score),
                Some(c) => {
                    let entry = (x.responded_at, x.id.clone(), x.score);
                    let e = latest.entry(c.clone()).or_insert_with(|| entry.clone());
                    if (entry.0, &entry.1) > (e.0, &e.1) {
                        *e = entry;
                    }
                }
            }
        }
        scores.extend(latest.values().map(|e| e.2));
        let expected = (!scores.is_empty()).then(|| {
            let p = scores.iter().filter(|&&s| s >= 9).count() as f64;
            let d = scores.iter().filter(|&&s| s <= 6).count() as f64;
            (p - d) * 100.0 / scores.len() as f64
        });
        prop_assert_eq!(r.get(Metric::Nps), expected);
        if let Some(nps) = r.get(Metric::Nps) {
            prop_assert!((-100.0..=100.0).contains(&nps));
        }

        let fcr: Vec<bool> = input.tickets.iter()
            .filter(|t| inside(t.opened_at))
            .filter_map(|t| t.first_contact_resolved)
            .collect();
        let expected = (!fcr.is_empty())
            .then(|| fcr.iter().filter(|&&b| b).count() as f64 / fcr.len() as f64);
        prop_assert_eq!(r.get(Metric::Fcr), expected);
        for metric in [Metric::Csat, Metric::Fcr] {
            prop_assert!(within_unit(&r, metric));
        }
        if let Some(ces) = r.get(Metric::Ces) {
            prop_assert!((1.0..=7.0).contains(&ces));
        }
    }

    #[test]
    fn usage_matches_a_reference(
        events in prop::collection::vec((0..3usize, 0..4u8, 0..(40 * 24 * 4i64)), 0..60),
        end in 25..40i32,
        seats in prop::collection::vec(prop::option::of(0..4i64), 3),
    ) {
        // Events on a quarter-hour grid over 40 days, so 30-minute gaps occur.
        let quarter_hour = 15 * 60 * 1_000_000i64;
        let t0 = i64::from(base()) * 86_400_000_000;
        let end_day = base() + end;
        let mut acc = UsageAccumulator::new(&[date_from_day(end_day)]);
        for &(a, u, q) in &events {
            acc.add(a, &format!("u{u}"), t0 + q * quarter_hour);
        }
        let usage = acc.finish();
        let w = usage.window(date_from_day(end_day)).unwrap();

        let day = |q: i64| crate::model::day_of_micros(t0 + q * quarter_hour);
        let in_days = |q: i64, n: i32| (end_day - n + 1..=end_day).contains(&day(q));
        let users = |n: i32| events.iter().filter(|e| in_days(e.2, n)).map(|e| e.1).collect::<BTreeSet<_>>();
        prop_assert_eq!(w.dau, users(1).len() as u64);
        prop_assert_eq!(w.wau, users(7).len() as u64);
        prop_assert_eq!(w.mau, users(30).len() as u64);
        let user_days: BTreeSet<(u8, i32)> =
            events.iter().filter(|e| in_days(e.2, 30)).map(|e| (e.1, day(e.2))).collect();
        prop_assert_eq!(w.user_days, user_days.len() as u64);
        let mut session_micros = 0;
        for u in users(30) {
            let mut qs: Vec<i64> = events.iter().filter(|e| e.1 == u && in_days(e.2, 30)).map(|e| e.2).collect();
            qs.sort_unstable();
            let mut start = qs[0];
            for pair in qs.windows(2) {
                if pair[1] - pair[0] > 2 {
                    session_micros += (pair[0] - start) * quarter_hour;
                    start = pair[1];
                }
            }
            session_micros += (qs[qs.len() - 1] - start) * quarter_hour;
        }
        prop_assert_eq!(w.session_micros, session_micros);
        for a in 0..3 {
            let n = events.iter().filter(|e| e.0 == a && in_days(e.2, 30)).map(|e| e.1).collect::<BTreeSet<_>>();
            prop_assert_eq!(w.account_mau(a), n.len() as u32);
        }

        // Usage rate and stickiness stay within [0, 1].
        let subs: Vec<SubSpec> = seats.iter().enumerate().map(|(a, &s)| (a, 100, 0, None, None, s)).collect();
        let ds = Dataset::new(build(3, &subs, &[]), &Rates::new(Currency::USD)).unwrap();
        let p = Period::new(date_from_day(end_day - 9), date_from_day(end_day)).unwrap();
        let r = ds.report(p, &Settings::default(), Some(&usage));
        prop_assert!(within_unit(&r, Metric::UsageRate));
        prop_assert!(within_unit(&r, Metric::Stickiness));
    }
}
