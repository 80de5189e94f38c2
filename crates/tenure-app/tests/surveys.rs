//! Surveys worked by hand as the daily job runs them (docs/VOICE.md): the
//! audience (tier, role, champions only, contacts who left), one email
//! per contact with its single-use link in the outbox, the fatigue limit
//! across surveys, answers that land in `survey_responses` and move NPS in
//! `tenure metrics`, refused answers that write nothing (out of range,
//! used, expired, unknown), unsubscribing, the in-app channel and the
//! response rates. On either backend (`TEST_DATABASE_URL`).

use jiff::civil::Date;
use tenure_app::Error;
use tenure_app::clock::{now_micros, today};
use tenure_app::engage::run_day;
use tenure_app::surveys::{
    Refused, answer, answer_in_app, pending, rates, record_due, record_now, run, send_now,
    unsubscribe,
};
use tenure_core::config::parse_config;
use tenure_core::metrics::{Metric, Period};
use tenure_core::model::{Account, Contact, Currency, Money, Subscription, add_days};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::outbound::LogQuery;
use tenure_store::rows::Record;
use tenure_store::testing::test_db;

const CONFIG: &str = r#"
[server]
public_url = "https://cs.example.com"

[engage]
settle_days = 0

[[engage.tiers]]
name = "high"

[[engage.tiers]]
name = "low"

[[engage.stages]]
name = "customer"
entry = "paying"

[[engage.segments]]
name = "Big"
rule = "mrr >= 300"
tier = "high"

[[engage.segments]]
name = "Small"
rule = "paying"
tier = "low"

[survey_settings]
fatigue_days = 30
expiry_days = 30

[[surveys]]
name = "NPS"
kind = "nps"
question = "How likely are you to recommend Acme?"
follow_up = "Why?"
tiers = ["high"]
roles = ["admin"]
every_days = 90

[[surveys]]
name = "Pulse"
kind = "csat"
question = "How happy are you this week?"
champions_only = true
every_days = 7
channel = "in_app"
"#;

const MICROS_PER_DAY: i64 = 86_400_000_000;

async fn add(store: &Store, r: Record) {
    store.create_record(&r, &Scope::All).await.unwrap();
}

fn contact(id: &str, account: &str, email: &str, role: &str, champion: bool) -> Contact {
    Contact {
        id: id.into(),
        account_id: account.into(),
        email: email.into(),
        name: Some(format!("Person {id}")),
        role: Some(role.into()),
        champion: Some(champion),
        left_on: None,
    }
}

/// a1 pays 500 (Big, high touch, CSM ann), a3 pays 100 (Small, low touch,
/// CSM bob). a1: c1 admin, c2 admin champion, c3 admin who left, c4 admin
/// with a bad address, c6 a user; a3: c5 admin champion.
async fn portfolio(store: &Store) {
    for (id, mrr, csm) in [
        ("a1", 500, "ann@example.com"),
        ("a3", 100, "bob@example.com"),
    ] {
        let mut a = Account::bare(id);
        a.name = format!("Acct {id}");
        a.csm_email = Some(csm.into());
        add(store, Record::Account(a)).await;
        add(
            store,
            Record::Subscription(Subscription {
                id: format!("s-{id}"),
                account_id: id.into(),
                mrr: Money::new(mrr * 100, Currency::USD),
                plan: None,
                seats: None,
                start_date: "2024-01-01".parse().unwrap(),
                end_date: None,
                renewal_date: None,
            }),
        )
        .await;
    }
    let mut left = contact("c3", "a1", "c3@a1.example", "admin", false);
    left.left_on = Some("2025-01-01".parse().unwrap());
    for c in [
        contact("c1", "a1", "c1@a1.example", "Admin", false),
        contact("c2", "a1", "c2@a1.example", "admin", true),
        left,
        contact("c4", "a1", "not an address", "admin", false),
        contact("c5", "a3", "c5@a3.example", "admin", true),
        contact("c6", "a1", "c6@a1.example", "user", false),
    ] {
        add(store, Record::Contact(c)).await;
    }
}

/// Runs a day as the job does: Engage, then surveys.
async fn day_of_surveys(
    store: &Store,
    config: &tenure_core::config::Config,
    day: Date,
) -> tenure_app::surveys::SendDay {
    let engage = run_day(store, config, day).await.unwrap();
    run(store, config, &engage).await.unwrap()
}

/// The token of the link in the email to `to`, and the email's body.
async fn token_for(store: &Store, to: &str) -> (String, String) {
    let log = store.outbox_log(&LogQuery::default()).await.unwrap();
    let m = log
        .iter()
        .find(|m| m.target == to)
        .expect("an email to the contact");
    let at = m.body.find("https://cs.example.com/s/").unwrap() + "https://cs.example.com/s/".len();
    let token: String = m.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    (token, m.body.clone())
}

