//! Scoring: signals → raw values → points → weighted score, explained.

use std::sync::Arc;

use jiff::civil::Date;

use super::scorecard::{
    Band, Bands, Denominator, HealthConfig, MeasureKind, Normalisation, PriorityWeights,
    ScorecardMatch,
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
}

#[derive(Debug, Clone)]
struct CompiledMeasure {
    name: Arc<str>,
    kind: &'static str,
    weight: f64,
    normalisation: Normalisation,
    source: Source,
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
                    .map(|m| CompiledMeasure {
                        name: m.name.as_str().into(),
                        kind: m.kind.name(),
                        weight: m.weight,
                        normalisation: m.normalisation.clone(),
                        source: compile(&m.kind, &mut plan),
                    })
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

    /// Scores one account on `signals.as_of` with scorecard `scorecard` (an
    /// index from [`HealthModel::scorecard_index`]; out of range means the
    /// default). Of the `overrides`, the one that applies on the as-of date
    /// and was set last wins (ties: the later in the slice).
    pub fn score(
        &self,
        scorecard: usize,
        signals: &AccountSignals,
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
        for m in &card.measures {
            let raw = raw_value(&m.source, signals);
            let normalised = raw.map(|r| m.normalisation.apply(r));
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

fn compile(kind: &MeasureKind, plan: &mut SignalPlan) -> Source {
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
            if *denominator != Denominator::Seats {
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
            let previous = plan.event_slot(
                filter(events),
                Window {
                    days: *window_days,
                    ends_days_before: *window_days,
                },
            );
            Source::EventTrend { last, previous }
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
            }?;
            Some(active / denominator)
        }
        Source::EventCount { slot } => s.event_counts.get(slot).map(|&c| c as f64),
        Source::EventTrend { last, previous } => {
            let previous = *s.event_counts.get(previous)?;
            let last = *s.event_counts.get(last)?;
            (previous > 0).then(|| last as f64 / previous as f64)
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
    }
}
