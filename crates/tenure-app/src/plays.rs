//! Playbooks (docs/REACT.md): each day, after the scores, Engage and the
//! plans, every account in a playbook's audience whose trigger holds
//! enrols (once per cooldown, as core's `plays::may_enrol` says), with a
//! trace of the values the trigger read; the actions due run (a task, a
//! note on the timeline) or are skipped (one that wants the trigger to
//! still hold when it does not); an enrolment ends when its exit rule
//! holds or every action ran. A dry run says who would enter today, and
//! why, acting on nothing.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::model::add_days;
use tenure_core::plays::{
    ActionKind, Check, Enrolment as Past, Owner, Playbook, Recipient, check, due_actions, finished,
    may_enrol,
};
use tenure_core::target::tasks::{TaskSource, TaskStatus};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::plays::{ActionRun, Enrolment, Note, PlayWrites};
use tenure_store::target::Task;

use crate::clock::now_micros;
use crate::engage::{AccountEngage, EngageDay};
use crate::ids::new_id;
use crate::{Error, Result};

/// An email or webhook call a playbook's action queues in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    Email {
        account_id: String,
        to: Recipient,
        /// The account's CSM, for `Recipient::Csm`.
        csm: Option<String>,
        subject: String,
        body: String,
        source: String,
    },
    Webhook {
        account_id: String,
        endpoint: String,
        payload: serde_json::Value,
        source: String,
    },
    /// The account on the risk board.
    Risk {
        account_id: String,
        reason: String,
        playbook: String,
        day: Date,
    },
}

/// What a day of playbooks did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayDay {
    pub enrolled: usize,
    /// Actions run (tasks made, notes added).
    pub actions: usize,
    /// Actions skipped (the trigger no longer held).
    pub skipped: usize,
    pub exited: usize,
    /// Triggers or exits that could not be decided on an account, and
    /// messages that could not be queued, in words.
    pub errors: Vec<String>,
    /// Emails and webhook calls to queue ([`run`] queues them).
    pub outgoing: Vec<Outgoing>,
}

fn past(e: &Enrolment) -> Past {
    Past {
        enrolled_on: e.enrolled_on,
        exited_on: e.exited_on,
    }
}

/// Runs every playbook on `day` (the accounts' facts of the day) and
/// records what it did.
pub async fn run(store: &Store, config: &Config, day: &EngageDay) -> Result<PlayDay> {
    if config.playbooks.is_empty() {
        return Ok(PlayDay::default());
    }
    let history = history(store, config, day.day).await?;
    let (w, mut out) = decide(config, day, &history);
    store.write_plays(&w).await?;
    // The tasks and the trace are stored; the messages go to the outbox,
    // which the job sends (a failing server never loses the rest).
    for o in std::mem::take(&mut out.outgoing) {
        if let Err(e) = queue(store, config, &o).await {
            out.errors
                .push(format!("queueing a playbook's message: {e}"));
        }
    }
    Ok(out)
}

/// The past enrolments a day of playbooks weighs: those still running and
/// those within the longest cooldown (older ones count neither for
/// re-enrolment nor for actions).
pub async fn history(store: &Store, config: &Config, day: Date) -> Result<Vec<Enrolment>> {
    let longest = config
        .playbooks
        .iter()
        .map(|p| p.cooldown_days)
        .max()
        .unwrap_or(0);
    Ok(store
        .recent_play_enrolments(add_days(day, -(longest as i32)))
        .await?)
}

/// What every playbook does on `day`, given the past enrolments
/// ([`history`]): the
/// enrolments, actions, exits, tasks and notes to write (nothing is
/// written here; [`run`] writes them).
pub fn decide(config: &Config, day: &EngageDay, history: &[Enrolment]) -> (PlayWrites, PlayDay) {
    let mut out = PlayDay::default();
    let mut by: HashMap<(&str, &str), Vec<&Enrolment>> = HashMap::new();
    for e in history {
        by.entry((e.playbook.as_str(), e.account_id.as_str()))
            .or_default()
            .push(e);
    }
    let mut w = PlayWrites::default();
    for a in &day.accounts {
        for p in &config.playbooks {
            let hist = by
                .get(&(p.name.as_str(), a.account.id.as_str()))
                .map_or(&[][..], Vec::as_slice);
            let in_audience = p.fits(a.segment, a.tier, a.stage);
            if let Some(e) = hist.iter().find(|e| e.exited_on.is_none()) {
                // A running enrolment: its exit, then its due actions.
                if let Some(exit) = &p.exit {
                    let c = check(exit, &a.facts);
                    note_error(&mut out, p, a, "exit", &c);
                    if c.matched == Some(true) {
                        w.exits.push((e.id.clone(), day.day, "exit".into()));
                        out.exited += 1;
                        continue;
                    }
                }
                let matching = in_audience && check(&p.trigger, &a.facts).matched == Some(true);
                let done: Vec<usize> = e.actions.iter().map(|r| r.action).collect();
                act(
                    p,
                    a,
                    &e.id,
                    e.enrolled_on,
                    day.day,
                    &done,
                    matching,
                    &mut w,
                    &mut out,
                );
                continue;
            }
            if !in_audience {
                continue;
            }
            let c = check(&p.trigger, &a.facts);
            note_error(&mut out, p, a, "trigger", &c);
            let pasts: Vec<Past> = hist.iter().map(|e| past(e)).collect();
            if c.matched != Some(true) || !may_enrol(p, &pasts, day.day) {
                continue;
            }
            let id = new_id("enr");
            w.enrolments.push(Enrolment {
                id: id.clone(),
                playbook: p.name.clone(),
                version: p.version.clone(),
                account_id: a.account.id.clone(),
                enrolled_on: day.day,
                exited_on: None,
                exit_reason: None,
                trigger: p.trigger.source().to_string(),
                inputs: c.inputs,
                actions: Vec::new(),
            });
            out.enrolled += 1;
            act(p, a, &id, day.day, day.day, &[], true, &mut w, &mut out);
        }
    }
    (w, out)
}