async fn responses(store: &Store) -> Vec<(Option<String>, i64, Option<String>)> {
    let mut out: Vec<_> = store
        .survey_answers(&Scope::All, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.contact_id, r.score, r.comment))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn surveys_are_sent_to_their_audience_answered_once_and_move_nps() {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    let t = today();

    // Day 0: c1 and c2 get the NPS by email (high tier, admins); c5 the
    // in-app pulse (a champion, low tier); c3 left, c6 is not an admin,
    // c4's address is refused.
    let out = day_of_surveys(store, &config, t).await;
    assert_eq!((out.emailed, out.in_app), (2, 1), "{out:?}");
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert!(out.errors[0].contains("c4"));
    // Again the same day (new data arrived): nothing more.
    let again = day_of_surveys(store, &config, t).await;
    assert_eq!((again.emailed, again.in_app), (0, 0));

    let (token, body) = token_for(store, "c1@a1.example").await;
    assert_eq!(token.len(), 64);
    assert!(body.contains("How likely are you to recommend Acme?"));
    assert!(body.contains(&format!("https://cs.example.com/s/{token}?score=10")));
    assert!(body.contains(&format!("https://cs.example.com/s/{token}/unsubscribe")));
    // Only the token's hash is stored.
    let sends = store.survey_sends(&Scope::All, None, None).await.unwrap();
    assert_eq!(sends.len(), 3);
    assert!(sends.iter().all(|s| s.send.token_hash != token));

    // Refused answers write nothing.
    let now = now_micros();
    let e = answer(store, &config, &token, 11, None, now)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("score")),
        "{e}"
    );
    let long = "x".repeat(2001);
    assert!(matches!(
        answer(store, &config, &token, 9, Some(&long), now).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(
        answer(store, &config, "feedbeef", 9, None, now)
            .await
            .unwrap(),
        Err(Refused::Unknown)
    );
    let later = now + 31 * MICROS_PER_DAY;
    assert_eq!(
        answer(store, &config, &token, 9, None, later)
            .await
            .unwrap(),
        Err(Refused::Expired)
    );
    assert!(responses(store).await.is_empty());

    // The answer, once.
    let id = answer(
        store,
        &config,
        &token,
        9,
        Some("  Great <b>support</b>  "),
        now,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(id.starts_with("srv_"));
    assert_eq!(
        answer(store, &config, &token, 3, None, now).await.unwrap(),
        Err(Refused::Used)
    );
    assert_eq!(
        responses(store).await,
        vec![(Some("c1".into()), 9, Some("Great <b>support</b>".into()))]
    );

    // NPS in `tenure metrics` moves at once.
    let period = Period::new(add_days(t, -30), t).unwrap();
    let m = tenure_app::metrics::compute(store, &config, period, None)
        .await
        .unwrap();
    let r = m.dataset.report(period, &m.settings, Some(&m.usage));
    assert_eq!(r.get(Metric::Nps), Some(100.0));

    // c2 unsubscribes (with the link of the email); an unknown token does
    // nothing.
    let (token2, _) = token_for(store, "c2@a1.example").await;
    assert!(unsubscribe(store, &token2, now).await.unwrap());
    assert!(!unsubscribe(store, "nope", now).await.unwrap());

    // In-app: c5's pulse, answered through the API's path.
    let p = pending(store, &config, &Scope::All, "c5", now)
        .await
        .unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].question, "How happy are you this week?");
    assert!(matches!(
        answer_in_app(store, &Scope::All, &p[0].id, "c1", 4, None, now).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        answer_in_app(store, &Scope::All, &p[0].id, "c5", 6, None, now).await,
        Err(Error::Invalid(_))
    ));
    assert!(
        answer_in_app(store, &Scope::All, &p[0].id, "c5", 4, None, now)
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        pending(store, &config, &Scope::All, "c5", now)
            .await
            .unwrap()
            .is_empty()
    );

    // Day 10: the pulse is due again (every 7 days) but c5 is within the
    // 30-day fatigue limit; day 30 it goes.
    let d10 = day_of_surveys(store, &config, add_days(t, 10)).await;
    assert_eq!((d10.emailed, d10.in_app), (0, 0));
    let d30 = day_of_surveys(store, &config, add_days(t, 30)).await;
    assert_eq!((d30.emailed, d30.in_app), (0, 1));
    // Day 90: the NPS again for c1, not for c2 who unsubscribed; the
    // pulse for c5, 60 days after the last.
    let d90 = day_of_surveys(store, &config, add_days(t, 90)).await;
    assert_eq!((d90.emailed, d90.in_app), (1, 1), "{d90:?}");

    // Rates: 6 sent, 2 answered; by survey, segment and CSM.
    let rt = rates(store, &Scope::All, None).await.unwrap();
    assert_eq!((rt.total.sent, rt.total.answered), (6, 2));
    let by = |rows: &[tenure_app::surveys::RateRow], k: &str| {
        let r = rows.iter().find(|r| r.key.as_deref() == Some(k)).unwrap();
        (r.sent, r.answered)
    };
    assert_eq!(by(&rt.by_survey, "NPS"), (3, 1));
    assert_eq!(by(&rt.by_survey, "Pulse"), (3, 1));
    assert_eq!(by(&rt.by_segment, "Small"), (3, 1));
    assert_eq!(by(&rt.by_csm, "ann@example.com"), (3, 1));
    let first = &rt.months[0];
    assert_eq!((first.sent, first.answered, first.nps), (3, 2, Some(100.0)));
    // A CSM's rates cover their own accounts.
    let bob = rates(store, &Scope::Csm("bob@example.com".into()), Some("Pulse"))
        .await
        .unwrap();
    assert_eq!((bob.total.sent, bob.total.answered), (3, 1));
}

