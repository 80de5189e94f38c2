//! The day-by-day simulation of one account.
//!
//! An account lives through phases (trial, paid, churned, lost trial). Each
//! simulated day first applies scheduled transitions (a trial decision, a
//! term boundary, a return after churn), then moves the latent engagement,
//! then draws what can be observed: product usage, support tickets, survey
//! responses and CSM touch points. Days before the activity window are
//! simulated too, so that subscriptions have a true history, but only
//! subscription rows are recorded for them.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::{Span, Timestamp};

use super::names;
use super::rng::{Rng, STREAM_ACCOUNT, sigmoid};
use super::{AccountBundle, Calendar, Demo, Segment};
use crate::model::{
    Account, Contact, Currency, Engagement, Event, Money, Priority, Subscription, SurveyKind,
    SurveyResponse, Ticket, date_from_day, day_number,
};

const DAY_SECS: i64 = 86_400;

/// Probability that an average-weight seat holder uses the product on a
/// working day at full engagement (before the size damping below).
const USER_DAY_RATE: f64 = 0.25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Starter,
    Growth,
    Enterprise,
}

impl Plan {
    fn as_str(self) -> &'static str {
        match self {
            Plan::Starter => "starter",
            Plan::Growth => "growth",
            Plan::Enterprise => "enterprise",
        }
    }

    fn upgrade(self) -> Plan {
        match self {
            Plan::Starter => Plan::Growth,
            Plan::Growth | Plan::Enterprise => Plan::Enterprise,
        }
    }

    /// List price per seat per month in minor units, for USD, EUR and GBP.
    fn list_price(self, currency: Cur) -> f64 {
        let table = match self {
            Plan::Starter => [2500.0, 2300.0, 2000.0],
            Plan::Growth => [4900.0, 4500.0, 3900.0],
            Plan::Enterprise => [8900.0, 8200.0, 7000.0],
        };
        table[currency as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cur {
    Usd = 0,
    Eur = 1,
    Gbp = 2,
}

impl Cur {
    fn currency(self) -> Currency {
        let code = match self {
            Cur::Usd => "USD",
            Cur::Eur => "EUR",
            Cur::Gbp => "GBP",
        };
        Currency::parse(code).expect("valid ISO code")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Billing {
    Monthly,
    Annual,
}

impl Billing {
    fn months(self) -> i64 {
        match self {
            Billing::Monthly => 1,
            Billing::Annual => 12,
        }
    }

    /// Annual prepayment buys a 15% discount.
    fn price_factor(self) -> f64 {
        match self {
            Billing::Monthly => 1.0,
            Billing::Annual => 0.85,
        }
    }
}

/// Regions with their share of accounts and the UTC hour their working day peaks.
const REGIONS: [(&str, f64, f64); 4] = [
    ("NA", 0.50, 17.0),
    ("EMEA", 0.28, 11.0),
    ("APAC", 0.14, 3.0),
    ("LATAM", 0.08, 15.0),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Inbound,
    Outbound,
    Partner,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Inbound => "inbound",
            Source::Outbound => "outbound",
            Source::Partner => "partner",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Evaluating the product; the conversion decision falls on `decide`.
    Trial { decide: i32 },
    /// Paying, with an open subscription row.
    Paid,
    /// Churned; comes back on `back` if that day is within the simulation.
    Churned { back: Option<i32> },
    /// A trial that did not convert.
    Lost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EngKind {
    Onboarding,
    CheckIn,
    BusinessReview,
    EscalationSupport,
    EscalationUsage,
    /// A check-in where the CSM learns that the champion has left.
    ChampionLeft,
    /// A check-in where the CSM meets the new champion.
    NewChampion,
}

impl EngKind {
    fn as_str(self) -> &'static str {
        match self {
            EngKind::Onboarding => "onboarding",
            EngKind::CheckIn | EngKind::ChampionLeft | EngKind::NewChampion => "check_in",
            EngKind::BusinessReview => "business_review",
            EngKind::EscalationSupport | EngKind::EscalationUsage => "escalation_call",
        }
    }

    fn notes(self) -> &'static [&'static str] {
        match self {
            EngKind::Onboarding => &names::NOTES_ONBOARDING,
            EngKind::CheckIn => &names::NOTES_CHECK_IN,
            EngKind::BusinessReview => &names::NOTES_REVIEW,
            EngKind::EscalationSupport => &names::NOTES_ESCALATION_SUPPORT,
            EngKind::EscalationUsage => &names::NOTES_ESCALATION_USAGE,
            EngKind::ChampionLeft | EngKind::NewChampion => &[],
        }
    }
}

// Event kinds, as indices into EVENT_NAMES.
const LOGIN: u8 = 0;
const DASHBOARD: u8 = 1;
const REPORT: u8 = 2;
const INTEGRATION: u8 = 3;
const EXPORT: u8 = 4;
const INVITE: u8 = 5;
const API: u8 = 6;

/// The demo's ticket subjects, so that `/feedback` has text to theme.
const TICKET_SUBJECTS: [&str; 12] = [
    "Report export to CSV times out",
    "Cannot invite a new user to the workspace",
    "Salesforce integration stopped syncing",
    "Dashboard is slow to load",
    "Billing: invoice shows the wrong number of seats",
    "Feature request: scheduled reports by email",
    "API rate limit too low for our nightly sync",
    "Login fails with single sign-on",
    "Feature request: dark mode",
    "Charts missing after the last update",
    "How do I change the billing contact?",
    "Integration with Slack posts duplicate alerts",
];
const EVENT_NAMES: [&str; 7] = [
    "login",
    "dashboard_viewed",
    "report_created",
    "integration_synced",
    "export_created",
    "invite_sent",
    "api_call",
];

/// The subscription row currently running.
#[derive(Debug, Clone)]
struct OpenRow {
    /// Index into `Sim::subscriptions`.
    at: usize,
    start: i32,
    seats: i64,
    plan: Plan,
    billing: Billing,
    /// Billing anchor: terms start on anchor + k × term length.
    anchor: Date,
    /// Terms completed since the anchor.
    terms: i64,
    next_boundary: i32,
}

#[derive(Debug, Clone)]
struct ContactState {
    name: String,
    email: String,
    role: &'static str,
    champion: bool,
    /// Probability of answering a survey wave.
    responsiveness: f64,
    /// This person's personal lean, added to the account's sentiment.
    bias: f64,
    departed: bool,
    /// The day a departed contact left.
    left_on: Option<i32>,
}

#[derive(Debug, Clone, Copy)]
struct RecentTicket {
    opened_day: i32,
    closed_day: i32,
    priority: Priority,
}

/// One account's simulation state and output.
struct Sim<'a> {
    demo: &'a Demo,
    rng: Rng,
    index: u32,
    id: String,
    account: Account,
    domain: String,
    segment: Segment,
    region_peak: f64,
    cur: Cur,
    discount: f64,
    plan: Plan,
    billing: Billing,
    seats: i64,
    phase: Phase,
    ever_paid: bool,
    reactivated: bool,

    // Latent engagement, in logit space, and its smoothed levels.
    x: f64,
    mu: f64,
    mu_adj: f64,
    e: f64,
    ema30: f64,
    ema90: f64,
    life_start: i32,
    trial_sum: f64,
    trial_days: u32,

    row: Option<OpenRow>,
    subscriptions: Vec<Subscription>,

    // Seat holders: activity weight per seat, cumulative weights, id strings.
    weights: Vec<f64>,
    cumulative: Vec<f64>,
    picked_on: Vec<i32>,
    user_ids: Vec<String>,
    integration: Option<(usize, bool)>,
    integration_from: i32,
    api_from: Option<i32>,

    contacts: Vec<ContactState>,
    /// Latest NPS per contact: (day, score).
    nps_latest: Vec<Option<(i32, i64)>>,
    nps_offset: i32,
    had_champion: bool,
    champion_lost_on: Option<i32>,
    champion_losses: u32,
    replacement_on: Option<i32>,

    recent_tickets: Vec<RecentTicket>,
    incident_until: i32,

    next_review: i32,
    next_check_in: i32,
    pending: Vec<(i32, EngKind)>,
    last_escalation: i32,

    events: Vec<Event>,
    scratch: Vec<(i64, u32, u8, u16)>,
    tickets: Vec<Ticket>,
    surveys: Vec<SurveyResponse>,
    engagements: Vec<Engagement>,
}

/// Simulates account `index` of `demo`.
pub(super) fn simulate(demo: &Demo, index: u32) -> AccountBundle {
    let mut sim = Sim::new(demo, index);
    sim.run();
    sim.finish()
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).expect("simulated timestamps are within jiff's range")
}

fn add_months(date: Date, months: i64) -> Date {
    date.checked_add(Span::new().months(months))
        .expect("simulated dates are within jiff's range")
}

/// What is drawn about a company before its life is simulated.
#[derive(Debug, Clone, Copy)]
struct Profile {
    segment: Segment,
    /// Index into `names::INDUSTRIES`.
    industry: usize,
    /// Index into [`REGIONS`].
    region: usize,
    cur: Cur,
    employees: f64,
    seats: f64,
    plan: Plan,
    billing: Billing,
    source: Source,
    discount: f64,
}

impl Profile {
    /// Draws the segment first, then everything that depends on it.
    fn draw(rng: &mut Rng) -> Profile {
        let segment = rng.pick(&[
            (Segment::Smb, 0.62),
            (Segment::MidMarket, 0.28),
            (Segment::Enterprise, 0.10),
        ]);
        let industries: [(usize, f64); 9] = std::array::from_fn(|i| (i, names::INDUSTRIES[i].1));
        let industry = rng.pick(&industries);
        let regions: [(usize, f64); 4] = std::array::from_fn(|i| (i, REGIONS[i].1));
        let region = rng.pick(&regions);
        let cur = if REGIONS[region].0 == "EMEA" {
            rng.pick(&[(Cur::Usd, 0.60), (Cur::Eur, 0.25), (Cur::Gbp, 0.15)])
        } else {
            Cur::Usd
        };
        let (employees, seats) = match segment {
            Segment::Smb => {
                let emp = rng.lognormal(45f64.ln(), 0.8).clamp(5.0, 199.0);
                let seats = (emp * rng.lognormal(0.12f64.ln(), 0.5)).clamp(2.0, 60.0);
                (emp, seats)
            }
            Segment::MidMarket => {
                let emp = rng.lognormal(550f64.ln(), 0.6).clamp(200.0, 1999.0);
                let seats = (emp * rng.lognormal(0.045f64.ln(), 0.5)).clamp(8.0, 300.0);
                (emp, seats)
            }
            Segment::Enterprise => {
                let emp = rng.lognormal(6000f64.ln(), 0.9).clamp(2000.0, 150_000.0);
                let seats = (emp * rng.lognormal(0.02f64.ln(), 0.6)).clamp(25.0, 3000.0);
                (emp, seats)
            }
        };
        let plan = match segment {
            Segment::Smb => rng.pick(&[(Plan::Starter, 0.6), (Plan::Growth, 0.4)]),
            Segment::MidMarket => rng.pick(&[
                (Plan::Starter, 0.15),
                (Plan::Growth, 0.65),
                (Plan::Enterprise, 0.20),
            ]),
            Segment::Enterprise => rng.pick(&[(Plan::Growth, 0.25), (Plan::Enterprise, 0.75)]),
        };
        let annual_share = match segment {
            Segment::Smb => 0.25,
            Segment::MidMarket => 0.60,
            Segment::Enterprise => 0.95,
        };
        let billing = if rng.chance(annual_share) {
            Billing::Annual
        } else {
            Billing::Monthly
        };
        let source = match segment {
            Segment::Smb => rng.pick(&[
                (Source::Inbound, 0.70),
                (Source::Outbound, 0.15),
                (Source::Partner, 0.15),
            ]),
            Segment::MidMarket => rng.pick(&[
                (Source::Inbound, 0.45),
                (Source::Outbound, 0.40),
                (Source::Partner, 0.15),
            ]),
            Segment::Enterprise => rng.pick(&[
                (Source::Inbound, 0.20),
                (Source::Outbound, 0.60),
                (Source::Partner, 0.20),
            ]),
        };
        let discount = if segment == Segment::Enterprise {
            rng.uniform(0.0, 0.30)
        } else {
            0.0
        };
        Profile {
            segment,
            industry,
            region,
            cur,
            employees,
            seats,
            plan,
            billing,
            source,
            discount,
        }
    }
}

/// The day the account is acquired: a density growing by about 45% a year
/// from the vendor's first day to the end, sampled by inverting its CDF.
fn draw_created(rng: &mut Rng, cal: &Calendar) -> i32 {
    let span = f64::from(cal.end_day - cal.first_day + 1);
    let growth = 1.45f64.ln() / 365.0;
    let u = rng.f();
    let offset = ((1.0 + u * ((growth * span).exp() - 1.0)).ln() / growth).floor();
    cal.first_day + (offset as i32).min(cal.end_day - cal.first_day)
}

/// The trial the account starts with, if any: its first and last day.
fn draw_trial(rng: &mut Rng, p: &Profile, created: i32) -> Option<(i32, i32)> {
    let trial_share = match (p.source, p.segment) {
        (Source::Inbound, Segment::Enterprise) => 0.30,
        (Source::Inbound, _) => 0.75,
        (Source::Outbound, _) => 0.10,
        (Source::Partner, _) => 0.35,
    };
    if rng.chance(trial_share) {
        let end = created + rng.int(14, 30);
        Some((created, end))
    } else {
        None
    }
}

/// The account record; its plan and CSM are filled in when the simulation
/// finishes.
fn account_record(
    id: String,
    name: String,
    p: &Profile,
    created: i32,
    trial: Option<(i32, i32)>,
) -> Account {
    Account {
        id,
        name,
        industry: Some(names::INDUSTRIES[p.industry].0.to_string()),
        employees: Some(p.employees.round() as i64),
        region: Some(REGIONS[p.region].0.to_string()),
        plan: None,
        csm_email: None,
        created_at: Some(date_from_day(created)),
        trial_start: trial.map(|(s, _)| date_from_day(s)),
        trial_end: trial.map(|(_, e)| date_from_day(e)),
        attributes: BTreeMap::from([
            ("segment".to_string(), p.segment.as_str().to_string()),
            ("source".to_string(), p.source.as_str().to_string()),
        ]),
    }
}

impl<'a> Sim<'a> {
    /// Draws the company (its profile, acquisition day, trial and name),
    /// then its contacts and latent fit, and opens its first phase. Every
    /// draw comes from the account's own stream, in this order.
    fn new(demo: &'a Demo, index: u32) -> Sim<'a> {
        let cal = demo.calendar();
        let mut rng = Rng::new(demo.seed(), STREAM_ACCOUNT, u64::from(index));
        let p = Profile::draw(&mut rng);
        let created = draw_created(&mut rng, cal);
        let trial = draw_trial(&mut rng, &p, created);
        let (name, slug) = names::company(
            rng.index(names::COMPANY_STEM_COUNT),
            p.industry,
            rng.index(4),
        );
        let account = account_record(format!("acc-{index:06}"), name, &p, created, trial);

        let domain = format!("{slug}.example");
        let mut sim = Sim::blank(demo, rng, index, account, domain, &p, created);
        sim.nps_offset = sim.rng.int(0, 90);
        sim.make_contacts();
        sim.set_latent_fit(p.source);
        sim.resize_users(sim.seats);

        match trial {
            Some((start, end)) => {
                let decide = (end + sim.rng.int(-3, 5)).max(start + 7);
                sim.phase = Phase::Trial { decide };
            }
            None => sim.start_paying(created),
        }
        sim
    }

    /// The state before the first draw after the profile: no contacts, users,
    /// subscriptions or records yet, engagement at its neutral level.
    fn blank(
        demo: &'a Demo,
        rng: Rng,
        index: u32,
        account: Account,
        domain: String,
        p: &Profile,
        created: i32,
    ) -> Sim<'a> {
        Sim {
            demo,
            index,
            id: account.id.clone(),
            account,
            domain,
            segment: p.segment,
            region_peak: REGIONS[p.region].2,
            cur: p.cur,
            discount: p.discount,
            plan: p.plan,
            billing: p.billing,
            seats: p.seats.round() as i64,
            phase: Phase::Lost,
            ever_paid: false,
            reactivated: false,
            x: 0.0,
            mu: 0.0,
            mu_adj: 0.0,
            e: 0.5,
            ema30: 0.5,
            ema90: 0.5,
            life_start: created,
            trial_sum: 0.0,
            trial_days: 0,
            row: None,
            subscriptions: Vec::new(),
            weights: Vec::new(),
            cumulative: Vec::new(),
            picked_on: Vec::new(),
            user_ids: Vec::new(),
            integration: None,
            integration_from: i32::MAX,
            api_from: None,
            contacts: Vec::new(),
            nps_latest: Vec::new(),
            nps_offset: 0,
            had_champion: false,
            champion_lost_on: None,
            champion_losses: 0,
            replacement_on: None,
            recent_tickets: Vec::new(),
            incident_until: i32::MIN,
            next_review: i32::MAX,
            next_check_in: i32::MAX,
            pending: Vec::new(),
            last_escalation: i32::MIN / 2,
            events: Vec::new(),
            scratch: Vec::new(),
            tickets: Vec::new(),
            surveys: Vec::new(),
            engagements: Vec::new(),
            rng,
        }
    }

    /// Latent fit: the level engagement reverts to in the long run, and
    /// engagement starting one below it. Needs the contacts (an account
    /// without a champion fits worse).
    fn set_latent_fit(&mut self, source: Source) {
        let mut mu = 0.35 + 1.1 * self.rng.normal();
        mu += match self.segment {
            Segment::Smb => 0.0,
            Segment::MidMarket => 0.1,
            Segment::Enterprise => 0.25,
        };
        mu += match source {
            Source::Inbound => 0.0,
            Source::Outbound => -0.1,
            Source::Partner => 0.15,
        };
        if !self.had_champion {
            mu -= 0.35;
        }
        self.mu = mu;
        self.x = mu - 1.0;
        self.e = sigmoid(self.x);
        self.ema30 = self.e;
        self.ema90 = self.e;
    }
}

impl Sim<'_> {
    // ---- Set-up -------------------------------------------------------------

    fn make_contacts(&mut self) {
        let n = match self.segment {
            Segment::Smb => self.rng.int(2, 4),
            Segment::MidMarket => self.rng.int(4, 8),
            Segment::Enterprise => self.rng.int(7, 13),
        } as usize;
        let mut roles = vec!["end user"; n];
        roles[0] = "admin";
        let mut next = 1;
        if self.segment != Segment::Smb {
            roles[next] = "executive sponsor";
            next += 1;
        }
        if next < n && (self.segment != Segment::Smb || self.rng.chance(0.5)) {
            roles[next] = "billing";
        }
        let p_champion = match self.segment {
            Segment::Smb => 0.70,
            Segment::MidMarket => 0.80,
            Segment::Enterprise => 0.85,
        };
        let champion = if self.rng.chance(p_champion) {
            let power_user = roles.iter().position(|r| *r == "end user");
            Some(match power_user {
                Some(i) if !self.rng.chance(0.6) => i,
                _ => 0,
            })
        } else {
            None
        };
        self.had_champion = champion.is_some();
        for (i, role) in roles.into_iter().enumerate() {
            self.add_contact(role, champion == Some(i));
        }
    }

    fn add_contact(&mut self, role: &'static str, champion: bool) {
        let first = names::FIRST_NAMES[self.rng.index(names::FIRST_NAMES.len())];
        let last = names::LAST_NAMES[self.rng.index(names::LAST_NAMES.len())];
        let mut email = format!("{first}.{last}@{}", self.domain).to_ascii_lowercase();
        if self.contacts.iter().any(|c| c.email == email) {
            email = format!("{first}.{last}{}@{}", self.contacts.len() + 1, self.domain)
                .to_ascii_lowercase();
        }
        let responsiveness = if champion || role == "executive sponsor" {
            0.5
        } else if self.rng.chance(0.4) {
            0.45
        } else {
            0.12
        };
        let bias = 0.08 * self.rng.normal();
        self.contacts.push(ContactState {
            name: format!("{first} {last}"),
            email,
            role,
            champion,
            responsiveness,
            bias,
            departed: false,
            left_on: None,
        });
        self.nps_latest.push(None);
    }

    /// Sets the number of seat holders, drawing activity weights for new ones:
    /// a fifth of seats are nearly idle, the rest log-normal around 1. The
    /// first seat belongs to the champion, if any, who uses the product most.
    fn resize_users(&mut self, seats: i64) {
        let n = seats.max(1) as usize;
        while self.weights.len() < n {
            let mut w = if self.rng.chance(0.2) {
                0.03
            } else {
                self.rng.lognormal(-0.3, 0.8)
            };
            if self.weights.is_empty() && self.had_champion {
                w = 3.0 * w.max(0.5);
            }
            self.weights.push(w);
        }
        self.weights.truncate(n);
        self.picked_on.resize(n, i32::MIN);
        self.rebuild_cumulative();
    }

    fn rebuild_cumulative(&mut self) {
        self.cumulative.clear();
        let mut total = 0.0;
        for w in &self.weights {
            total += w;
            self.cumulative.push(total);
        }
    }

    fn user_id(&mut self, user: usize) -> String {
        while self.user_ids.len() <= user {
            let n = self.user_ids.len() + 1;
            self.user_ids.push(format!("u-{:06}-{n:02}", self.index));
        }
        self.user_ids[user].clone()
    }

    // ---- The daily loop -------------------------------------------------------

    fn run(&mut self) {
        let cal = self.demo.calendar();
        let end_day = cal.end_day;
        let window_start = cal.window_start;
        let mut d = self.life_start;
        while d <= end_day {
            match self.phase {
                Phase::Trial { decide } if d == decide => self.decide_trial(d),
                Phase::Paid => self.paid_transitions(d),
                Phase::Churned { back: Some(back) } => {
                    if d < back {
                        d = back;
                        continue;
                    }
                    self.reactivate(d);
                }
                Phase::Churned { back: None } | Phase::Lost => break,
                Phase::Trial { .. } => {}
            }
            if !matches!(self.phase, Phase::Trial { .. } | Phase::Paid) {
                d += 1;
                continue;
            }
            let paid = self.phase == Phase::Paid;
            let emit = d >= window_start;
            self.step_latent(d);
            if paid {
                self.shocks(d);
            }
            if emit {
                self.usage(d);
            }
            self.support(d, emit);
            if paid {
                self.surveys(d);
                self.csm(d, emit);
            }
            d += 1;
        }
    }

    fn decide_trial(&mut self, d: i32) {
        let mean = self.trial_sum / f64::from(self.trial_days.max(1));
        if self.rng.chance(sigmoid(-0.4 + 8.0 * (mean - 0.45))) {
            self.start_paying(d);
        } else {
            self.phase = Phase::Lost;
        }
    }

    fn start_paying(&mut self, d: i32) {
        self.phase = Phase::Paid;
        self.ever_paid = true;
        self.open_row(d, date_from_day(d), 0);
        let sessions = match self.segment {
            Segment::Enterprise => 3,
            Segment::MidMarket => 2,
            Segment::Smb => i32::from(self.rng.chance(0.7)),
        };
        for (lo, hi) in [(1, 7), (8, 21), (22, 40)]
            .into_iter()
            .take(sessions as usize)
        {
            let day = d + self.rng.int(lo, hi);
            self.pending.push((day, EngKind::Onboarding));
        }
        self.next_check_in = d + self.check_in_interval();
        self.next_review = d + self.review_interval();
        let (p_integration, p_api) = match self.segment {
            Segment::Smb => (0.30, 0.10),
            Segment::MidMarket => (0.55, 0.30),
            Segment::Enterprise => (0.75, 0.60),
        };
        if self.integration.is_none() && self.rng.chance(p_integration) {
            let which = self.rng.index(names::INTEGRATIONS.len());
            self.integration = Some((which, true));
            self.integration_from = d + self.rng.int(3, 60);
        }
        if self.api_from.is_none() && self.rng.chance(p_api) {
            self.api_from = Some(d + self.rng.int(14, 120));
        }
    }

    fn open_row(&mut self, d: i32, anchor: Date, terms: i64) {
        let months = self.billing.months();
        let next_boundary = day_number(add_months(anchor, months * (terms + 1)));
        let price = self.plan.list_price(self.cur) * self.billing.price_factor();
        let mrr = (self.seats as f64 * price * (1.0 - self.discount) / 100.0).round() * 100.0;
        let n = self.subscriptions.len() + 1;
        self.subscriptions.push(Subscription {
            id: format!("sub-{:06}-{n:02}", self.index),
            account_id: self.id.clone(),
            mrr: Money::new(mrr as i64, self.cur.currency()),
            plan: Some(self.plan.as_str().to_string()),
            seats: Some(self.seats),
            start_date: date_from_day(d),
            end_date: None,
            renewal_date: None,
        });
        self.row = Some(OpenRow {
            at: n - 1,
            start: d,
            seats: self.seats,
            plan: self.plan,
            billing: self.billing,
            anchor,
            terms,
            next_boundary,
        });
    }

    /// Ends the running row on `d` (exclusive); `renewal` is the first day of
    /// the term that would have followed.
    fn close_row(&mut self, d: i32, renewal: i32) {
        if let Some(row) = self.row.take() {
            let sub = &mut self.subscriptions[row.at];
            sub.end_date = Some(date_from_day(d));
            sub.renewal_date = Some(date_from_day(renewal));
        }
    }

    fn paid_transitions(&mut self, d: i32) {
        let Some(row) = &self.row else { return };
        if d == row.next_boundary {
            self.boundary(d);
        } else if row.billing == Billing::Annual && d > row.start {
            // Annual contracts rarely end mid-term (closure, termination for
            // cause): about 1% a year, more when engagement has collapsed.
            let hazard = 0.01 / 365.0 * (3.0 * (0.5 - self.ema30)).exp();
            if self.rng.chance(hazard) {
                let renewal = row.next_boundary;
                self.churn(d, renewal);
            }
        }
    }

    /// The churn decision at the end of a term, and otherwise the terms of
    /// the next one: seats, plan and billing period.
    fn boundary(&mut self, d: i32) {
        let row = self.row.clone().expect("a paid account has a running row");
        let e = match row.billing {
            Billing::Monthly => self.ema30,
            Billing::Annual => self.ema90,
        };
        if self.rng.chance(self.churn_probability(d, &row, e)) {
            self.churn(d, d);
            return;
        }
        let de = e - 0.5;
        let pain = self.pain(d);
        let (p_expand, p_contract, p_upgrade, p_to_annual) = match row.billing {
            Billing::Monthly => (
                sigmoid(-4.0 + 5.0 * de),
                sigmoid(-4.4 - 5.0 * de + 0.3 * pain),
                sigmoid(-5.2 + 5.0 * de),
                if de > 0.0 { 0.012 } else { 0.0 },
            ),
            Billing::Annual => (
                sigmoid(-1.4 + 4.0 * de),
                sigmoid(-2.3 - 4.0 * de + 0.3 * pain),
                sigmoid(-2.8 + 4.0 * de),
                0.0,
            ),
        };
        let mut seats = row.seats;
        if self.rng.chance(p_expand) {
            let grown = (seats as f64 * self.rng.uniform(1.1, 1.6)).ceil() as i64;
            seats = grown.max(seats + 1);
        } else if seats > 1 && self.rng.chance(p_contract) {
            let shrunk = (seats as f64 * self.rng.uniform(0.55, 0.9)).floor() as i64;
            seats = shrunk.clamp(1, seats - 1);
        }
        let mut plan = row.plan;
        if plan != Plan::Enterprise && self.rng.chance(p_upgrade) {
            plan = plan.upgrade();
        }
        let billing = if self.rng.chance(p_to_annual) {
            Billing::Annual
        } else {
            row.billing
        };
        let changed = seats != row.seats || plan != row.plan || billing != row.billing;
        if changed || row.billing == Billing::Annual {
            // Annual contracts get a row per term; any change gets a new row.
            self.close_row(d, d);
            self.seats = seats;
            self.plan = plan;
            if seats != row.seats {
                self.resize_users(seats);
            }
            if billing != row.billing {
                self.billing = billing;
                self.open_row(d, date_from_day(d), 0);
            } else {
                self.open_row(d, row.anchor, row.terms + 1);
            }
        } else if let Some(open) = &mut self.row {
            open.terms += 1;
            open.next_boundary = day_number(add_months(
                open.anchor,
                open.billing.months() * (open.terms + 1),
            ));
        }
    }

    /// Probability of not renewing at the end of a term: the churn hazard.
    fn churn_probability(&self, d: i32, row: &OpenRow, e: f64) -> f64 {
        let mut z = match row.billing {
            Billing::Monthly => -3.55,
            Billing::Annual => -1.85,
        };
        z -= 7.0 * (e - 0.5);
        z += 0.6 * self.pain(d);
        if let Some(nps) = self.recent_nps(d) {
            if nps <= 6.0 {
                z += 0.5 + 0.1 * (6.0 - nps);
            } else if nps >= 9.0 {
                z -= 0.4;
            }
        }
        if self.had_champion {
            let has_champion = self.contacts.iter().any(|c| c.champion && !c.departed);
            if !has_champion {
                z += 0.9;
            } else if self.champion_lost_on.is_some_and(|l| d - l < 180) {
                z += 0.3;
            }
        } else {
            z += 0.25;
        }
        z += match self.segment {
            Segment::Smb => 0.0,
            Segment::MidMarket => -0.1,
            Segment::Enterprise => -0.3,
        };
        let early = match row.billing {
            Billing::Monthly => row.terms < 3,
            Billing::Annual => row.terms == 0,
        };
        if early {
            z += 0.3;
        }
        sigmoid(z)
    }

    fn churn(&mut self, d: i32, renewal: i32) {
        self.close_row(d, renewal);
        self.pending.clear();
        let end_day = self.demo.calendar().end_day;
        let back = if !self.reactivated && self.rng.chance(sigmoid(-1.6 + 2.0 * (self.ema90 - 0.5)))
        {
            let day = d + 60 + self.rng.exponential(200.0) as i32;
            (day <= end_day).then_some(day)
        } else {
            None
        };
        self.phase = Phase::Churned { back };
    }

    /// A churned account comes back: smaller, on a fresh subscription, with
    /// engagement reset close to its long-run level.
    fn reactivate(&mut self, d: i32) {
        self.reactivated = true;
        self.life_start = d;
        let seats = (self.seats as f64 * self.rng.uniform(0.5, 1.0)).round() as i64;
        self.seats = seats.max(1);
        self.resize_users(self.seats);
        self.mu += 0.3;
        self.mu_adj = 0.0;
        self.x = self.mu - 0.5;
        self.start_paying(d);
    }

    // ---- Latent engagement ----------------------------------------------------

    /// A mean-reverting random walk in logit space, faster during onboarding,
    /// with rare disruptions (reorganisation, budget cuts) and rare new use
    /// cases that lift the long-run level.
    fn step_latent(&mut self, d: i32) {
        let theta = if d - self.life_start < 45 { 0.07 } else { 0.03 };
        self.mu_adj *= 0.998;
        let target = self.mu + self.mu_adj;
        self.x += theta * (target - self.x) + 0.11 * self.rng.normal();
        if self.rng.chance(1.0 / 700.0) {
            self.x -= 0.3 + 0.4 * self.rng.f();
        }
        if self.rng.chance(1.0 / 1200.0) {
            self.mu_adj += 0.3;
        }
        self.e = sigmoid(self.x);
        self.ema30 += (self.e - self.ema30) / 30.0;
        self.ema90 += (self.e - self.ema90) / 90.0;
        if matches!(self.phase, Phase::Trial { .. }) {
            self.trial_sum += self.e;
            self.trial_days += 1;
        }
    }

    /// Champion loss and replacement, and product incidents.
    fn shocks(&mut self, d: i32) {
        if self.champion_losses < 2
            && self.rng.chance(0.13 / 365.0)
            && let Some(ci) = self.contacts.iter().position(|c| c.champion && !c.departed)
        {
            self.contacts[ci].departed = true;
            self.contacts[ci].left_on = Some(d);
            self.contacts[ci].champion = false;
            self.champion_lost_on = Some(d);
            self.champion_losses += 1;
            self.x -= 0.6;
            self.mu_adj -= 0.7;
            // The champion's seat goes quiet.
            self.weights[0] = 0.0;
            self.rebuild_cumulative();
            if self.rng.chance(0.6) {
                self.replacement_on = Some(d + self.rng.int(30, 150));
            }
            // The CSM finds out, sooner in high-touch accounts.
            let (p_notice, slowest) = match self.segment {
                Segment::Enterprise => (0.95, 14),
                Segment::MidMarket => (0.8, 30),
                Segment::Smb => (0.4, 60),
            };
            if self.rng.chance(p_notice) {
                let day = d + self.rng.int(2, slowest);
                self.pending.push((day, EngKind::ChampionLeft));
            }
        }
        if self.replacement_on == Some(d) {
            self.replacement_on = None;
            let role = self
                .contacts
                .iter()
                .rev()
                .find(|c| c.departed)
                .map_or("admin", |c| c.role);
            self.add_contact(role, true);
            self.pending
                .push((d + self.rng.int(1, 10), EngKind::NewChampion));
            self.mu_adj += 0.5;
            self.x += 0.2;
            // The new champion is another seat holder, never the departed one's seat.
            let seats = self.weights.len();
            let user = if seats > 1 {
                1 + self.rng.index(seats - 1)
            } else {
                0
            };
            self.weights[user] = 3.0 * self.weights[user].max(0.5);
            self.rebuild_cumulative();
        }
        if self.rng.chance(1.0 / 500.0) {
            self.incident_until = d + self.rng.int(2, 7);
            self.x -= 0.4;
        }
    }

    // ---- Product usage --------------------------------------------------------

    /// A time of day in seconds around the region's working-day peak.
    fn time_of_day(&mut self, sd_hours: f64) -> i64 {
        let h = (self.region_peak + sd_hours * self.rng.normal()).rem_euclid(24.0);
        ((h * 3600.0) as i64).min(DAY_SECS - 1)
    }

    fn usage(&mut self, d: i32) {
        let cal = self.demo.calendar();
        let activity = cal.activity(d);
        let weekend = cal.is_weekend(d);
        let seats = self.weights.len();
        let size_damping = (10.0 / seats as f64).sqrt().min(1.0);
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let lambda = USER_DAY_RATE * self.e.powf(1.5) * activity * total * size_damping;
        let users = self.rng.poisson(lambda).min(seats as u32);
        self.scratch.clear();
        for _ in 0..users {
            if let Some(user) = self.pick_user(d, total) {
                self.session(d, user);
            }
        }
        if let Some((which, on)) = self.integration
            && d >= self.integration_from
        {
            // Integrations break when nobody looks after them, and get fixed
            // when the team is engaged again.
            let on = if on {
                !(self.e < 0.25 && self.rng.chance(0.01))
            } else {
                self.e > 0.5 && self.rng.chance(0.01)
            };
            self.integration = Some((which, on));
            let p = (0.3 + 0.6 * self.e) * if weekend { 0.4 } else { 1.0 };
            if on && self.rng.chance(p) {
                let t = self.time_of_day(4.0);
                let records = self.rng.lognormal(5.0, 1.0).min(60_000.0) as u16;
                self.scratch
                    .push((t, u32::from(seats > 1), INTEGRATION, records));
            }
        }
        if self.api_from.is_some_and(|from| d >= from) {
            let lambda = 1.2 * self.e * activity * (1.0 + seats as f64 / 50.0).min(4.0);
            let user = seats.min(3) as u32 - 1;
            for _ in 0..self.rng.poisson(lambda) {
                let t = self.rng.int(0, DAY_SECS as i32 - 1) as i64;
                let aux = self.rng.index(names::API_PROPS.len()) as u16;
                self.scratch.push((t, user, API, aux));
            }
        }
        if self.scratch.is_empty() {
            return;
        }
        self.scratch.sort_by_key(|s| s.0);
        let day_start = i64::from(d) * DAY_SECS;
        let scratch = std::mem::take(&mut self.scratch);
        for &(t, user, kind, aux) in &scratch {
            let user_id = self.user_id(user as usize);
            let properties = self.properties(kind, aux);
            self.events.push(Event {
                timestamp: ts(day_start + t),
                account_id: self.id.clone(),
                user_id,
                event: EVENT_NAMES[kind as usize].to_string(),
                properties,
                message_id: None,
            });
        }
        self.scratch = scratch;
    }

    /// A seat holder drawn by activity weight, at most once a day.
    fn pick_user(&mut self, d: i32, total: f64) -> Option<usize> {
        let n = self.weights.len();
        for _ in 0..4 {
            let r = self.rng.f() * total;
            let u = self.cumulative.partition_point(|&c| c <= r).min(n - 1);
            if self.picked_on[u] != d && self.weights[u] > 0.0 {
                self.picked_on[u] = d;
                return Some(u);
            }
        }
        None
    }

    /// One working session: a login (or a return to an open dashboard), then
    /// a few actions a couple of minutes apart. Engaged accounts do more per
    /// session and more of the key actions.
    fn session(&mut self, d: i32, user: usize) {
        let mut t = self.time_of_day(2.6);
        let n = 1 + self.rng.poisson(0.8 + 2.2 * self.e);
        let onboarding = d - self.life_start < 60;
        let user = user as u32;
        let first = if self.rng.chance(0.7) {
            LOGIN
        } else {
            DASHBOARD
        };
        let aux = self.rng.index(names::DASHBOARD_PROPS.len()) as u16;
        self.scratch.push((t, user, first, aux));
        let weights = [
            (DASHBOARD, 0.5),
            (REPORT, 0.10 + 0.25 * self.e),
            (EXPORT, 0.08),
            (INVITE, if onboarding { 0.10 } else { 0.02 }),
        ];
        for _ in 1..n {
            t += 20 + self.rng.exponential(150.0) as i64;
            if t >= DAY_SECS {
                break;
            }
            let kind = self.rng.pick(&weights);
            let aux = self.rng.index(6) as u16;
            self.scratch.push((t, user, kind, aux));
        }
    }

    fn properties(&self, kind: u8, aux: u16) -> Option<String> {
        let pick = |pool: &[&str]| Some(pool[aux as usize % pool.len()].to_string());
        match kind {
            DASHBOARD => pick(&names::DASHBOARD_PROPS),
            REPORT => pick(&names::REPORT_PROPS),
            EXPORT => pick(&names::EXPORT_PROPS),
            INVITE => pick(&names::INVITE_PROPS),
            API => pick(&names::API_PROPS),
            INTEGRATION => {
                let which = self.integration.map_or(0, |(w, _)| w);
                Some(format!(
                    r#"{{"integration":"{}","records":{aux}}}"#,
                    names::INTEGRATIONS[which]
                ))
            }
            _ => None,
        }
    }

    // ---- Support --------------------------------------------------------------

    fn support(&mut self, d: i32, emit: bool) {
        let weekend = self.demo.calendar().is_weekend(d);
        let incident = d <= self.incident_until;
        let base = 0.018 * (self.seats.max(3) as f64 / 5.0).sqrt();
        let mut lambda = base * (0.4 + 1.6 * (1.0 - self.e));
        if incident {
            lambda *= 6.0;
        }
        if weekend {
            lambda *= 0.3;
        }
        if matches!(self.phase, Phase::Trial { .. }) {
            lambda *= 0.3;
        }
        for _ in 0..self.rng.poisson(lambda) {
            self.open_ticket(d, incident, emit);
        }
        self.recent_tickets
            .retain(|t| t.opened_day > d - 90 || t.closed_day > d);
    }

    fn open_ticket(&mut self, d: i32, incident: bool, emit: bool) {
        let priority = if incident {
            self.rng.pick(&[
                (Priority::Low, 0.05),
                (Priority::Normal, 0.25),
                (Priority::High, 0.40),
                (Priority::Urgent, 0.30),
            ])
        } else {
            self.rng.pick(&[
                (Priority::Low, 0.25),
                (Priority::Normal, 0.52),
                (Priority::High, 0.17),
                (Priority::Urgent, 0.06),
            ])
        };
        let (median_hours, p_fcr) = match priority {
            Priority::Low => (60.0, 0.75),
            Priority::Normal => (30.0, 0.70),
            Priority::High => (12.0, 0.50),
            Priority::Urgent => (5.0, 0.35),
        };
        let (median_hours, p_fcr) = if incident {
            (median_hours * 1.5, p_fcr - 0.2)
        } else {
            (median_hours, p_fcr)
        };
        let fcr = self.rng.chance(p_fcr);
        let mut hours = self.rng.lognormal(f64::ln(median_hours), 0.9);
        if fcr {
            hours *= 0.25;
        }
        let hours = hours.max(0.15);
        let opened = i64::from(d) * DAY_SECS + self.time_of_day(3.0);
        let closed = opened + (hours * 3600.0) as i64;
        let end_secs = self.end_secs();
        let closed_in_time = closed <= end_secs;
        let csat = if closed_in_time && self.rng.chance(0.5) {
            let mean = 3.3 + if fcr { 1.0 } else { 0.0 } - 0.45 * (hours / 24.0).ln()
                + 1.2 * (self.e - 0.5);
            Some((mean + 0.7 * self.rng.normal()).round().clamp(1.0, 5.0) as i64)
        } else {
            None
        };

        // A bad support experience hurts engagement.
        match priority {
            Priority::Urgent => self.x -= 0.25,
            Priority::High => self.x -= 0.08,
            _ => {}
        }
        if hours > 72.0 {
            self.x -= 0.1;
        }
        if priority == Priority::Urgent
            && self.phase == Phase::Paid
            && d - self.last_escalation > 21
        {
            let p = match self.segment {
                Segment::Enterprise => 0.7,
                Segment::MidMarket => 0.5,
                Segment::Smb => 0.25,
            };
            if self.rng.chance(p) {
                let day = d + self.rng.int(1, 3);
                self.pending.push((day, EngKind::EscalationSupport));
                self.last_escalation = d;
            }
        }
        self.recent_tickets.push(RecentTicket {
            opened_day: d,
            closed_day: closed.div_euclid(DAY_SECS) as i32,
            priority,
        });
        if !emit {
            return;
        }
        self.tickets.push(Ticket {
            id: String::new(),
            account_id: self.id.clone(),
            opened_at: ts(opened),
            closed_at: closed_in_time.then(|| ts(closed)),
            priority: Some(priority),
            first_contact_resolved: closed_in_time.then_some(fcr),
            csat,
            // Picked from the time it opened, not drawn: the random stream
            // (and so every other number of the demo) stays as it was.
            subject: Some(
                TICKET_SUBJECTS[opened.rem_euclid(TICKET_SUBJECTS.len() as i64) as usize]
                    .to_string(),
            ),
            description: None,
        });
        if closed_in_time {
            // Transactional surveys after the ticket closes.
            let delay = (self.rng.uniform(0.5, 72.0) * 3600.0) as i64;
            let fcr_bonus = if fcr { 1.0 } else { 0.0 };
            let slow = (hours / 24.0).ln();
            if self.rng.chance(0.12) {
                let mean = 3.0 + fcr_bonus - 0.4 * slow + 1.5 * (self.e - 0.5);
                let score = (mean + 0.8 * self.rng.normal()).round().clamp(1.0, 5.0) as i64;
                let comment = if self.rng.chance(0.3) {
                    let i = if score >= 4 { 0 } else { 1 + self.rng.index(2) };
                    let i = if fcr && score >= 4 { 3 } else { i };
                    Some(names::CSAT_COMMENTS[i])
                } else {
                    None
                };
                self.respond(closed + delay, SurveyKind::Csat, score, comment);
            }
            if self.rng.chance(0.15) {
                let mean = 4.3 + 1.3 * fcr_bonus - 0.5 * slow + 2.0 * (self.e - 0.5);
                let score = (mean + 0.9 * self.rng.normal()).round().clamp(1.0, 7.0) as i64;
                self.respond(closed + delay + 60, SurveyKind::Ces, score, None);
            }
        }
    }

    /// Support pain over the last 90 days: tickets weighted by priority plus
    /// tickets open for more than a week, relative to the account's size.
    fn pain(&self, d: i32) -> f64 {
        let mut pain = 0.0;
        for t in &self.recent_tickets {
            if t.opened_day > d - 90 && t.opened_day <= d {
                pain += match t.priority {
                    Priority::Low => 0.1,
                    Priority::Normal => 0.25,
                    Priority::High => 0.6,
                    Priority::Urgent => 1.0,
                };
            }
            if t.opened_day <= d - 7 && t.closed_day > d {
                pain += 0.4;
            }
        }
        (pain / (self.seats.max(5) as f64 / 5.0).sqrt()).min(4.0)
    }

    fn end_secs(&self) -> i64 {
        (i64::from(self.demo.calendar().end_day) + 1) * DAY_SECS - 1
    }

    // ---- Surveys --------------------------------------------------------------

    /// How a contact feels about the product: mostly engagement, partly
    /// support pain, plus a personal lean.
    fn sentiment(&self, pain: f64, contact: usize) -> f64 {
        0.7 * self.e + 0.3 * (1.0 - pain.min(3.0) / 3.0) + self.contacts[contact].bias
    }

    fn present_contact(&mut self) -> Option<usize> {
        let present = self.contacts.iter().filter(|c| !c.departed).count();
        if present == 0 {
            return None;
        }
        let k = self.rng.index(present);
        self.contacts
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.departed)
            .nth(k)
            .map(|(i, _)| i)
    }

    fn surveys(&mut self, d: i32) {
        // Quarterly NPS waves.
        if (d - self.nps_offset).rem_euclid(91) == 0 && d - self.life_start >= 30 {
            let pain = self.pain(d);
            for ci in 0..self.contacts.len() {
                if self.contacts[ci].departed || !self.rng.chance(self.contacts[ci].responsiveness)
                {
                    continue;
                }
                let day = d + self.rng.int(0, 9);
                let secs = i64::from(day) * DAY_SECS + self.time_of_day(3.0);
                let s = self.sentiment(pain, ci);
                let score = (2.5 + 8.5 * s + 1.5 * self.rng.normal())
                    .round()
                    .clamp(0.0, 10.0) as i64;
                self.nps_latest[ci] = Some((day, score));
                let comment = if self.rng.chance(0.25) {
                    let pool: &[&str] = match score {
                        0..=6 => &names::NPS_DETRACTOR,
                        7..=8 => &names::NPS_PASSIVE,
                        _ => &names::NPS_PROMOTER,
                    };
                    Some(pool[self.rng.index(pool.len())])
                } else {
                    None
                };
                self.respond_as(secs, SurveyKind::Nps, score, Some(ci), comment);
            }
        }
        // In-app CSAT prompts, about once a year per contact.
        let present = self.contacts.iter().filter(|c| !c.departed).count();
        if self.rng.chance(0.0025 * present as f64)
            && let Some(ci) = self.present_contact()
        {
            let s = self.sentiment(self.pain(d), ci);
            let score = (1.8 + 3.4 * s + 0.8 * self.rng.normal())
                .round()
                .clamp(1.0, 5.0) as i64;
            let secs = i64::from(d) * DAY_SECS + self.time_of_day(2.6);
            self.respond_as(secs, SurveyKind::Csat, score, Some(ci), None);
        }
        // An effort survey a month after onboarding starts.
        if d == self.life_start + 30
            && self.rng.chance(0.35)
            && let Some(ci) = self.present_contact()
        {
            let score = (2.5 + 4.5 * self.e + 0.9 * self.rng.normal())
                .round()
                .clamp(1.0, 7.0) as i64;
            let secs = i64::from(d) * DAY_SECS + self.time_of_day(2.6);
            self.respond_as(secs, SurveyKind::Ces, score, Some(ci), None);
        }
    }

    /// Mean of the contacts' latest NPS answers from the last 180 days.
    fn recent_nps(&self, d: i32) -> Option<f64> {
        let (sum, n) = self
            .nps_latest
            .iter()
            .flatten()
            .filter(|(day, _)| *day <= d && *day > d - 180)
            .fold((0, 0), |(s, n), (_, score)| (s + score, n + 1));
        (n > 0).then(|| sum as f64 / f64::from(n))
    }

    /// Records a response from a random present contact.
    fn respond(&mut self, secs: i64, kind: SurveyKind, score: i64, comment: Option<&str>) {
        let contact = self.present_contact();
        self.respond_as(secs, kind, score, contact, comment);
    }

    /// Records a response if it falls inside the activity window.
    fn respond_as(
        &mut self,
        secs: i64,
        kind: SurveyKind,
        score: i64,
        contact: Option<usize>,
        comment: Option<&str>,
    ) {
        let cal = self.demo.calendar();
        if secs > self.end_secs() || secs < i64::from(cal.window_start) * DAY_SECS {
            return;
        }
        self.surveys.push(SurveyResponse {
            id: String::new(),
            account_id: self.id.clone(),
            contact_id: contact.map(|ci| format!("con-{:06}-{:02}", self.index, ci + 1)),
            kind,
            score,
            responded_at: ts(secs),
            comment: comment.map(str::to_string),
        });
    }

    // ---- CSM touch points -----------------------------------------------------

    fn check_in_interval(&mut self) -> i32 {
        match self.segment {
            Segment::Enterprise => self.rng.int(10, 30),
            Segment::MidMarket => self.rng.int(25, 60),
            Segment::Smb => self.rng.int(60, 150),
        }
    }

    fn review_interval(&mut self) -> i32 {
        match self.segment {
            Segment::Enterprise => self.rng.int(30, 90),
            Segment::MidMarket => self.rng.int(90, 180),
            Segment::Smb => self.rng.int(240, 420),
        }
    }

    fn csm(&mut self, d: i32, emit: bool) {
        if self.demo.calendar().is_weekend(d) {
            return; // whatever falls due waits for Monday
        }
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].0 <= d {
                let (_, kind) = self.pending.swap_remove(i);
                self.engage(d, kind, emit);
            } else {
                i += 1;
            }
        }
        let (skip_check_in, skip_review, notice_low_usage) = match self.segment {
            Segment::Enterprise => (0.1, 0.05, 0.03),
            Segment::MidMarket => (0.2, 0.1, 0.015),
            Segment::Smb => (0.4, 0.5, 0.004),
        };
        if d >= self.next_check_in {
            if !self.rng.chance(skip_check_in) {
                self.engage(d, EngKind::CheckIn, emit);
            }
            self.next_check_in = d + self.check_in_interval();
        }
        if d >= self.next_review {
            if !self.rng.chance(skip_review) {
                self.engage(d, EngKind::BusinessReview, emit);
            }
            self.next_review = d + self.review_interval();
        }
        if self.ema30 < 0.3 && d - self.last_escalation > 60 && self.rng.chance(notice_low_usage) {
            self.last_escalation = d;
            self.engage(d, EngKind::EscalationUsage, emit);
        }
    }

    /// A CSM touch point, which lifts engagement a little (escalations and
    /// reviews more than check-ins).
    fn engage(&mut self, d: i32, kind: EngKind, emit: bool) {
        match kind {
            EngKind::Onboarding => self.x += 0.1,
            EngKind::CheckIn | EngKind::ChampionLeft | EngKind::NewChampion => self.x += 0.04,
            EngKind::BusinessReview => {
                self.x += 0.12;
                self.mu_adj += 0.03;
            }
            EngKind::EscalationSupport | EngKind::EscalationUsage => {
                self.x += 0.2;
                self.mu_adj += 0.1;
            }
        }
        let t = self.time_of_day(1.5);
        let notes = kind.notes();
        let note = match kind {
            EngKind::ChampionLeft => {
                let name = self
                    .contacts
                    .iter()
                    .rev()
                    .find(|c| c.departed)
                    .map(|c| c.name.as_str());
                format!(
                    "Learned that our champion {} has left the company; looking for a new sponsor.",
                    name.unwrap_or("")
                )
            }
            EngKind::NewChampion => {
                let name = self
                    .contacts
                    .iter()
                    .rev()
                    .find(|c| c.champion)
                    .map(|c| c.name.as_str());
                format!(
                    "Met {}, the new champion; planned a refresher session.",
                    name.unwrap_or("")
                )
            }
            _ => notes[self.rng.index(notes.len())].to_string(),
        };
        if !emit {
            return;
        }
        let csm = self.demo.csm_for(self.segment, self.index);
        self.engagements.push(Engagement {
            id: String::new(),
            account_id: self.id.clone(),
            kind: kind.as_str().to_string(),
            occurred_at: ts(i64::from(d) * DAY_SECS + t),
            csm_email: Some(csm.email.clone()),
            notes: Some(note),
        });
    }

    // ---- Output -----------------------------------------------------------------

    fn finish(mut self) -> AccountBundle {
        if let Some(row) = self.row.take() {
            self.subscriptions[row.at].renewal_date = Some(date_from_day(row.next_boundary));
        }
        let idx = self.index;
        self.tickets.sort_by_key(|t| t.opened_at);
        for (i, t) in self.tickets.iter_mut().enumerate() {
            t.id = format!("tkt-{idx:06}-{:03}", i + 1);
        }
        self.surveys.sort_by_key(|s| s.responded_at);
        for (i, s) in self.surveys.iter_mut().enumerate() {
            s.id = format!("srv-{idx:06}-{:03}", i + 1);
        }
        self.engagements.sort_by_key(|e| e.occurred_at);
        for (i, e) in self.engagements.iter_mut().enumerate() {
            e.id = format!("eng-{idx:06}-{:03}", i + 1);
        }
        let mut account = self.account;
        account.plan = Some(
            self.subscriptions
                .last()
                .and_then(|s| s.plan.clone())
                .unwrap_or_else(|| self.plan.as_str().to_string()),
        );
        if self.ever_paid {
            account.csm_email = Some(self.demo.csm_for(self.segment, idx).email.clone());
        }
        let contacts = self
            .contacts
            .into_iter()
            .enumerate()
            .map(|(i, c)| Contact {
                id: format!("con-{idx:06}-{:02}", i + 1),
                account_id: account.id.clone(),
                email: c.email,
                name: Some(c.name),
                role: Some(c.role.to_string()),
                // Only champions leave: one who did is still written as a
                // champion, with the day they left.
                champion: Some(c.champion || c.left_on.is_some()),
                left_on: c.left_on.map(date_from_day),
            })
            .collect();
        AccountBundle {
            account,
            contacts,
            subscriptions: self.subscriptions,
            events: self.events,
            tickets: self.tickets,
            survey_responses: self.surveys,
            engagements: self.engagements,
        }
    }
}
