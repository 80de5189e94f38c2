//! Checks `[[playbooks]]`: triggers and exits compiled as rules (errors at
//! their line), the audience's segments, tiers and stages, re-enrolment,
//! and each action with its template's variables.

use super::Checker;
use super::engage::{check_rule, is_field, unique, unknown};
use super::raw::{RawAction, RawPlaybook, S};
use super::target::indexes;
use crate::engage::EngageConfig;
use crate::plays::{Action, ActionKind, Owner, Playbook, Recipient, Template};
use crate::target::tasks::Priority;

/// The checked playbooks, in file order.
pub(super) fn check_playbooks(
    ck: &mut Checker,
    raw: Vec<S<RawPlaybook>>,
    engage: &EngageConfig,
    kinds: &[String],
    endpoints: &[&str],
) -> Vec<Playbook> {
    unique(ck, raw, "playbooks", |p| p.name.as_ref())
        .into_iter()
        .filter_map(|(name, p)| check_playbook(ck, name, p, engage, kinds, endpoints))
        .collect()
}

/// A short, stable hash of a playbook's text: its version.
fn version(text: &str) -> String {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:08x}", h >> 32)
}

fn check_playbook(
    ck: &mut Checker,
    name: String,
    raw: S<RawPlaybook>,
    engage: &EngageConfig,
    kinds: &[String],
    endpoints: &[&str],
) -> Option<Playbook> {
    let span = raw.span();
    let text = ck.text.get(span.clone()).unwrap_or("").to_string();
    let raw = raw.into_inner();
    let label = format!("playbooks {name:?}");
    let before = ck.errors.len();
    let trigger = check_rule(
        ck,
        &format!("{label}: trigger"),
        raw.trigger,
        span.clone(),
        &is_field,
    );
    let exit = match raw.exit {
        None => None,
        Some(src) => check_rule(
            ck,
            &format!("{label}: exit"),
            Some(src),
            span.clone(),
            &is_field,
        ),
    };
    let segments: Vec<&str> = engage.segments.0.iter().map(|s| s.name.as_str()).collect();
    let tiers: Vec<&str> = engage.tiers.iter().map(|t| t.name.as_str()).collect();
    let stages: Vec<&str> = engage.journey.0.iter().map(|s| s.name.as_str()).collect();
    let segments = indexes(ck, raw.segments, &format!("{label}: segment"), &segments);
    let tiers = indexes(ck, raw.tiers, &format!("{label}: tier"), &tiers);
    let stages = indexes(ck, raw.stages, &format!("{label}: stage"), &stages);
    let mut count =
        |v: Option<S<i64>>, key: &str, range: std::ops::RangeInclusive<i64>, default: u32| -> u32 {
            match v {
                None => default,
                Some(x) if range.contains(x.get_ref()) => *x.get_ref() as u32,
                Some(x) => {
                    ck.err(
                        x.span(),
                        format!(
                            "{label}: {key} must be from {} to {}, got {}",
                            range.start(),
                            range.end(),
                            x.get_ref()
                        ),
                    );
                    default
                }
            }
        };
    let max_enrolments = count(raw.max_enrolments, "max_enrolments", 1..=100, 1);
    let cooldown_days = count(raw.cooldown_days, "cooldown_days", 1..=3650, 90);
    if raw.actions.is_empty() {
        ck.err(
            span.clone(),
            format!("{label}: a playbook needs at least one action"),
        );
    }
    let actions: Vec<Action> = raw
        .actions
        .into_iter()
        .filter_map(|a| check_action(ck, &label, a, kinds, endpoints))
        .collect();
    if ck.errors.len() > before {
        return None;
    }
    Some(Playbook {
        name,
        description: raw.description.map(S::into_inner),
        trigger: trigger?,
        exit,
        segments,
        tiers,
        stages,
        max_enrolments,
        cooldown_days,
        actions,
        version: version(&text),
    })
}

fn template(
    ck: &mut Checker,
    label: &str,
    key: &str,
    raw: Option<S<String>>,
    span: std::ops::Range<usize>,
) -> Option<Template> {
    let Some(t) = raw else {
        ck.err(span, format!("{label}: {key} is missing"));
        return None;
    };
    match Template::parse(t.get_ref()) {
        Ok(t) if !t.source().trim().is_empty() => Some(t),
        Ok(_) => {
            ck.err(t.span(), format!("{label}: {key} is empty"));
            None
        }
        Err(e) => {
            ck.err(t.span(), format!("{label}: {key}: {e}"));
            None
        }
    }
}

