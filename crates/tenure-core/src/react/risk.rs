//! The early-warning risk board and leadership reviews, pure.
//!
//! An account is *at risk* on a day when its health band is red, or when it
//! has an open flag (put there by a playbook or by hand, with a reason).
//! The board's measure on a day is the number of accounts at risk, their
//! ARR and the total ARR, for the whole book and per Engage segment.
//! Thresholds in `[risk]` (`tenure.toml`) say when leadership meets: ARR
//! at risk above an amount or above a share of total ARR, or more
//! accounts at risk than a count. [`advance`] is the state machine over
//! daily measures: a review opens on the day a measure goes above a
//! threshold, exactly once; it opens again only after the measure has
//! cleared (at or below the threshold) and crossed again.

use std::collections::BTreeSet;

/// Where a flag came from: written `manual`, `playbook:NAME` or `band`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagSource {
    /// Flagged by hand.
    Manual,
    /// Flagged by the named playbook.
    Playbook(String),
    /// The account's health band turned red (recorded by the daily job).
    Band,
}

impl FlagSource {
    /// The stored form.
    pub fn as_string(&self) -> String {
        match self {
            FlagSource::Manual => "manual".into(),
            FlagSource::Playbook(n) => format!("playbook:{n}"),
            FlagSource::Band => "band".into(),
        }
    }

    /// `manual`, `band` or `playbook:NAME` (a non-empty name).
    pub fn parse(s: &str) -> Option<FlagSource> {
        match s.trim() {
            "manual" => Some(FlagSource::Manual),
            "band" => Some(FlagSource::Band),
            s => s
                .strip_prefix("playbook:")
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| FlagSource::Playbook(n.to_string())),
        }
    }
}

/// How an account left the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Saved,
    Churned,
    Downgraded,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Saved, Outcome::Churned, Outcome::Downgraded];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Saved => "saved",
            Outcome::Churned => "churned",
            Outcome::Downgraded => "downgraded",
        }
    }

    /// `saved`, `churned` or `downgraded` (any case).
    pub fn parse(s: &str) -> Option<Outcome> {
        let s = s.trim().to_ascii_lowercase();
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// Review thresholds; `None` is "not watched". Amounts are minor units of
/// the reporting currency.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Thresholds {
    /// ARR at risk above this amount.
    pub arr_at_risk: Option<i64>,
    /// ARR at risk above this fraction of total ARR (0 to 1).
    pub arr_at_risk_share: Option<f64>,
    /// More accounts at risk than this.
    pub accounts_at_risk: Option<u64>,
}

impl Thresholds {
    pub fn is_empty(&self) -> bool {
        self.arr_at_risk.is_none()
            && self.arr_at_risk_share.is_none()
            && self.accounts_at_risk.is_none()
    }
}

/// The thresholds of one Engage segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentThresholds {
    pub segment: String,
    pub thresholds: Thresholds,
}

/// `[risk]`: the review thresholds for the whole book and per segment,
/// and the weekly digest to leaders.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RiskConfig {
    pub thresholds: Thresholds,
    pub segments: Vec<SegmentThresholds>,
    /// `[risk.digest]`; `None`: no digest is sent.
    pub digest: Option<super::digest::DigestConfig>,
}

/// One day's measure of the board, for the book or one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Measure {
    pub accounts_at_risk: u64,
    /// Minor units of the reporting currency.
    pub arr_at_risk: i64,
    pub total_arr: i64,
}

impl Measure {
    /// ARR at risk as a fraction of total ARR (0 without ARR).
    pub fn share(&self) -> f64 {
        if self.total_arr > 0 {
            self.arr_at_risk as f64 / self.total_arr as f64
        } else {
            0.0
        }
    }
}

/// What a threshold watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    ArrAtRisk,
    ArrAtRiskShare,
    AccountsAtRisk,
}

impl Kind {
    /// The key as written in `tenure.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ArrAtRisk => "arr_at_risk",
            Kind::ArrAtRiskShare => "arr_at_risk_share",
            Kind::AccountsAtRisk => "accounts_at_risk",
        }
    }
}

/// A threshold a measure is above.
#[derive(Debug, Clone, PartialEq)]
pub struct Above {
    /// `None` for the whole book.
    pub segment: Option<String>,
    pub kind: Kind,
    /// The threshold (minor units, a fraction or a count).
    pub limit: f64,
    /// The measure's value in the same unit.
    pub value: f64,
}

