//! Playbooks (docs/REACT.md): a trigger over an account's facts enrols it,
//! and a schedule of actions relative to the enrolment day creates work.
//! Everything here is pure: who fits a playbook's audience, whether its
//! trigger or exit holds (with the values it read, for the trace), whether
//! an account may enrol again, which actions are due, and the text of an
//! action from its template.

use jiff::civil::Date;

use crate::model::day_number;
use crate::rules::{Facts, Rule};
use crate::target::tasks::Priority;

/// A playbook from tenure.toml.
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub name: String,
    pub description: Option<String>,
    /// Enrols an account when it holds.
    pub trigger: Rule,
    /// Ends an enrolment when it holds (the remaining actions are skipped).
    pub exit: Option<Rule>,
    /// Indexes into Engage's segments, tiers and stages; empty: any.
    pub segments: Vec<usize>,
    pub tiers: Vec<usize>,
    pub stages: Vec<usize>,
    /// Enrolments at most, within `cooldown_days` of each other (1: once
    /// per `cooldown_days`).
    pub max_enrolments: u32,
    pub cooldown_days: u32,
    pub actions: Vec<Action>,
    /// A short hash of the playbook's definition, stored with each firing.
    pub version: String,
}

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Days after the enrolment.
    pub day: u32,
    /// Run only if the trigger still holds on that day.
    pub only_if_matching: bool,
    pub kind: ActionKind,
}

/// What an action does.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    /// A task for the owner, due `due_days` after the action runs.
    Task {
        title: Template,
        due_days: u32,
        owner: Owner,
        priority: Priority,
        log_kind: Option<String>,
    },
    /// A note on the account's timeline.
    Note { text: Template },
    /// An email, queued in the outbox (tech-touch accounts).
    Email {
        to: Recipient,
        subject: Template,
        body: Template,
    },
    /// A call of a configured webhook endpoint with the firing as JSON,
    /// queued in the outbox.
    Webhook { endpoint: String },
    /// The account on the risk board, with a reason.
    Risk { reason: Template },
}

/// Who an email goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// The account's CSM.
    Csm,
    /// The account's champion contact (the first with an email).
    Champion,
    Address(String),
}

impl ActionKind {
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Task { .. } => "task",
            ActionKind::Note { .. } => "note",
            ActionKind::Email { .. } => "email",
            ActionKind::Webhook { .. } => "webhook",
            ActionKind::Risk { .. } => "risk",
        }
    }
}

/// Who a task goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// The account's CSM.
    Csm,
    /// A named user.
    Email(String),
}

/// The variables a template may use, each `{{name}}`.
pub const TEMPLATE_VARIABLES: [&str; 10] = [
    "account.id",
    "account.name",
    "csm",
    "health",
    "band",
    "arr",
    "stage",
    "nps",
    "days_to_renewal",
    "playbook",
];

/// Text with `{{variable}}` placeholders, checked against
/// [`TEMPLATE_VARIABLES`] when the configuration is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

impl Template {
    /// The template, or the first unknown variable it names.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut rest = text;
        while let Some(i) = rest.find("{{") {
            let after = &rest[i + 2..];
            let Some(j) = after.find("}}") else {
                return Err("a {{ without its }}".into());
            };
            let var = after[..j].trim();
            if !TEMPLATE_VARIABLES.contains(&var) {
                return Err(format!(
                    "unknown variable {{{{{var}}}}}: expected one of {}",
                    TEMPLATE_VARIABLES.join(", ")
                ));
            }
            rest = &after[j + 2..];
        }
        Ok(Template(text.to_string()))
    }

    pub fn source(&self) -> &str {
        &self.0
    }

    /// The text for an account: missing values read "unknown".
    pub fn render(&self, f: &Facts, playbook: &str) -> String {
        let value = |var: &str| -> String {
            let num = |x: Option<f64>| x.map_or("unknown".to_string(), |v| format!("{v:.0}"));
            match var {
                "account.id" => f.id.clone(),
                "account.name" => f.name.clone(),
                "csm" => f.csm_email.clone().unwrap_or_else(|| "unknown".into()),
                "health" => num(f.health),
                "band" => f.band.unwrap_or("unknown").to_string(),
                "arr" => format!("{:.0}", f.mrr * 12.0),
                "stage" => f.stage.clone().unwrap_or_else(|| "unknown".into()),
                "nps" => num(f.nps),
                "days_to_renewal" => f
                    .days_to_renewal
                    .map_or("unknown".into(), |d| d.to_string()),
                "playbook" => playbook.to_string(),
                _ => String::new(),
            }
        };
        let mut out = String::new();
        let mut rest = self.0.as_str();
        while let Some(i) = rest.find("{{") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let j = after.find("}}").unwrap_or(after.len());
            out.push_str(&value(after[..j].trim()));
            rest = after.get(j + 2..).unwrap_or("");
        }
        out.push_str(rest);
        out
    }
}

