//! Scoring: signals → raw values → points → weighted score, explained.

use std::sync::Arc;

use jiff::civil::Date;

use std::collections::HashMap;

use super::scorecard::{
    Among, Band, Bands, Denominator, Direction, HealthConfig, Measure, MeasureKind, Normalisation,
    Per, PriorityWeights, Relative, ScorecardMatch,
};
use super::signals::{AccountSignals, EventFilter, SignalPlan, Window};
use crate::model::{Account, Priority, day_number};

/// A manual score set by a person, shown instead of the computed score while
/// it applies. The computed score and its explanation are still reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// 0–100 (values outside are clamped).
    pub score: f64,
    pub reason: String,
    pub author: String,
    /// The day the override was made: it never applies to earlier as-of
    /// dates, so history and backtests do not see it before it existed.
    pub set_on: Date,
    /// The last day it applies (inclusive).
    pub until: Date,
}

impl Override {
    /// Whether the override applies on an as-of date: `set_on <= as_of <= until`.
    pub fn applies_on(&self, as_of: Date) -> bool {
        self.set_on <= as_of && as_of <= self.until
    }
}

/// One line of a score's explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureResult {
    pub name: Arc<str>,
    /// The measure kind as written in `tenure.toml` (`active_user_ratio`, ...).
    pub kind: &'static str,
    /// The raw value; `None` when the account has no data for this measure.
    pub raw: Option<f64>,
    /// Points from 0 to 100; `None` when there is no data.
    pub normalised: Option<f64>,
    /// The configured weight.
    pub weight: f64,
    /// This measure's share of the score: weight ÷ the sum of the weights of
    /// the measures that have data. `None` when there is no data.
    pub effective_weight: Option<f64>,
    /// Points this measure adds to the score (0 without data). The
    /// contributions, added in order, equal the computed score exactly.
    pub contribution: f64,
    /// For a measure relative to the company: the account's percentile
    /// (0–100, higher is healthier) among the accounts it was compared with.
    pub percentile: Option<f64>,
    /// Those accounts, in words: "growth-plan accounts", "all accounts".
    pub compared_with: Option<Arc<str>>,
}

impl MeasureResult {
    /// For a relative measure, where the account stands: "12th percentile
    /// of growth-plan accounts"; `None` otherwise.
    pub fn standing(&self) -> Option<String> {
        let p = self.percentile?.round() as i64;
        let suffix = match (p % 10, p % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        Some(format!(
            "{p}{suffix} percentile of {}",
            self.compared_with.as_deref().unwrap_or("all accounts")
        ))
    }
}

/// A health score with its explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthScore {
    pub as_of: Date,
    /// Index of the scorecard used (0 = default), see [`HealthModel::scorecard_index`].
    pub scorecard: usize,
    pub scorecard_name: Arc<str>,
    pub scorecard_version: Arc<str>,
    /// The score shown: the override's when one applies, else `computed`.
    pub score: Option<f64>,
    pub band: Option<Band>,
    /// Σ weightᵢ × normalisedᵢ ÷ Σ weightᵢ over measures with data; `None`
    /// when no measure has data.
    pub computed: Option<f64>,
    pub computed_band: Option<Band>,
    /// The override that applies on `as_of`, if any.
    pub override_applied: Option<Override>,
    /// One entry per measure of the scorecard, in scorecard order.
    pub measures: Vec<MeasureResult>,
}

impl HealthScore {
    /// Names of the measures without data (left out and re-weighted).
    pub fn missing(&self) -> impl Iterator<Item = &str> {
        self.measures
            .iter()
            .filter(|m| m.raw.is_none())
            .map(|m| &*m.name)
    }
}

/// Where a compiled measure reads its raw value.
#[derive(Debug, Clone)]
enum Source {
    ActiveUsers {
        slot: usize,
        denominator: Denominator,
    },
    EventCount {
        slot: usize,
    },
    EventTrend {
        last: usize,
        previous: usize,
        /// Days of the earlier stretch ÷ days of the window: 1 for the
        /// window just before, more against a longer own baseline.
        scale: f64,
    },
    SeatUtilisation {
        slot: usize,
    },
    Features {
        slot: usize,
        listed: u32,
    },
    LatestNps {
        window_days: Option<u32>,
    },
    Csat {
        slot: usize,
    },
    OpenTickets {
        weights: PriorityWeights,
    },
    DaysSinceEngagement,
    DaysToRenewal,
    PaymentFailures {
        slot: usize,
    },
    Attribute {
        slot: usize,
    },
    ChurnRisk,
}

