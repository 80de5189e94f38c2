//! The scorecard as plain data: measures, their normalisation, weights,
//! colour bands and which scorecard applies to which account.
//!
//! These values are built by [`crate::config::parse_config`], which has
//! already checked them (weights positive, thresholds ordered, ...); code that
//! builds them by hand should keep to the same rules. [`super::HealthModel`]
//! compiles them for fast scoring.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::{Account, Priority};

/// The health part of `tenure.toml`: bands, the default scorecard and the
/// optional per-plan or per-segment scorecards.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthConfig {
    pub bands: Bands,
    /// Used for every account that no entry of `scorecards` matches. Its name
    /// is always `default`.
    pub default: Scorecard,
    /// Tried in order; the first whose `matches` fits the account wins.
    pub scorecards: Vec<Scorecard>,
}

impl HealthConfig {
    /// The scorecard for an account: the first of `scorecards` that matches,
    /// else the default.
    pub fn scorecard_for(&self, account: &Account) -> &Scorecard {
        self.scorecards
            .iter()
            .find(|s| s.matches.as_ref().is_some_and(|m| m.matches(account)))
            .unwrap_or(&self.default)
    }

    /// All scorecards, the default first, then the others in file order. The
    /// position in this iterator is the scorecard index used by
    /// [`super::HealthModel`].
    pub fn all_scorecards(&self) -> impl Iterator<Item = &Scorecard> {
        std::iter::once(&self.default).chain(self.scorecards.iter())
    }

    /// A short stable hash of everything that decides a score and its band:
    /// the bands and every scorecard (name, match rule, measures). It changes
    /// whenever any of these change, and only then.
    pub fn version(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "bands yellow_from={:?} green_from={:?}",
            self.bands.yellow_from, self.bands.green_from
        );
        for card in self.all_scorecards() {
            let _ = writeln!(s, "scorecard {:?}", card.name);
            if let Some(m) = &card.matches {
                let _ = writeln!(s, "match {m:?}");
            }
            card.write_canonical(&mut s);
        }
        short_hash(&s)
    }
}

/// Colour band thresholds: red below `yellow_from`, yellow from
/// `yellow_from` up to (not including) `green_from`, green from `green_from`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    pub yellow_from: f64,
    pub green_from: f64,
}

impl Default for Bands {
    fn default() -> Bands {
        Bands {
            yellow_from: 40.0,
            green_from: 70.0,
        }
    }
}

impl Bands {
    /// The band of a score.
    pub fn band(&self, score: f64) -> Band {
        if score >= self.green_from {
            Band::Green
        } else if score >= self.yellow_from {
            Band::Yellow
        } else {
            Band::Red
        }
    }
}

/// A health colour band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Band {
    Red,
    Yellow,
    Green,
}

impl Band {
    pub const ALL: [Band; 3] = [Band::Red, Band::Yellow, Band::Green];

    pub fn as_str(&self) -> &'static str {
        match self {
            Band::Red => "red",
            Band::Yellow => "yellow",
            Band::Green => "green",
        }
    }

    /// The band named `red`, `yellow` or `green` (as [`Band::as_str`]
    /// writes it); `None` for anything else.
    pub fn parse(s: &str) -> Option<Band> {
        Band::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// A named, weighted list of measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Scorecard {
    pub name: String,
    /// `None` for the default scorecard, which applies when nothing else does.
    pub matches: Option<ScorecardMatch>,
    pub measures: Vec<Measure>,
}

impl Scorecard {
    /// The scorecard version: a short stable hash (8 hex digits, FNV-1a over
    /// a canonical text form) of the measures, their parameters, weights and
    /// normalisation, in order. Two scores with the same version were computed
    /// by the same definition; renaming the scorecard or changing its match
    /// rule does not change it. Bands are not included (see
    /// [`HealthConfig::version`] for a hash over everything).
    pub fn version(&self) -> String {
        let mut s = String::new();
        self.write_canonical(&mut s);
        short_hash(&s)
    }