/// Queues one message of a playbook in the outbox.
async fn queue(store: &Store, config: &Config, o: &Outgoing) -> Result<()> {
    match o {
        Outgoing::Email {
            account_id,
            to,
            csm,
            subject,
            body,
            source,
        } => {
            let address = match to {
                Recipient::Address(a) => Some(a.clone()),
                Recipient::Csm => csm.clone(),
                Recipient::Champion => store
                    .account_records(tenure_store::Kind::Contacts, account_id)
                    .await?
                    .into_iter()
                    .find_map(|r| match r {
                        tenure_store::rows::Record::Contact(c)
                            if c.champion == Some(true) && c.left_on.is_none() =>
                        {
                            Some(c.email)
                        }
                        _ => None,
                    }),
            };
            let Some(address) = address else {
                return Err(Error::Invalid(format!(
                    "account {account_id} has no {} to email",
                    match to {
                        Recipient::Csm => "CSM",
                        _ => "champion with an email",
                    }
                )));
            };
            crate::outbound::queue_email(store, &address, subject, body, source, Some(account_id))
                .await?;
        }
        Outgoing::Webhook {
            account_id,
            endpoint,
            payload,
            source,
        } => {
            crate::outbound::queue_webhook(
                store,
                config,
                endpoint,
                payload,
                source,
                Some(account_id),
            )
            .await?;
        }
        Outgoing::Risk {
            account_id,
            reason,
            playbook,
            day,
        } => {
            crate::risk::flag(
                store,
                &Scope::All,
                account_id,
                reason,
                tenure_core::react::risk::FlagSource::Playbook(playbook.clone()),
                *day,
                None,
            )
            .await?;
        }
    }
    Ok(())
}

fn note_error(out: &mut PlayDay, p: &Playbook, a: &AccountEngage, what: &str, c: &Check) {
    if let Some(e) = &c.error {
        out.errors.push(format!(
            "playbook {:?}, {what} on {}: {e}",
            p.name, a.account.id
        ));
    }
}

