//! Surveys (docs/VOICE.md): NPS, CSAT and CES surveys defined in
//! `tenure.toml` (`[[surveys]]`), and who is due one on a day.
//!
//! A survey has an audience (segments and tiers from Engage, contact
//! roles, champions only), a trigger (recurring every N days per contact,
//! or after an event: a ticket closed, a journey stage entered) and a
//! channel (email, or in the product through the API). The fatigue limit
//! (`[survey_settings] fatigue_days`) keeps any contact from being surveyed
//! more than once per N days across all surveys. [`due`] decides, for one
//! day, which contact gets which survey; the application layer loads the
//! contacts and the send log and writes what this returns. Pure: no IO, no
//! clock.

use std::collections::HashMap;

use jiff::civil::Date;

use crate::model::{SurveyKind, add_days};

/// When a survey is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurveyTrigger {
    /// Every `days` days per contact (the first time as soon as the contact
    /// is in the audience).
    Every { days: u32 },
    /// After one of the account's tickets closed, within `within_days` of
    /// the close (CSAT after support).
    TicketClosed { within_days: u32 },
    /// After the account entered the journey stage of this index, within
    /// `within_days` of entering it (CES after onboarding).
    StageEntered { stage: usize, within_days: u32 },
    /// Never by itself: only when a leader schedules it for a day or
    /// sends it now (`scheduled_only = true`).
    Scheduled,
}

/// How a survey reaches the contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An email with a link to the hosted response page.
    Email,
    /// Pending in the product, read and answered through the API.
    InApp,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::InApp => "in_app",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s.trim() {
            "email" => Some(Channel::Email),
            "in_app" => Some(Channel::InApp),
            _ => None,
        }
    }
}

/// A survey of `[[surveys]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    pub name: String,
    pub kind: SurveyKind,
    pub question: String,
    /// Asked under the score, answered in words (optional).
    pub follow_up: Option<String>,
    /// Indexes into Engage's segments; empty = every segment.
    pub segments: Vec<usize>,
    /// Indexes into Engage's tiers; empty = every tier.
    pub tiers: Vec<usize>,
    /// Contact roles, lowercase; empty = every role.
    pub roles: Vec<String>,
    pub champions_only: bool,
    pub trigger: SurveyTrigger,
    pub channel: Channel,
    /// The email's subject.
    pub subject: String,
    /// `after` or `every_days` as written, for lists.
    pub trigger_text: String,
}

/// `[survey_settings]` and the surveys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveysConfig {
    /// No contact is surveyed more than once per this many days, across
    /// every survey.
    pub fatigue_days: u32,
    /// A link (and an in-app survey) can be answered for this many days.
    pub expiry_days: u32,
    pub surveys: Vec<Survey>,
}

impl Default for SurveysConfig {
    fn default() -> SurveysConfig {
        SurveysConfig {
            fatigue_days: 30,
            expiry_days: 30,
            surveys: Vec::new(),
        }
    }
}

/// What [`due`] knows of a contact on the day.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactFacts {
    pub contact_id: String,
    pub account_id: String,
    pub role: Option<String>,
    pub champion: bool,
    /// Left the company, unsubscribed or has no address: never surveyed.
    pub excluded: bool,
    /// The account's segment, tier and stage (indexes into Engage's).
    pub segment: Option<usize>,
    pub tier: Option<usize>,
    pub stage: Option<usize>,
    pub stage_since: Option<Date>,
    /// The day the account's latest ticket closed.
    pub ticket_closed_on: Option<Date>,
    /// The last day this contact was sent any survey.
    pub last_sent: Option<Date>,
    /// The last day this contact was sent each survey, by name.
    pub last_sent_by_survey: HashMap<String, Date>,
}

/// A survey due to a contact, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Index into the surveys.
    pub survey: usize,
    /// Index into the contacts given.
    pub contact: usize,
    pub reason: String,
}

