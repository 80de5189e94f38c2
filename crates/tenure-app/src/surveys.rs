//! Surveys (docs/VOICE.md): each day, after the playbooks, the contacts due
//! a survey (core's `surveys::due`: audience, trigger, fatigue) are sent
//! one: an email with a link to the hosted response page, or an in-app
//! survey the product reads through the API. Each send has a random
//! single-use token, stored only as its SHA-256 hash, that expires after
//! `expiry_days`; the sends and their emails are written in one
//! transaction. An answer becomes a `survey_responses` row, the table
//! imports fill, so NPS, CSAT and health read it at once. Response rates
//! by survey, segment and CSM, and NPS by month, come from the send log.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use rand::RngExt;
use sha2::{Digest, Sha256};
use tenure_core::config::Config;
use tenure_core::model::{SurveyKind, utc_date};
use tenure_core::surveys::{Channel, ContactFacts, Survey, due, mean, nps, on_demand, rate};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::outbound::{NewMessage, enqueue_many};
use tenure_store::surveys::{
    Answer, Schedule, Send, SendWithScore, insert_sends, mark_schedule_sent,
};

use crate::clock::now_micros;
use crate::engage::EngageDay;
use crate::ids::new_id;
use crate::{Error, Result};

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// The longest comment kept, in characters.
pub const MAX_COMMENT: usize = 2000;

/// What a day of surveys did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendDay {
    pub day: Option<Date>,
    /// Emails queued.
    pub emailed: usize,
    /// In-app surveys opened.
    pub in_app: usize,
    /// Contacts who could not be sent one (a bad address), in words.
    pub errors: Vec<String>,
}

/// A new token: 32 random bytes, hex.
fn new_token() -> String {
    let b: [u8; 32] = rand::rng().random();
    hex::encode(b)
}

/// The SHA-256 of a token, hex: what the store keeps.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// The survey named `name` in the configuration.
pub fn find<'a>(config: &'a Config, name: &str) -> Result<&'a Survey> {
    config
        .surveys
        .surveys
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::NotFound(format!("survey {name:?}")))
}

/// The hosted page's address for a token.
pub fn link(config: &Config, token: &str) -> String {
    format!("{}/s/{token}", config.server.base_url())
}

fn scale_words(kind: SurveyKind) -> &'static str {
    match kind {
        SurveyKind::Nps => "0 = not at all likely, 10 = extremely likely",
        SurveyKind::Csat => "1 = very dissatisfied, 5 = very satisfied",
        SurveyKind::Ces => "1 = very difficult, 7 = very easy",
    }
}

/// The email's plain-text body: the question, one link per score, the
/// page, and the unsubscribe link.
pub fn email_body(
    config: &Config,
    s: &Survey,
    name: Option<&str>,
    token: &str,
    expires: Date,
) -> String {
    let url = link(config, token);
    let (lo, hi) = s.kind.range();
    let mut b = String::new();
    b.push_str(&format!(
        "Hello{},\n\n",
        name.map(|n| format!(" {n}")).unwrap_or_default()
    ));
    b.push_str(&format!("{}\n\n", s.question));
    b.push_str(&format!("Click your answer ({}):\n", scale_words(s.kind)));
    for score in lo..=hi {
        b.push_str(&format!("  {score}: {url}?score={score}\n"));
    }
    b.push_str(&format!(
        "\nOr open {url}\n\nThe link works once, until {expires}.\n\n\
         To get no more surveys from us: {url}/unsubscribe\n"
    ));
    b
}