/// What a compiled measure divides its raw value by.
#[derive(Debug, Clone, Copy)]
enum Divisor {
    ActiveUsers { slot: usize },
    Seats,
    KnownUsers,
}

#[derive(Debug, Clone)]
struct CompiledMeasure {
    name: Arc<str>,
    kind: &'static str,
    weight: f64,
    normalisation: Normalisation,
    source: Source,
    per: Option<Divisor>,
    relative: Option<Relative>,
}

impl CompiledMeasure {
    fn new(m: &Measure, plan: &mut SignalPlan) -> CompiledMeasure {
        let window = match &m.kind {
            MeasureKind::ActiveUserRatio { window_days, .. }
            | MeasureKind::EventCount { window_days, .. }
            | MeasureKind::EventTrend { window_days, .. }
            | MeasureKind::SeatUtilisation { window_days }
            | MeasureKind::FeatureAdoption { window_days, .. }
            | MeasureKind::CsatAverage { window_days }
            | MeasureKind::PaymentFailures { window_days } => *window_days,
            _ => 30,
        };
        let per = m.per.map(|p| match p {
            Per::ActiveUser => Divisor::ActiveUsers {
                slot: plan.active_users_slot(Window::ending_on_as_of(window)),
            },
            Per::Seat => Divisor::Seats,
            Per::KnownUser => {
                plan.needs_known_users = true;
                plan.known_users_with_seats = true;
                Divisor::KnownUsers
            }
        });
        CompiledMeasure {
            name: m.name.as_str().into(),
            kind: m.kind.name(),
            weight: m.weight,
            normalisation: m.normalisation.clone(),
            source: compile(&m.kind, m.baseline_days, plan),
            per,
            relative: m.relative.clone(),
        }
    }

    /// The raw value, divided as `per` says.
    fn raw(&self, s: &AccountSignals) -> Option<f64> {
        let raw = raw_value(&self.source, s)?;
        let divisor = match self.per {
            None => return Some(raw),
            Some(Divisor::ActiveUsers { slot }) => f64::from(*s.active_users.get(slot)?),
            Some(Divisor::Seats) => s.seats? as f64,
            Some(Divisor::KnownUsers) => f64::from(s.known_users),
        };
        (divisor > 0.0).then(|| raw / divisor)
    }
}

/// The values of the relative measures of every account scored on one
/// day, sorted within each group, so that an account's percentile is two
/// binary searches. Built once per day by [`HealthModel::day_ranks`].
#[derive(Debug, Clone, Default)]
pub struct DayRanks {
    /// By (scorecard, measure).
    measures: HashMap<(usize, usize), Ranked>,
}

#[derive(Debug, Clone, Default)]
struct Ranked {
    all: Vec<f64>,
    /// The groups with at least the measure's `min_group` accounts.
    groups: HashMap<String, Vec<f64>>,
}

impl DayRanks {
    /// The percentile (0–100) of `raw` among the accounts compared with,
    /// and how they are named: the account's group when it is large
    /// enough, else every account.
    fn percentile(
        &self,
        card: usize,
        measure: usize,
        relative: &Relative,
        account: &Account,
        raw: f64,
    ) -> Option<(f64, Arc<str>)> {
        let ranked = self.measures.get(&(card, measure))?;
        let key = relative.among.key(account);
        let (values, label) = match key.as_deref().and_then(|k| ranked.groups.get(k)) {
            Some(v) => (v, relative.among.label(key.as_deref())),
            None => (&ranked.all, Among::All.label(None)),
        };
        let p = percentile_of(values, raw)?;
        let p = match relative.direction {
            Direction::HigherIsBetter => p,
            Direction::LowerIsBetter => 100.0 - p,
        };
        Some((p, label.into()))
    }
}