#[tokio::test]
async fn the_daily_job_sends_the_surveys_due() {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    let mut state = tenure_app::jobs::JobState::default();
    tenure_app::jobs::run_once(store, &config, &mut state)
        .await
        .unwrap();
    let sends = store.survey_sends(&Scope::All, None, None).await.unwrap();
    let mut who: Vec<(&str, &str, &str)> = sends
        .iter()
        .map(|s| {
            (
                s.send.contact_id.as_str(),
                s.send.survey.as_str(),
                s.send.channel.as_str(),
            )
        })
        .collect();
    who.sort();
    assert_eq!(
        who,
        vec![
            ("c1", "NPS", "email"),
            ("c2", "NPS", "email"),
            ("c5", "Pulse", "in_app")
        ]
    );
    assert_eq!(sends[0].send.sent_on, today());
    assert!(sends.iter().all(|s| s.send.segment.is_some()));
}

#[tokio::test]
async fn a_survey_sent_now_reaches_its_audience_whatever_its_trigger_within_fatigue() {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    let day = today();
    let err = send_now(store, &config, "Nope", day).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    // The NPS's audience: a1's admins (high tier); c3 left, c4's address
    // is refused and named.
    let out = send_now(store, &config, "NPS", day).await.unwrap();
    assert_eq!((out.emailed, out.in_app), (2, 0), "{out:?}");
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert!(out.errors[0].contains("c4"), "{:?}", out.errors);
    let log = store.outbox_log(&LogQuery::default()).await.unwrap();
    let mut to: Vec<_> = log.iter().map(|m| m.target.as_str()).collect();
    to.sort();
    assert_eq!(to, ["c1@a1.example", "c2@a1.example"]);
    assert!(log.iter().all(|m| m.source == "survey:NPS"));
    // Its link answers like a daily send's.
    let (token, _) = token_for(store, "c1@a1.example").await;
    let r = answer(store, &config, &token, 10, Some("Great"), now_micros())
        .await
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
    // Again on the day: nobody (one survey a day); the pulse goes to c5
    // only (c2 was surveyed today).
    let again = send_now(store, &config, "NPS", day).await.unwrap();
    assert_eq!((again.emailed, again.in_app), (0, 0));
    let pulse = send_now(store, &config, "Pulse", day).await.unwrap();
    assert_eq!((pulse.emailed, pulse.in_app), (0, 1), "{pulse:?}");
    // The fatigue limit holds for 30 days; then the NPS goes again though
    // its trigger (every 90 days) is not due.
    let tired = send_now(store, &config, "NPS", add_days(day, 29))
        .await
        .unwrap();
    assert_eq!(tired.emailed, 0);
    let rested = send_now(store, &config, "NPS", add_days(day, 30))
        .await
        .unwrap();
    assert_eq!(rested.emailed, 2, "{rested:?}");
    let r = rates(store, &Scope::All, Some("NPS")).await.unwrap();
    assert_eq!((r.total.sent, r.total.answered), (4, 1));
}