/// `body` with every survey token of its links (`/s/` and 64 hex digits)
/// replaced by `[redacted]`: what the outbox keeps of a survey email once
/// it is sent or dead (docs/VOICE.md).
pub fn redact_tokens(body: &str) -> String {
    const MARK: &str = "/s/";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(MARK) {
        let after = &rest[at + MARK.len()..];
        let hex = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str(&rest[..at + MARK.len()]);
        if hex >= 64 {
            out.push_str("[redacted]");
            rest = &after[hex..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Runs the day's surveys on `day`'s accounts (the job's Engage pass):
/// every paying contact due a survey gets one, at most one a day.
///
/// Surveys scheduled for the day or earlier and not sent yet
/// ([`schedule`]) go in the same pass and transaction: each to every
/// contact of its audience the fatigue limit lets be surveyed (as "send
/// now" does) and not already picked that day, its schedule then marked
/// sent with how many contacts it reached.
pub async fn run(store: &Store, config: &Config, day: &EngageDay) -> Result<SendDay> {
    let (out, _) = send_due_and_scheduled(store, config, day, Mode::Queue).await?;
    Ok(out)
}

/// The day's due surveys and due schedules picked together: the due
/// first, then each schedule's audience less the contacts already picked.
async fn send_due_and_scheduled(
    store: &Store,
    config: &Config,
    day: &EngageDay,
    mode: Mode,
) -> Result<(SendDay, Vec<Recorded>)> {
    let (schedules, errors) = due_schedules(store, config, day.day).await?;
    let survey_of: Vec<usize> = schedules.iter().map(|&(_, i)| i).collect();
    let (mut out, recorded) = send_picked(store, config, day, mode, &schedules, |facts| {
        pick_due_and_scheduled(config, &survey_of, facts, day.day)
    })
    .await?;
    out.errors.extend(errors);
    Ok((out, recorded))
}

/// The schedules due on `day` (or earlier, not sent yet), each with its
/// survey's index; and, in words, those whose survey is no longer
/// configured.
async fn due_schedules(
    store: &Store,
    config: &Config,
    day: Date,
) -> Result<(Vec<(String, usize)>, Vec<String>)> {
    let mut schedules = Vec::new();
    let mut errors = Vec::new();
    for s in store.due_survey_schedules(day).await? {
        match config.surveys.surveys.iter().position(|x| x.name == s.survey) {
            Some(i) => schedules.push((s.id, i)),
            None => errors.push(format!(
                "schedule {}: the survey {:?} is no longer configured; cancel the schedule or add the survey back",
                s.id, s.survey
            )),
        }
    }
    Ok((schedules, errors))
}

/// The reason of a send picked by a schedule.
const SCHEDULED: &str = "scheduled";

/// Sends the survey `name` now, on `day`, to every contact of its
/// audience the fatigue limit lets be surveyed (core's
/// `surveys::on_demand`), whatever its trigger: a leader's "send now" on
/// `/surveys`, `tenure surveys send NAME` and `POST
/// /api/v1/surveys/{name}/send`. An unknown survey is
/// [`Error::NotFound`]. Written as the daily sends are: one transaction,
/// the emails queued in the outbox.
pub async fn send_now(store: &Store, config: &Config, name: &str, day: Date) -> Result<SendDay> {
    let index = config
        .surveys
        .surveys
        .iter()
        .position(|s| s.name == name)
        .ok_or_else(|| Error::NotFound(format!("survey {name:?}")))?;
    let engage = crate::engage::evaluate(store, config, day).await?;
    let (out, _) = send_picked(store, config, &engage, Mode::Queue, &[], |facts| {
        on_demand(&config.surveys, index, facts, day)
    })
    .await?;
    Ok(out)
}

/// How far ahead a survey can be scheduled, in days.
pub const SCHEDULE_HORIZON_DAYS: i32 = 366;

/// Schedules the survey `name` for `on` (`today` or later, within
/// [`SCHEDULE_HORIZON_DAYS`]), by `by`: the background job sends it that
/// day ([`run`]). An unknown survey is [`Error::NotFound`]; a day in the
/// past, too far ahead or already holding a schedule of the survey is
/// [`Error::Invalid`].
pub async fn schedule(
    store: &Store,
    config: &Config,
    name: &str,
    on: Date,
    today: Date,
    by: &str,
) -> Result<Schedule> {
    let survey = find(config, name)?;
    if on < today {
        return Err(Error::Invalid(format!(
            "{on} is in the past; schedule the survey for {today} or later"
        )));
    }
    let last = tenure_core::model::add_days(today, SCHEDULE_HORIZON_DAYS);
    if on > last {
        return Err(Error::Invalid(format!(
            "{on} is more than {SCHEDULE_HORIZON_DAYS} days ahead; schedule it for {last} or earlier"
        )));
    }
    if store
        .survey_schedules(true)
        .await?
        .iter()
        .any(|s| s.survey == survey.name && s.send_on == on)
    {
        return Err(Error::Invalid(format!(
            "the survey {name:?} is already scheduled for {on}"
        )));
    }
    let row = Schedule {
        id: new_id("ssc"),
        survey: survey.name.clone(),
        send_on: on,
        status: "scheduled".to_string(),
        created_by: by.to_string(),
        created_at: now_micros(),
        done_at: None,
        done_by: None,
        sent: None,
    };
    store.schedule_survey(&row).await?;
    Ok(row)
}

/// Cancels a schedule not sent yet; [`Error::NotFound`] when there is no
/// such schedule still to be sent.
pub async fn cancel_schedule(store: &Store, id: &str, by: &str) -> Result<()> {
    if store.cancel_survey_schedule(id, by, now_micros()).await? {
        Ok(())
    } else {
        Err(Error::NotFound(format!("a scheduled survey send {id:?}")))
    }
}

/// A send recorded without an email, with its token (which the store
/// keeps only hashed).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub send_id: String,
    pub account_id: String,
    pub contact_id: String,
    pub token: String,
}

/// As [`send_now`], but no email is queued: each send is written to the
/// send log as sent at `at` (microseconds; it expires `expiry_days`
/// later) and its token returned to the caller, which hands it out
/// itself. `tenure demo` records its NPS survey this way, then answers a
/// share of the tokens through [`answer`], the hosted page's path, so that
/// a demo without `[outbound.smtp]` leaves nothing failing in the outbox
/// (docs/DEMO.md).
pub async fn record_now(
    store: &Store,
    config: &Config,
    name: &str,
    day: Date,
    at: i64,
) -> Result<Vec<Recorded>> {
    let index = config
        .surveys
        .surveys
        .iter()
        .position(|s| s.name == name)
        .ok_or_else(|| Error::NotFound(format!("survey {name:?}")))?;
    let engage = crate::engage::evaluate(store, config, day).await?;
    let (_, recorded) = send_picked(store, config, &engage, Mode::Record { at }, &[], |facts| {
        on_demand(&config.surveys, index, facts, day)
    })
    .await?;
    Ok(recorded)
}

/// As [`send_due`] (every survey due on `day`), recorded as [`record_now`]
/// records: no email, sent at `at`, the tokens returned. `tenure demo`
/// records its last day's sends this way, so that the job's first pass
/// when the dashboard starts has no survey email to queue.
pub async fn record_due(
    store: &Store,
    config: &Config,
    day: Date,
    at: i64,
) -> Result<Vec<Recorded>> {
    let engage = crate::engage::evaluate(store, config, day).await?;
    let (_, recorded) = send_due_and_scheduled(store, config, &engage, Mode::Record { at }).await?;
    Ok(recorded)
}

/// How [`send_picked`] writes its sends.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Emails queued in the outbox, sent now.
    Queue,
    /// No email; sent at `at`, the tokens returned.
    Record { at: i64 },
}

/// The contacts of `day`'s paying accounts with what the survey rules
/// read of them.
struct Audience<'a> {
    accounts: HashMap<&'a str, &'a crate::engage::AccountEngage>,
    contacts: Vec<tenure_store::surveys::SurveyContact>,
    facts: Vec<ContactFacts>,
}

async fn audience<'a>(store: &Store, day: &'a EngageDay) -> Result<Audience<'a>> {
    let accounts: HashMap<&str, &crate::engage::AccountEngage> = day
        .accounts
        .iter()
        .filter(|a| a.account.is_customer_on(a.facts.mrr, day.day))
        .map(|a| (a.account.id.as_str(), a))
        .collect();
    let contacts: Vec<_> = store
        .survey_contacts()
        .await?
        .into_iter()
        .filter(|c| accounts.contains_key(c.account_id.as_str()))
        .collect();
    let mut last: HashMap<String, HashMap<String, Date>> = HashMap::new();
    for (contact, survey, d) in store.survey_last_sends().await? {
        last.entry(contact).or_default().insert(survey, d);
    }
    let closes: HashMap<String, Date> = store
        .last_ticket_closes()
        .await?
        .into_iter()
        .filter_map(|(a, us)| Some((a, utc_date(Timestamp::from_microsecond(us).ok()?))))
        .collect();
    let facts: Vec<ContactFacts> = contacts
        .iter()
        .map(|c| {
            let a = accounts[c.account_id.as_str()];
            let by = last.remove(&c.id).unwrap_or_default();
            ContactFacts {
                contact_id: c.id.clone(),
                account_id: c.account_id.clone(),
                role: c.role.clone(),
                champion: c.champion,
                excluded: c.left || c.unsubscribed || c.email.trim().is_empty(),
                segment: a.segment,
                tier: a.tier,
                stage: a.stage,
                stage_since: a.stage_since,
                ticket_closed_on: closes.get(&c.account_id).copied(),
                last_sent: by.values().max().copied(),
                last_sent_by_survey: by,
            }
        })
        .collect();
    Ok(Audience {
        accounts,
        contacts,
        facts,
    })
}