/// What a measure of this kind (as written in `tenure.toml`) reads from
/// the company's data, in words.
pub fn input_of(kind: &str) -> &'static str {
    match kind {
        "active_user_ratio" => "product events with seats or users",
        "event_count" | "event_trend" | "feature_adoption" => "product events",
        "seat_utilisation" => "seats",
        "latest_nps" => "NPS survey answers",
        "csat_average" => "CSAT survey answers",
        "open_tickets" => "tickets",
        "days_since_engagement" => "CSM engagements",
        "days_to_renewal" => "renewal dates",
        "payment_failures" => "payment failures (a connected billing source)",
        "churn_risk" => "the churn model's daily predictions (`tenure churn train`)",
        _ => "a custom account attribute",
    }
}

/// The measures no account of `scores` has data for, with the input each
/// reads ([`input_of`]): what the company's data lacks, so that those
/// measures are left out and the others re-weighted for everyone. In
/// scorecard order, each measure name once; empty without scores.
pub fn lacking<'a>(
    scores: impl IntoIterator<Item = &'a HealthScore>,
) -> Vec<(Arc<str>, &'static str)> {
    let mut seen: Vec<(Arc<str>, &'static str, bool)> = Vec::new();
    for score in scores {
        for m in &score.measures {
            match seen.iter_mut().find(|(n, ..)| *n == m.name) {
                Some(entry) => entry.2 &= m.raw.is_none(),
                None => seen.push((m.name.clone(), input_of(m.kind), m.raw.is_none())),
            }
        }
    }
    seen.into_iter()
        .filter(|(.., none)| *none)
        .map(|(n, i, _)| (n, i))
        .collect()
}

/// Collects the values of the relative measures of one day's accounts,
/// added in any order and in as many parts as needed, for
/// [`RanksBuilder::finish`]. Holds 16 bytes per account and relative
/// measure with data.
#[derive(Debug, Clone, Default)]
pub struct RanksBuilder {
    /// By (scorecard, measure): (group number or `u32::MAX`, value).
    values: HashMap<(usize, usize), Vec<(u32, f64)>>,
    groups: HashMap<String, u32>,
}

impl RanksBuilder {
    /// Adds one account scored with scorecard `card` on the day.
    pub fn add(
        &mut self,
        model: &HealthModel,
        card: usize,
        account: &Account,
        signals: &AccountSignals,
    ) {
        let card = if card < model.cards.len() { card } else { 0 };
        for (k, m) in model.cards[card].measures.iter().enumerate() {
            let Some(r) = &m.relative else { continue };
            let Some(raw) = m.raw(signals).filter(|x| !x.is_nan()) else {
                continue;
            };
            let group = match r.among.key(account) {
                Some(key) => {
                    let n = self.groups.len() as u32;
                    *self.groups.entry(key).or_insert(n)
                }
                None => u32::MAX,
            };
            self.values.entry((card, k)).or_default().push((group, raw));
        }
    }

    /// The day's ranks: each measure's values sorted, in every group with
    /// at least its `min_group` accounts and all together.
    pub fn finish(self, model: &HealthModel) -> DayRanks {
        let names: HashMap<u32, String> = self.groups.into_iter().map(|(k, n)| (n, k)).collect();
        let measures = self
            .values
            .into_iter()
            .map(|((card, k), v)| {
                let min_group = model.cards[card].measures[k]
                    .relative
                    .as_ref()
                    .map_or(u32::MAX, |r| r.min_group.max(1))
                    as usize;
                let mut by_group: HashMap<u32, Vec<f64>> = HashMap::new();
                let mut all = Vec::with_capacity(v.len());
                for (g, x) in v {
                    if g != u32::MAX {
                        by_group.entry(g).or_default().push(x);
                    }
                    all.push(x);
                }
                let groups = by_group
                    .into_iter()
                    .filter(|(_, g)| g.len() >= min_group)
                    .filter_map(|(g, mut values)| {
                        values.sort_by(f64::total_cmp);
                        Some((names.get(&g)?.clone(), values))
                    })
                    .collect();
                all.sort_by(f64::total_cmp);
                ((card, k), Ranked { all, groups })
            })
            .collect();
        DayRanks { measures }
    }
}

/// The percentile rank of `x` in `sorted` (ascending): the share of values
/// below it plus half the share equal to it, × 100 (the mid-rank, so ties
/// score alike and the middle of the company is 50). `None` when empty.
pub fn percentile_of(sorted: &[f64], x: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let below = sorted.partition_point(|&v| v < x);
    let up_to = sorted.partition_point(|&v| v <= x);
    Some((below as f64 + 0.5 * (up_to - below) as f64) / sorted.len() as f64 * 100.0)
}

#[derive(Debug, Clone)]
struct CompiledScorecard {
    name: Arc<str>,
    version: Arc<str>,
    matches: Option<ScorecardMatch>,
    measures: Vec<CompiledMeasure>,
}

/// The health configuration compiled for scoring many accounts: the
/// [`SignalPlan`] to fill, and the scorecards wired to its slots.
#[derive(Debug, Clone)]
pub struct HealthModel {
    bands: Bands,
    plan: SignalPlan,
    cards: Vec<CompiledScorecard>,
    version: String,
}

impl HealthModel {
    pub fn new(config: &HealthConfig) -> HealthModel {
        let mut plan = SignalPlan::default();
        let cards = config
            .all_scorecards()
            .map(|card| CompiledScorecard {
                name: card.name.as_str().into(),
                version: card.version().into(),
                matches: card.matches.clone(),
                measures: card
                    .measures
                    .iter()
                    .map(|m| CompiledMeasure::new(m, &mut plan))
                    .collect(),
            })
            .collect();
        HealthModel {
            bands: config.bands,
            plan,
            cards,
            version: config.version(),
        }
    }

    /// The aggregates to compute for each account.
    pub fn plan(&self) -> &SignalPlan {
        &self.plan
    }

    pub fn bands(&self) -> Bands {
        self.bands
    }

    /// [`HealthConfig::version`] of the configuration this model was built from.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Number of scorecards (the default plus the configured ones).
    pub fn scorecard_count(&self) -> usize {
        self.cards.len()
    }

    /// The name of scorecard `i` (`default` for 0).
    pub fn scorecard_name(&self, i: usize) -> &str {
        &self.cards[i].name
    }

    /// The version hash of scorecard `i`, see [`super::Scorecard::version`].
    pub fn scorecard_version(&self, i: usize) -> &str {
        &self.cards[i].version
    }

    /// Whether scoring reads accounts' custom attributes: a scorecard is
    /// chosen by one, or a measure is one.
    pub fn reads_attributes(&self) -> bool {
        !self.plan.attributes.is_empty()
            || self
                .cards
                .iter()
                .any(|c| c.matches.as_ref().is_some_and(|m| !m.attributes.is_empty()))
    }

    /// The scorecard for an account: the first configured scorecard whose
    /// match fits (index 1, 2, ... in file order), else the default (0).
    pub fn scorecard_index(&self, account: &Account) -> usize {
        self.cards
            .iter()
            .position(|c| c.matches.as_ref().is_some_and(|m| m.matches(account)))
            .unwrap_or(0)
    }

    /// The name of every measure of every scorecard, in
    /// [`HealthModel::raw_values`] order: the measure's name, prefixed with
    /// its scorecard's (`enterprise / Active users`) past the default.
    pub fn measure_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, card) in self.cards.iter().enumerate() {
            for m in &card.measures {
                out.push(if i == 0 {
                    m.name.to_string()
                } else {
                    format!("{} / {}", card.name, m.name)
                });
            }
        }
        out
    }

    /// The kind (`days_to_renewal`, ...) of every measure of every
    /// scorecard, in [`HealthModel::raw_values`] order.
    pub fn measure_kinds(&self) -> Vec<&'static str> {
        self.cards
            .iter()
            .flat_map(|c| c.measures.iter().map(|m| m.kind))
            .collect()
    }

    /// The raw value of every measure of every scorecard from `signals`,
    /// whichever scorecard the account is on, before any percentile (the
    /// churn model's inputs, `crate::churn`).
    pub fn raw_values(&self, signals: &AccountSignals) -> Vec<Option<f64>> {
        self.cards
            .iter()
            .flat_map(|c| c.measures.iter().map(|m| m.raw(signals)))
            .collect()
    }

    /// Whether a measure is relative to the company (`percentile`): its
    /// points need the day's [`DayRanks`] of every account scored.
    pub fn is_relative(&self) -> bool {
        self.cards
            .iter()
            .any(|c| c.measures.iter().any(|m| m.relative.is_some()))
    }

    /// The [`DayRanks`] of one day from every account scored on it (its
    /// scorecard index, the account and its signals on the day): the
    /// values of the relative measures sorted within each group. Empty
    /// when no measure is relative. [`RanksBuilder`] does the same in
    /// parts (accounts loaded in shards).
    pub fn day_ranks<'a>(
        &self,
        accounts: impl IntoIterator<Item = (usize, &'a Account, &'a AccountSignals)>,
    ) -> DayRanks {
        let mut b = RanksBuilder::default();
        for (card, account, signals) in accounts {
            b.add(self, card, account, signals);
        }
        b.finish(self)
    }

    /// Scores one account on `signals.as_of` with scorecard `scorecard` (an
    /// index from [`HealthModel::scorecard_index`]; out of range means the
    /// default). Of the `overrides`, the one that applies on the as-of date
    /// and was set last wins (ties: the later in the slice). The account
    /// is scored alone: relative measures have no data (see
    /// [`HealthModel::score_ranked`]).
    pub fn score(
        &self,
        scorecard: usize,
        signals: &AccountSignals,
        overrides: &[Override],
    ) -> HealthScore {
        self.score_ranked(scorecard, signals, None, overrides)
    }

    /// [`HealthModel::score`], with the relative measures placed among the
    /// accounts of the day: `ranked` is the account and the day's
    /// [`DayRanks`]. Without it, relative measures have no data.
    pub fn score_ranked(
        &self,
        scorecard: usize,
        signals: &AccountSignals,
        ranked: Option<(&Account, &DayRanks)>,
        overrides: &[Override],
    ) -> HealthScore {
        let idx = if scorecard < self.cards.len() {
            scorecard
        } else {
            0
        };
        let card = &self.cards[idx];
        let mut measures = Vec::with_capacity(card.measures.len());
        let mut weight_with_data = 0.0;
        let mut weighted_points = 0.0;
        for (k, m) in card.measures.iter().enumerate() {
            let mut raw = m.raw(signals);
            let mut percentile = None;
            let mut compared_with = None;
            if let Some(r) = &m.relative {
                let placed = match (raw, ranked) {
                    (Some(x), Some((account, ranks))) => ranks.percentile(idx, k, r, account, x),
                    _ => None,
                };
                match placed {
                    Some((p, label)) => {
                        percentile = Some(p);
                        compared_with = Some(label);
                    }
                    None => raw = None,
                }
            }
            let normalised = match percentile {
                Some(p) => Some(m.normalisation.apply(p)),
                None => raw.map(|r| m.normalisation.apply(r)),
            };
            if let Some(n) = normalised {
                weight_with_data += m.weight;
                weighted_points += m.weight * n;
            }
            measures.push(MeasureResult {
                name: m.name.clone(),
                kind: m.kind,
                raw,
                normalised,
                weight: m.weight,
                effective_weight: None,
                contribution: 0.0,
                percentile,
                compared_with,
            });
        }
        // The weighted mean decides the band; the reported score is the sum
        // of the contributions, equal to it but for rare last-digit cases.
        let mean = (weight_with_data > 0.0)
            .then(|| (weighted_points / weight_with_data).clamp(0.0, 100.0));
        let computed = mean.map(|mean| {
            for r in &mut measures {
                if let Some(n) = r.normalised {
                    r.effective_weight = Some(r.weight / weight_with_data);
                    r.contribution = r.weight * n / weight_with_data;
                }
            }
            make_contributions_add_up(&mut measures, mean)
        });
        let computed_band = mean.map(|m| self.bands.band(m));
        let override_applied = overrides
            .iter()
            .enumerate()
            .filter(|(_, o)| o.applies_on(signals.as_of))
            .max_by_key(|(i, o)| (o.set_on, *i))
            .map(|(_, o)| o.clone());
        let (score, band) = match &override_applied {
            Some(o) => {
                let s = if o.score.is_nan() {
                    0.0
                } else {
                    o.score.clamp(0.0, 100.0)
                };
                (Some(s), Some(self.bands.band(s)))
            }
            None => (computed, computed_band),
        };
        HealthScore {
            as_of: signals.as_of,
            scorecard: idx,
            scorecard_name: card.name.clone(),
            scorecard_version: card.version.clone(),
            score,
            band,
            computed,
            computed_band,
            override_applied,
            measures,
        }
    }
}