/// Whether the contact is in the survey's audience.
pub fn in_audience(s: &Survey, c: &ContactFacts) -> bool {
    if c.excluded || (s.champions_only && !c.champion) {
        return false;
    }
    if !s.roles.is_empty() {
        let role = c.role.as_deref().map(|r| r.trim().to_ascii_lowercase());
        if !role.is_some_and(|r| s.roles.contains(&r)) {
            return false;
        }
    }
    let member = |want: &[usize], got: Option<usize>| {
        want.is_empty() || got.is_some_and(|g| want.contains(&g))
    };
    member(&s.segments, c.segment) && member(&s.tiers, c.tier)
}

/// Whether the survey's trigger holds for the contact on `day`, ignoring
/// fatigue; the reason in words when it does.
pub fn trigger_holds(s: &Survey, c: &ContactFacts, day: Date) -> Option<String> {
    let last = c.last_sent_by_survey.get(&s.name).copied();
    match s.trigger {
        SurveyTrigger::Every { days } => match last {
            None => Some("never sent".to_string()),
            Some(l) if add_days(l, days as i32) <= day => {
                Some(format!("last sent {l}, every {days} days"))
            }
            Some(_) => None,
        },
        SurveyTrigger::TicketClosed { within_days } => {
            let closed = c.ticket_closed_on?;
            let recent = closed <= day && add_days(closed, within_days as i32) >= day;
            // Once per close: not again if sent on or after it.
            let fresh = last.is_none_or(|l| l < closed);
            (recent && fresh).then(|| format!("a ticket closed on {closed}"))
        }
        SurveyTrigger::StageEntered { stage, within_days } => {
            let since = c.stage_since?;
            let recent = c.stage == Some(stage)
                && since <= day
                && add_days(since, within_days as i32) >= day;
            let fresh = last.is_none_or(|l| l < since);
            (recent && fresh).then(|| format!("entered the stage on {since}"))
        }
        SurveyTrigger::Scheduled => None,
    }
}

/// Whether the fatigue limit lets the contact be surveyed on `day`.
pub fn rested(c: &ContactFacts, fatigue_days: u32, day: Date) -> bool {
    c.last_sent
        .is_none_or(|l| add_days(l, fatigue_days as i32) <= day)
}

/// Who gets which survey on `day`: each contact in a survey's audience
/// whose trigger holds and who is rested, at most one survey per contact
/// (the first in file order), in the contacts' order.
pub fn due(config: &SurveysConfig, contacts: &[ContactFacts], day: Date) -> Vec<Due> {
    let mut out = Vec::new();
    for (ci, c) in contacts.iter().enumerate() {
        if !rested(c, config.fatigue_days, day) {
            continue;
        }
        let hit = config.surveys.iter().enumerate().find_map(|(si, s)| {
            if !in_audience(s, c) {
                return None;
            }
            trigger_holds(s, c, day).map(|r| (si, r))
        });
        if let Some((survey, reason)) = hit {
            out.push(Due {
                survey,
                contact: ci,
                reason,
            });
        }
    }
    out
}

/// Who gets survey `survey` (an index into the surveys) sent on demand on
/// `day` (a leader's "send now", `tenure surveys send NAME`): each contact
/// in its audience who is rested, whatever its trigger, and not surveyed
/// yet on the day, in the contacts' order.
pub fn on_demand(
    config: &SurveysConfig,
    survey: usize,
    contacts: &[ContactFacts],
    day: Date,
) -> Vec<Due> {
    let Some(s) = config.surveys.get(survey) else {
        return Vec::new();
    };
    contacts
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            in_audience(s, c)
                && rested(c, config.fatigue_days, day)
                && c.last_sent.is_none_or(|l| l < day)
        })
        .map(|(contact, _)| Due {
            survey,
            contact,
            reason: "sent on demand".to_string(),
        })
        .collect()
}

/// NPS from scores 0–10: % promoters (9–10) − % detractors (0–6); `None`
/// without a score.
pub fn nps(scores: &[i64]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let n = scores.len() as f64;
    let promoters = scores.iter().filter(|s| **s >= 9).count() as f64;
    let detractors = scores.iter().filter(|s| **s <= 6).count() as f64;
    Some((promoters - detractors) / n * 100.0)
}