impl Above {
    /// The state key: `arr_at_risk` for the book, `SEGMENT/arr_at_risk`
    /// for a segment.
    pub fn key(&self) -> String {
        match &self.segment {
            None => self.kind.as_str().to_string(),
            Some(s) => format!("{s}/{}", self.kind.as_str()),
        }
    }
}

/// The thresholds `m` is strictly above.
pub fn above(t: &Thresholds, m: &Measure, segment: Option<&str>) -> Vec<Above> {
    let mut out = Vec::new();
    let mut push = |kind, limit: f64, value: f64| {
        if value > limit {
            out.push(Above {
                segment: segment.map(str::to_string),
                kind,
                limit,
                value,
            });
        }
    };
    if let Some(l) = t.arr_at_risk {
        push(Kind::ArrAtRisk, l as f64, m.arr_at_risk as f64);
    }
    if let Some(l) = t.arr_at_risk_share {
        push(Kind::ArrAtRiskShare, l, m.share());
    }
    if let Some(l) = t.accounts_at_risk {
        push(Kind::AccountsAtRisk, l as f64, m.accounts_at_risk as f64);
    }
    out
}

/// Every threshold of `config` the day's measures are above: the book's
/// and each configured segment's (`segment` gives a segment's measure).
pub fn above_all<'a>(
    config: &RiskConfig,
    book: &Measure,
    segment: impl Fn(&str) -> Option<&'a Measure>,
) -> Vec<Above> {
    let mut out = above(&config.thresholds, book, None);
    for s in &config.segments {
        let m = segment(&s.segment).copied().unwrap_or_default();
        out.extend(above(&s.thresholds, &m, Some(&s.segment)));
    }
    out
}

/// One step of the threshold state machine. `was_above` holds the keys
/// ([`Above::key`]) that were above on the previous measured day; returns
/// the keys above now and the crossings that open a review today (above
/// now, not before). A key that drops out clears, so crossing it again
/// opens another review.
pub fn advance(was_above: &BTreeSet<String>, now: &[Above]) -> (BTreeSet<String>, Vec<Above>) {
    let keys: BTreeSet<String> = now.iter().map(Above::key).collect();
    let crossed = now
        .iter()
        .filter(|a| !was_above.contains(&a.key()))
        .cloned()
        .collect();
    (keys, crossed)
}

/// A crossing in words, for the review's "threshold that crossed":
/// `ARR at risk share 0.12 above 0.10`.
pub fn describe(a: &Above, minor_digits: u32) -> String {
    let scale = 10f64.powi(minor_digits as i32);
    let what = match a.kind {
        Kind::ArrAtRisk => format!(
            "ARR at risk {:.0} above {:.0}",
            a.value / scale,
            a.limit / scale
        ),
        Kind::ArrAtRiskShare => format!(
            "ARR at risk {:.1}% of total ARR, above {:.1}%",
            a.value * 100.0,
            a.limit * 100.0
        ),
        Kind::AccountsAtRisk => format!(
            "{} accounts at risk, more than {}",
            a.value as u64, a.limit as u64
        ),
    };
    match &a.segment {
        None => what,
        Some(s) => format!("{s}: {what}"),
    }
}

/// An account's reason to be on the board: its open flags' reasons, and
/// "Red health band" when it is red without a band flag; `None` when it is
/// not at risk.
pub fn reason(red: bool, flags: &[(&FlagSource, &str)]) -> Option<String> {
    let mut parts: Vec<String> = flags
        .iter()
        .map(|(src, r)| match src {
            FlagSource::Playbook(n) if !r.is_empty() => format!("{r} (playbook {n})"),
            _ => r.to_string(),
        })
        .filter(|r| !r.is_empty())
        .collect();
    let band_flag = flags.iter().any(|(s, _)| **s == FlagSource::Band);
    if red && !band_flag {
        parts.insert(0, RED_REASON.to_string());
    }
    if parts.is_empty() && !red && flags.is_empty() {
        None
    } else {
        parts.dedup();
        Some(parts.join("; "))
    }
}

/// The reason of a flag the daily job records for a red account.
pub const RED_REASON: &str = "Red health band";

#[cfg(test)]
mod tests {
    use super::*;

