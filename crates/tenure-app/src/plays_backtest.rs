//! The playbook backtest (docs/REACT.md): a playbook's audience and trigger
//! evaluated on past sampled days, each from the data as it was then (the
//! same Engage pass as the dry run, nothing written), its entries simulated
//! with its re-enrolment rule and judged by whether the account stopped
//! paying within 90 days; core's `plays_backtest` holds the rules.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::model::{add_days, day_number};
use tenure_core::plays::{Playbook, check};
use tenure_core::plays_backtest::{self, Backtest, HORIZON_DAYS, SampledDay, Seen};
use tenure_store::Store;
use tenure_store::api::Scope;

use crate::{Error, Result};

/// Days sampled at most in one backtest (each is one Engage pass).
pub const MAX_SAMPLED_DAYS: usize = 400;

/// The days to sample: every `every_days` from `from` to `to` (both
/// included). Left out: `to` is 90 days before the data's last day (so
/// every entry can be judged), `from` 364 days before `to`, `every_days`
/// 7. A `from` within the last 90 days without a `to` runs to the last day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub every_days: Option<u32>,
}

/// A backtest with what it was asked.
#[derive(Debug, Clone)]
pub struct PlaybookBacktest {
    pub playbook: Playbook,
    pub from: Date,
    pub to: Date,
    pub every_days: u32,
    /// The sampled days.
    pub days: Vec<Date>,
    pub result: Backtest,
    /// `(id, name)` of each account, indexed by the result's `account`.
    pub accounts: Vec<(String, String)>,
    /// Account-days of the audience on which the trigger could not be
    /// decided (counted as not holding).
    pub undecided: usize,
}

/// The sampled days of `window` when the data ends on `last_day`, with
/// the window resolved; a bad window is [`Error::Invalid`].
pub fn sampled_days(window: Window, last_day: Date) -> Result<(Date, Date, u32, Vec<Date>)> {
    let every = window.every_days.unwrap_or(7);
    if every == 0 || every > 366 {
        return Err(Error::Invalid(format!(
            "every: {every} days: expected 1 to 366"
        )));
    }
    let judged_to = add_days(last_day, -(HORIZON_DAYS as i32));
    let to = match (window.from, window.to) {
        (_, Some(to)) => to,
        (Some(from), None) if from > judged_to => last_day,
        _ => judged_to,
    };
    let from = window.from.unwrap_or(add_days(to, -364));
    if to > last_day {
        return Err(Error::Invalid(format!(
            "to: {to} is after the data's last day, {last_day}"
        )));
    }
    if from > to {
        return Err(Error::Invalid(format!("from: {from} is after to ({to})")));
    }
    let n = (day_number(to) - day_number(from)) as usize / every as usize + 1;
    if n > MAX_SAMPLED_DAYS {
        return Err(Error::Invalid(format!(
            "{n} sampled days from {from} to {to} every {every} days: at most \
             {MAX_SAMPLED_DAYS}; sample less often or over a shorter range"
        )));
    }
    let days = (0..n)
        .map(|i| add_days(from, (i as u32 * every) as i32))
        .collect();
    Ok((from, to, every, days))
}

/// Backtests the playbook `name` over `window`, the data ending on
/// `last_day` (today). A CSM's scope keeps the audience to their accounts.
pub async fn backtest(
    store: &Store,
    config: &Config,
    name: &str,
    window: Window,
    last_day: Date,
    scope: &Scope,
) -> Result<PlaybookBacktest> {
    let p = crate::plays::find(config, name)?.clone();
    let (from, to, every_days, days) = sampled_days(window, last_day)?;
    let mine = |csm: Option<&str>| match scope {
        Scope::All => true,
        Scope::Csm(e) => csm.is_some_and(|x| x.trim().eq_ignore_ascii_case(e.trim())),
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut accounts: Vec<(String, String)> = Vec::new();
    let mut sampled = Vec::with_capacity(days.len());
    let mut undecided = 0;
    // One Engage pass per sampled day (evaluating two at once gained
    // nothing measurable on the demo: the pass is bound by the CPU).
    for &day in &days {
        let mut audience = Vec::new();
        for a in crate::engage::assign(store, config, day).await? {
            if !p.fits(a.segment, a.tier, a.stage) || !mine(a.account.csm_email.as_deref()) {
                continue;
            }
            let c = check(&p.trigger, &a.facts);
            undecided += usize::from(c.matched.is_none());
            let next = accounts.len();
            let i = *index.entry(a.account.id.clone()).or_insert(next);
            if i == next {
                accounts.push((a.account.id.clone(), a.account.name.clone()));
            }
            audience.push(Seen {
                account: i,
                arr: a.arr(),
                triggered: c.matched == Some(true),
            });
        }
        sampled.push(SampledDay { day, audience });
    }
    let mut paying = vec![Vec::new(); accounts.len()];
    for (id, start, end) in store.paying_spans().await? {
        if let Some(&i) = index.get(&id) {
            paying[i].push((start, end));
        }
    }
    let result = plays_backtest::backtest(&p, &sampled, &paying, last_day, HORIZON_DAYS);
    Ok(PlaybookBacktest {
        playbook: p,
        from,
        to,
        every_days,
        days,
        result,
        accounts,
        undecided,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn the_window_by_default_and_when_asked() {
        let last = d("2026-12-07");
        let (from, to, every, days) = sampled_days(Window::default(), last).unwrap();
        assert_eq!((from, to, every), (d("2025-09-09"), d("2026-09-08"), 7));
        assert_eq!(days.len(), 53);
        assert_eq!(days[1], d("2025-09-16"));
        assert_eq!(days[52], to);
        // A start within the last 90 days runs to the last day.
        let w = Window {
            from: Some(d("2026-11-01")),
            every_days: Some(10),
            ..Window::default()
        };
        let (_, to, _, days) = sampled_days(w, last).unwrap();
        assert_eq!(to, last);
        assert_eq!(
            days,
            [
                d("2026-11-01"),
                d("2026-11-11"),
                d("2026-11-21"),
                d("2026-12-01")
            ]
        );
        let bad = |w: Window| sampled_days(w, last).unwrap_err().to_string();
        assert!(
            bad(Window {
                every_days: Some(0),
                ..w
            })
            .contains("expected 1 to 366")
        );
        assert!(
            bad(Window {
                to: Some(d("2026-12-08")),
                ..w
            })
            .contains("after the data's last day")
        );
        assert!(
            bad(Window {
                to: Some(d("2026-10-01")),
                ..w
            })
            .contains("is after to")
        );
        assert!(
            bad(Window {
                from: Some(d("2020-01-01")),
                every_days: Some(1),
                to: None
            })
            .contains("at most 400")
        );
    }
}