impl Playbook {
    /// Whether an account in this segment, tier and stage is in the
    /// playbook's audience (an empty list matches any; a non-customer,
    /// without segment or stage, is in none).
    pub fn fits(&self, segment: Option<usize>, tier: Option<usize>, stage: Option<usize>) -> bool {
        if segment.is_none() && stage.is_none() {
            return false;
        }
        let fits = |list: &[usize], v: Option<usize>| {
            list.is_empty() || v.is_some_and(|v| list.contains(&v))
        };
        fits(&self.segments, segment) && fits(&self.tiers, tier) && fits(&self.stages, stage)
    }
}

/// A rule's result on an account, with the values it read: the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `None` when the rule could not be decided (the error says why).
    pub matched: Option<bool>,
    pub error: Option<String>,
    /// `(field, value as text)` of every field the rule reads.
    pub inputs: Vec<(String, String)>,
}

/// Decides `rule` on `facts`, noting the values of the fields it reads.
pub fn check(rule: &Rule, facts: &Facts) -> Check {
    let (matched, error) = match rule.matches(facts) {
        Ok(b) => (Some(b), None),
        Err(e) => (None, Some(e)),
    };
    let inputs = crate::rules::field_names()
        .filter(|f| rule.reads(f))
        .map(|f| (f.to_string(), facts.value_text(f)))
        .collect();
    Check {
        matched,
        error,
        inputs,
    }
}

/// One past enrolment of an account in a playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolment {
    pub enrolled_on: Date,
    /// `None` while it runs.
    pub exited_on: Option<Date>,
}

/// Whether an account whose trigger holds on `day` may enrol, given its
/// past enrolments in the playbook: not while one runs, and at most
/// `max_enrolments` within any `cooldown_days`.
pub fn may_enrol(p: &Playbook, past: &[Enrolment], day: Date) -> bool {
    if past.iter().any(|e| e.exited_on.is_none()) {
        return false;
    }
    let recent = past
        .iter()
        .filter(|e| day_number(day) - day_number(e.enrolled_on) < p.cooldown_days as i32)
        .count();
    recent < p.max_enrolments.max(1) as usize
}

/// The actions of an enrolment (from `enrolled_on`) that fall due by
/// `day` and have not run (`done` holds the indexes that ran or were
/// skipped): each `(index, run)`, `run` false for an action skipped
/// because it wanted the trigger to still hold and it does not.
pub fn due_actions(
    p: &Playbook,
    enrolled_on: Date,
    day: Date,
    done: &[usize],
    matching: bool,
) -> Vec<(usize, bool)> {
    let days = day_number(day) - day_number(enrolled_on);
    p.actions
        .iter()
        .enumerate()
        .filter(|(i, a)| a.day as i32 <= days && !done.contains(i))
        .map(|(i, a)| (i, matching || !a.only_if_matching))
        .collect()
}

