//! An account's [`Facts`] on a day, from what the health pipeline already
//! has: its signals, its score, the score's 30-day change and the band of
//! the day before, plus the day it first paid, where its ARR ranks among
//! the paying accounts and its champion contacts. What Engage decides from
//! the stage (days in it, overdue engagements) is filled in after.

use jiff::civil::Date;

use crate::health::{AccountSignals, HealthScore, SignalPlan, Window};
use crate::model::{Account, day_number};
use crate::rules::Facts;

/// Where the signals that facts read sit in a [`SignalPlan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactSlots {
    active_users_30d: usize,
    /// The 30 days before those, when a rule reads the change.
    active_users_prior_30d: Option<usize>,
    events_30d: usize,
    events_prior_30d: usize,
    payments_30d: usize,
}

impl FactSlots {
    /// Adds the windows facts read (users, events and failed payments of
    /// the 30 days ending on the day, events of the 30 days before) to
    /// `plan`, sharing those a scorecard already has. The users of the 30
    /// days before (`active_users_change_30d`) only if `users_change`: they
    /// double the days of users a day's load reads.
    pub fn add_to(plan: &mut SignalPlan, users_change: bool) -> FactSlots {
        let w = Window::ending_on_as_of(30);
        let prior = Window {
            days: 30,
            ends_days_before: 30,
        };
        let all = crate::health::EventFilter::All;
        FactSlots {
            active_users_30d: plan.active_users_slot(w),
            active_users_prior_30d: users_change.then(|| plan.active_users_slot(prior)),
            events_30d: plan.event_slot(all.clone(), w),
            events_prior_30d: plan.event_slot(all, prior),
            payments_30d: plan.payment_slot(w),
        }
    }
}

/// What [`facts`] needs about one account on one day besides its signals.
#[derive(Debug, Clone, Copy)]
pub struct FactInputs<'a> {
    pub account: &'a Account,
    pub signals: &'a AccountSignals,
    pub score: Option<&'a HealthScore>,
    /// Score change over 30 days, from the stored snapshots.
    pub trend_30d: Option<f64>,
    /// The first day the account paid (MRR above zero), if ever.
    pub first_mrr: Option<Date>,
    pub arr_percentile: Option<f64>,
    /// The band of the day before, from its stored score.
    pub previous_band: Option<&'static str>,
    /// Its contacts that are or were champions.
    pub champions: &'a [ChampionContact],
}

/// A contact that is or was an account's champion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChampionContact {
    /// Flagged champion now.
    pub champion: bool,
    /// The day the contact left the company.
    pub left_on: Option<Date>,
    /// The day the champion flag was taken off (cleared if it comes back).
    pub lost_on: Option<Date>,
}

/// How many champions an account had on `day` (contacts flagged then who
/// had not left), and the days since the latest loss of one (a champion
/// leaving or losing the flag) on or before `day`.
pub fn champion_facts(contacts: &[ChampionContact], day: Date) -> (i64, Option<i64>) {
    let mut count = 0;
    let mut latest: Option<Date> = None;
    for c in contacts {
        if !c.champion && c.lost_on.is_none() {
            continue;
        }
        // A contact stops being a champion at the first of leaving and
        // losing the flag.
        let lost = match (c.left_on, c.lost_on) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match lost {
            Some(l) if l <= day => latest = latest.max(Some(l)),
            _ => count += 1,
        }
    }
    let since = latest.map(|l| i64::from(day_number(day) - day_number(l)));
    (count, since)
}