    fn write_canonical(&self, s: &mut String) {
        for m in &self.measures {
            let _ = write!(s, "measure {:?} weight={:?} ", m.name, m.weight);
            m.kind.write_canonical(s);
            if let Some(p) = m.per {
                let _ = write!(s, " per={}", p.as_str());
            }
            if let Some(b) = m.baseline_days {
                let _ = write!(s, " baseline_days={b}");
            }
            if let Some(r) = &m.relative {
                let _ = write!(
                    s,
                    " percentile={:?},{},{}",
                    r.among.as_str(),
                    r.min_group,
                    r.direction.as_str()
                );
            }
            match &m.normalisation {
                Normalisation::Thresholds(steps) => {
                    s.push_str(" thresholds=");
                    for st in steps {
                        let _ = write!(s, "[{:?},{:?}]", st.value, st.points);
                    }
                }
                Normalisation::Linear {
                    min,
                    max,
                    direction,
                } => {
                    let _ = write!(s, " linear={min:?},{max:?},{}", direction.as_str());
                }
            }
            s.push('\n');
        }
    }
}

/// Which accounts a scorecard applies to. Every listed field must match
/// (AND); a field lists the values it accepts (OR). Comparison ignores ASCII
/// case and surrounding white space. An account without the field does not
/// match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScorecardMatch {
    pub plan: Vec<String>,
    pub industry: Vec<String>,
    pub region: Vec<String>,
    /// Custom account attributes (extra columns of the accounts file).
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl ScorecardMatch {
    /// True when no field is constrained.
    pub fn is_empty(&self) -> bool {
        self.plan.is_empty()
            && self.industry.is_empty()
            && self.region.is_empty()
            && self.attributes.is_empty()
    }

    pub fn matches(&self, account: &Account) -> bool {
        fn one(accepted: &[String], value: Option<&str>) -> bool {
            if accepted.is_empty() {
                return true;
            }
            match value {
                Some(v) => accepted
                    .iter()
                    .any(|a| a.trim().eq_ignore_ascii_case(v.trim())),
                None => false,
            }
        }
        one(&self.plan, account.plan.as_deref())
            && one(&self.industry, account.industry.as_deref())
            && one(&self.region, account.region.as_deref())
            && self
                .attributes
                .iter()
                .all(|(k, vs)| one(vs, account.attributes.get(k).map(String::as_str)))
    }
}

/// One line of a scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// Shown in the explanation; unique within its scorecard.
    pub name: String,
    pub kind: MeasureKind,
    /// Relative weight, > 0.
    pub weight: f64,
    pub normalisation: Normalisation,
    /// Divides the raw value by the account's active users, seats or known
    /// users (`per` in `tenure.toml`): "events per active user". No data
    /// when the divisor is unknown or 0.
    pub per: Option<Per>,
    /// `event_trend` only: compare the window with the days from the end
    /// of the window back to this many days before the as-of date, per day
    /// (the account's own baseline), instead of the window just before.
    pub baseline_days: Option<u32>,
    /// Normalise relative to the company: the raw value becomes the
    /// account's percentile among comparable accounts on the as-of date,
    /// then `normalisation` turns that percentile into points.
    pub relative: Option<Relative>,
}

/// What a measure's raw value is divided by (`per`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// Distinct users with an event in the measure's window (30 days for
    /// kinds without a window).
    ActiveUser,
    /// Seats of the subscriptions running on the as-of date.
    Seat,
    /// Distinct users seen on or before the as-of date.
    KnownUser,
}

impl Per {
    pub fn parse(s: &str) -> Option<Per> {
        match s {
            "active_user" => Some(Per::ActiveUser),
            "seat" => Some(Per::Seat),
            "known_user" => Some(Per::KnownUser),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Per::ActiveUser => "active_user",
            Per::Seat => "seat",
            Per::KnownUser => "known_user",
        }
    }
}

/// Which accounts a relative measure compares an account with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Among {
    /// Every account scored on the day.
    All,
    /// Accounts on the same plan.
    Plan,
    /// Accounts with the same value of a custom attribute (`segment`, ...).
    Attribute(String),
}

impl Among {
    /// `all`, `plan`, or the name of a custom attribute.
    pub fn parse(s: &str) -> Among {
        match s {
            "all" => Among::All,
            "plan" => Among::Plan,
            other => Among::Attribute(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Among::All => "all",
            Among::Plan => "plan",
            Among::Attribute(a) => a,
        }
    }

    /// The account's group, lower case and trimmed; `None` for
    /// [`Among::All`] or when the account has no value.
    pub fn key(&self, account: &Account) -> Option<String> {
        let v = match self {
            Among::All => None,
            Among::Plan => account.plan.as_deref(),
            Among::Attribute(a) => account.attributes.get(a).map(String::as_str),
        }?;
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_ascii_lowercase())
    }

