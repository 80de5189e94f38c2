//! Computing a [`Report`] for one period, and a [`Series`] of them.

use super::dataset::Dataset;
use super::ledger::{MovementKind, MovementTotals};
use super::report::{Metric, MetricValue, Report, Series};
use super::usage::Usage;
use super::{DAYS_PER_MONTH, Interval, Period, Settings};

/// The MRR side of a period: one pass over every account's change points.
#[derive(Debug, Clone, Copy, Default)]
struct MrrSummary {
    mrr_start: i64,
    mrr_end: i64,
    movements: MovementTotals,
    accounts_start: u64,
    accounts_end: u64,
    /// Accounts active at start (the cohort) and still active at the end.
    retained: u64,
    /// Σ over the cohort of MRR at the end.
    cohort_end: i64,
    /// Σ over the cohort of min(MRR at the end, MRR at start).
    cohort_kept: i64,
}

/// `num ÷ den`; `None` when the denominator is zero.
fn ratio(num: f64, den: f64) -> Option<f64> {
    (den != 0.0).then(|| num / den)
}

const EMPTY_COHORT: &str = "no account was active on the day before the period";

impl Dataset {
    /// Every metric of docs/METRICS.md for `period`.
    ///
    /// `usage` holds the event-based metrics ([`super::UsageAccumulator`]); it
    /// must have a window ending on `period.to()`, otherwise DAU, WAU, MAU,
    /// stickiness, usage rate and time on platform are undefined with a
    /// reason saying so.
    pub fn report(&self, period: Period, settings: &Settings, usage: Option<&Usage>) -> Report {
        let (first, last) = period.day_range();
        let m = self.mrr_summary(first, last);
        let days = f64::from(period.days());
        let mut v: Vec<MetricValue> = Vec::with_capacity(Metric::ALL.len());
        self.push_mrr(&mut v, &m);
        self.push_retention(&mut v, &m, days, settings);
        self.push_voice(&mut v, first, last);
        self.push_renewals_and_trials(&mut v, first, last);
        self.push_usage(&mut v, last, usage);
        self.push_value(&mut v, first, last);
        debug_assert!(v.iter().map(|x| x.metric).eq(Metric::ALL.iter().copied()));
        Report {
            period,
            currency: self.reporting,
            mrr_start_minor: m.mrr_start,
            mrr_end_minor: m.mrr_end,
            movements: m.movements,
            values: v,
        }
    }

    /// The metrics of each week, month or quarter of `period` (see
    /// [`Period::split`]); `usage` should have a window ending on the last
    /// day of each interval.
    pub fn series(
        &self,
        period: Period,
        interval: Interval,
        settings: &Settings,
        usage: Option<&Usage>,
    ) -> Series {
        Series {
            interval,
            reports: period
                .split(interval)
                .into_iter()
                .map(|p| self.report(p, settings, usage))
                .collect(),
        }
    }

    /// MRR at the start and end, ARR, and the MRR movements.
    fn push_mrr(&self, v: &mut Vec<MetricValue>, m: &MrrSummary) {
        let money = |minor: i64| self.units(minor);
        v.push(MetricValue::some(Metric::MrrStart, money(m.mrr_start)));
        v.push(MetricValue::some(Metric::MrrEnd, money(m.mrr_end)));
        v.push(MetricValue::some(Metric::ArrEnd, money(12 * m.mrr_end)));
        v.push(MetricValue::some(Metric::NewMrr, money(m.movements.new)));
        v.push(MetricValue::some(
            Metric::ExpansionMrr,
            money(m.movements.expansion),
        ));
        v.push(MetricValue::some(
            Metric::ContractionMrr,
            money(m.movements.contraction),
        ));
        v.push(MetricValue::some(
            Metric::ChurnedMrr,
            money(m.movements.churned),
        ));
        v.push(MetricValue::some(
            Metric::ReactivationMrr,
            money(m.movements.reactivation),
        ));
    }