/// The account's facts on `signals.as_of`.
pub fn facts(slots: FactSlots, i: FactInputs<'_>) -> Facts {
    let a = i.account;
    let s = i.signals;
    let day = s.as_of;
    let days_since = |d: Date| i64::from(day_number(day) - day_number(d));
    let paying = s.mrr > 0.0;
    let first_mrr = i.first_mrr.filter(|d| *d <= day);
    let active = s.active_users.get(slots.active_users_30d).copied();
    let prior = slots
        .active_users_prior_30d
        .and_then(|slot| s.active_users.get(slot).copied());
    let change = |now: f64, before: f64| (before > 0.0).then(|| (now - before) / before * 100.0);
    let events = |slot: usize| s.event_counts.get(slot).map(|&n| n as f64);
    let (champions, days_since_champion_lost) = champion_facts(i.champions, day);
    Facts {
        id: a.id.clone(),
        name: a.name.clone(),
        industry: a.industry.clone(),
        plan: a.plan.clone(),
        region: a.region.clone(),
        csm_email: a.csm_email.clone(),
        employees: a.employees,
        attrs: a.attributes.clone(),
        mrr: s.mrr,
        arr_percentile: if paying { i.arr_percentile } else { None },
        paying,
        in_trial: a.in_trial_on(day),
        churned: !paying && first_mrr.is_some(),
        days_since_first_mrr: first_mrr.map(days_since),
        days_since_created: a.created_at.filter(|d| *d <= day).map(days_since),
        days_to_renewal: s.next_renewal.map(|r| -days_since(r)),
        seats: s.seats,
        health: i.score.and_then(|sc| sc.score),
        band: i.score.and_then(|sc| sc.band).map(|b| b.as_str()),
        health_trend_30d: i.trend_30d,
        active_users_30d: active.map(i64::from),
        usage_rate: match (active, s.seats) {
            (Some(n), Some(seats)) if seats > 0 => Some(f64::from(n) / seats as f64),
            _ => None,
        },
        events_30d: s.event_counts.get(slots.events_30d).map(|&n| n as i64),
        nps: s.latest_nps.map(|n| n.score),
        days_since_nps: s.latest_nps.map(|n| days_since(n.date)),
        open_tickets: Some(i64::from(s.open_tickets.total())),
        days_since_last_engagement: s.last_engagement.map(days_since),
        stage: None,
        previous_band: i.previous_band,
        active_users_change_30d: match (active, prior) {
            (Some(now), Some(before)) => change(f64::from(now), f64::from(before)),
            _ => None,
        },
        events_change_30d: match (events(slots.events_30d), events(slots.events_prior_30d)) {
            (Some(now), Some(before)) => change(now, before),
            _ => None,
        },
        payment_failures_30d: s
            .payment_failures
            .as_ref()
            .and_then(|p| p.get(slots.payments_30d))
            .map(|&n| i64::from(n)),
        champions: Some(champions),
        days_since_champion_lost,
        days_in_stage: None,
        overdue_engagements: None,
        churn_risk: s.churn_risk,
    }
}

