//! The demo company simulator: a realistic, seeded B2B SaaS customer base.
//!
//! `tenure demo` uses this to fill a fresh database with a company that looks
//! and behaves like a real one: accounts acquired over time, trials that
//! convert or not, monthly and annual subscriptions that renew, expand,
//! contract, churn and sometimes come back, product usage, support tickets,
//! surveys and CSM touch points. Under the records sits a latent engagement
//! level per account that drifts from day to day and drives everything that
//! can be observed, and churn follows from it (plus support pain, low NPS and
//! champion loss), so that health scores and churn models have genuine but
//! noisy signal to find. `docs/DEMO.md` documents the model for users.
//!
//! The simulator is pure: no clock, no IO, no global random source. Each
//! account is simulated on its own from a random stream keyed by
//! `(seed, index)`, so [`Demo::account`] returns the same bundle whatever the
//! order of calls and callers can stream or parallelise over indices while
//! memory stays flat.

pub mod config;
mod names;
pub mod plans;
mod rng;
mod sim;
#[cfg(test)]
mod tests;

use jiff::civil::Date;

use crate::model::{
    Account, Contact, Engagement, Event, Subscription, SurveyResponse, Ticket, date_from_day,
    day_number,
};

/// How much and which history to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Number of accounts to generate.
    pub accounts: u32,
    /// Seed of every random draw; the same config always gives the same data.
    pub seed: u64,
    /// The last simulated day (the caller passes today). Nothing timestamped
    /// falls after the end of this UTC day.
    pub end: Date,
    /// Length of the activity history in days, ending with `end` (at least 1).
    pub days: u32,
}

impl Default for DemoConfig {
    fn default() -> DemoConfig {
        DemoConfig {
            accounts: 2000,
            seed: 42,
            end: Date::constant(2026, 1, 1),
            days: 730,
        }
    }
}

/// A customer success manager of the demo vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csm {
    pub email: String,
    pub name: String,
}

/// Everything the demo generates for one account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountBundle {
    pub account: Account,
    pub contacts: Vec<Contact>,
    /// In order of `start_date`.
    pub subscriptions: Vec<Subscription>,
    /// In order of `timestamp`.
    pub events: Vec<Event>,
    /// In order of `opened_at`.
    pub tickets: Vec<Ticket>,
    /// In order of `responded_at`.
    pub survey_responses: Vec<SurveyResponse>,
    /// In order of `occurred_at`.
    pub engagements: Vec<Engagement>,
}

/// The vendor sells to three segments; each has its own CSM tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment {
    Smb,
    MidMarket,
    Enterprise,
}

impl Segment {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Segment::Smb => "smb",
            Segment::MidMarket => "mid-market",
            Segment::Enterprise => "enterprise",
        }
    }

    fn tier(self) -> usize {
        match self {
            Segment::Enterprise => 0,
            Segment::MidMarket => 1,
            Segment::Smb => 2,
        }
    }
}

/// Share of accounts per segment, and how many of the segment's accounts
/// (customers past and present, and trials) there are per CSM of its tier.
/// With the default two-year history this gives current books of about 40
/// customers per enterprise CSM, 70 per mid-market CSM and 90 per SMB CSM.
const TIERS: [(Segment, f64, f64); 3] = [
    (Segment::Enterprise, 0.10, 50.0),
    (Segment::MidMarket, 0.28, 135.0),
    (Segment::Smb, 0.62, 240.0),
];

/// Days of subscription history simulated before the activity window: the
/// vendor started selling this long before the window opens.
pub(crate) const PRE_HISTORY_DAYS: i32 = 3 * 365;

/// Per-day facts shared by every account, computed once.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    /// First simulated day (day number): the vendor's first sale is on or after it.
    pub(crate) first_day: i32,
    /// First day of the activity window.
    pub(crate) window_start: i32,
    /// Last simulated day.
    pub(crate) end_day: i32,
    /// Usage multiplier per day from `first_day`: weekends and holidays are quiet.
    activity: Vec<f32>,
}

impl Calendar {
    fn new(end: Date, days: u32) -> Calendar {
        let end_day = day_number(end);
        let window_start = end_day - days.max(1) as i32 + 1;
        let first_day = window_start - PRE_HISTORY_DAYS;
        let activity = (first_day..=end_day)
            .map(|d| {
                let weekday = (d + 3).rem_euclid(7); // 0 = Monday; 1970-01-01 was a Thursday
                let mut f: f32 = match weekday {
                    5 => 0.12,
                    6 => 0.08,
                    _ => 1.0,
                };
                let date = date_from_day(d);
                let (m, day) = (date.month(), date.day());
                if (m == 12 && day >= 24) || (m == 1 && day == 1) {
                    f *= 0.4;
                }
                f
            })
            .collect();
        Calendar {
            first_day,
            window_start,
            end_day,
            activity,
        }
    }