    /// Retention of the cohort active on the day before the period, the
    /// account counts, and what an account is worth: ARPA, CLTV and CRC.
    fn push_retention(
        &self,
        v: &mut Vec<MetricValue>,
        m: &MrrSummary,
        days: f64,
        settings: &Settings,
    ) {
        let start = m.mrr_start as f64;
        let nrr = ratio(m.cohort_end as f64, start);
        let grr = ratio(m.cohort_kept as f64, start);
        let logo_churn = ratio(
            (m.accounts_start - m.retained) as f64,
            m.accounts_start as f64,
        );
        v.push(MetricValue::or(Metric::Nrr, nrr, EMPTY_COHORT));
        v.push(MetricValue::or(Metric::Grr, grr, EMPTY_COHORT));
        v.push(MetricValue::or(
            Metric::RevenueChurnRate,
            grr.map(|g| 1.0 - g),
            EMPTY_COHORT,
        ));
        v.push(MetricValue::or(
            Metric::LogoChurnRate,
            logo_churn,
            EMPTY_COHORT,
        ));
        v.push(MetricValue::some(
            Metric::AccountsStart,
            m.accounts_start as f64,
        ));
        v.push(MetricValue::some(
            Metric::AccountsEnd,
            m.accounts_end as f64,
        ));

        let arpa = ratio(self.units(m.mrr_end), m.accounts_end as f64);
        v.push(MetricValue::or(
            Metric::Arpa,
            arpa,
            "no account is active on the last day of the period",
        ));
        v.push(match (arpa, logo_churn) {
            (_, None) => MetricValue::none(Metric::Cltv, EMPTY_COHORT),
            (_, Some(0.0)) => MetricValue::none(
                Metric::Cltv,
                "no logo churn in the period, so the expected lifetime is unbounded",
            ),
            (None, _) => MetricValue::none(
                Metric::Cltv,
                "no account is active on the last day of the period",
            ),
            (Some(arpa), Some(c)) => {
                let monthly = 1.0 - (1.0 - c).powf(DAYS_PER_MONTH / days);
                MetricValue::some(Metric::Cltv, arpa * settings.gross_margin / monthly)
            }
        });
        v.push(match settings.cs_cost_monthly {
            None => MetricValue::none(
                Metric::Crc,
                "no monthly customer success cost is configured",
            ),
            Some(_) if m.retained == 0 => MetricValue::none(
                Metric::Crc,
                "no account active before the period is still active at its end",
            ),
            Some(cost) => {
                let period_cost = cost * days / DAYS_PER_MONTH;
                MetricValue::some(Metric::Crc, period_cost / m.retained as f64)
            }
        });
    }

    /// NPS, CSAT and CES from the surveys answered in the period, and first
    /// contact resolution from the tickets opened in it.
    fn push_voice(&self, v: &mut Vec<MetricValue>, first: i32, last: i32) {
        v.push(MetricValue::or(
            Metric::Nps,
            self.nps(first, last),
            "no NPS response in the period",
        ));
        let csat = slice_by_day(&self.csat, first, last, |r| r.0);
        let satisfied = csat.iter().filter(|r| r.1).count();
        v.push(MetricValue::or(
            Metric::Csat,
            ratio(satisfied as f64, csat.len() as f64),
            "no CSAT response in the period",
        ));
        let ces = slice_by_day(&self.ces, first, last, |r| r.0);
        let ces_sum: i64 = ces.iter().map(|r| r.1).sum();
        v.push(MetricValue::or(
            Metric::Ces,
            ratio(ces_sum as f64, ces.len() as f64),
            "no CES response in the period",
        ));
        let fcr = slice_by_day(&self.fcr, first, last, |r| r.0);
        let resolved = fcr.iter().filter(|r| r.1).count();
        v.push(MetricValue::or(
            Metric::Fcr,
            ratio(resolved as f64, fcr.len() as f64),
            "no ticket opened in the period says whether it was resolved on first contact",
        ));
    }

    /// Time to value: the median, over the accounts whose first milestone
    /// was done in the period, of the days from their first MRR to it (0
    /// when it was done first, in a trial). Accounts that never had MRR are
    /// left out.
    fn push_value(&self, v: &mut Vec<MetricValue>, first: i32, last: i32) {
        let reached = slice_by_day(&self.first_value, first, last, |r| r.0);
        let mut days: Vec<i32> = reached
            .iter()
            .filter_map(|&(day, a)| {
                let (points, _) = self.book.points(a);
                points.first().map(|&paid| (day - paid).max(0))
            })
            .collect();
        v.push(MetricValue::or(
            Metric::TimeToValueDays,
            crate::engage::period::median(&mut days),
            "no paying account had its first success-plan milestone done in the period",
        ));
    }

    /// The renewal rates (by subscription and by ARR) and trial conversion.
    fn push_renewals_and_trials(&self, v: &mut Vec<MetricValue>, first: i32, last: i32) {
        let (renewed, renewing, renewed_arr, renewing_arr) = self.renewals(first, last);
        v.push(MetricValue::or(
            Metric::RenewalRate,
            ratio(renewed as f64, renewing as f64),
            "no subscription has its renewal date in the period",
        ));
        v.push(MetricValue::or(
            Metric::RenewalRateArr,
            ratio(renewed_arr as f64, renewing_arr as f64),
            if renewing == 0 {
                "no subscription has its renewal date in the period"
            } else {
                "the subscriptions renewing in the period have no ARR"
            },
        ));

        let trials = slice_by_day(&self.trials, first, last, |t| t.0);
        let converted = trials.iter().filter(|t| t.1).count();
        v.push(MetricValue::or(
            Metric::TrialConversionRate,
            ratio(converted as f64, trials.len() as f64),
            "no trial started in the period",
        ));
    }