/// Adjusts contributions by a few units in the last place so that, added in
/// order, they give exactly `target`, and returns that sum: `target` itself
/// except in rare cases where no such adjustment exists, then the nearest sum
/// below it (a few units in the last place off). Each contribution stays
/// within rounding error of weight × points ÷ Σ weights.
fn make_contributions_add_up(measures: &mut [MeasureResult], target: f64) -> f64 {
    // The largest contributions first: each step of theirs moves the sum
    // the most, so they reach the target in the fewest steps.
    let mut order: Vec<usize> = (0..measures.len())
        .filter(|&i| measures[i].contribution > 0.0)
        .collect();
    order.sort_by(|&a, &b| {
        measures[b]
            .contribution
            .total_cmp(&measures[a].contribution)
            .then(a.cmp(&b))
    });
    if sum_of(measures) == target {
        return target;
    }
    for &k in &order {
        if adjust_to(measures, k, target) {
            return target;
        }
    }
    // Unreachable exactly: settle just below the target.
    if let Some(&k) = order.first() {
        for _ in 0..1024 {
            if sum_of(measures) <= target {
                break;
            }
            let c = &mut measures[k].contribution;
            *c = c.next_down().max(0.0);
        }
    }
    sum_of(measures)
}

fn sum_of(measures: &[MeasureResult]) -> f64 {
    measures.iter().map(|m| m.contribution).sum()
}