/// Who the day's pass would send a survey to (the due and the scheduled,
/// as [`run`] picks them), without writing anything: the survey's name,
/// the contact and the reason. For benchmarks and dry runs.
pub async fn decide(
    store: &Store,
    config: &Config,
    day: &EngageDay,
) -> Result<Vec<(String, String, String)>> {
    if config.surveys.surveys.is_empty() {
        return Ok(Vec::new());
    }
    let a = audience(store, day).await?;
    let (schedules, _) = due_schedules(store, config, day.day).await?;
    let survey_of: Vec<usize> = schedules.iter().map(|&(_, i)| i).collect();
    Ok(
        pick_due_and_scheduled(config, &survey_of, &a.facts, day.day)
            .into_iter()
            .map(|d| {
                (
                    config.surveys.surveys[d.survey].name.clone(),
                    a.facts[d.contact].contact_id.clone(),
                    d.reason,
                )
            })
            .collect(),
    )
}

/// The day's due surveys, then each scheduled survey's audience less the
/// contacts already picked.
fn pick_due_and_scheduled(
    config: &Config,
    survey_of: &[usize],
    facts: &[ContactFacts],
    day: Date,
) -> Vec<tenure_core::surveys::Due> {
    let mut picks = due(&config.surveys, facts, day);
    let mut taken: std::collections::HashSet<usize> = picks.iter().map(|d| d.contact).collect();
    for &i in survey_of {
        for mut d in on_demand(&config.surveys, i, facts, day) {
            if taken.insert(d.contact) {
                d.reason = SCHEDULED.to_string();
                picks.push(d);
            }
        }
    }
    picks
}

