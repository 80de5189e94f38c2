//! Specifications of the demo simulator: determinism, record invariants,
//! the signal churn carries, and volumes.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::model::{SurveyKind, utc_date};

fn config(accounts: u32) -> DemoConfig {
    DemoConfig {
        accounts,
        ..DemoConfig::default()
    }
}

fn day(d: Date) -> i32 {
    day_number(d)
}

/// MRR of an account on a day, as docs/METRICS.md defines it ("MRR, ARR and
/// active accounts").
fn mrr_on(b: &AccountBundle, d: Date) -> i64 {
    b.subscriptions
        .iter()
        .filter(|s| s.start_date <= d && s.end_date.is_none_or(|e| d < e))
        .map(|s| s.mrr.minor)
        .sum()
}

/// The day an account stopped paying for good, if it has.
fn churn_day(b: &AccountBundle) -> Option<i32> {
    if b.subscriptions.is_empty() || b.subscriptions.iter().any(|s| s.end_date.is_none()) {
        return None;
    }
    b.subscriptions
        .iter()
        .filter_map(|s| s.end_date)
        .map(day)
        .max()
}

fn events_between(b: &AccountBundle, from: i32, to_exclusive: i32) -> usize {
    b.events
        .iter()
        .filter(|e| (from..to_exclusive).contains(&day(utc_date(e.timestamp))))
        .count()
}

#[test]
fn the_same_config_gives_the_same_accounts() {
    let a = Demo::new(config(50));
    let b = Demo::new(config(50));
    assert_eq!(a.csms(), b.csms());
    for i in [0, 1, 17, 49] {
        assert_eq!(a.account(i), b.account(i), "account {i}");
    }
    let other = Demo::new(DemoConfig {
        seed: 7,
        ..config(50)
    });
    assert_ne!(a.account(3), other.account(3));
}

#[test]
fn an_account_does_not_depend_on_call_order() {
    let demo = Demo::new(config(40));
    let forwards: Vec<AccountBundle> = (0..40).map(|i| demo.account(i)).collect();
    for i in (0..40).rev() {
        assert_eq!(demo.account(i), forwards[i as usize], "account {i}");
    }
    // A demo with more accounts simulates the same companies, only the CSM
    // assignment (which depends on the team size) may differ.
    let bigger = Demo::new(config(4000));
    let mut a = bigger.account(5);
    let mut b = demo.account(5);
    a.account.csm_email = None;
    b.account.csm_email = None;
    for e in a.engagements.iter_mut().chain(b.engagements.iter_mut()) {
        e.csm_email = None;
    }
    assert_eq!(a, b);
}

#[test]
#[should_panic(expected = "out of range")]
fn an_index_past_the_end_is_refused() {
    Demo::new(config(3)).account(3);
}

#[test]
fn the_cs_team_is_sized_for_the_number_of_accounts() {
    for accounts in [2000, 100_000] {
        let demo = Demo::new(config(accounts));
        let emails: BTreeSet<&str> = demo.csms().iter().map(|c| c.email.as_str()).collect();
        assert_eq!(emails.len(), demo.csms().len(), "e-mails are distinct");
        // Expected accounts per CSM, tier by tier: high-touch CSMs own the
        // fewest accounts (they are the largest), scaled SMB CSMs the most.
        let per_csm: Vec<f64> = TIERS
            .iter()
            .map(|(segment, share, _)| {
                f64::from(accounts) * share / demo.tiers[segment.tier()].len() as f64
            })
            .collect();
        assert!(
            per_csm[0] < per_csm[1] && per_csm[1] < per_csm[2],
            "{per_csm:?}"
        );
        assert!((40.0..=60.0).contains(&per_csm[0]), "{per_csm:?}");
        assert!((180.0..=250.0).contains(&per_csm[2]), "{per_csm:?}");
    }
    let tiny = Demo::new(config(1));
    assert_eq!(tiny.csms().len(), 3, "one CSM per tier at least");
    assert_eq!(tiny.account(0).account.id, "acc-000000");
}

/// Checks every record of one bundle against the invariants the rest of
/// Tenure relies on.
fn check_bundle(demo: &Demo, index: u32, b: &AccountBundle) {
    let cfg = demo.config();
    let id = format!("acc-{index:06}");
    let end_secs = (i64::from(day(cfg.end)) + 1) * 86_400;
    let window_secs = i64::from(day(demo.window_start())) * 86_400;
    let in_window = |t: jiff::Timestamp| {
        let s = t.as_second();
        assert!(s < end_secs, "{id}: {t} is after the end");
        assert!(s >= window_secs, "{id}: {t} is before the window");
    };
    check_account(cfg, &id, b);
    let contact_ids = check_contacts(index, &id, b);
    let max_seats = check_subscriptions(cfg, index, &id, b);
    check_events(index, &id, b, max_seats, &in_window);
    check_tickets(index, &id, b, &in_window);
    check_survey_responses(index, &id, b, &contact_ids, &in_window);
    check_engagements(index, &id, b, &in_window);
}