/// The ARR percentile of each MRR among the paying ones (`mrr > 0`): the
/// share of paying accounts with a strictly lower MRR, 0 for the smallest;
/// `None` for accounts not paying.
pub fn arr_percentiles(mrr: &[f64]) -> Vec<Option<f64>> {
    let mut paying: Vec<f64> = mrr.iter().copied().filter(|m| *m > 0.0).collect();
    paying.sort_by(f64::total_cmp);
    let n = paying.len() as f64;
    mrr.iter()
        .map(|&m| (m > 0.0).then(|| paying.partition_point(|&x| x < m) as f64 / n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_rank_among_paying_accounts() {
        let got = arr_percentiles(&[100.0, 0.0, 300.0, 200.0, 100.0]);
        assert_eq!(got, [Some(0.0), None, Some(0.75), Some(0.5), Some(0.0)]);
    }

    #[test]
    fn facts_come_from_signals_score_and_first_payment() {
        let day: Date = "2025-06-30".parse().unwrap();
        let mut plan = SignalPlan::default();
        let slots = FactSlots::add_to(&mut plan, false);
        let mut s = AccountSignals::empty(&plan, day);
        s.mrr = 500.0;
        s.seats = Some(10);
        s.active_users[0] = 4;
        s.event_counts[0] = 77;
        s.next_renewal = Some("2025-08-29".parse().unwrap());
        s.last_engagement = Some("2025-06-20".parse().unwrap());
        let account = Account::bare("a1");
        let f = facts(
            slots,
            FactInputs {
                account: &account,
                signals: &s,
                score: None,
                trend_30d: Some(-4.0),
                first_mrr: Some("2025-01-01".parse().unwrap()),
                arr_percentile: Some(0.5),
                previous_band: None,
                champions: &[],
            },
        );
        assert!(f.paying && !f.churned && !f.in_trial);
        assert_eq!(f.days_since_first_mrr, Some(180));
        assert_eq!(f.days_to_renewal, Some(60));
        assert_eq!(f.usage_rate, Some(0.4));
        assert_eq!((f.active_users_30d, f.events_30d), (Some(4), Some(77)));
        assert_eq!(f.days_since_last_engagement, Some(10));
        assert_eq!((f.health, f.band), (None, None));
        // Stopped paying: churned, and no percentile.
        s.mrr = 0.0;
        let f = facts(
            slots,
            FactInputs {
                account: &account,
                signals: &s,
                score: None,
                trend_30d: None,
                first_mrr: Some("2025-01-01".parse().unwrap()),
                arr_percentile: Some(0.5),
                previous_band: None,
                champions: &[],
            },
        );
        assert!(f.churned && f.arr_percentile.is_none());
    }

    #[test]
    fn users_change_payments_and_the_band_before() {
        let day: Date = "2025-06-30".parse().unwrap();
        let mut plan = SignalPlan::default();
        let slots = FactSlots::add_to(&mut plan, true);
        let mut s = AccountSignals::empty(&plan, day);
        s.mrr = 100.0;
        s.active_users[slots.active_users_30d] = 3;
        let prior = slots.active_users_prior_30d.unwrap();
        s.active_users[prior] = 10;
        s.event_counts[slots.events_30d] = 30;
        s.event_counts[slots.events_prior_30d] = 120;
        let account = Account::bare("a1");
        fn inputs<'a>(account: &'a Account, s: &'a AccountSignals) -> FactInputs<'a> {
            FactInputs {
                account,
                signals: s,
                score: None,
                trend_30d: None,
                first_mrr: None,
                arr_percentile: None,
                previous_band: Some("yellow"),
                champions: &[],
            }
        }
        let f = facts(slots, inputs(&account, &s));
        assert_eq!(f.active_users_change_30d, Some(-70.0));
        assert_eq!(f.events_change_30d, Some(-75.0));
        assert_eq!(f.previous_band, Some("yellow"));
        // Payments not tracked: no value; tracked: the window's count.
        assert_eq!(f.payment_failures_30d, None);
        assert_eq!((f.champions, f.days_since_champion_lost), (Some(0), None));
        let mut payments = vec![0; plan.payment_windows.len()];
        payments[slots.payments_30d] = 2;
        s.payment_failures = Some(payments);
        // No users in the 30 days before: no change to speak of.
        s.active_users[prior] = 0;
        let f = facts(slots, inputs(&account, &s));
        assert_eq!(f.payment_failures_30d, Some(2));
        assert_eq!(f.active_users_change_30d, None);
        assert_eq!((f.days_in_stage, f.overdue_engagements), (None, None));
    }

    #[test]
    fn churn_risk_reaches_a_cel_rule() {
        let day: Date = "2025-06-30".parse().unwrap();
        let mut plan = SignalPlan::default();
        let slots = FactSlots::add_to(&mut plan, false);
        let mut s = AccountSignals::empty(&plan, day);
        s.mrr = 100.0;
        s.churn_risk = Some(0.42);
        let account = Account::bare("a1");
        let of = |s: &AccountSignals| {
            facts(
                slots,
                FactInputs {
                    account: &account,
                    signals: s,
                    score: None,
                    trend_30d: None,
                    first_mrr: None,
                    arr_percentile: None,
                    previous_band: None,
                    champions: &[],
                },
            )
        };
        let known = |n: &str| crate::rules::field_names().any(|f| f == n);
        let rule =
            crate::rules::Rule::compile("churn_risk != null && churn_risk > 0.3", &known).unwrap();
        let f = of(&s);
        assert_eq!(f.churn_risk, Some(0.42));
        assert_eq!(f.value_text("churn_risk"), "0.42");
        assert_eq!(rule.matches(&f), Ok(true));
        s.churn_risk = Some(0.2);
        assert_eq!(rule.matches(&of(&s)), Ok(false));
        // No prediction: null, and the guarded rule is false.
        s.churn_risk = None;
        assert_eq!(rule.matches(&of(&s)), Ok(false));
        assert!(
            crate::rules::Rule::compile("churn_risk > 0.3", &known)
                .unwrap()
                .matches(&of(&s))
                .is_err()
        );
    }

    #[test]
    fn champions_count_until_they_leave_or_lose_the_flag() {
        let d = |s: &str| -> Date { s.parse().unwrap() };
        let c = |champion, left: Option<&str>, lost: Option<&str>| ChampionContact {
            champion,
            left_on: left.map(d),
            lost_on: lost.map(d),
        };
        let contacts = [
            c(true, None, None),
            // Left on 06-10, still flagged.
            c(true, Some("2025-06-10"), None),
            // Lost the flag on 06-20 (and left later).
            c(false, Some("2025-07-01"), Some("2025-06-20")),
        ];
        assert_eq!(champion_facts(&contacts, d("2025-06-01")), (3, None));
        assert_eq!(champion_facts(&contacts, d("2025-06-15")), (2, Some(5)));
        assert_eq!(champion_facts(&contacts, d("2025-06-30")), (1, Some(10)));
        // Never a champion: not counted, never lost.
        assert_eq!(
            champion_facts(&[c(false, Some("2025-06-10"), None)], d("2025-06-30")),
            (0, None)
        );
    }
}