/// The contacts of `day`'s paying accounts, what `pick` chooses of them
/// sent their survey.
async fn send_picked(
    store: &Store,
    config: &Config,
    day: &EngageDay,
    mode: Mode,
    schedules: &[(String, usize)],
    pick: impl FnOnce(&[ContactFacts]) -> Vec<tenure_core::surveys::Due>,
) -> Result<(SendDay, Vec<Recorded>)> {
    let mut recorded = Vec::new();
    let mut out = SendDay {
        day: Some(day.day),
        ..SendDay::default()
    };
    let sc = &config.surveys;
    if sc.surveys.is_empty() {
        return Ok((out, recorded));
    }
    let Audience {
        accounts,
        contacts,
        facts,
    } = audience(store, day).await?;
    let picks = pick(&facts);
    if picks.is_empty() && schedules.is_empty() {
        return Ok((out, recorded));
    }
    let mut by_schedule = vec![0i64; sc.surveys.len()];
    let now = match mode {
        Mode::Queue => now_micros(),
        Mode::Record { at } => at,
    };
    let expires_at = now + i64::from(sc.expiry_days) * MICROS_PER_DAY;
    let expires_day = tenure_core::model::add_days(day.day, sc.expiry_days as i32);
    let mut tx = store.begin_write().await?;
    // Sends and their emails are written in batches, many rows per
    // statement: a pass can send to every contact.
    let mut sends: Vec<Send> = Vec::new();
    let mut emails: Vec<NewMessage> = Vec::new();
    for d in picks {
        let s = &sc.surveys[d.survey];
        let c = &contacts[d.contact];
        let a = accounts[c.account_id.as_str()];
        let token = new_token();
        let message_id = match (s.channel, mode) {
            (Channel::InApp, _) | (Channel::Email, Mode::Record { .. }) => None,
            (Channel::Email, Mode::Queue) => {
                let body = email_body(config, s, c.name.as_deref(), &token, expires_day);
                let source = format!("{}{}", crate::outbound::SURVEY_SOURCE, s.name);
                match crate::outbound::email_message(
                    &c.email,
                    &s.subject,
                    &body,
                    &source,
                    Some(&c.account_id),
                ) {
                    Ok(m) => {
                        let id = m.id.clone();
                        emails.push(m);
                        Some(id)
                    }
                    Err(Error::Invalid(e)) => {
                        out.errors.push(format!("contact {}: {e}", c.id));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let send_id = new_id("svs");
        if let Mode::Record { .. } = mode {
            recorded.push(Recorded {
                send_id: send_id.clone(),
                account_id: c.account_id.clone(),
                contact_id: c.id.clone(),
                token: token.clone(),
            });
        }
        let send = Send {
            id: send_id,
            survey: s.name.clone(),
            kind: s.kind.as_str().to_string(),
            channel: s.channel.as_str().to_string(),
            account_id: c.account_id.clone(),
            contact_id: c.id.clone(),
            segment: a
                .segment
                .and_then(|i| config.engage.segments.0.get(i))
                .map(|x| x.name.clone()),
            csm_email: a.account.csm_email.clone(),
            token_hash: hash_token(&token),
            sent_on: day.day,
            sent_at: now,
            expires_at,
            answered_at: None,
            response_id: None,
            message_id,
        };
        sends.push(send);
        if sends.len() == SENDS_PER_BATCH {
            write_sends(&mut tx, &mut sends, &mut emails).await?;
        }
        if d.reason == SCHEDULED {
            by_schedule[d.survey] += 1;
        }
        match (s.channel, mode) {
            (Channel::Email, Mode::Queue) => out.emailed += 1,
            (Channel::InApp, _) => out.in_app += 1,
            (Channel::Email, Mode::Record { .. }) => {}
        }
    }
    write_sends(&mut tx, &mut sends, &mut emails).await?;
    // Two schedules of one survey due the same day share its sends: the
    // first is credited with them, the next with none.
    for (id, i) in schedules {
        let sent = std::mem::take(&mut by_schedule[*i]);
        mark_schedule_sent(&mut tx, id, now, sent).await?;
    }
    tx.commit().await?;
    Ok((out, recorded))
}

/// Sends buffered before they are written.
const SENDS_PER_BATCH: usize = 1000;

/// Writes the buffered emails, then their sends, in the pass's
/// transaction, and empties both buffers.
async fn write_sends(
    tx: &mut tenure_store::WriteTx,
    sends: &mut Vec<Send>,
    emails: &mut Vec<NewMessage>,
) -> Result<()> {
    enqueue_many(tx, emails, now_micros()).await?;
    insert_sends(tx, sends).await?;
    sends.clear();
    emails.clear();
    Ok(())
}

/// `tenure surveys send-due`: today's Engage facts evaluated (nothing of
/// Engage written), then [`run`].
pub async fn send_due(store: &Store, config: &Config, day: Date) -> Result<SendDay> {
    let engage = crate::engage::evaluate(store, config, day).await?;
    run(store, config, &engage).await
}

/// Why a token cannot be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No send has this token.
    Unknown,
    /// Already answered.
    Used,
    Expired,
}

impl Refused {
    pub fn words(self) -> &'static str {
        match self {
            Refused::Unknown => "This survey link is not valid.",
            Refused::Used => "This survey has already been answered. Thank you!",
            Refused::Expired => "This survey link has expired.",
        }
    }
}

/// A survey open for an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    pub send: Send,
    pub kind: SurveyKind,
    /// The question (the kind's standard one if the survey left the
    /// configuration since).
    pub question: String,
    pub follow_up: Option<String>,
}

fn kind_of(send: &Send) -> Result<SurveyKind> {
    SurveyKind::parse(&send.kind)
        .map_err(|e| Error::Internal(format!("survey send {}: {e}", send.id)))
}

fn standard_question(kind: SurveyKind) -> &'static str {
    match kind {
        SurveyKind::Nps => "How likely are you to recommend us to a friend or colleague?",
        SurveyKind::Csat => "How satisfied are you with us?",
        SurveyKind::Ces => "How easy was it to get what you needed?",
    }
}