fn check_account(cfg: &DemoConfig, id: &str, b: &AccountBundle) {
    let a = &b.account;
    assert_eq!(a.id, id);
    assert!(a.created_at.unwrap() <= cfg.end);
    if let (Some(s), Some(e)) = (a.trial_start, a.trial_end) {
        assert!((14..=30).contains(&(day(e) - day(s))), "{id}: trial length");
        assert_eq!(a.created_at, Some(s));
    } else {
        assert!(a.trial_start.is_none() && a.trial_end.is_none());
    }
    assert!(["smb", "mid-market", "enterprise"].contains(&a.attributes["segment"].as_str()));
    assert!(["inbound", "outbound", "partner"].contains(&a.attributes["source"].as_str()));
    assert!(a.employees.unwrap() >= 5);
    assert_eq!(
        a.csm_email.is_some(),
        !b.subscriptions.is_empty(),
        "{id}: CSM iff customer"
    );
}

/// Returns the contacts' ids.
fn check_contacts<'b>(index: u32, id: &str, b: &'b AccountBundle) -> BTreeSet<&'b str> {
    assert!(
        (2..=15).contains(&b.contacts.len()),
        "{id}: {} contacts",
        b.contacts.len()
    );
    let contact_ids: BTreeSet<&str> = b.contacts.iter().map(|c| c.id.as_str()).collect();
    for (n, c) in b.contacts.iter().enumerate() {
        assert_eq!(c.id, format!("con-{index:06}-{:02}", n + 1));
        assert_eq!(c.account_id, id);
        assert!(c.email.contains('@') && c.email.ends_with(".example"));
    }
    contact_ids
}

/// Returns the largest seat count of any subscription.
fn check_subscriptions(cfg: &DemoConfig, index: u32, id: &str, b: &AccountBundle) -> i64 {
    let mut max_seats = 0;
    let mut previous_end: Option<Date> = None;
    for (n, s) in b.subscriptions.iter().enumerate() {
        assert_eq!(s.id, format!("sub-{index:06}-{:02}", n + 1));
        assert_eq!(s.account_id, id);
        assert!(s.mrr.minor > 0, "{id}: mrr");
        assert!(["USD", "EUR", "GBP"].contains(&s.mrr.currency.as_str()));
        assert!(
            s.start_date <= cfg.end,
            "{id}: a subscription starts after the end"
        );
        assert!(
            s.end_date.is_none_or(|e| s.start_date < e),
            "{id}: start < end"
        );
        let renewal = s.renewal_date.expect("every row has a renewal date");
        assert!(renewal > s.start_date);
        if let Some(e) = s.end_date {
            assert!(renewal >= e, "{id}: renewal before end");
            assert!(e <= cfg.end, "{id}: ends are decided by the end");
        } else {
            assert!(renewal > cfg.end);
            assert_eq!(
                n,
                b.subscriptions.len() - 1,
                "{id}: only the last row runs on"
            );
        }
        if let Some(p) = previous_end {
            assert!(p <= s.start_date, "{id}: rows overlap");
        } else if n > 0 {
            panic!("{id}: a row starts while another runs");
        }
        previous_end = s.end_date;
        max_seats = max_seats.max(s.seats.unwrap());
        assert_eq!(s.mrr.currency, b.subscriptions[0].mrr.currency);
    }
    max_seats
}

fn check_events(
    index: u32,
    id: &str,
    b: &AccountBundle,
    max_seats: i64,
    in_window: &dyn Fn(jiff::Timestamp),
) {
    let prefix = format!("u-{index:06}-");
    let names = [
        "login",
        "dashboard_viewed",
        "report_created",
        "integration_synced",
        "export_created",
        "invite_sent",
        "api_call",
    ];
    for w in b.events.windows(2) {
        assert!(
            w[0].timestamp <= w[1].timestamp,
            "{id}: events out of order"
        );
    }
    for e in &b.events {
        in_window(e.timestamp);
        assert_eq!(e.account_id, id);
        let seat: i64 = e.user_id.strip_prefix(&prefix).unwrap().parse().unwrap();
        // Trial users of an account that never paid have no seat to check.
        let seats = if b.subscriptions.is_empty() {
            3000
        } else {
            max_seats
        };
        assert!(
            (1..=seats).contains(&seat),
            "{id}: user {} has no seat",
            e.user_id
        );
        assert!(names.contains(&e.event.as_str()));
        if let Some(p) = &e.properties {
            let v: serde_json::Value = serde_json::from_str(p).unwrap();
            assert!(v.is_object());
        }
    }
}