    pub(crate) fn activity(&self, day: i32) -> f64 {
        f64::from(self.activity[(day - self.first_day) as usize])
    }

    pub(crate) fn is_weekend(&self, day: i32) -> bool {
        (day + 3).rem_euclid(7) >= 5
    }
}

/// The demo company: its CS team and a recipe for each of its accounts.
#[derive(Debug, Clone)]
pub struct Demo {
    config: DemoConfig,
    csms: Vec<Csm>,
    /// Index range into `csms` for each tier (enterprise, mid-market, smb).
    tiers: [std::ops::Range<usize>; 3],
    calendar: Calendar,
}

impl Demo {
    pub fn new(config: DemoConfig) -> Demo {
        let (csms, tiers) = build_csms(config.accounts, config.seed);
        let calendar = Calendar::new(config.end, config.days);
        Demo {
            config,
            csms,
            tiers,
            calendar,
        }
    }

    pub fn config(&self) -> &DemoConfig {
        &self.config
    }

    /// The CS team: high-touch CSMs for enterprise accounts first, then
    /// mid-market, then scaled SMB CSMs with the largest books. Accounts that
    /// ever paid are assigned to a CSM of their segment's tier.
    pub fn csms(&self) -> &[Csm] {
        &self.csms
    }

    /// Number of accounts.
    pub fn len(&self) -> u32 {
        self.config.accounts
    }

    pub fn is_empty(&self) -> bool {
        self.config.accounts == 0
    }

    /// First day of the activity window (`end` − `days` + 1). Subscriptions
    /// reach back up to three years before it; events, tickets, survey
    /// responses and engagements all fall inside it.
    pub fn window_start(&self) -> Date {
        date_from_day(self.calendar.window_start)
    }

    /// Simulates one account. The result depends only on the configuration
    /// and `index`, never on which other accounts were generated before.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn account(&self, index: u32) -> AccountBundle {
        assert!(
            index < self.config.accounts,
            "demo account index {index} is out of range: the demo has {} accounts",
            self.config.accounts
        );
        sim::simulate(self, index)
    }

    /// The CSM who owns an account of this segment.
    pub(crate) fn csm_for(&self, segment: Segment, index: u32) -> &Csm {
        let range = &self.tiers[segment.tier()];
        let h = rng::hash3(self.config.seed, rng::STREAM_ASSIGN, u64::from(index));
        &self.csms[range.start + (h % range.len() as u64) as usize]
    }

    pub(crate) fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    pub(crate) fn seed(&self) -> u64 {
        self.config.seed
    }
}

/// Builds the CS team: enough CSMs per tier for the tier's portfolio size,
/// with distinct names and e-mail addresses.
fn build_csms(accounts: u32, seed: u64) -> (Vec<Csm>, [std::ops::Range<usize>; 3]) {
    let mut csms = Vec::new();
    let mut ranges: [std::ops::Range<usize>; 3] = [0..0, 0..0, 0..0];
    let combos = names::FIRST_NAMES.len() * names::LAST_NAMES.len();
    // A step coprime with the number of name combinations walks through all
    // of them in a seed-dependent order without repeats.
    let offset = (rng::hash3(seed, rng::STREAM_CSMS, 0) % combos as u64) as usize;
    let step = 617;
    for (segment, share, portfolio) in TIERS {
        let n = ((f64::from(accounts) * share / portfolio).ceil() as usize).max(1);
        let start = csms.len();
        for _ in 0..n {
            let k = csms.len();
            let combo = (offset + k * step) % combos;
            let first = names::FIRST_NAMES[combo % names::FIRST_NAMES.len()];
            let last = names::LAST_NAMES[combo / names::FIRST_NAMES.len()];
            let round = k / combos;
            let local = if round == 0 {
                format!("{}.{}", first, last)
            } else {
                format!("{}.{}{}", first, last, round + 1)
            }
            .to_ascii_lowercase();
            csms.push(Csm {
                email: format!("{local}@{}", names::VENDOR_DOMAIN),
                name: format!("{first} {last}"),
            });
        }
        ranges[segment.tier()] = start..csms.len();
    }
    (csms, ranges)
}