fn state_of(send: &Send, now: i64) -> Option<Refused> {
    if send.answered_at.is_some() {
        Some(Refused::Used)
    } else if send.expires_at <= now {
        Some(Refused::Expired)
    } else {
        None
    }
}

fn open_of(config: &Config, send: Send) -> Result<Open> {
    let kind = kind_of(&send)?;
    let s = config
        .surveys
        .surveys
        .iter()
        .find(|s| s.name == send.survey);
    Ok(Open {
        question: s.map_or_else(
            || standard_question(kind).to_string(),
            |s| s.question.clone(),
        ),
        follow_up: s.and_then(|s| s.follow_up.clone()),
        kind,
        send,
    })
}

/// The send behind a token, if it can still be answered at `now`.
pub async fn open(
    store: &Store,
    config: &Config,
    token: &str,
    now: i64,
) -> Result<std::result::Result<Open, Refused>> {
    let Some(send) = store.survey_send_by_token(&hash_token(token)).await? else {
        return Ok(Err(Refused::Unknown));
    };
    if let Some(r) = state_of(&send, now) {
        return Ok(Err(r));
    }
    Ok(Ok(open_of(config, send)?))
}

/// A comment trimmed and checked: empty is none, longer than
/// [`MAX_COMMENT`] characters is [`Error::Invalid`].
pub fn check_comment(comment: Option<&str>) -> Result<Option<String>> {
    let Some(c) = comment.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    if c.chars().count() > MAX_COMMENT {
        return Err(Error::Invalid(format!(
            "comment: at most {MAX_COMMENT} characters"
        )));
    }
    Ok(Some(c.to_string()))
}

