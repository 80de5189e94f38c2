//! Checks `[engage]`: tiers, segments, journey stages and cadence
//! policies. Rules are compiled here, so that a syntax error or an unknown
//! field is reported with its line in tenure.toml.

use std::ops::Range;

use super::Checker;
use super::raw::{RawEngage, RawPolicy, RawSegment, RawStage, RawTier, S};
use crate::engage::cadence::Policy;
use crate::engage::{EngageConfig, Journey, Segment, Segments, Stage, Tier};
use crate::rules::{AFTER_ENGAGE, Rule, field_names};

/// `engage.settle_days` when not set.
pub const DEFAULT_SETTLE_DAYS: u32 = 14;

/// Engagement kinds when `engagement_kinds` is not set.
pub const DEFAULT_ENGAGEMENT_KINDS: [&str; 8] = [
    "call",
    "meeting",
    "email",
    "qbr",
    "business_review",
    "check_in",
    "onsite",
    "note",
];

/// The checked `[engage]` section plus the engagement kinds it knows.
pub(super) fn check_engage(ck: &mut Checker, raw: RawEngage) -> (EngageConfig, Vec<String>) {
    let kinds = check_kinds(ck, raw.engagement_kinds);
    let settle_days = match raw.settle_days {
        None => DEFAULT_SETTLE_DAYS,
        Some(d) if (0..=365).contains(d.get_ref()) => *d.get_ref() as u32,
        Some(d) => {
            ck.err(
                d.span(),
                format!(
                    "engage.settle_days must be from 0 to 365, got {}",
                    d.get_ref()
                ),
            );
            DEFAULT_SETTLE_DAYS
        }
    };
    let tiers = check_tiers(ck, raw.tiers);
    let stages = unique(ck, raw.stages, "engage.stages", |s| s.name.as_ref());
    // Names declared, valid or not: a policy naming a stage whose rule has
    // an error gets no second error of its own.
    let declared: Vec<String> = stages.iter().map(|(n, _)| n.clone()).collect();
    let journey = Journey(
        stages
            .into_iter()
            .filter_map(|(name, s)| check_stage(ck, name, s))
            .collect(),
    );
    let segments = Segments(
        unique(ck, raw.segments, "engage.segments", |s| s.name.as_ref())
            .into_iter()
            .filter_map(|(name, s)| check_segment(ck, name, s, &tiers))
            .collect(),
    );
    let cadence = raw
        .cadence
        .into_iter()
        .filter_map(|p| check_policy(ck, p, &tiers, (&journey, &declared), &kinds))
        .collect();
    (
        EngageConfig {
            settle_days,
            tiers,
            segments,
            journey,
            cadence,
        },
        kinds,
    )
}

fn check_kinds(ck: &mut Checker, raw: Option<S<Vec<S<String>>>>) -> Vec<String> {
    let Some(list) = raw else {
        return DEFAULT_ENGAGEMENT_KINDS.map(str::to_string).to_vec();
    };
    let span = list.span();
    let mut out: Vec<String> = Vec::new();
    for k in list.into_inner() {
        let name = k.get_ref().trim().to_ascii_lowercase();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            ck.err(
                k.span(),
                format!(
                    "engage.engagement_kinds: {:?} is not a kind: use letters, digits and _",
                    k.get_ref()
                ),
            );
        } else if out.contains(&name) {
            ck.err(
                k.span(),
                format!("engage.engagement_kinds: {name:?} is listed twice"),
            );
        } else {
            out.push(name);
        }
    }
    if out.is_empty() {
        ck.err(
            span,
            "engage.engagement_kinds is empty: list the kinds CSMs log",
        );
    }
    out
}

/// The named items of a list, each name checked present and unique.
pub(super) fn unique<T>(
    ck: &mut Checker,
    items: Vec<S<T>>,
    what: &str,
    name: impl Fn(&T) -> Option<&S<String>>,
) -> Vec<(String, S<T>)> {
    let mut out: Vec<(String, S<T>)> = Vec::new();
    for item in items {
        let Some(n) = name(item.get_ref()) else {
            ck.err(item.span(), format!("{what}: every entry needs a name"));
            continue;
        };
        let text = n.get_ref().trim().to_string();
        if text.is_empty() {
            ck.err(n.span(), format!("{what}: the name is empty"));
        } else if out.iter().any(|(o, _)| *o == text) {
            ck.err(n.span(), format!("{what}: {text:?} is defined twice"));
        } else {
            out.push((text, item));
        }
    }
    out
}

fn check_tiers(ck: &mut Checker, raw: Vec<S<RawTier>>) -> Vec<Tier> {
    unique(ck, raw, "engage.tiers", |t| t.name.as_ref())
        .into_iter()
        .map(|(name, t)| Tier {
            name,
            about: t.into_inner().about.map(S::into_inner),
        })
        .collect()
}

/// Compiles a rule written at `span` of the file, reporting each problem
/// at its own line.
pub(super) fn check_rule(
    ck: &mut Checker,
    what: &str,
    raw: Option<S<String>>,
    item_span: Range<usize>,
    allowed: &dyn Fn(&str) -> bool,
) -> Option<Rule> {
    let Some(src) = raw else {
        ck.err(item_span, format!("{what} is missing"));
        return None;
    };
    match Rule::compile(src.get_ref(), allowed) {
        Ok(rule) => Some(rule),
        Err(errors) => {
            let start = content_start(ck.text, src.span());
            for e in errors {
                let at = offset_in(ck.text, start, e.line, e.column);
                ck.err(at..at, format!("{what}: {}", e.message));
            }
            None
        }
    }
}

