//! The demo's voice of the customer (docs/DEMO.md, "Voice of the
//! customer"): the configuration's first NPS survey sent two weeks before
//! the end of the history, a share of its contacts answering through the
//! hosted page's own function, their comments made feedback with themes,
//! and product requests made from that feedback, ranked by ARR, one of
//! them shipped with its close-the-loop tasks.
//!
//! The sends are recorded without emails (`tenure_app::surveys::
//! record_now`): a demo without `[outbound.smtp]` would otherwise fill the
//! outbox with emails retried until they die. Everything random is drawn
//! from the demo's seed, so the same seed and end give the same answers,
//! comments and requests.

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, Result};
use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::feedback::{RequestStatus, Source};
use tenure_core::model::{SurveyKind, add_days, day_number};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::feedback::FeedbackQuery;

/// Days before the end the NPS survey is sent.
pub const SEND_DAYS_BEFORE_END: i32 = 14;
/// Days ahead the leader schedules the next wave.
pub const NEXT_WAVE_DAYS: i32 = 14;
/// The share of the contacts sent the survey who answer it.
const ANSWER_SHARE: f64 = 0.35;
/// The share of answers with a comment.
const COMMENT_SHARE: f64 = 0.6;

const DETRACTOR: [&str; 6] = [
    "Exports to CSV still time out on our larger reports.",
    "The Salesforce sync breaks every few weeks and we have to fix records by hand.",
    "Too expensive for what we actually use.",
    "Dashboards are slow to load every Monday morning.",
    "Support takes days to answer and the bug is still not fixed.",
    "Single sign-on keeps failing for half of our team.",
];
const PASSIVE: [&str; 6] = [
    "Good tool; scheduled reports by email would make it great.",
    "The Slack integration posts duplicate alerts, otherwise fine.",
    "Useful, but the API rate limit is too low for our nightly sync.",
    "Solid, though exports could be much faster.",
    "Does the job. We need single sign-on with Okta for the rest of the company.",
    "Nice dashboards; only part of the team has adopted it so far.",
];
const PROMOTER: [&str; 6] = [
    "The dashboards save our team hours every week.",
    "Great support, our CSM is always responsive.",
    "The Salesforce sync is a game changer; scheduled reports would make it perfect.",
    "Easy to roll out and everyone uses it daily.",
    "Reporting that used to take a day now takes minutes.",
    "Love it. A dark mode would be the cherry on top.",
];

/// The product requests the demo makes: title, description, the theme and
/// words of the feedback it comes from, and how many accounts ask.
const REQUESTS: [(&str, &str, &str, &str, usize); 5] = [
    (
        "Scheduled reports by email",
        "Send a saved report as CSV or PDF by email every day, week or month.",
        "exports and reports",
        "scheduled",
        14,
    ),
    (
        "Faster CSV exports for large reports",
        "Exports of more than 100,000 rows time out; stream them instead.",
        "exports and reports",
        "export",
        10,
    ),
    (
        "Salesforce sync that recovers from errors",
        "Resume the sync after an error instead of stopping; show what failed.",
        "integrations",
        "salesforce",
        8,
    ),
    (
        "Single sign-on with Okta and Azure AD",
        "SAML single sign-on, with users created on first login.",
        "access",
        "sign-on",
        6,
    ),
    (
        "Dark mode",
        "A dark theme for the dashboards.",
        "look and feel",
        "dark mode",
        4,
    ),
];

/// The request the demo ships, days before the end.
const SHIPPED: usize = 0;
const SHIPPED_DAYS_BEFORE_END: i32 = 3;