    /// How a group is named in an explanation: "growth-plan accounts",
    /// "segment smb accounts", "all accounts".
    pub fn label(&self, key: Option<&str>) -> String {
        match (self, key) {
            (Among::Plan, Some(k)) => format!("{k}-plan accounts"),
            (Among::Attribute(a), Some(k)) => format!("{a} {k} accounts"),
            _ => "all accounts".to_string(),
        }
    }
}

/// Percentile normalisation relative to the company (`percentile` in
/// `tenure.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct Relative {
    /// Compare with these accounts when the account's group has at least
    /// `min_group` accounts with data on the day, else with all accounts.
    pub among: Among,
    pub min_group: u32,
    /// `LowerIsBetter` turns the percentile around (100 − percentile), so
    /// that the points still grow with health.
    pub direction: Direction,
}

/// What a measure looks at, with its parameters. Every window is a number of
/// UTC days ending with the as-of date (both ends included).
#[derive(Debug, Clone, PartialEq)]
pub enum MeasureKind {
    /// Distinct users with an event in the window ÷ the denominator.
    ActiveUserRatio {
        window_days: u32,
        denominator: Denominator,
    },
    /// Events in the window; only the named events when `events` is not empty.
    EventCount {
        window_days: u32,
        events: Vec<String>,
    },
    /// Events in the window ÷ events in the window of the same length just
    /// before it. No data when the earlier window has no events.
    EventTrend {
        window_days: u32,
        events: Vec<String>,
    },
    /// min(distinct active users in the window, seats) ÷ seats. No data
    /// without a seat count.
    SeatUtilisation { window_days: u32 },
    /// Distinct key features (event names) used in the window ÷ number of key
    /// features listed.
    FeatureAdoption {
        window_days: u32,
        features: Vec<String>,
    },
    /// The score (0–10) of the account's latest NPS response; with a window,
    /// only when that response falls in it.
    LatestNps { window_days: Option<u32> },
    /// Mean score (1–5) of CSAT survey responses in the window.
    CsatAverage { window_days: u32 },
    /// Tickets open at the end of the as-of date, each counted with the
    /// weight of its priority (no priority counts as normal).
    OpenTickets { priority_weights: PriorityWeights },
    /// Days from the latest engagement to the as-of date. No data when the
    /// account never had one.
    DaysSinceEngagement,
    /// Days from the as-of date to the next renewal date of a running
    /// subscription. No data when none is known.
    DaysToRenewal,
    /// Failed payments in the window. No data when payments are not tracked.
    PaymentFailures { window_days: u32 },
    /// The numeric value of a custom account attribute. No data when the
    /// attribute is missing or not a number.
    CustomAttribute { attribute: String },
    /// The churn model's probability of churn (0–1) stored for the account
    /// on the latest prediction day on or before the as-of date
    /// ([`super::signals::churn_prediction_day`]). No data without a model
    /// or a prediction for the account. Never a feature of the churn model
    /// itself.
    ChurnRisk,
}

impl MeasureKind {
    /// Every kind name, as written in `tenure.toml`.
    pub const NAMES: [&'static str; 13] = [
        "active_user_ratio",
        "event_count",
        "event_trend",
        "seat_utilisation",
        "feature_adoption",
        "latest_nps",
        "csat_average",
        "open_tickets",
        "days_since_engagement",
        "days_to_renewal",
        "payment_failures",
        "custom_attribute",
        "churn_risk",
    ];