async fn record(
    store: &Store,
    send: &Send,
    kind: SurveyKind,
    score: i64,
    comment: Option<&str>,
    now: i64,
) -> Result<std::result::Result<String, Refused>> {
    kind.check_score(score)
        .map_err(|e| Error::Invalid(format!("score: {e}")))?;
    let comment = check_comment(comment)?;
    let answer = Answer {
        response_id: new_id("srv"),
        score,
        comment,
        at: now,
    };
    if store.answer_survey(&send.id, &answer).await? {
        Ok(Ok(answer.response_id))
    } else {
        // Answered or expired between reading and writing.
        let now_state = store
            .survey_send(&Scope::All, &send.id)
            .await?
            .and_then(|s| state_of(&s, now));
        Ok(Err(now_state.unwrap_or(Refused::Used)))
    }
}

/// Answers the survey behind `token` with `score` and an optional
/// comment: one `survey_responses` row, once. A score outside the kind's
/// range or a comment too long is [`Error::Invalid`], with nothing written.
/// Returns the response's id, or why the token was refused.
pub async fn answer(
    store: &Store,
    config: &Config,
    token: &str,
    score: i64,
    comment: Option<&str>,
    now: i64,
) -> Result<std::result::Result<String, Refused>> {
    let o = match open(store, config, token, now).await? {
        Ok(o) => o,
        Err(r) => return Ok(Err(r)),
    };
    record(store, &o.send, o.kind, score, comment, now).await
}

/// Unsubscribes the contact of `token` from every survey (a used or
/// expired link works too). Returns false for an unknown token.
pub async fn unsubscribe(store: &Store, token: &str, now: i64) -> Result<bool> {
    let Some(send) = store.survey_send_by_token(&hash_token(token)).await? else {
        return Ok(false);
    };
    store
        .unsubscribe_from_surveys(&send.contact_id, now)
        .await?;
    Ok(true)
}

/// An in-app survey waiting for the contact's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: String,
    pub survey: String,
    pub kind: SurveyKind,
    pub question: String,
    pub follow_up: Option<String>,
    pub account_id: String,
    pub expires_at: i64,
}