#[tokio::test]
async fn sends_recorded_without_emails_answer_through_their_tokens() {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    let day = add_days(today(), -14);
    let at = now_micros() - 14 * MICROS_PER_DAY;
    let err = record_now(store, &config, "Nope", day, at)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    // The NPS's audience, c4's bad address included: no email is queued.
    let sent = record_now(store, &config, "NPS", day, at).await.unwrap();
    let mut who: Vec<_> = sent.iter().map(|r| r.contact_id.as_str()).collect();
    who.sort();
    assert_eq!(who, ["c1", "c2", "c4"]);
    assert!(
        store
            .outbox_log(&LogQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    let s = store
        .survey_send(&Scope::All, &sent[0].send_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s.sent_on, s.sent_at, s.message_id), (day, at, None));
    assert_eq!(s.expires_at, at + 30 * MICROS_PER_DAY);
    // Each token answers once, through the hosted page's function.
    let c1 = sent.iter().find(|r| r.contact_id == "c1").unwrap();
    let later = at + 3 * MICROS_PER_DAY;
    let r = answer(store, &config, &c1.token, 9, Some("Good"), later)
        .await
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
    let again = answer(store, &config, &c1.token, 9, None, later)
        .await
        .unwrap();
    assert_eq!(again, Err(Refused::Used));
    assert_eq!(
        responses(store).await,
        vec![(Some("c1".to_string()), 9, Some("Good".to_string()))]
    );
    // The surveys due today, recorded: the pulse to the champion c5 (c2
    // was surveyed 14 days ago, within the fatigue limit).
    let due = record_due(store, &config, today(), now_micros())
        .await
        .unwrap();
    assert_eq!(
        due.iter()
            .map(|r| r.contact_id.as_str())
            .collect::<Vec<_>>(),
        ["c5"]
    );
    assert!(
        store
            .outbox_log(&LogQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    let r = rates(store, &Scope::All, None).await.unwrap();
    assert_eq!((r.total.sent, r.total.answered), (4, 1));
}

#[tokio::test]
async fn a_survey_scheduled_for_a_day_goes_with_that_days_pass_once() {
    use tenure_app::surveys::{cancel_schedule, schedule};
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    let day = today();
    let leader = "lead@example.com";
    // Refused: an unknown survey, a day past, a day over a year ahead.
    let err = schedule(store, &config, "Nope", day, day, leader)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    for bad in [add_days(day, -1), add_days(day, 400)] {
        let err = schedule(store, &config, "NPS", bad, day, leader)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    }
    let nps = schedule(store, &config, "NPS", add_days(day, 40), day, leader)
        .await
        .unwrap();
    assert_eq!(
        (nps.status.as_str(), nps.created_by.as_str()),
        ("scheduled", leader)
    );
    let err = schedule(store, &config, "NPS", add_days(day, 40), day, leader)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already scheduled"), "{err}");
    // A cancelled schedule never goes, and cannot be cancelled twice.
    let pulse = schedule(store, &config, "Pulse", add_days(day, 40), day, leader)
        .await
        .unwrap();
    cancel_schedule(store, &pulse.id, leader).await.unwrap();
    let err = cancel_schedule(store, &pulse.id, leader).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");

    // Day 0: the regular sends only (NPS to c1, c2; the pulse to c5).
    let first = day_of_surveys(store, &config, day).await;
    assert_eq!((first.emailed, first.in_app), (2, 1), "{first:?}");
    let waiting = store.survey_schedules(true).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, nps.id);

    // Day 40: the weekly pulse is due for both champions (c2, c5); the
    // scheduled NPS goes to the rest of its audience (c1), and no contact
    // gets two surveys on the day.
    let d40 = add_days(day, 40);
    let out = day_of_surveys(store, &config, d40).await;
    assert_eq!((out.emailed, out.in_app), (1, 2), "{out:?}");
    let sends = store
        .survey_sends(&Scope::All, None, Some(d40))
        .await
        .unwrap();
    let mut who: Vec<(&str, &str)> = sends
        .iter()
        .map(|s| (s.send.contact_id.as_str(), s.send.survey.as_str()))
        .collect();
    who.sort();
    assert_eq!(who, [("c1", "NPS"), ("c2", "Pulse"), ("c5", "Pulse")]);
    let all = store.survey_schedules(false).await.unwrap();
    let done = all.iter().find(|s| s.id == nps.id).unwrap();
    assert_eq!((done.status.as_str(), done.sent), ("sent", Some(1)));
    let cancelled = all.iter().find(|s| s.id == pulse.id).unwrap();
    assert_eq!(
        (
            cancelled.status.as_str(),
            cancelled.sent,
            cancelled.done_by.as_deref()
        ),
        ("cancelled", None, Some(leader))
    );
    // The same day's pass again sends nothing more.
    let again = day_of_surveys(store, &config, d40).await;
    assert_eq!((again.emailed, again.in_app), (0, 0), "{again:?}");

    // A schedule whose day passed without a pass goes at the next one.
    let late = schedule(
        store,
        &config,
        "NPS",
        add_days(day, 75),
        add_days(day, 41),
        leader,
    )
    .await
    .unwrap();
    let out = day_of_surveys(store, &config, add_days(day, 80)).await;
    assert_eq!(out.emailed, 1, "{out:?}");
    let late = store
        .survey_schedules(false)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == late.id)
        .unwrap();
    assert_eq!((late.status.as_str(), late.sent), ("sent", Some(1)));
}