    /// The kind's name as written in `tenure.toml`.
    pub fn name(&self) -> &'static str {
        match self {
            MeasureKind::ActiveUserRatio { .. } => "active_user_ratio",
            MeasureKind::EventCount { .. } => "event_count",
            MeasureKind::EventTrend { .. } => "event_trend",
            MeasureKind::SeatUtilisation { .. } => "seat_utilisation",
            MeasureKind::FeatureAdoption { .. } => "feature_adoption",
            MeasureKind::LatestNps { .. } => "latest_nps",
            MeasureKind::CsatAverage { .. } => "csat_average",
            MeasureKind::OpenTickets { .. } => "open_tickets",
            MeasureKind::DaysSinceEngagement => "days_since_engagement",
            MeasureKind::DaysToRenewal => "days_to_renewal",
            MeasureKind::PaymentFailures { .. } => "payment_failures",
            MeasureKind::CustomAttribute { .. } => "custom_attribute",
            MeasureKind::ChurnRisk => "churn_risk",
        }
    }

    fn write_canonical(&self, s: &mut String) {
        let _ = write!(s, "kind={}", self.name());
        match self {
            MeasureKind::ActiveUserRatio {
                window_days,
                denominator,
            } => {
                let _ = write!(
                    s,
                    " window_days={window_days} denominator={}",
                    denominator.as_str()
                );
            }
            MeasureKind::EventCount {
                window_days,
                events,
            }
            | MeasureKind::EventTrend {
                window_days,
                events,
            } => {
                let _ = write!(s, " window_days={window_days} events={events:?}");
            }
            MeasureKind::SeatUtilisation { window_days }
            | MeasureKind::CsatAverage { window_days }
            | MeasureKind::PaymentFailures { window_days } => {
                let _ = write!(s, " window_days={window_days}");
            }
            MeasureKind::FeatureAdoption {
                window_days,
                features,
            } => {
                let _ = write!(s, " window_days={window_days} features={features:?}");
            }
            MeasureKind::LatestNps { window_days } => {
                let _ = write!(s, " window_days={window_days:?}");
            }
            MeasureKind::OpenTickets {
                priority_weights: w,
            } => {
                let _ = write!(
                    s,
                    " weights={:?},{:?},{:?},{:?}",
                    w.low, w.normal, w.high, w.urgent
                );
            }
            MeasureKind::DaysSinceEngagement
            | MeasureKind::DaysToRenewal
            | MeasureKind::ChurnRisk => {}
            MeasureKind::CustomAttribute { attribute } => {
                let _ = write!(s, " attribute={attribute:?}");
            }
        }
    }
}

/// What an active-user ratio divides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denominator {
    /// Seats of the subscriptions running on the as-of date (no data
    /// without a seat count).
    Seats,
    /// Distinct users seen on or before the as-of date.
    KnownUsers,
    /// Seats when the account has a seat count, else known users.
    Auto,
    /// Nothing: the raw value is the number of active users itself (for a
    /// measure relative to the company, `percentile`).
    None,
}

impl Denominator {
    pub fn parse(s: &str) -> Option<Denominator> {
        match s {
            "seats" => Some(Denominator::Seats),
            "known_users" => Some(Denominator::KnownUsers),
            "auto" => Some(Denominator::Auto),
            "none" => Some(Denominator::None),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Denominator::Seats => "seats",
            Denominator::KnownUsers => "known_users",
            Denominator::Auto => "auto",
            Denominator::None => "none",
        }
    }
}

/// How much one open ticket of each priority counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorityWeights {
    pub low: f64,
    pub normal: f64,
    pub high: f64,
    pub urgent: f64,
}

impl Default for PriorityWeights {
    fn default() -> PriorityWeights {
        PriorityWeights {
            low: 0.5,
            normal: 1.0,
            high: 2.0,
            urgent: 4.0,
        }
    }
}

impl PriorityWeights {
    pub fn get(&self, p: Priority) -> f64 {
        match p {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }
}

/// Turns a raw value into points from 0 to 100.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalisation {
    /// Steps ordered by strictly increasing `value`. A raw value scores the
    /// points of the last step whose value it reaches (`raw >= value`); below
    /// the first step it scores the first step's points. Points may go up or
    /// down along the steps, so "lower is better" is written with falling
    /// points.
    Thresholds(Vec<Step>),
    /// A straight line from `min` to `max` (`min < max`), clamped outside.
    /// Higher is better: `min` and below score 0, `max` and above 100. Lower
    /// is better: the reverse.
    Linear {
        min: f64,
        max: f64,
        direction: Direction,
    },
}

/// One step of a thresholds normalisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub value: f64,
    /// 0..=100.
    pub points: f64,
}

/// Which end of a linear range is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "higher_is_better" => Some(Direction::HigherIsBetter),
            "lower_is_better" => Some(Direction::LowerIsBetter),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "higher_is_better",
            Direction::LowerIsBetter => "lower_is_better",
        }
    }
}

