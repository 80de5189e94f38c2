//! Engage: who each customer is (segment and touch tier), where it is in
//! its journey (stage), and whether it gets the engagement its tier and
//! stage call for (cadence). docs/ENGAGE.md explains the model.
//!
//! Everything here is pure: the application layer gathers each account's
//! [`Facts`](crate::rules::Facts) for a day, and these functions decide.
//!
//! 1. [`Journey::stage_of`]: the furthest stage, in journey order, whose
//!    entry rule holds (so an account can move back a stage).
//! 2. [`Segments::segment_of`]: the first segment, in order, whose rule
//!    holds; it names the touch tier. Segment rules may read the stage.
//! 3. [`cadence`]: per account and required engagement, when it was last
//!    done, when it is due and how many days overdue, and compliance over
//!    a period.
//! 4. [`record_day`] folds each day's stage and segment into [`Run`]s;
//!    [`period`] reads the runs: the funnel, compliance per stretch, churn
//!    by segment.
//! 5. [`suggest`]: segments suggested from the data (k-means over revenue,
//!    size and usage), each with a description and a rule to paste.
//!
//! A rule that cannot be decided on an account's values (a missing custom
//! attribute, a comparison with a missing value) is skipped for that
//! account and reported with it; the run goes on.

pub mod cadence;
mod facts;
mod journey;
mod log;
pub mod period;
mod runs;
mod segments;
pub mod suggest;

pub use facts::{ChampionContact, FactInputs, FactSlots, arr_percentiles, champion_facts, facts};

pub use journey::{Journey, Stage, StageOf};
pub use log::{
    CheckedEngagement, EngagementField, EngagementProblem, MAX_NOTES_CHARS, check_engagement,
    occurred_at,
};
pub use runs::{Run, held, record_day, rewind};
pub use segments::{Segment, SegmentOf, Segments, Tier};

/// The configuration of Engage, checked (`[engage]` in tenure.toml).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngageConfig {
    /// Days an account stays in a stage or segment before it may move to
    /// another (moves into a lost stage, or out of every stage or segment,
    /// are at once), so that a fact wavering around a rule's threshold does
    /// not move it back and forth daily. 0 moves at once.
    pub settle_days: u32,
    pub tiers: Vec<Tier>,
    pub segments: Segments,
    pub journey: Journey,
    pub cadence: Vec<cadence::Policy>,
}

impl EngageConfig {
    /// Every stage and segment rule.
    pub fn rules(&self) -> impl Iterator<Item = &crate::rules::Rule> {
        let stages = self
            .journey
            .0
            .iter()
            .flat_map(|s| [Some(&s.entry), s.stay.as_ref()]);
        stages
            .flatten()
            .chain(self.segments.0.iter().map(|s| &s.rule))
    }

    /// Whether a rule reads custom attributes (`attrs`): only then do
    /// accounts' attributes need loading.
    pub fn reads_attributes(&self) -> bool {
        self.rules().any(|r| r.reads("attrs"))
    }
}