/// The contact's open in-app surveys, oldest first (none once they
/// unsubscribed).
pub async fn pending(
    store: &Store,
    config: &Config,
    scope: &Scope,
    contact_id: &str,
    now: i64,
) -> Result<Vec<Pending>> {
    if store.survey_unsubscribed(contact_id).await? {
        return Ok(Vec::new());
    }
    store
        .pending_in_app_surveys(scope, contact_id, now)
        .await?
        .into_iter()
        .map(|s| {
            let o = open_of(config, s)?;
            Ok(Pending {
                id: o.send.id.clone(),
                survey: o.send.survey.clone(),
                kind: o.kind,
                question: o.question,
                follow_up: o.follow_up,
                account_id: o.send.account_id.clone(),
                expires_at: o.send.expires_at,
            })
        })
        .collect()
}

/// Answers the in-app survey `send_id` for `contact_id`: as [`answer`].
/// An id that is not this contact's in-app survey (of an account in
/// scope) is [`Error::NotFound`].
pub async fn answer_in_app(
    store: &Store,
    scope: &Scope,
    send_id: &str,
    contact_id: &str,
    score: i64,
    comment: Option<&str>,
    now: i64,
) -> Result<std::result::Result<String, Refused>> {
    let send = store
        .survey_send(scope, send_id)
        .await?
        .filter(|s| s.contact_id == contact_id && s.channel == Channel::InApp.as_str())
        .ok_or_else(|| {
            Error::NotFound(format!(
                "in-app survey {send_id:?} for contact {contact_id:?}"
            ))
        })?;
    if let Some(r) = state_of(&send, now) {
        return Ok(Err(r));
    }
    let kind = kind_of(&send)?;
    record(store, &send, kind, score, comment, now).await
}

/// Sends and answers of one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateRow {
    /// The survey, segment or CSM (`None`: without one).
    pub key: Option<String>,
    pub sent: u64,
    pub answered: u64,
    pub rate: Option<f64>,
}

/// One month of answers (by the day they were sent).
#[derive(Debug, Clone, PartialEq)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: String,
    pub sent: u64,
    pub answered: u64,
    /// NPS of the month's NPS answers.
    pub nps: Option<f64>,
    /// Mean score of the month's answers (every kind).
    pub mean: Option<f64>,
}

/// Response rates and the trend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rates {
    pub total: RateRow,
    pub by_survey: Vec<RateRow>,
    pub by_segment: Vec<RateRow>,
    pub by_csm: Vec<RateRow>,
    pub months: Vec<MonthRow>,
}

fn group(sends: &[SendWithScore], key: impl Fn(&Send) -> Option<String>) -> Vec<RateRow> {
    let mut m: BTreeMap<Option<String>, (u64, u64)> = BTreeMap::new();
    for s in sends {
        let e = m.entry(key(&s.send)).or_default();
        e.0 += 1;
        e.1 += u64::from(s.send.answered_at.is_some());
    }
    m.into_iter()
        .map(|(key, (sent, answered))| RateRow {
            key,
            sent,
            answered,
            rate: rate(sent, answered),
        })
        .collect()
}

/// Response rates of the sends in `scope` (one survey's, or all), by
/// survey, segment and CSM when sent, and each month's NPS.
pub async fn rates(store: &Store, scope: &Scope, survey: Option<&str>) -> Result<Rates> {
    let sends = store.survey_sends(scope, survey, None).await?;
    let answered = sends
        .iter()
        .filter(|s| s.send.answered_at.is_some())
        .count() as u64;
    let mut months: BTreeMap<String, (u64, Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for s in &sends {
        let e = months
            .entry(s.send.sent_on.strftime("%Y-%m").to_string())
            .or_default();
        e.0 += 1;
        if let Some(score) = s.score {
            e.1.push(score);
            if s.send.kind == SurveyKind::Nps.as_str() {
                e.2.push(score);
            }
        }
    }
    Ok(Rates {
        total: RateRow {
            key: None,
            sent: sends.len() as u64,
            answered,
            rate: rate(sends.len() as u64, answered),
        },
        by_survey: group(&sends, |s| Some(s.survey.clone())),
        by_segment: group(&sends, |s| s.segment.clone()),
        by_csm: group(&sends, |s| s.csm_email.clone()),
        months: months
            .into_iter()
            .map(|(month, (sent, scores, npss))| MonthRow {
                month,
                sent,
                answered: scores.len() as u64,
                nps: nps(&npss),
                mean: mean(&scores),
            })
            .collect(),
    })
}