/// The enrolment is over once every action has run or been skipped.
pub fn finished(p: &Playbook, done: &[usize]) -> bool {
    (0..p.actions.len()).all(|i| done.contains(&i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn playbook(max: u32, cooldown: u32) -> Playbook {
        let any = |_: &str| true;
        Playbook {
            name: "Red".into(),
            description: None,
            trigger: Rule::compile(r#"band == "red""#, &any).unwrap(),
            exit: None,
            segments: vec![],
            tiers: vec![0],
            stages: vec![],
            max_enrolments: max,
            cooldown_days: cooldown,
            actions: vec![
                Action {
                    day: 0,
                    only_if_matching: false,
                    kind: ActionKind::Note {
                        text: Template::parse("{{account.name}} turned red").unwrap(),
                    },
                },
                Action {
                    day: 7,
                    only_if_matching: true,
                    kind: ActionKind::Note {
                        text: Template::parse("still red").unwrap(),
                    },
                },
            ],
            version: "v1".into(),
        }
    }

    #[test]
    fn audience_enrolment_and_the_schedule() {
        let p = playbook(2, 90);
        assert!(p.fits(Some(1), Some(0), Some(2)));
        assert!(!p.fits(Some(1), Some(1), Some(2)));
        assert!(!p.fits(None, Some(0), None), "not a customer");
        let e = |on: &str, off: Option<&str>| Enrolment {
            enrolled_on: d(on),
            exited_on: off.map(d),
        };
        assert!(may_enrol(&p, &[], d("2025-06-01")));
        assert!(
            !may_enrol(&p, &[e("2025-05-01", None)], d("2025-06-01")),
            "running"
        );
        // Two within 90 days is the most.
        let two = [
            e("2025-03-10", Some("2025-03-20")),
            e("2025-05-01", Some("2025-05-09")),
        ];
        assert!(!may_enrol(&p, &two, d("2025-06-01")));
        assert!(
            may_enrol(&p, &two, d("2025-06-08")),
            "the first is 90 days back"
        );
        let once = playbook(1, 365);
        assert!(!may_enrol(
            &once,
            &[e("2025-01-01", Some("2025-01-10"))],
            d("2025-06-01")
        ));

        // Day 0 at once; day 7 only if still red.
        let on = d("2025-06-01");
        assert_eq!(due_actions(&p, on, on, &[], true), [(0, true)]);
        assert_eq!(due_actions(&p, on, d("2025-06-07"), &[0], true), []);
        assert_eq!(
            due_actions(&p, on, d("2025-06-08"), &[0], true),
            [(1, true)]
        );
        assert_eq!(
            due_actions(&p, on, d("2025-06-08"), &[0], false),
            [(1, false)]
        );
        assert!(finished(&p, &[0, 1]) && !finished(&p, &[0]));
    }

    #[test]
    fn templates_name_known_variables_and_render_the_account() {
        assert!(Template::parse("Call {{account.name}} ({{ health }})").is_ok());
        let e = Template::parse("Call {{account.owner}}").unwrap_err();
        assert!(e.starts_with("unknown variable {{account.owner}}"), "{e}");
        assert!(Template::parse("Call {{account.name").is_err());
        let f = Facts {
            name: "Acme".into(),
            health: Some(31.6),
            band: Some("red"),
            ..Facts::default()
        };
        let t =
            Template::parse("{{account.name}}: health {{health}} ({{band}}), NPS {{nps}}").unwrap();
        assert_eq!(t.render(&f, "Red"), "Acme: health 32 (red), NPS unknown");
    }

    #[test]
    fn a_check_notes_the_values_the_rule_read() {
        let any = |_: &str| true;
        let rule = Rule::compile(
            "health != null && health < 40 && days_to_renewal <= 90",
            &any,
        )
        .unwrap();
        let f = Facts {
            health: Some(35.0),
            days_to_renewal: Some(60),
            ..Facts::default()
        };
        let c = check(&rule, &f);
        assert_eq!(c.matched, Some(true));
        assert_eq!(
            c.inputs,
            [
                ("days_to_renewal".to_string(), "60".to_string()),
                ("health".to_string(), "35".to_string())
            ]
        );
        let c = check(&rule, &Facts::default());
        assert_eq!(c.matched, Some(false), "null health: false, not an error");
    }
}