fn check_tickets(index: u32, id: &str, b: &AccountBundle, in_window: &dyn Fn(jiff::Timestamp)) {
    for w in b.tickets.windows(2) {
        assert!(w[0].opened_at <= w[1].opened_at);
    }
    for (n, t) in b.tickets.iter().enumerate() {
        assert_eq!(t.id, format!("tkt-{index:06}-{:03}", n + 1));
        assert_eq!(t.account_id, id);
        in_window(t.opened_at);
        match t.closed_at {
            Some(c) => {
                assert!(c > t.opened_at, "{id}: closed before opened");
                in_window(c);
                assert!(t.first_contact_resolved.is_some());
            }
            None => assert!(t.csat.is_none() && t.first_contact_resolved.is_none()),
        }
        assert!(t.csat.is_none_or(|c| (1..=5).contains(&c)));
    }
}

fn check_survey_responses(
    index: u32,
    id: &str,
    b: &AccountBundle,
    contact_ids: &BTreeSet<&str>,
    in_window: &dyn Fn(jiff::Timestamp),
) {
    for w in b.survey_responses.windows(2) {
        assert!(w[0].responded_at <= w[1].responded_at);
    }
    for (n, s) in b.survey_responses.iter().enumerate() {
        assert_eq!(s.id, format!("srv-{index:06}-{:03}", n + 1));
        assert_eq!(s.account_id, id);
        in_window(s.responded_at);
        assert!(
            s.kind.check_score(s.score).is_ok(),
            "{id}: {:?} {}",
            s.kind,
            s.score
        );
        let contact = s
            .contact_id
            .as_deref()
            .expect("responses name their contact");
        assert!(contact_ids.contains(contact));
    }
}

fn check_engagements(index: u32, id: &str, b: &AccountBundle, in_window: &dyn Fn(jiff::Timestamp)) {
    for w in b.engagements.windows(2) {
        assert!(w[0].occurred_at <= w[1].occurred_at);
    }
    for (n, e) in b.engagements.iter().enumerate() {
        assert_eq!(e.id, format!("eng-{index:06}-{:03}", n + 1));
        assert_eq!(e.account_id, id);
        in_window(e.occurred_at);
        assert!(
            [
                "business_review",
                "check_in",
                "onboarding",
                "escalation_call"
            ]
            .contains(&e.kind.as_str())
        );
        assert_eq!(e.csm_email, b.account.csm_email);
    }
}

#[test]
fn every_record_keeps_the_invariants() {
    let demo = Demo::new(config(400));
    let csm_tier: BTreeMap<&str, usize> = demo
        .csms()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let tier = demo.tiers.iter().position(|r| r.contains(&i)).unwrap();
            (c.email.as_str(), tier)
        })
        .collect();
    let mut open_tickets = 0;
    let mut kinds = BTreeSet::new();
    let mut currencies = BTreeSet::new();
    let mut open_at_end = 0;
    for i in 0..demo.len() {
        let b = demo.account(i);
        check_bundle(&demo, i, &b);
        if let Some(csm) = &b.account.csm_email {
            let segment = b.account.attributes["segment"].as_str();
            let expected = match segment {
                "enterprise" => 0,
                "mid-market" => 1,
                _ => 2,
            };
            assert_eq!(
                csm_tier[csm.as_str()],
                expected,
                "{segment} account with the wrong CSM tier"
            );
        }
        open_tickets += b.tickets.iter().filter(|t| t.closed_at.is_none()).count();
        kinds.extend(b.engagements.iter().map(|e| e.kind.clone()));
        kinds.extend(
            b.survey_responses
                .iter()
                .map(|s| s.kind.as_str().to_string()),
        );
        currencies.extend(b.subscriptions.iter().map(|s| s.mrr.currency));
        open_at_end += usize::from(mrr_on(&b, demo.config().end) > 0);
    }
    assert!(open_tickets > 0, "a few tickets are still open at the end");
    assert_eq!(
        kinds.len(),
        7,
        "every engagement and survey kind occurs: {kinds:?}"
    );
    assert_eq!(currencies.len(), 3);
    assert!(open_at_end > 100);
}

#[test]
fn a_short_history_ending_today_still_keeps_the_invariants() {
    let demo = Demo::new(DemoConfig {
        accounts: 60,
        seed: 9,
        end: Date::constant(2024, 2, 29),
        days: 30,
    });
    assert_eq!(demo.window_start(), Date::constant(2024, 1, 31));
    for i in 0..demo.len() {
        check_bundle(&demo, i, &demo.account(i));
    }
}