/// Tries to make the sum exactly `target` by changing contribution `k`
/// alone; restores it and returns false when that cannot be done.
fn adjust_to(measures: &mut [MeasureResult], k: usize, target: f64) -> bool {
    let original = measures[k].contribution;
    let jump = original + (target - sum_of(measures));
    measures[k].contribution = jump.max(0.0);
    let mut went_up = None;
    for _ in 0..256 {
        let s = sum_of(measures);
        if s == target {
            return true;
        }
        let up = s < target;
        if went_up == Some(!up) {
            break; // stepped over the target: no value of this one hits it
        }
        went_up = Some(up);
        let c = &mut measures[k].contribution;
        *c = if up {
            c.next_up()
        } else {
            c.next_down().max(0.0)
        };
    }
    measures[k].contribution = original;
    false
}

fn compile(kind: &MeasureKind, baseline_days: Option<u32>, plan: &mut SignalPlan) -> Source {
    let filter = |events: &[String]| {
        if events.is_empty() {
            EventFilter::All
        } else {
            let mut names = events.to_vec();
            names.sort();
            names.dedup();
            EventFilter::Named(names)
        }
    };
    match kind {
        MeasureKind::ActiveUserRatio {
            window_days,
            denominator,
        } => {
            if matches!(denominator, Denominator::KnownUsers | Denominator::Auto) {
                plan.needs_known_users = true;
                plan.known_users_with_seats |= *denominator == Denominator::KnownUsers;
            }
            Source::ActiveUsers {
                slot: plan.active_users_slot(Window::ending_on_as_of(*window_days)),
                denominator: *denominator,
            }
        }
        MeasureKind::EventCount {
            window_days,
            events,
        } => Source::EventCount {
            slot: plan.event_slot(filter(events), Window::ending_on_as_of(*window_days)),
        },
        MeasureKind::EventTrend {
            window_days,
            events,
        } => {
            let last = plan.event_slot(filter(events), Window::ending_on_as_of(*window_days));
            // Against the window just before, or the account's own
            // baseline: the days from the window's start back to
            // `baseline_days` before the as-of date.
            let earlier = baseline_days
                .filter(|b| b > window_days)
                .map_or(*window_days, |b| b - window_days);
            let previous = plan.event_slot(
                filter(events),
                Window {
                    days: earlier,
                    ends_days_before: *window_days,
                },
            );
            Source::EventTrend {
                last,
                previous,
                scale: f64::from(earlier) / f64::from(*window_days),
            }
        }
        MeasureKind::SeatUtilisation { window_days } => Source::SeatUtilisation {
            slot: plan.active_users_slot(Window::ending_on_as_of(*window_days)),
        },
        MeasureKind::FeatureAdoption {
            window_days,
            features,
        } => {
            // Configuration checking keeps the list to 64 distinct names.
            let mut listed: Vec<String> = Vec::new();
            for f in features {
                if !listed.contains(f) && listed.len() < 64 {
                    listed.push(f.clone());
                }
            }
            let n = listed.len() as u32;
            Source::Features {
                slot: plan.feature_slot(Window::ending_on_as_of(*window_days), listed),
                listed: n,
            }
        }
        MeasureKind::LatestNps { window_days } => Source::LatestNps {
            window_days: *window_days,
        },
        MeasureKind::CsatAverage { window_days } => Source::Csat {
            slot: plan.csat_slot(Window::ending_on_as_of(*window_days)),
        },
        MeasureKind::OpenTickets { priority_weights } => Source::OpenTickets {
            weights: *priority_weights,
        },
        MeasureKind::DaysSinceEngagement => Source::DaysSinceEngagement,
        MeasureKind::DaysToRenewal => Source::DaysToRenewal,
        MeasureKind::PaymentFailures { window_days } => Source::PaymentFailures {
            slot: plan.payment_slot(Window::ending_on_as_of(*window_days)),
        },
        MeasureKind::CustomAttribute { attribute } => Source::Attribute {
            slot: plan.attribute_slot(attribute),
        },
        MeasureKind::ChurnRisk => {
            plan.needs_churn_risk = true;
            Source::ChurnRisk
        }
    }
}