impl Normalisation {
    /// Points from 0 to 100 for a raw value. A NaN raw value scores 0.
    pub fn apply(&self, raw: f64) -> f64 {
        let points = match self {
            Normalisation::Thresholds(steps) => {
                // Index of the first step whose value is above raw.
                let above = steps.partition_point(|s| s.value <= raw);
                match steps.get(above.saturating_sub(1)) {
                    Some(s) => s.points,
                    None => 0.0,
                }
            }
            Normalisation::Linear {
                min,
                max,
                direction,
            } => {
                let span = max - min;
                let up = if span > 0.0 {
                    ((raw - min) / span).clamp(0.0, 1.0) * 100.0
                } else if raw >= *max {
                    100.0
                } else {
                    0.0
                };
                match direction {
                    Direction::HigherIsBetter => up,
                    Direction::LowerIsBetter => 100.0 - up,
                }
            }
        };
        if points.is_nan() {
            0.0
        } else {
            points.clamp(0.0, 100.0)
        }
    }
}

/// FNV-1a (64 bit) folded to 32 bits, as 8 lower-case hex digits.
pub(crate) fn short_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", (h >> 32) as u32 ^ h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(pairs: &[(f64, f64)]) -> Normalisation {
        Normalisation::Thresholds(
            pairs
                .iter()
                .map(|&(value, points)| Step { value, points })
                .collect(),
        )
    }

    #[test]
    fn thresholds_score_the_last_step_reached() {
        let n = steps(&[(0.2, 40.0), (0.5, 70.0), (0.8, 100.0)]);
        let check = |raw: f64, expected: f64| assert_eq!(n.apply(raw), expected, "raw {raw}");
        check(-1.0, 40.0); // below the first step: the first step's points
        check(0.0, 40.0);
        check(0.2, 40.0); // a step is reached at its value
        check(0.49, 40.0);
        check(0.5, 70.0);
        check(0.79, 70.0);
        check(0.8, 100.0);
        check(7.0, 100.0);
    }

    #[test]
    fn thresholds_can_fall_for_lower_is_better() {
        let n = steps(&[(0.0, 100.0), (1.0, 80.0), (3.0, 50.0), (6.0, 0.0)]);
        assert_eq!(n.apply(0.0), 100.0);
        assert_eq!(n.apply(0.5), 100.0);
        assert_eq!(n.apply(2.0), 80.0);
        assert_eq!(n.apply(5.5), 50.0);
        assert_eq!(n.apply(40.0), 0.0);
    }

    #[test]
    fn linear_clamps_and_flips() {
        let up = Normalisation::Linear {
            min: 10.0,
            max: 20.0,
            direction: Direction::HigherIsBetter,
        };
        assert_eq!(up.apply(5.0), 0.0);
        assert_eq!(up.apply(15.0), 50.0);
        assert_eq!(up.apply(25.0), 100.0);
        let down = Normalisation::Linear {
            min: 14.0,
            max: 114.0,
            direction: Direction::LowerIsBetter,
        };
        assert_eq!(down.apply(0.0), 100.0);
        assert_eq!(down.apply(39.0), 75.0);
        assert_eq!(down.apply(500.0), 0.0);
    }

    #[test]
    fn bands_are_half_open() {
        let b = Bands::default();
        assert_eq!(b.band(39.999), Band::Red);
        assert_eq!(b.band(40.0), Band::Yellow);
        assert_eq!(b.band(69.9), Band::Yellow);
        assert_eq!(b.band(70.0), Band::Green);
        assert_eq!(b.band(100.0), Band::Green);
    }

    #[test]
    fn short_hash_is_stable() {
        // FNV-1a 64 of "" is cbf29ce484222325; folded: cbf29ce4 ^ 84222325.
        assert_eq!(
            short_hash(""),
            format!("{:08x}", 0xcbf2_9ce4u32 ^ 0x8422_2325)
        );
        assert_eq!(short_hash("a"), short_hash("a"));
        assert_ne!(short_hash("a"), short_hash("b"));
    }

    #[test]
    fn scorecard_match_ignores_case_and_needs_every_field() {
        let mut acct = Account::bare("a1");
        acct.plan = Some("Enterprise".into());
        acct.attributes.insert("tier".into(), "gold".into());
        let m = ScorecardMatch {
            plan: vec!["enterprise".into(), "scale".into()],
            attributes: [("tier".to_string(), vec!["GOLD".to_string()])].into(),
            ..ScorecardMatch::default()
        };
        assert!(m.matches(&acct));
        acct.attributes.insert("tier".into(), "silver".into());
        assert!(!m.matches(&acct));
        acct.attributes.remove("tier");
        assert!(!m.matches(&acct));
    }
}