#[test]
fn subscriptions_move_like_a_real_customer_base() {
    let demo = Demo::new(config(600));
    let end = demo.config().end;
    let start = demo.window_start();
    let (mut at_start, mut at_end, mut reactivated, mut expanded, mut contracted) = (0, 0, 0, 0, 0);
    let (mut churns, mut mid_term) = (0, 0);
    for i in 0..demo.len() {
        let b = demo.account(i);
        at_start += usize::from(mrr_on(&b, start) > 0);
        at_end += usize::from(mrr_on(&b, end) > 0);
        for w in b.subscriptions.windows(2) {
            let (old, new) = (&w[0], &w[1]);
            if old.end_date == Some(new.start_date) {
                expanded += usize::from(new.mrr.minor > old.mrr.minor);
                contracted += usize::from(new.mrr.minor < old.mrr.minor);
            } else {
                reactivated += 1;
            }
        }
        // A final churn either falls on the renewal date (every monthly
        // churn, most annual ones) or mid-term (rare annual terminations).
        if churn_day(&b).is_some() {
            let last = b.subscriptions.last().unwrap();
            churns += 1;
            mid_term += usize::from(last.end_date != last.renewal_date);
        }
    }
    assert!(
        at_end > at_start * 3 / 2,
        "the company grows: {at_start} -> {at_end}"
    );
    assert!(
        expanded > contracted,
        "{expanded} expansions, {contracted} contractions"
    );
    assert!(contracted > 0 && reactivated > 0);
    assert!(
        mid_term > 0 && mid_term * 15 < churns,
        "{mid_term} of {churns} churns mid-term"
    );
}

/// The signal a churn model should find: in the 60 days before they stop
/// paying, churning accounts use the product less (per seat) than accounts
/// that stay do in the last 60 days. This fails if churn ignores usage.
#[test]
fn churners_use_the_product_less_before_they_leave() {
    let demo = Demo::new(config(1000));
    let end = day(demo.config().end);
    let window = day(demo.window_start());
    let (mut churn_sum, mut churn_n, mut stay_sum, mut stay_n) = (0.0, 0, 0.0, 0);
    let (mut detractor, mut detractor_churned, mut others, mut others_churned) = (0, 0, 0, 0);
    for i in 0..demo.len() {
        let b = demo.account(i);
        let Some(last) = b.subscriptions.last() else {
            continue;
        };
        let seats = last.seats.unwrap() as f64;
        match churn_day(&b) {
            Some(c) if c >= window + 60 => {
                churn_sum += events_between(&b, c - 60, c) as f64 / seats;
                churn_n += 1;
            }
            Some(_) => {}
            None if day(last.start_date) <= end - 120
                && day(b.subscriptions[0].start_date) <= end - 120 =>
            {
                stay_sum += events_between(&b, end - 59, end + 1) as f64 / seats;
                stay_n += 1;
            }
            None => {}
        }
        // Accounts paying a year before the end: did a detractor answer in the
        // half year before, and did they churn since?
        let t = end - 365;
        if mrr_on(&b, date_from_day(t)) > 0 && t - 180 >= window {
            let said_detractor = b.survey_responses.iter().any(|s| {
                let d = day(utc_date(s.responded_at));
                s.kind == SurveyKind::Nps && s.score <= 6 && d > t - 180 && d <= t
            });
            let churned = mrr_on(&b, date_from_day(end)) == 0;
            if said_detractor {
                detractor += 1;
                detractor_churned += usize::from(churned);
            } else {
                others += 1;
                others_churned += usize::from(churned);
            }
        }
    }
    assert!(
        churn_n >= 50 && stay_n >= 200,
        "{churn_n} churners, {stay_n} stayers"
    );
    let churners = churn_sum / f64::from(churn_n);
    let stayers = stay_sum / f64::from(stay_n);
    assert!(
        churners < 0.8 * stayers,
        "events per seat in 60 days: churners {churners:.1}, stayers {stayers:.1}"
    );
    let rate = |c: usize, n: usize| c as f64 / n.max(1) as f64;
    assert!(
        rate(detractor_churned, detractor) > 1.3 * rate(others_churned, others),
        "detractors churn {detractor_churned}/{detractor}, others {others_churned}/{others}"
    );
}

#[test]
fn event_volume_is_modest() {
    let demo = Demo::new(config(300));
    let years = f64::from(demo.config().days) / 365.0;
    let events: usize = (0..demo.len()).map(|i| demo.account(i).events.len()).sum();
    let per_account_year = events as f64 / f64::from(demo.len()) / years;
    assert!(
        (400.0..1500.0).contains(&per_account_year),
        "{per_account_year:.0} events per account per year"
    );
}