/// The mean score, `None` without a score.
pub fn mean(scores: &[i64]) -> Option<f64> {
    (!scores.is_empty()).then(|| scores.iter().sum::<i64>() as f64 / scores.len() as f64)
}

/// Responses ÷ sends, `None` without a send.
pub fn rate(sent: u64, answered: u64) -> Option<f64> {
    (sent > 0).then(|| answered as f64 / sent as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn survey(name: &str, trigger: SurveyTrigger) -> Survey {
        Survey {
            name: name.into(),
            kind: SurveyKind::Nps,
            question: "How likely?".into(),
            follow_up: None,
            segments: vec![],
            tiers: vec![],
            roles: vec![],
            champions_only: false,
            trigger,
            channel: Channel::Email,
            subject: "Quick question".into(),
            trigger_text: String::new(),
        }
    }

    fn contact(id: &str) -> ContactFacts {
        ContactFacts {
            contact_id: id.into(),
            account_id: "a1".into(),
            role: Some("Admin".into()),
            champion: false,
            excluded: false,
            segment: Some(0),
            tier: Some(1),
            stage: Some(2),
            stage_since: Some(date(2026, 3, 1)),
            ticket_closed_on: None,
            last_sent: None,
            last_sent_by_survey: HashMap::new(),
        }
    }

    fn config(surveys: Vec<Survey>) -> SurveysConfig {
        SurveysConfig {
            fatigue_days: 30,
            expiry_days: 30,
            surveys,
        }
    }

    #[test]
    fn audience_by_segment_tier_role_and_champion() {
        let mut s = survey("nps", SurveyTrigger::Every { days: 90 });
        let c = contact("c1");
        assert!(in_audience(&s, &c));
        s.segments = vec![1];
        assert!(!in_audience(&s, &c), "another segment");
        s.segments = vec![0, 1];
        s.tiers = vec![1];
        assert!(in_audience(&s, &c));
        s.roles = vec!["admin".into()];
        assert!(in_audience(&s, &c), "roles compare without case");
        s.roles = vec!["billing".into()];
        assert!(!in_audience(&s, &c));
        s.roles.clear();
        s.champions_only = true;
        assert!(!in_audience(&s, &c));
        let mut champ = contact("c2");
        champ.champion = true;
        assert!(in_audience(&s, &champ));
        champ.excluded = true;
        assert!(!in_audience(&s, &champ), "unsubscribed or left");
        let mut none = contact("c3");
        none.segment = None;
        s.champions_only = false;
        s.segments = vec![0];
        assert!(!in_audience(&s, &none), "no segment is not in a named one");
    }

    #[test]
    fn recurring_schedule() {
        let s = survey("nps", SurveyTrigger::Every { days: 90 });
        let day = date(2026, 6, 1);
        let mut c = contact("c1");
        assert!(trigger_holds(&s, &c, day).is_some(), "never sent");
        c.last_sent_by_survey
            .insert("nps".into(), add_days(day, -89));
        assert!(trigger_holds(&s, &c, day).is_none(), "89 days ago");
        c.last_sent_by_survey
            .insert("nps".into(), add_days(day, -90));
        assert!(trigger_holds(&s, &c, day).is_some(), "90 days ago");
        // Another survey's send does not count for this one's schedule.
        c.last_sent_by_survey.clear();
        c.last_sent_by_survey.insert("csat".into(), day);
        assert!(trigger_holds(&s, &c, day).is_some());
    }

    #[test]
    fn after_events() {
        let day = date(2026, 6, 10);
        let s = survey("csat", SurveyTrigger::TicketClosed { within_days: 3 });
        let mut c = contact("c1");
        assert!(trigger_holds(&s, &c, day).is_none(), "no ticket");
        c.ticket_closed_on = Some(date(2026, 6, 6));
        assert!(trigger_holds(&s, &c, day).is_none(), "4 days ago");
        c.ticket_closed_on = Some(date(2026, 6, 8));
        assert!(trigger_holds(&s, &c, day).is_some());
        c.last_sent_by_survey
            .insert("csat".into(), date(2026, 6, 8));
        assert!(trigger_holds(&s, &c, day).is_none(), "once per close");
        let s = survey(
            "ces",
            SurveyTrigger::StageEntered {
                stage: 2,
                within_days: 7,
            },
        );
        let mut c = contact("c2");
        c.stage_since = Some(date(2026, 6, 5));
        assert!(trigger_holds(&s, &c, day).is_some());
        c.stage = Some(3);
        assert!(trigger_holds(&s, &c, day).is_none(), "another stage");
        c.stage = Some(2);
        c.stage_since = Some(date(2026, 5, 1));
        assert!(trigger_holds(&s, &c, day).is_none(), "entered too long ago");
    }

    #[test]
    fn on_demand_ignores_the_trigger_but_not_audience_or_fatigue() {
        let day = date(2026, 6, 1);
        let mut cfg = config(vec![
            survey("nps", SurveyTrigger::Every { days: 90 }),
            survey("pulse", SurveyTrigger::Every { days: 7 }),
        ]);
        cfg.fatigue_days = 0;
        cfg.surveys[0].roles = vec!["admin".into()];
        // Sent the NPS 40 days ago: not due (every 90), but rested.
        let mut sent = contact("sent");
        sent.last_sent = Some(add_days(day, -40));
        sent.last_sent_by_survey
            .insert("nps".into(), add_days(day, -40));
        let mut today_c = contact("today");
        today_c.last_sent = Some(day);
        let mut user = contact("user");
        user.role = Some("user".into());
        let mut gone = contact("gone");
        gone.excluded = true;
        let contacts = [sent, today_c, user, gone, contact("fresh")];
        let got = on_demand(&cfg, 0, &contacts, day);
        // today: already surveyed on the day (fatigue 0 still allows one a
        // day); user: not in the audience; gone: excluded.
        assert_eq!(
            got.iter().map(|d| d.contact).collect::<Vec<_>>(),
            vec![0, 4]
        );
        assert!(got.iter().all(|d| d.survey == 0));
        cfg.fatigue_days = 30;
        let got = on_demand(&cfg, 0, &contacts, day);
        assert_eq!(
            got.iter().map(|d| d.contact).collect::<Vec<_>>(),
            vec![0, 4]
        );
        cfg.fatigue_days = 41;
        let got = on_demand(&cfg, 0, &contacts, day);
        assert_eq!(got.iter().map(|d| d.contact).collect::<Vec<_>>(), vec![4]);
        assert!(on_demand(&cfg, 9, &contacts, day).is_empty());
    }

    #[test]
    fn fatigue_across_surveys_and_one_survey_a_day() {
        let day = date(2026, 6, 1);
        let cfg = config(vec![
            survey("nps", SurveyTrigger::Every { days: 90 }),
            survey("pulse", SurveyTrigger::Every { days: 7 }),
        ]);
        let mut tired = contact("tired");
        tired.last_sent = Some(add_days(day, -29));
        tired
            .last_sent_by_survey
            .insert("pulse".into(), add_days(day, -29));
        let mut rested_c = contact("rested");
        rested_c.last_sent = Some(add_days(day, -30));
        rested_c
            .last_sent_by_survey
            .insert("nps".into(), add_days(day, -30));
        let fresh = contact("fresh");
        let got = due(&cfg, &[tired, rested_c, fresh], day);
        // tired: within 30 days of any survey; rested: NPS not due for 60
        // more days, so the pulse; fresh: the first survey only.
        assert_eq!(
            got.iter()
                .map(|d| (d.contact, d.survey))
                .collect::<Vec<_>>(),
            vec![(1, 1), (2, 0)]
        );
        assert_eq!(got[1].reason, "never sent");
    }

    #[test]
    fn nps_and_rates() {
        assert_eq!(nps(&[]), None);
        assert_eq!(nps(&[10, 9, 8, 0]), Some(25.0));
        assert_eq!(mean(&[1, 2]), Some(1.5));
        assert_eq!(rate(4, 1), Some(0.25));
        assert_eq!(rate(0, 0), None);
    }
}