    fn mrr_summary(&self, first: i32, last: i32) -> MrrSummary {
        let mut s = MrrSummary::default();
        for a in 0..self.accounts.len() {
            let (days, mrr) = self.book.points(a);
            if days.is_empty() {
                continue;
            }
            let lo = days.partition_point(|&d| d < first);
            let hi = lo + days[lo..].partition_point(|&d| d <= last);
            let at_start = if lo == 0 { 0 } else { mrr[lo - 1] };
            let at_end = if hi == 0 { 0 } else { mrr[hi - 1] };
            for i in lo..hi {
                let before = if i == 0 { 0 } else { mrr[i - 1] };
                let (kind, amount) = MovementKind::classify(i == 0, before, mrr[i]);
                s.movements.add(kind, amount);
            }
            s.mrr_start += at_start;
            s.mrr_end += at_end;
            if at_end > 0 {
                s.accounts_end += 1;
            }
            if at_start > 0 {
                s.accounts_start += 1;
                s.cohort_end += at_end;
                s.cohort_kept += at_end.min(at_start);
                if at_end > 0 {
                    s.retained += 1;
                }
            }
        }
        s
    }

    /// NPS over the period, each contact's latest answer only.
    fn nps(&self, first: i32, last: i32) -> Option<f64> {
        let answers = slice_by_day(&self.nps, first, last, |a| a.day);
        if answers.is_empty() {
            return None;
        }
        // Answers are sorted by instant (then id); keep each contact's last.
        let mut keyed: Vec<(u32, usize)> = answers
            .iter()
            .enumerate()
            .map(|(i, a)| (a.contact, i))
            .collect();
        keyed.sort_unstable();
        let (mut promoters, mut detractors, mut total) = (0u64, 0u64, 0u64);
        for (k, &(contact, i)) in keyed.iter().enumerate() {
            let latest =
                contact == u32::MAX || keyed.get(k + 1).is_none_or(|next| next.0 != contact);
            if !latest {
                continue;
            }
            total += 1;
            match answers[i].score {
                9..=10 => promoters += 1,
                0..=6 => detractors += 1,
                _ => {}
            }
        }
        Some((promoters as f64 - detractors as f64) * 100.0 / total as f64)
    }

    /// (renewed, renewing, renewed ARR, renewing ARR) for renewal dates in the range.
    fn renewals(&self, first: i32, last: i32) -> (u64, u64, i64, i64) {
        let mut out = (0, 0, 0, 0);
        for r in slice_by_day(&self.renewals, first, last, |r| r.day) {
            out.1 += 1;
            out.3 += r.arr;
            if self.book.mrr_on(r.account as usize, r.day) > 0 {
                out.0 += 1;
                out.2 += r.arr;
            }
        }
        out
    }

    fn push_usage(&self, v: &mut Vec<MetricValue>, last: i32, usage: Option<&Usage>) {
        let window = usage.and_then(|u| u.window_at(last));
        let Some(w) = window else {
            let reason = if usage.is_none() {
                "usage events were not loaded"
            } else {
                "usage events were not loaded for the 30 days ending with the period"
            };
            for m in [
                Metric::Dau,
                Metric::Wau,
                Metric::Mau,
                Metric::Stickiness,
                Metric::UsageRate,
                Metric::AvgTimeOnPlatformMinutes,
            ] {
                v.push(MetricValue::none(m, reason));
            }
            return;
        };
        const NO_USERS: &str = "no user had an event in the 30 days ending with the period";
        v.push(MetricValue::some(Metric::Dau, w.dau as f64));
        v.push(MetricValue::some(Metric::Wau, w.wau as f64));
        v.push(MetricValue::some(Metric::Mau, w.mau as f64));
        v.push(MetricValue::or(
            Metric::Stickiness,
            ratio(w.user_days as f64, 30.0 * w.mau as f64),
            NO_USERS,
        ));

        // Seats of each account's subscriptions active on the last day.
        let (mut used, mut seats) = (0i64, 0i64);
        for lines in self.seat_lines.chunk_by(|a, b| a.account == b.account) {
            let active = lines.iter().filter(|l| l.start <= last && last < l.end);
            let (count, account_seats) = active.fold((0, 0i64), |(n, s), l| (n + 1, s + l.seats));
            if count > 0 {
                let mau = i64::from(w.account_mau(lines[0].account as usize));
                used += mau.min(account_seats);
                seats += account_seats;
            }
        }
        v.push(MetricValue::or(
            Metric::UsageRate,
            ratio(used as f64, seats as f64),
            "no account has seats on subscriptions active on the last day of the period",
        ));
        v.push(MetricValue::or(
            Metric::AvgTimeOnPlatformMinutes,
            ratio(w.session_micros as f64 / 60e6, w.mau as f64),
            NO_USERS,
        ));
    }
}

/// The records of a day-sorted slice whose day is within `first..=last`.
fn slice_by_day<T>(items: &[T], first: i32, last: i32, day: impl Fn(&T) -> i32) -> &[T] {
    let lo = items.partition_point(|x| day(x) < first);
    let hi = lo + items[lo..].partition_point(|x| day(x) <= last);
    &items[lo..hi]
}