/// Runs or skips the actions of an enrolment due on `day`, and ends the
/// enrolment once every action ran or was skipped.
#[allow(clippy::too_many_arguments)]
fn act(
    p: &Playbook,
    a: &AccountEngage,
    enrolment: &str,
    enrolled_on: Date,
    day: Date,
    done: &[usize],
    matching: bool,
    w: &mut PlayWrites,
    out: &mut PlayDay,
) {
    let mut all: Vec<usize> = done.to_vec();
    for (i, run) in due_actions(p, enrolled_on, day, done, matching) {
        all.push(i);
        if !run {
            out.skipped += 1;
            w.actions.push((
                enrolment.to_string(),
                ActionRun {
                    action: i,
                    run_on: day,
                    result: "skipped".into(),
                    detail: Some("the trigger no longer held".into()),
                },
            ));
            continue;
        }
        out.actions += 1;
        let detail = match &p.actions[i].kind {
            ActionKind::Task {
                title,
                due_days,
                owner,
                priority,
                log_kind,
            } => {
                let task = Task {
                    id: new_id("tsk"),
                    account_id: a.account.id.clone(),
                    title: title.render(&a.facts, &p.name),
                    owner_email: match owner {
                        Owner::Csm => a.account.csm_email.clone(),
                        Owner::Email(e) => Some(e.clone()),
                    },
                    due_on: Some(add_days(day, *due_days as i32)),
                    status: TaskStatus::Open,
                    priority: *priority,
                    source: TaskSource::Playbook,
                    source_id: Some(enrolment.to_string()),
                    notes: Some(format!("From the playbook {:?}.", p.name)),
                    log_kind: log_kind.clone(),
                    engagement_id: None,
                    created_at: now_micros(),
                    completed_on: None,
                };
                let id = task.id.clone();
                w.tasks.push(task);
                format!("task {id}")
            }
            ActionKind::Email { to, subject, body } => {
                out.outgoing.push(Outgoing::Email {
                    account_id: a.account.id.clone(),
                    to: to.clone(),
                    csm: a.account.csm_email.clone(),
                    subject: subject.render(&a.facts, &p.name),
                    body: body.render(&a.facts, &p.name),
                    source: format!("playbook:{}", p.name),
                });
                match to {
                    Recipient::Csm => "email to the CSM".to_string(),
                    Recipient::Champion => "email to the champion".to_string(),
                    Recipient::Address(x) => format!("email to {x}"),
                }
            }
            ActionKind::Webhook { endpoint } => {
                let f = &a.facts;
                out.outgoing.push(Outgoing::Webhook {
                    account_id: a.account.id.clone(),
                    endpoint: endpoint.clone(),
                    payload: serde_json::json!({
                        "event": "playbook.action",
                        "playbook": p.name,
                        "version": p.version,
                        "action": i,
                        "enrolment": enrolment,
                        "enrolled_on": enrolled_on.to_string(),
                        "day": day.to_string(),
                        "account": {
                            "id": a.account.id, "name": a.account.name, "csm_email": a.account.csm_email,
                            "arr": a.arr(), "health": f.health, "band": f.band, "stage": f.stage,
                        },
                    }),
                    source: format!("playbook:{}", p.name),
                });
                format!("webhook {endpoint}")
            }
            ActionKind::Risk { reason } => {
                let reason = reason.render(&a.facts, &p.name);
                out.outgoing.push(Outgoing::Risk {
                    account_id: a.account.id.clone(),
                    reason: reason.clone(),
                    playbook: p.name.clone(),
                    day,
                });
                format!("on the risk board: {reason}")
            }
            ActionKind::Note { text } => {
                let text = text.render(&a.facts, &p.name);
                w.notes.push(Note {
                    id: new_id("not"),
                    account_id: a.account.id.clone(),
                    day,
                    text: text.clone(),
                    source: format!("playbook:{}", p.name),
                });
                text
            }
        };
        w.actions.push((
            enrolment.to_string(),
            ActionRun {
                action: i,
                run_on: day,
                result: "done".into(),
                detail: Some(detail),
            },
        ));
    }
    if finished(p, &all) {
        w.exits
            .push((enrolment.to_string(), day, "finished".into()));
        out.exited += 1;
    }
}

/// The playbook named `name`, or [`Error::Invalid`] naming the known ones.
pub fn find<'a>(config: &'a Config, name: &str) -> Result<&'a Playbook> {
    config
        .playbooks
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = config.playbooks.iter().map(|p| p.name.as_str()).collect();
            Error::Invalid(format!(
                "playbook: unknown playbook {name:?}: expected one of {}",
                known.join(", ")
            ))
        })
}

/// An account a dry run found.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub account_id: String,
    pub account_name: String,
    pub csm_email: Option<String>,
    pub arr: f64,
    /// It would enrol today (the trigger holds and re-enrolment allows it).
    pub would_enrol: bool,
    /// Why not, when the trigger holds but it would not enrol.
    pub why_not: Option<String>,
    /// The values the trigger read.
    pub inputs: Vec<(String, String)>,
}

/// Who the playbook `name` would enrol on `day`, and why: every account in
/// its audience whose trigger holds, with the values it read, and whether
/// re-enrolment allows it; acts on nothing. Largest ARR first.
pub async fn dry_run(
    store: &Store,
    config: &Config,
    name: &str,
    day: Date,
) -> Result<(Playbook, Vec<Candidate>)> {
    let p = find(config, name)?.clone();
    let accounts = crate::engage::evaluate(store, config, day).await?.accounts;
    let history = store.play_enrolments(&Scope::All, None, Some(name)).await?;
    let mut by: HashMap<&str, Vec<Past>> = HashMap::new();
    for e in &history {
        by.entry(e.account_id.as_str()).or_default().push(past(e));
    }
    let mut out: Vec<Candidate> = accounts
        .iter()
        .filter(|a| p.fits(a.segment, a.tier, a.stage))
        .filter_map(|a| {
            let c = check(&p.trigger, &a.facts);
            if c.matched != Some(true) {
                return None;
            }
            let pasts = by.get(a.account.id.as_str()).map_or(&[][..], Vec::as_slice);
            let would = may_enrol(&p, pasts, day);
            let why_not = (!would).then(|| {
                if pasts.iter().any(|e| e.exited_on.is_none()) {
                    "already enrolled".to_string()
                } else {
                    format!(
                        "enrolled {} times in the last {} days",
                        p.max_enrolments, p.cooldown_days
                    )
                }
            });
            Some(Candidate {
                account_id: a.account.id.clone(),
                account_name: a.account.name.clone(),
                csm_email: a.account.csm_email.clone(),
                arr: a.arr(),
                would_enrol: would,
                why_not,
                inputs: c.inputs,
            })
        })
        .collect();
    out.sort_by(|x, y| {
        y.arr
            .total_cmp(&x.arr)
            .then_with(|| x.account_id.cmp(&y.account_id))
    });
    Ok((p, out))
}