/// A small deterministic hash of the seed and some text: SplitMix64 over
/// FNV-1a.
fn draw(seed: u64, salt: &str, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.bytes().chain([0]).chain(text.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = h ^ seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A draw in [0, 1).
fn unit(seed: u64, salt: &str, text: &str) -> f64 {
    (draw(seed, salt, text) >> 11) as f64 / (1u64 << 53) as f64
}

/// The score a contact gives: 2.5 + 8.5 × the account's health on the day
/// sent (0–100, as a share), the simulation's own NPS formula with health
/// for its sentiment, moved by -2 to +2; 7 ± 2 without a score.
pub fn score_of(seed: u64, contact: &str, health: Option<f64>) -> i64 {
    let base = health.map_or(7.0, |h| 2.5 + 8.5 * h / 100.0);
    let jitter = (draw(seed, "nps-jitter", contact) % 5) as f64 - 2.0;
    (base + jitter).round().clamp(0.0, 10.0) as i64
}

fn comment_of(seed: u64, contact: &str, score: i64) -> Option<&'static str> {
    if unit(seed, "nps-comment", contact) >= COMMENT_SHARE {
        return None;
    }
    let pool: &[&str] = match score {
        0..=6 => &DETRACTOR,
        7..=8 => &PASSIVE,
        _ => &PROMOTER,
    };
    Some(pool[(draw(seed, "nps-text", contact) % pool.len() as u64) as usize])
}

/// What the demo's voice step did.
#[derive(Debug, Default)]
pub struct Voice {
    pub survey: String,
    pub sent_on: Option<Date>,
    pub sent: usize,
    pub answered: usize,
    pub comments: usize,
    pub nps: Option<f64>,
    /// Sends due on the last day, recorded without emails.
    pub due_on_end: usize,
    /// The next wave the leader scheduled: the survey and its day.
    pub scheduled: Option<(String, Date)>,
}

/// Sends the first NPS survey of `config` on `end` minus two weeks,
/// recorded without emails, and answers a share of it through the hosted
/// page's function over the following days; then `leader` schedules its
/// next wave [`NEXT_WAVE_DAYS`] ahead (of `end`, or of today when the
/// demo ends earlier). None without an NPS survey (the user's own
/// tenure.toml may have none).
pub async fn survey(
    store: &Store,
    config: &Config,
    seed: u64,
    end: Date,
    leader: &str,
) -> Result<Option<Voice>> {
    let Some(s) = config
        .surveys
        .surveys
        .iter()
        .find(|s| s.kind == SurveyKind::Nps)
    else {
        return Ok(None);
    };
    let day = add_days(end, -SEND_DAYS_BEFORE_END);
    let at = micros_at(day, 9 * 3600);
    let sent = tenure_app::surveys::record_now(store, config, &s.name, day, at)
        .await
        .with_context(|| format!("sending the survey {:?} on {day}", s.name))?;
    let health: HashMap<String, f64> = store
        .snapshots_on(day)
        .await?
        .into_iter()
        .filter_map(|(a, score, _)| Some((a, score?)))
        .collect();
    let mut v = Voice {
        survey: s.name.clone(),
        sent_on: Some(day),
        sent: sent.len(),
        ..Voice::default()
    };
    let mut scores = Vec::new();
    for r in &sent {
        if unit(seed, "nps-answers", &r.contact_id) >= ANSWER_SHARE {
            continue;
        }
        let score = score_of(seed, &r.contact_id, health.get(&r.account_id).copied());
        let comment = comment_of(seed, &r.contact_id, score);
        // Answered within the two weeks, in working hours.
        let after = (draw(seed, "nps-day", &r.contact_id) % SEND_DAYS_BEFORE_END as u64) as i32;
        let secs = 9 * 3600 + (draw(seed, "nps-time", &r.contact_id) % (8 * 3600)) as i64;
        let now = micros_at(add_days(day, after), secs).max(at + 60_000_000);
        let answered =
            tenure_app::surveys::answer(store, config, &r.token, score, comment, now).await?;
        if answered.is_ok() {
            v.answered += 1;
            v.comments += usize::from(comment.is_some());
            scores.push(score);
        }
    }
    v.nps = tenure_core::surveys::nps(&scores);
    // The surveys due on the last day (contacts who joined the audience
    // since), recorded too: the job's first pass when the dashboard
    // starts then has no survey email to queue.
    v.due_on_end = tenure_app::surveys::record_due(store, config, end, micros_at(end, 9 * 3600))
        .await
        .with_context(|| format!("recording the surveys due on {end}"))?
        .len();
    let today = tenure_app::clock::today();
    let next = add_days(end.max(today), NEXT_WAVE_DAYS);
    let scheduled = tenure_app::surveys::schedule(store, config, &s.name, next, today, leader)
        .await
        .with_context(|| format!("scheduling the survey {:?} for {next}", s.name))?;
    v.scheduled = Some((scheduled.survey, scheduled.send_on));
    Ok(Some(v))
}

fn micros_at(day: Date, secs: i64) -> i64 {
    (i64::from(day_number(day)) * 86_400 + secs) * 1_000_000
}

/// What the demo's requests step did.
#[derive(Debug, Default)]
pub struct Requests {
    pub items: u64,
    pub made: usize,
    pub links: usize,
    pub shipped: Option<String>,
    pub tasks: usize,
}

/// Makes the feedback items (`feedback::refresh`, as the job does), then
/// the product requests of [`REQUESTS`] from the items of their theme
/// that say their words, each asked by several accounts (chosen by the
/// seed), and ships the first with its close-the-loop tasks. Requests
/// whose theme is not configured, or without feedback, are left out.
pub async fn requests(store: &Store, config: &Config, seed: u64, end: Date) -> Result<Requests> {
    let counts = tenure_app::feedback::refresh(store, config)
        .await
        .context("making the feedback items")?;
    let mut out = Requests {
        items: counts.added,
        ..Requests::default()
    };
    let made_on = add_days(end, -SEND_DAYS_BEFORE_END + 2);
    let themes: BTreeSet<&str> = config
        .feedback
        .themes
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let mut shipped = None;
    for (i, (title, description, theme, words, asking)) in REQUESTS.iter().enumerate() {
        if !themes.contains(theme) {
            continue;
        }
        let items = tenure_app::feedback::list(
            store,
            &FeedbackQuery {
                scope: Scope::All,
                theme: Some((*theme).to_string()),
                ..FeedbackQuery::default()
            },
        )
        .await?;
        // One item per account, the accounts in the seed's order.
        let mut by_account: HashMap<String, (u64, String)> = HashMap::new();
        for v in items {
            // What customers said (answers, tickets), not the CSMs' notes.
            if v.item.source == Source::Note || !v.item.text.to_lowercase().contains(words) {
                continue;
            }
            let key = draw(seed, title, &v.item.id);
            let e = by_account
                .entry(v.item.account_id.clone())
                .or_insert((key, v.item.id.clone()));
            if key < e.0 {
                *e = (key, v.item.id.clone());
            }
        }
        let mut picks: Vec<(u64, String, String)> = by_account
            .into_iter()
            .map(|(a, (_, id))| (draw(seed, title, &a), a, id))
            .collect();
        picks.sort();
        picks.truncate(*asking);
        let Some((_, _, first)) = picks.first() else {
            continue;
        };
        let r = tenure_app::feedback::create(
            store,
            config,
            &Scope::All,
            &tenure_app::feedback::NewRequest {
                title: (*title).to_string(),
                description: Some((*description).to_string()),
                account_ids: Vec::new(),
                feedback_id: Some(first.clone()),
            },
            Some("demo"),
            made_on,
        )
        .await
        .with_context(|| format!("making the request {title:?}"))?;
        out.made += 1;
        out.links += 1;
        for (_, _, item) in picks.iter().skip(1) {
            if tenure_app::feedback::link(
                store,
                &Scope::All,
                &r.id,
                None,
                Some(item),
                Some("demo"),
                made_on,
            )
            .await?
            {
                out.links += 1;
            }
        }
        if i == SHIPPED {
            shipped = Some((r.id.clone(), (*title).to_string()));
        } else if i == SHIPPED + 1 {
            tenure_app::feedback::set_status(
                store,
                config,
                &r.id,
                RequestStatus::Planned.as_str(),
                add_days(end, -SHIPPED_DAYS_BEFORE_END),
            )
            .await?;
        }
    }
    if let Some((id, title)) = shipped {
        let c = tenure_app::feedback::set_status(
            store,
            config,
            &id,
            RequestStatus::Shipped.as_str(),
            add_days(end, -SHIPPED_DAYS_BEFORE_END),
        )
        .await
        .with_context(|| format!("shipping the request {title:?}"))?;
        out.tasks = c.tasks.len();
        out.shipped = Some(title);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure_core::feedback::{ItemFacts, tag};

    fn tags(config: &Config, text: &str) -> Vec<String> {
        tag(
            &config.feedback.themes,
            &ItemFacts {
                text: text.to_string(),
                source: "survey".into(),
                ..ItemFacts::default()
            },
        )
    }

    #[test]
    fn the_demo_config_themes_every_comment_and_each_requests_words() {
        let config = tenure_core::config::parse_config(&crate::demo::demo_config(2000)).unwrap();
        let nps: Vec<_> = config
            .surveys
            .surveys
            .iter()
            .filter(|s| s.kind == SurveyKind::Nps)
            .collect();
        assert_eq!(nps.len(), 1);
        assert!(nps[0].roles.is_empty() && nps[0].segments.is_empty());
        for text in DETRACTOR.iter().chain(&PASSIVE).chain(&PROMOTER) {
            assert!(!tags(&config, text).is_empty(), "no theme for {text:?}");
        }
        // Some of the simulated ticket subjects (tenure-core's demo).
        for text in [
            "Report export to CSV times out",
            "Salesforce integration stopped syncing",
            "Login fails with single sign-on",
            "Feature request: dark mode",
            "Feature request: scheduled reports by email",
        ] {
            assert!(!tags(&config, text).is_empty(), "no theme for {text:?}");
        }
        for (title, _, theme, words, _) in REQUESTS {
            let said: Vec<_> = DETRACTOR
                .iter()
                .chain(&PASSIVE)
                .chain(&PROMOTER)
                .filter(|t| t.to_lowercase().contains(words))
                .collect();
            assert!(!said.is_empty(), "{title}: no comment says {words:?}");
            for t in said {
                assert!(
                    tags(&config, t).iter().any(|x| x == theme),
                    "{title}: {t:?} is not in {theme:?}"
                );
            }
        }
    }

    type Outcome = (
        Vec<(Option<String>, i64, Option<String>)>,
        Vec<(String, String, Vec<String>)>,
        usize,
        usize,
    );

    /// A small demo company loaded into a new SQLite file, health scored
    /// on the send day, then the voice step: what was answered, the
    /// requests (title, status, accounts), the outbox's size and the
    /// close-the-loop tasks.
    async fn small_demo(dir: &std::path::Path) -> Outcome {
        use tenure_core::demo::{Demo, DemoConfig};
        let end: Date = "2026-06-30".parse().unwrap();
        let demo = Demo::new(DemoConfig {
            accounts: 150,
            seed: 7,
            end,
            days: 365,
        });
        let url = format!("sqlite://{}", dir.join("demo.db").display());
        let store = crate::data::open_store(&url).await.unwrap();
        let mut writer = tenure_store::bulk::BulkWriter::default();
        let mut tx = store.pool().begin().await.unwrap();
        let rx = crate::demo::generate(demo);
        while let Ok(b) = rx.recv() {
            for rec in crate::demo::records(b) {
                writer.push(&mut tx, &rec).await.unwrap();
            }
        }
        writer.flush(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        let config = tenure_core::config::parse_config(&crate::demo::demo_config(150)).unwrap();
        let sent_on = add_days(end, -SEND_DAYS_BEFORE_END);
        tenure_app::health::recompute(
            &store,
            &config,
            sent_on,
            sent_on,
            &tenure_app::health::Quiet,
        )
        .await
        .unwrap();
        let v = survey(&store, &config, 7, end, "leader@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v.survey, "Quarterly NPS");
        assert_eq!(v.sent_on, Some(sent_on));
        // The next wave waits, scheduled by the leader.
        let waiting = store.survey_schedules(true).await.unwrap();
        assert_eq!(waiting.len(), 1, "{waiting:?}");
        assert_eq!(
            (
                waiting[0].created_by.as_str(),
                Some((waiting[0].survey.clone(), waiting[0].send_on))
            ),
            ("leader@example.com", v.scheduled.clone())
        );
        assert!(v.sent > 100, "{v:?}");
        // About 35% answer.
        let share = v.answered as f64 / v.sent as f64;
        assert!((0.25..0.45).contains(&share), "{v:?}");
        assert!(v.comments > 0 && v.nps.is_some(), "{v:?}");
        let r = requests(&store, &config, 7, end).await.unwrap();
        assert!(r.items > 0);
        let mut answers: Vec<_> = store
            .survey_answers(&Scope::All, 100_000)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.contact_id, a.score, a.comment))
            .collect();
        answers.sort();
        assert_eq!(answers.len(), v.answered);
        // The comments are feedback with themes.
        let items = tenure_app::feedback::list(
            &store,
            &FeedbackQuery {
                scope: Scope::All,
                source: Some(Source::Survey),
                ..FeedbackQuery::default()
            },
        )
        .await
        .unwrap();
        let answered_comments = items
            .iter()
            .filter(|i| {
                DETRACTOR
                    .iter()
                    .chain(&PASSIVE)
                    .chain(&PROMOTER)
                    .any(|t| *t == i.item.text)
            })
            .collect::<Vec<_>>();
        assert_eq!(answered_comments.len(), v.comments);
        assert!(answered_comments.iter().all(|i| !i.item.themes.is_empty()));
        let mut made = Vec::new();
        for l in store.request_links(None, &Scope::All).await.unwrap() {
            let req = store.request(&l.request_id).await.unwrap();
            match made
                .iter_mut()
                .find(|(t, _, _): &&mut (String, String, Vec<String>)| *t == req.title)
            {
                Some((_, _, accounts)) => accounts.push(l.account_id),
                None => made.push((
                    req.title,
                    req.status.as_str().to_string(),
                    vec![l.account_id],
                )),
            }
        }
        for m in &mut made {
            m.2.sort();
        }
        made.sort();
        assert_eq!(made.len(), r.made);
        let outbox = store
            .outbox_log(&tenure_store::outbound::LogQuery::default())
            .await
            .unwrap()
            .len();
        (answers, made, outbox, r.tasks)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_loop_answers_themes_and_ships_the_same_way_twice() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = small_demo(a.path()).await;
        let (answers, made, outbox, tasks) = &first;
        assert_eq!(*outbox, 0, "no email is queued");
        assert!(made.len() >= 3, "{made:?}");
        assert!(
            made.iter().all(|(_, _, accounts)| accounts.len() >= 2),
            "{made:?}"
        );
        let shipped: Vec<_> = made.iter().filter(|m| m.1 == "shipped").collect();
        assert_eq!(shipped.len(), 1, "{made:?}");
        assert_eq!(shipped[0].0, REQUESTS[SHIPPED].0);
        assert!(*tasks >= 1, "close-the-loop tasks");
        assert!(answers.iter().any(|a| a.1 <= 6) && answers.iter().any(|a| a.1 >= 9));
        // The same seed gives the same answers and requests.
        let second = small_demo(b.path()).await;
        assert_eq!(first, second);
    }

    #[test]
    fn scores_follow_health_and_the_seed() {
        assert_eq!(
            score_of(42, "c1", Some(85.0)),
            score_of(42, "c1", Some(85.0))
        );
        for c in ["a", "b", "c", "d", "e", "f"] {
            let hi = score_of(42, c, Some(95.0));
            let lo = score_of(42, c, Some(20.0));
            assert!((8..=10).contains(&hi), "{hi}");
            assert!((2..=6).contains(&lo), "{lo}");
            assert!((5..=9).contains(&score_of(42, c, None)));
        }
        let differ = (0..50)
            .filter(|i| {
                score_of(1, &format!("c{i}"), Some(70.0))
                    != score_of(2, &format!("c{i}"), Some(70.0))
            })
            .count();
        assert!(differ > 10, "the seed changes the draws: {differ}");
    }
}