/// The byte offset where a string value's text starts, after its opening
/// quotes (and the newline TOML drops after `'''` or `"""`).
fn content_start(text: &str, span: Range<usize>) -> usize {
    let value = text.get(span.clone()).unwrap_or("");
    let mut start = span.start;
    if value.starts_with("'''") || value.starts_with("\"\"\"") {
        start += 3;
        if text[start..].starts_with("\r\n") {
            start += 2;
        } else if text[start..].starts_with('\n') {
            start += 1;
        }
    } else if value.starts_with('\'') || value.starts_with('"') {
        start += 1;
    }
    start
}

/// The byte offset of `line` and `column` (1-based, in characters) of a
/// string whose text starts at `start`. Exact for literal strings; escape
/// sequences in basic strings shift the column a little.
fn offset_in(text: &str, start: usize, line: usize, column: usize) -> usize {
    let mut at = start;
    for _ in 1..line {
        match text[at..].find('\n') {
            Some(i) => at += i + 1,
            None => break,
        }
    }
    text[at..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| at + i)
}

pub(super) fn is_field(name: &str) -> bool {
    field_names().any(|f| f == name)
}

/// A field a stage rule may read: stages are decided first, from facts
/// without a stage or what Engage derives from it.
fn is_stage_field(name: &str) -> bool {
    is_field(name) && name != "stage" && !AFTER_ENGAGE.contains(&name)
}

fn check_stage(ck: &mut Checker, name: String, raw: S<RawStage>) -> Option<Stage> {
    let span = raw.span();
    let raw = raw.into_inner();
    // Stages are decided before segments, from facts without a stage.
    let what = format!("engage.stages {name:?}: entry");
    let entry = check_rule(ck, &what, raw.entry, span.clone(), &is_stage_field);
    let stay = match raw.stay {
        None => Ok(None),
        Some(src) => {
            let what = format!("engage.stages {name:?}: stay");
            check_rule(ck, &what, Some(src), span, &is_stage_field)
                .map(Some)
                .ok_or(())
        }
    };
    let target_days = match raw.target_days {
        None => None,
        Some(t) if (1..=3650).contains(t.get_ref()) => Some(*t.get_ref() as u32),
        Some(t) => {
            ck.err(
                t.span(),
                format!(
                    "engage.stages {name:?}: target_days must be from 1 to 3650, got {}",
                    t.get_ref()
                ),
            );
            None
        }
    };
    Some(Stage {
        name,
        entry: entry?,
        stay: stay.ok()?,
        target_days,
        lost: raw.lost.unwrap_or(false),
    })
}

fn check_segment(
    ck: &mut Checker,
    name: String,
    raw: S<RawSegment>,
    tiers: &[Tier],
) -> Option<Segment> {
    let span = raw.span();
    let raw = raw.into_inner();
    let what = format!("engage.segments {name:?}: rule");
    let rule = check_rule(ck, &what, raw.rule, span.clone(), &|f| {
        is_field(f) && !AFTER_ENGAGE.contains(&f)
    });
    let tier = match raw.tier {
        None => {
            ck.err(span, format!("engage.segments {name:?}: tier is missing"));
            None
        }
        Some(t) => {
            let found = tiers.iter().position(|x| x.name == t.get_ref().trim());
            if found.is_none() {
                ck.err(
                    t.span(),
                    unknown("tier", t.get_ref(), tiers.iter().map(|x| x.name.as_str())),
                );
            }
            found
        }
    };
    Some(Segment {
        name,
        rule: rule?,
        tier: tier?,
        persona: raw.persona.map(S::into_inner),
    })
}

pub(super) fn unknown<'a>(what: &str, got: &str, known: impl Iterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.collect();
    format!(
        "unknown {what} {got:?}: expected one of {}",
        known.join(", ")
    )
}

fn check_policy(
    ck: &mut Checker,
    raw: S<RawPolicy>,
    tiers: &[Tier],
    (journey, declared): (&Journey, &[String]),
    kinds: &[String],
) -> Option<Policy> {
    let span = raw.span();
    let raw = raw.into_inner();
    let (Some(tier), Some(kind), Some(every)) = (raw.tier, raw.kind, raw.every_days) else {
        ck.err(
            span,
            "engage.cadence: each policy needs tier, kind and every_days",
        );
        return None;
    };
    let tier_i = tiers.iter().position(|t| t.name == tier.get_ref().trim());
    if tier_i.is_none() {
        ck.err(
            tier.span(),
            unknown(
                "tier",
                tier.get_ref(),
                tiers.iter().map(|t| t.name.as_str()),
            ),
        );
    }
    let stage_i = match &raw.stage {
        None => Some(None),
        Some(s) => {
            let name = s.get_ref().trim();
            let found = journey.index(name);
            if found.is_none() && !declared.iter().any(|d| d == name) {
                ck.err(
                    s.span(),
                    unknown("stage", s.get_ref(), declared.iter().map(String::as_str)),
                );
            }
            found.map(Some)
        }
    };
    let kind_name = kind.get_ref().trim().to_ascii_lowercase();
    if !kinds.contains(&kind_name) {
        ck.err(
            kind.span(),
            unknown(
                "engagement kind",
                kind.get_ref(),
                kinds.iter().map(String::as_str),
            ),
        );
    }
    let every_days = *every.get_ref();
    if !(1..=730).contains(&every_days) {
        ck.err(
            every.span(),
            format!("engage.cadence: every_days must be from 1 to 730, got {every_days}"),
        );
    }
    Some(Policy {
        tier: tier_i?,
        stage: stage_i?,
        kind: kinds.contains(&kind_name).then_some(kind_name)?,
        every_days: u32::try_from(every_days)
            .ok()
            .filter(|d| (1..=730).contains(d))?,
    })
}