    fn book(n: u64, arr: i64, total: i64) -> Measure {
        Measure {
            accounts_at_risk: n,
            arr_at_risk: arr,
            total_arr: total,
        }
    }

    /// Runs the state machine over daily measures; the days a review opens.
    fn check(config: &RiskConfig, days: &[Measure], expected_opens: &[usize]) {
        let mut state = BTreeSet::new();
        let mut opens = Vec::new();
        for (i, m) in days.iter().enumerate() {
            let now = above_all(config, m, |_| None);
            let (next, crossed) = advance(&state, &now);
            if !crossed.is_empty() {
                opens.push(i);
            }
            state = next;
        }
        assert_eq!(opens, expected_opens);
    }

    fn share(s: f64) -> RiskConfig {
        RiskConfig {
            thresholds: Thresholds {
                arr_at_risk_share: Some(s),
                ..Thresholds::default()
            },
            segments: Vec::new(),
            digest: None,
        }
    }

    #[test]
    fn crosses_stays_clears_recrosses_opens_two_reviews() {
        let days = [
            book(1, 5, 100),  // 5%: below
            book(3, 15, 100), // crosses
            book(4, 20, 100), // stays above
            book(2, 10, 100), // clears (10% is not above 10%)
            book(2, 8, 100),  // below
            book(5, 30, 100), // crosses again
            book(5, 30, 100), // stays
        ];
        check(&share(0.10), &days, &[1, 5]);
    }

    #[test]
    fn a_second_threshold_crossing_while_the_first_stays_opens_another() {
        let config = RiskConfig {
            thresholds: Thresholds {
                arr_at_risk: Some(1_000),
                accounts_at_risk: Some(3),
                arr_at_risk_share: None,
            },
            segments: Vec::new(),
            digest: None,
        };
        let days = [
            book(1, 2_000, 10_000), // ARR crosses
            book(2, 2_000, 10_000), // stays
            book(4, 2_000, 10_000), // count crosses too
            book(4, 2_000, 10_000),
        ];
        check(&config, &days, &[0, 2]);
    }

    #[test]
    fn segment_thresholds_cross_on_their_own_measure() {
        let config = RiskConfig {
            thresholds: Thresholds::default(),
            segments: vec![SegmentThresholds {
                segment: "smb".into(),
                thresholds: Thresholds {
                    accounts_at_risk: Some(1),
                    ..Thresholds::default()
                },
            }],
            digest: None,
        };
        let smb = book(2, 10, 100);
        let now = above_all(&config, &book(9, 90, 100), |s| (s == "smb").then_some(&smb));
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].key(), "smb/accounts_at_risk");
        let none = above_all(&config, &book(9, 90, 100), |_| None);
        assert!(none.is_empty());
    }

    #[test]
    fn no_thresholds_never_open_a_review() {
        check(&RiskConfig::default(), &[book(100, 100, 100)], &[]);
    }

    #[test]
    fn flag_sources_round_trip() {
        for s in ["manual", "band", "playbook:Red alert"] {
            assert_eq!(FlagSource::parse(s).unwrap().as_string(), s);
        }
        assert_eq!(FlagSource::parse("playbook:"), None);
        assert_eq!(FlagSource::parse("robot"), None);
        assert_eq!(Outcome::parse(" Saved "), Some(Outcome::Saved));
        assert_eq!(Outcome::parse("lost"), None);
    }

    #[test]
    fn reasons_name_red_and_every_flag() {
        assert_eq!(reason(false, &[]), None);
        assert_eq!(reason(true, &[]).as_deref(), Some(RED_REASON));
        let pb = FlagSource::Playbook("Usage drop".into());
        let m = FlagSource::Manual;
        assert_eq!(
            reason(true, &[(&pb, "Usage fell 40%"), (&m, "Champion left")]).as_deref(),
            Some("Red health band; Usage fell 40% (playbook Usage drop); Champion left")
        );
        let band = FlagSource::Band;
        assert_eq!(
            reason(true, &[(&band, RED_REASON)]).as_deref(),
            Some(RED_REASON)
        );
    }

    #[test]
    fn describe_says_what_crossed() {
        let a = Above {
            segment: Some("smb".into()),
            kind: Kind::ArrAtRisk,
            limit: 100_000.0,
            value: 250_000.0,
        };
        assert_eq!(describe(&a, 2), "smb: ARR at risk 2500 above 1000");
    }
}
