//! Checks `[[surveys]]` and `[survey_settings]` (docs/VOICE.md): the kind,
//! the question, the audience's segments and tiers (Engage's names), the
//! trigger (`every_days`, `after` or `scheduled_only`), the channel, and the fatigue and
//! expiry limits; every problem at its line.

use super::Checker;
use super::engage::unique;
use super::raw::{RawSurvey, RawSurveySettings, S};
use super::target::indexes;
use crate::engage::EngageConfig;
use crate::model::SurveyKind;
use crate::surveys::{Channel, Survey, SurveyTrigger, SurveysConfig};

/// Days a number of days may take in this section.
const MAX_DAYS: i64 = 3650;

/// The checked settings and surveys, in file order.
pub(super) fn check_surveys(
    ck: &mut Checker,
    settings: Option<S<RawSurveySettings>>,
    raw: Vec<S<RawSurvey>>,
    engage: &EngageConfig,
) -> SurveysConfig {
    let mut out = SurveysConfig::default();
    if let Some(s) = settings {
        let s = s.into_inner();
        if let Some(v) = s.fatigue_days {
            out.fatigue_days = days(ck, v, "survey_settings.fatigue_days", 0, out.fatigue_days);
        }
        if let Some(v) = s.expiry_days {
            out.expiry_days = days(ck, v, "survey_settings.expiry_days", 1, out.expiry_days);
        }
    }
    out.surveys = unique(ck, raw, "surveys", |s| s.name.as_ref())
        .into_iter()
        .filter_map(|(name, s)| check_survey(ck, name, s, engage))
        .collect();
    out
}

fn days(ck: &mut Checker, v: S<i64>, label: &str, min: i64, default: u32) -> u32 {
    let x = *v.get_ref();
    if (min..=MAX_DAYS).contains(&x) {
        x as u32
    } else {
        ck.err(
            v.span(),
            format!("{label} must be from {min} to {MAX_DAYS} days, got {x}"),
        );
        default
    }
}

fn text(
    ck: &mut Checker,
    label: &str,
    key: &str,
    v: Option<S<String>>,
    span: std::ops::Range<usize>,
    required: bool,
) -> Option<String> {
    match v {
        Some(t) if !t.get_ref().trim().is_empty() => Some(t.get_ref().trim().to_string()),
        Some(t) => {
            ck.err(t.span(), format!("{label}: {key} is empty"));
            None
        }
        None if required => {
            ck.err(span, format!("{label}: {key} is missing"));
            None
        }
        None => None,
    }
}