/// The raw value of a measure, or `None` when the account has no data for
/// it. Slots missing from `signals` (filled for another plan) are no data.
fn raw_value(source: &Source, s: &AccountSignals) -> Option<f64> {
    let seats = s.seats.filter(|&n| n > 0).map(|n| n as f64);
    match *source {
        Source::ActiveUsers { slot, denominator } => {
            let active = f64::from(*s.active_users.get(slot)?);
            let known = Some(f64::from(s.known_users)).filter(|&k| k > 0.0);
            let denominator = match denominator {
                Denominator::Seats => seats,
                Denominator::KnownUsers => known,
                Denominator::Auto => seats.or(known),
                Denominator::None => Some(1.0),
            }?;
            Some(active / denominator)
        }
        Source::EventCount { slot } => s.event_counts.get(slot).map(|&c| c as f64),
        Source::EventTrend {
            last,
            previous,
            scale,
        } => {
            let previous = *s.event_counts.get(previous)?;
            let last = *s.event_counts.get(last)?;
            (previous > 0).then(|| last as f64 / previous as f64 * scale)
        }
        Source::SeatUtilisation { slot } => {
            let active = f64::from(*s.active_users.get(slot)?);
            let seats = seats?;
            Some(active.min(seats) / seats)
        }
        Source::Features { slot, listed } => {
            let used = s.features_used.get(slot)?.count_ones();
            (listed > 0).then(|| f64::from(used.min(listed)) / f64::from(listed))
        }
        Source::LatestNps { window_days } => {
            let nps = s.latest_nps?;
            let age = day_number(s.as_of) - day_number(nps.date);
            match window_days {
                Some(w) if age >= w as i32 => None,
                _ => Some(nps.score),
            }
        }
        Source::Csat { slot } => s.csat.get(slot)?.mean(),
        Source::OpenTickets { weights } => Some(
            Priority::ALL
                .iter()
                .map(|&p| weights.get(p) * f64::from(s.open_tickets.get(p)))
                .sum(),
        ),
        Source::DaysSinceEngagement => {
            let last = s.last_engagement?;
            Some(f64::from(day_number(s.as_of) - day_number(last)))
        }
        Source::DaysToRenewal => {
            let next = s.next_renewal?;
            Some(f64::from(day_number(next) - day_number(s.as_of)))
        }
        Source::PaymentFailures { slot } => s
            .payment_failures
            .as_ref()
            .and_then(|f| f.get(slot))
            .map(|&n| f64::from(n)),
        Source::Attribute { slot } => s.attributes.get(slot).copied().flatten(),
        Source::ChurnRisk => s.churn_risk,
    }
}