fn check_action(
    ck: &mut Checker,
    label: &str,
    raw: S<RawAction>,
    kinds: &[String],
    endpoints: &[&str],
) -> Option<Action> {
    let span = raw.span();
    let raw = raw.into_inner();
    let day = match raw.day {
        None => 0,
        Some(d) if (0..=365).contains(d.get_ref()) => *d.get_ref() as u32,
        Some(d) => {
            ck.err(
                d.span(),
                format!(
                    "{label}: an action's day must be from 0 to 365, got {}",
                    d.get_ref()
                ),
            );
            return None;
        }
    };
    let Some(kind) = raw.kind else {
        ck.err(
            span,
            format!("{label}: an action needs a kind (task, note, email or webhook)"),
        );
        return None;
    };
    let kind = match kind.get_ref().trim() {
        "task" => {
            let title = template(ck, label, "title", raw.title, span.clone());
            let due_days = match raw.due_days {
                None => 3,
                Some(d) if (0..=365).contains(d.get_ref()) => *d.get_ref() as u32,
                Some(d) => {
                    ck.err(
                        d.span(),
                        format!(
                            "{label}: due_days must be from 0 to 365, got {}",
                            d.get_ref()
                        ),
                    );
                    return None;
                }
            };
            let owner = match raw
                .owner
                .as_ref()
                .map(|o| o.get_ref().trim().to_ascii_lowercase())
            {
                None => Owner::Csm,
                Some(o) if o == "csm" => Owner::Csm,
                Some(o) if o.contains('@') => Owner::Email(o),
                Some(o) => {
                    let s = raw.owner.as_ref().map_or(span.clone(), |x| x.span());
                    ck.err(
                        s,
                        format!("{label}: owner {o:?}: expected csm or an email address"),
                    );
                    return None;
                }
            };
            let priority = match &raw.priority {
                None => Priority::Normal,
                Some(p) => match Priority::parse(p.get_ref()) {
                    Some(p) => p,
                    None => {
                        ck.err(p.span(), format!("{label}: unknown priority {:?}: expected low, normal, high or urgent", p.get_ref()));
                        return None;
                    }
                },
            };
            let log_kind = match &raw.log_kind {
                None => None,
                Some(k) => {
                    let kind = k.get_ref().trim().to_ascii_lowercase();
                    if !kinds.contains(&kind) {
                        ck.err(
                            k.span(),
                            format!(
                                "{label}: {}",
                                unknown(
                                    "engagement kind",
                                    k.get_ref(),
                                    kinds.iter().map(String::as_str)
                                )
                            ),
                        );
                        return None;
                    }
                    Some(kind)
                }
            };
            ActionKind::Task {
                title: title?,
                due_days,
                owner,
                priority,
                log_kind,
            }
        }
        "note" => ActionKind::Note {
            text: template(ck, label, "text", raw.text, span.clone())?,
        },
        "risk" => ActionKind::Risk {
            reason: template(ck, label, "reason", raw.reason, span.clone())?,
        },
        "email" => {
            let to = match raw
                .to
                .as_ref()
                .map(|t| t.get_ref().trim().to_ascii_lowercase())
            {
                None => Recipient::Champion,
                Some(t) if t == "csm" => Recipient::Csm,
                Some(t) if t == "champion" => Recipient::Champion,
                Some(t) if t.contains('@') => Recipient::Address(t),
                Some(t) => {
                    let s = raw.to.as_ref().map_or(span.clone(), |x| x.span());
                    ck.err(
                        s,
                        format!("{label}: to {t:?}: expected csm, champion or an email address"),
                    );
                    return None;
                }
            };
            let subject = template(ck, label, "subject", raw.subject, span.clone());
            let body = template(ck, label, "body", raw.body, span.clone());
            ActionKind::Email {
                to,
                subject: subject?,
                body: body?,
            }
        }
        "webhook" => {
            let Some(e) = raw.endpoint else {
                ck.err(span, format!("{label}: a webhook action needs an endpoint"));
                return None;
            };
            let name = e.get_ref().trim().to_string();
            if !endpoints.contains(&name.as_str()) {
                let known = if endpoints.is_empty() {
                    "none is configured".to_string()
                } else {
                    endpoints.join(", ")
                };
                ck.err(
                    e.span(),
                    format!("{label}: unknown webhook endpoint {name:?}: [[outbound.webhooks]] has {known}"),
                );
                return None;
            }
            ActionKind::Webhook { endpoint: name }
        }
        other => {
            ck.err(
                kind.span(),
                format!(
                    "{label}: unknown action {other:?}: expected task, note, email, webhook or risk"
                ),
            );
            return None;
        }
    };
    Some(Action {
        day,
        only_if_matching: raw.only_if_matching.unwrap_or(false),
        kind,
    })
}