fn check_survey(
    ck: &mut Checker,
    name: String,
    raw: S<RawSurvey>,
    engage: &EngageConfig,
) -> Option<Survey> {
    let span = raw.span();
    let raw = raw.into_inner();
    let label = format!("surveys {name:?}");
    let before = ck.errors.len();
    let kind = match &raw.kind {
        None => {
            ck.err(
                span.clone(),
                format!("{label}: kind is missing (nps, csat or ces)"),
            );
            None
        }
        Some(k) => match SurveyKind::parse(k.get_ref()) {
            Ok(k) => Some(k),
            Err(e) => {
                ck.err(k.span(), format!("{label}: kind: {e}"));
                None
            }
        },
    };
    let question = text(ck, &label, "question", raw.question, span.clone(), true);
    let follow_up = text(ck, &label, "follow_up", raw.follow_up, span.clone(), false);
    let subject = text(ck, &label, "subject", raw.subject, span.clone(), false);
    let segments: Vec<&str> = engage.segments.0.iter().map(|s| s.name.as_str()).collect();
    let tiers: Vec<&str> = engage.tiers.iter().map(|t| t.name.as_str()).collect();
    let stages: Vec<&str> = engage.journey.0.iter().map(|s| s.name.as_str()).collect();
    let segments = indexes(ck, raw.segments, &format!("{label}: segment"), &segments);
    let tiers = indexes(ck, raw.tiers, &format!("{label}: tier"), &tiers);
    let mut roles: Vec<String> = Vec::new();
    for r in raw.roles.map(S::into_inner).unwrap_or_default() {
        let role = r.get_ref().trim().to_ascii_lowercase();
        if role.is_empty() {
            ck.err(r.span(), format!("{label}: a role is empty"));
        } else if roles.contains(&role) {
            ck.err(r.span(), format!("{label}: role {role:?} is listed twice"));
        } else {
            roles.push(role);
        }
    }
    let within = match raw.within_days {
        None => 7,
        Some(v) => days(ck, v, &format!("{label}: within_days"), 0, 7),
    };
    let scheduled_only = raw.scheduled_only.filter(|s| *s.get_ref());
    let trigger = match (raw.every_days, raw.after, scheduled_only) {
        (None, None, Some(_)) => Some((
            SurveyTrigger::Scheduled,
            "when scheduled or sent now".to_string(),
        )),
        (Some(_), _, Some(so)) | (None, Some(_), Some(so)) => {
            ck.err(
                so.span(),
                format!("{label}: scheduled_only = true takes no every_days or after"),
            );
            None
        }
        (Some(e), None, None) => {
            let d = days(ck, e, &format!("{label}: every_days"), 1, 90);
            Some((SurveyTrigger::Every { days: d }, format!("every {d} days")))
        }
        (None, Some(a), None) => {
            let what = a.get_ref().trim();
            if what == "ticket_closed" {
                Some((
                    SurveyTrigger::TicketClosed {
                        within_days: within,
                    },
                    "after a ticket closed".to_string(),
                ))
            } else if let Some(stage) = what.strip_prefix("stage:") {
                let stage = stage.trim();
                match stages.iter().position(|s| *s == stage) {
                    Some(i) => Some((
                        SurveyTrigger::StageEntered {
                            stage: i,
                            within_days: within,
                        },
                        format!("after entering stage {stage}"),
                    )),
                    None => {
                        ck.err(
                            a.span(),
                            format!(
                                "{label}: after: unknown stage {stage:?}: expected one of {}",
                                stages.join(", ")
                            ),
                        );
                        None
                    }
                }
            } else {
                ck.err(
                    a.span(),
                    format!(
                        "{label}: after {what:?}: expected \"ticket_closed\" or \"stage:NAME\""
                    ),
                );
                None
            }
        }
        (Some(e), Some(_), None) => {
            ck.err(
                e.span(),
                format!("{label}: give every_days or after, not both"),
            );
            None
        }
        (None, None, None) => {
            ck.err(
                span.clone(),
                format!("{label}: a trigger is missing: every_days = N, after = \"ticket_closed\" / \"stage:NAME\", or scheduled_only = true"),
            );
            None
        }
    };
    let channel = match &raw.channel {
        None => Some(Channel::Email),
        Some(c) => match Channel::parse(c.get_ref()) {
            Some(c) => Some(c),
            None => {
                ck.err(
                    c.span(),
                    format!(
                        "{label}: channel {:?}: expected email or in_app",
                        c.get_ref()
                    ),
                );
                None
            }
        },
    };
    if ck.errors.len() > before {
        return None;
    }
    let (trigger, trigger_text) = trigger?;
    let kind = kind?;
    Some(Survey {
        subject: subject.unwrap_or_else(|| match kind {
            SurveyKind::Nps => "One quick question".to_string(),
            SurveyKind::Csat => "How did we do?".to_string(),
            SurveyKind::Ces => "How easy was it?".to_string(),
        }),
        name,
        kind,
        question: question?,
        follow_up,
        segments,
        tiers,
        roles,
        champions_only: raw.champions_only.unwrap_or(false),
        trigger,
        channel: channel?,
        trigger_text,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::parse_config;
    use crate::surveys::{Channel, SurveyTrigger};

    #[test]
    fn surveys_parse_with_their_audience_and_trigger() {
        let c = parse_config(
            r#"
[server]
public_url = "https://cs.example.com/"

[survey_settings]
fatigue_days = 45

[[surveys]]
name = "NPS"
kind = "nps"
question = "How likely?"
follow_up = "Why?"
tiers = ["high"]
roles = ["Admin"]
every_days = 90

[[surveys]]
name = "CES"
kind = "ces"
question = "How easy?"
after = "stage:adoption"
channel = "in_app"
"#,
        )
        .unwrap();
        assert_eq!(c.server.base_url(), "https://cs.example.com");
        let s = &c.surveys;
        assert_eq!((s.fatigue_days, s.expiry_days), (45, 30));
        assert_eq!(s.surveys[0].trigger, SurveyTrigger::Every { days: 90 });
        assert_eq!(s.surveys[0].roles, vec!["admin".to_string()]);
        assert_eq!(s.surveys[0].tiers, vec![0]);
        assert_eq!(s.surveys[1].channel, Channel::InApp);
        assert!(matches!(
            s.surveys[1].trigger,
            SurveyTrigger::StageEntered { within_days: 7, .. }
        ));
        assert!(crate::config::Config::default().surveys.surveys.is_empty());
    }

    #[test]
    fn a_scheduled_only_survey_has_no_other_trigger() {
        let c = parse_config(
            "[[surveys]]\nname = \"Wave\"\nkind = \"nps\"\nquestion = \"Q\"\nscheduled_only = true\n",
        )
        .unwrap();
        assert_eq!(c.surveys.surveys[0].trigger, SurveyTrigger::Scheduled);
        assert_eq!(
            c.surveys.surveys[0].trigger_text,
            "when scheduled or sent now"
        );
        let errs = parse_config(
            "[[surveys]]\nname = \"Wave\"\nkind = \"nps\"\nquestion = \"Q\"\nevery_days = 90\nscheduled_only = true\n",
        )
        .unwrap_err();
        assert_eq!(errs[0].line, 6, "{errs:?}");
        assert!(errs[0].message.contains("takes no every_days"), "{errs:?}");
        // scheduled_only = false is no trigger.
        let errs = parse_config(
            "[[surveys]]\nname = \"Wave\"\nkind = \"nps\"\nquestion = \"Q\"\nscheduled_only = false\n",
        )
        .unwrap_err();
        assert!(errs[0].message.contains("trigger is missing"), "{errs:?}");
    }

    #[test]
    fn survey_errors_at_their_line() {
        let errs = parse_config(
            r#"[survey_settings]
fatigue_days = -1

[[surveys]]
name = "A"
kind = "xps"
question = "Q"
every_days = 90

[[surveys]]
name = "B"
kind = "csat"
question = "Q"
after = "stage:nowhere"
tiers = ["gold"]

[[surveys]]
name = "C"
kind = "nps"
channel = "sms"
"#,
        )
        .unwrap_err();
        let lines: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.message.as_str())).collect();
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 2 && m.contains("fatigue_days")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(l, m)| *l == 6 && m.contains("kind")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(l, m)| *l == 14 && m.contains("nowhere")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(l, m)| *l == 15 && m.contains("gold")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(_, m)| m.contains("\"C\": question is missing")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(_, m)| m.contains("trigger is missing")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(l, m)| *l == 20 && m.contains("sms")),
            "{lines:?}"
        );
    }
}

#[cfg(test)]
mod default_example {
    use crate::config::parse_config;
    use crate::surveys::SurveyTrigger;

    /// The commented `[[surveys]]` example of the default file parses once
    /// uncommented, and the default itself sends none.
    #[test]
    fn the_commented_surveys_example_is_valid_when_uncommented() {
        let example = crate::config::tests::uncommented_example("# [survey_settings]");
        let s = parse_config(&example).expect("the example parses").surveys;
        assert_eq!(s.surveys.len(), 2);
        assert_eq!(s.surveys[0].trigger, SurveyTrigger::Every { days: 90 });
        assert!(crate::config::Config::default().surveys.surveys.is_empty());
    }
}
