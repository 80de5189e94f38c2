//! `tenure.toml`: the configuration as code (docs/CONFIG.md).
//!
//! [`parse_config`] turns the file's text into a checked [`Config`] or into
//! every problem it can find, each with its line, for `tenure config check`.
//! Parsing has two steps: serde reads the file into the `raw` structs (syntax
//! errors, wrong types and unknown keys stop here, with the position of the
//! first one), then the checks below validate values and build the typed
//! sections, collecting all errors. [`DEFAULT_CONFIG`] is the commented file
//! `tenure init` writes; [`Config::default`] is what it parses to.
//!
//! Adding a section (segments, journey, playbooks, risk, ...) takes three
//! steps: its `Raw...` struct and a field on `RawConfig` in `raw.rs`, a typed
//! field on [`Config`], and a `check_...` function called from
//! [`parse_config`]. Write the default, with comments, into `default.toml`.

mod crm;
mod engage;
mod feedback;
mod outbound;
mod plays;
mod raw;
mod risk;
mod surveys;
mod target;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

use crate::engage::EngageConfig;
use crate::health::{
    Among, Bands, Denominator, Direction, HealthConfig, Measure, MeasureKind, Normalisation, Per,
    PriorityWeights, Relative, Scorecard, ScorecardMatch, Step,
};
use crate::model::{Currency, Money};
use crate::target::TargetConfig;
pub use outbound::{OutboundConfig, SecretSource, SmtpConfig, SmtpSecurity, WebhookEndpoint};
use raw::{
    OneOrMany, RawConfig, RawCosts, RawCurrency, RawHealth, RawLinear, RawMatch, RawMeasure,
    RawServer, RawSteps, S,
};

/// The commented `tenure.toml` that `tenure init` writes. It parses to
/// [`Config::default`].
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// A problem in `tenure.toml`, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ConfigError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The whole checked configuration. One value is passed down to every part
/// of Tenure; its `Debug` output redacts secrets.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    pub currency: CurrencyConfig,
    pub costs: CostsConfig,
    pub health: HealthConfig,
    pub server: ServerConfig,
    /// `[engage]`: tiers, segments, journey stages and cadence.
    pub engage: EngageConfig,
    /// The engagement kinds CSMs log (`engage.engagement_kinds`).
    pub engagement_kinds: Vec<String>,
    /// `[target]`: roles, success-plan templates and KPI targets.
    pub target: TargetConfig,
    /// `[outbound]`: SMTP, webhook endpoints and retries (docs/REACT.md).
    pub outbound: OutboundConfig,
    /// `[risk]`: the leadership-review thresholds (docs/REACT.md).
    pub risk: crate::react::risk::RiskConfig,
    /// `[[playbooks]]`: triggers, audiences and actions (docs/REACT.md).
    pub playbooks: Vec<crate::plays::Playbook>,
    /// `[[surveys]]` and `[survey_settings]` (docs/VOICE.md).
    pub surveys: crate::surveys::SurveysConfig,
    /// `[feedback]`: theme tag rules and the requests' webhook
    /// (docs/FEEDBACK.md).
    pub feedback: crate::feedback::FeedbackConfig,
    /// `[crm]`: how Salesforce and HubSpot exports are read (docs/CRM.md).
    pub crm: crate::crm::CrmConfig,
}

impl Default for Config {
    /// The configuration [`DEFAULT_CONFIG`] describes.
    fn default() -> Config {
        // A unit test checks that the shipped default parses.
        parse_config(DEFAULT_CONFIG).expect("the built-in default tenure.toml is valid")
    }
}

impl Config {
    /// The scorecard version of the whole health configuration: a short
    /// stable hash of the bands and every scorecard. Stored with score
    /// snapshots so that a change of definition shows in the history. Each
    /// scorecard also has its own, [`Scorecard::version`].
    pub fn scorecard_hash(&self) -> String {
        self.health.version()
    }

    /// Whether some rule (a stage, a segment, a playbook's trigger or
    /// exit) reads the field `name`: facts that cost a load of their own
    /// are computed only then.
    pub fn rules_read(&self, name: &str) -> bool {
        let plays = self
            .playbooks
            .iter()
            .flat_map(|p| std::iter::once(&p.trigger).chain(p.exit.as_ref()));
        self.engage.rules().chain(plays).any(|r| r.reads(name))
    }
}

/// `[currency]`: the reporting currency and exchange rates.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyConfig {
    pub reporting: Currency,
    /// Units of the reporting currency for one unit of each other currency.
    pub rates: BTreeMap<Currency, f64>,
}

impl Default for CurrencyConfig {
    fn default() -> CurrencyConfig {
        CurrencyConfig {
            reporting: Currency::USD,
            rates: BTreeMap::new(),
        }
    }
}

/// No rate is configured for a currency found in the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no exchange rate for {0}: add it under [currency.rates] in tenure.toml")]
pub struct MissingRate(pub Currency);

impl CurrencyConfig {
    /// Units of the reporting currency for one unit of `c` (1 for the
    /// reporting currency itself).
    pub fn rate(&self, c: Currency) -> Option<f64> {
        if c == self.reporting {
            Some(1.0)
        } else {
            self.rates.get(&c).copied()
        }
    }

    /// An amount in units of the reporting currency.
    pub fn to_reporting(&self, m: Money) -> Result<f64, MissingRate> {
        Ok(m.units() * self.rate(m.currency).ok_or(MissingRate(m.currency))?)
    }
}

/// `[costs]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CostsConfig {
    /// 0..=1; default 1.
    pub gross_margin: f64,
    /// Monthly customer-success cost in the reporting currency.
    pub cs_cost_monthly: Option<Money>,
}

impl Default for CostsConfig {
    fn default() -> CostsConfig {
        CostsConfig {
            gross_margin: 1.0,
            cs_cost_monthly: None,
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Address `tenure serve` listens on, `host:port`.
    pub addr: String,
    pub stripe_webhook_secret: Option<Secret>,
    /// The address people reach the server at (`https://cs.example.com`),
    /// for links in emails; `http://{addr}` when not set.
    pub public_url: Option<String>,
    /// The origins allowed to frame the account card
    /// (`/accounts/{id}/card`), such as a CRM's
    /// `https://acme.lightning.force.com`; empty: no framing.
    pub card_frame_ancestors: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            addr: DEFAULT_ADDR.to_string(),
            stripe_webhook_secret: None,
            public_url: None,
            card_frame_ancestors: Vec::new(),
        }
    }
}

const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// A secret string whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Parses and checks `tenure.toml`. On failure, returns every error found,
/// ordered by line: all value errors at once, or the first syntax, type or
/// unknown-key error (the file cannot be read further past one of those).
pub fn parse_config(text: &str) -> Result<Config, Vec<ConfigError>> {
    let mut ck = Checker::new(text);
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let at = e.span().unwrap_or(0..0);
            ck.err(at, e.message().trim_end().to_string());
            return Err(ck.errors);
        }
    };
    let currency = check_currency(&mut ck, raw.currency);
    // A file without [engage] gets the built-in one (the default file has it).
    let has_engage = raw.engage.is_some();
    let (engage, engagement_kinds) = match raw.engage {
        Some(e) => engage::check_engage(&mut ck, e.into_inner()),
        None => {
            let d = Config::default();
            (d.engage, d.engagement_kinds)
        }
    };
    // A file without [target] gets the built-in one when it has no
    // [engage] either (templates name Engage's segments and stages), and
    // no templates or targets otherwise.
    let target = match raw.target {
        Some(t) => target::check_target(&mut ck, t.into_inner(), &engage),
        None if !has_engage => Config::default().target,
        None => target::check_target(&mut ck, Default::default(), &engage),
    };
    // Playbooks name Engage's segments and stages: as for [target], the
    // built-in ones only when the file has no [engage] of its own.
    let outbound = raw
        .outbound
        .map(|o| outbound::check_outbound(&mut ck, o.into_inner()))
        .unwrap_or_default();
    let endpoints: Vec<&str> = outbound.webhooks.iter().map(|w| w.name.as_str()).collect();
    let playbooks = match raw.playbooks {
        Some(p) => plays::check_playbooks(
            &mut ck,
            p.into_inner(),
            &engage,
            &engagement_kinds,
            &endpoints,
        ),
        None if !has_engage => Config::default().playbooks,
        None => Vec::new(),
    };
    let surveys = surveys::check_surveys(
        &mut ck,
        raw.survey_settings,
        raw.surveys.map(S::into_inner).unwrap_or_default(),
        &engage,
    );
    let risk = raw
        .risk
        .map(|r| risk::check_risk(&mut ck, r.into_inner(), currency.reporting, &engage))
        .unwrap_or_default();
    let feedback = raw
        .feedback
        .map(|f| feedback::check_feedback(&mut ck, f.into_inner(), &endpoints))
        .unwrap_or_default();
    let crm = raw
        .crm
        .map(|c| crm::check_crm(&mut ck, c.into_inner(), &endpoints))
        .unwrap_or_default();
    let config = Config {
        costs: check_costs(&mut ck, raw.costs, currency.reporting),
        currency,
        health: check_health(&mut ck, raw.health),
        server: check_server(&mut ck, raw.server),
        engage,
        engagement_kinds,
        target,
        outbound,
        risk,
        playbooks,
        surveys,
        feedback,
        crm,
    };
    if ck.errors.is_empty() {
        Ok(config)
    } else {
        ck.errors.sort_by_key(|e| (e.line, e.column));
        Err(ck.errors)
    }
}

/// Collects errors and turns byte offsets into lines and columns.
struct Checker<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    errors: Vec<ConfigError>,
}

impl<'a> Checker<'a> {
    fn new(text: &'a str) -> Checker<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Checker {
            text,
            line_starts,
            errors: Vec::new(),
        }
    }

    fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        let offset = span.start.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        self.errors.push(ConfigError {
            line,
            column,
            message: message.into(),
        });
    }
}

fn check_currency(ck: &mut Checker, raw: RawCurrency) -> CurrencyConfig {
    let mut out = CurrencyConfig::default();
    if let Some(r) = raw.reporting {
        match Currency::parse(r.get_ref()) {
            Ok(c) => out.reporting = c,
            Err(e) => ck.err(r.span(), format!("currency.reporting: {e}")),
        }
    }
    for (code, rate) in raw.rates {
        let currency = match Currency::parse(code.get_ref()) {
            Ok(c) => c,
            Err(e) => {
                ck.err(code.span(), format!("currency.rates: {e}"));
                continue;
            }
        };
        let value = *rate.get_ref();
        if !(value.is_finite() && value > 0.0) {
            ck.err(
                rate.span(),
                format!("currency.rates.{currency} must be a positive number, got {value}"),
            );
        } else if currency == out.reporting && value != 1.0 {
            ck.err(
                rate.span(),
                format!(
                    "currency.rates.{currency}: {currency} is the reporting currency, so its rate is 1; remove it or set 1"
                ),
            );
        } else {
            out.rates.insert(currency, value);
        }
    }
    out
}

fn check_costs(ck: &mut Checker, raw: RawCosts, reporting: Currency) -> CostsConfig {
    let mut out = CostsConfig::default();
    if let Some(g) = raw.gross_margin {
        let v = *g.get_ref();
        if (0.0..=1.0).contains(&v) {
            out.gross_margin = v;
        } else {
            ck.err(
                g.span(),
                format!("costs.gross_margin must be between 0 and 1 (0.8 = 80%), got {v}"),
            );
        }
    }
    if let Some(c) = raw.cs_cost_monthly {
        let v = *c.get_ref();
        let minor = v * 10f64.powi(reporting.minor_digits() as i32);
        if v.is_finite() && v >= 0.0 && minor < 9.0e15 {
            out.cs_cost_monthly = Some(Money::new(minor.round() as i64, reporting));
        } else {
            ck.err(
                c.span(),
                format!("costs.cs_cost_monthly must be a non-negative amount, got {v}"),
            );
        }
    }
    out
}

fn check_server(ck: &mut Checker, raw: RawServer) -> ServerConfig {
    let mut out = ServerConfig::default();
    if let Some(a) = raw.addr {
        let addr = a.get_ref().trim();
        let valid = addr
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if valid {
            out.addr = addr.to_string();
        } else {
            ck.err(
                a.span(),
                format!("server.addr must be host:port such as {DEFAULT_ADDR:?}, got {addr:?}"),
            );
        }
    }
    if let Some(s) = raw.stripe_webhook_secret {
        if s.get_ref().trim().is_empty() {
            ck.err(
                s.span(),
                "server.stripe_webhook_secret is empty; remove the line or set the secret",
            );
        } else {
            out.stripe_webhook_secret = Some(Secret::new(s.into_inner()));
        }
    }
    if let Some(u) = raw.public_url {
        let url = u.get_ref().trim().trim_end_matches('/');
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if host.is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace)) {
            out.public_url = Some(url.to_string());
        } else {
            ck.err(
                u.span(),
                format!("server.public_url must be an http:// or https:// address such as \"https://cs.example.com\", got {url:?}"),
            );
        }
    }
    if let Some(list) = raw.card_frame_ancestors {
        for o in list.into_inner() {
            let origin = o.get_ref().trim();
            if frame_origin_ok(origin) {
                out.card_frame_ancestors.push(origin.to_string());
            } else {
                ck.err(
                    o.span(),
                    format!("server.card_frame_ancestors: {origin:?} is not an origin; expected https://host (a port and a leading *. wildcard allowed) such as \"https://acme.lightning.force.com\", without a path"),
                );
            }
        }
    }
    out
}

/// An origin as a CSP `frame-ancestors` source takes it: `https://` (or
/// `http://`) and a host, optionally `*.` before it and `:port` after it,
/// nothing else (no path, quote, semicolon or space that could change the
/// policy).
fn frame_origin_ok(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.strip_prefix("*.").unwrap_or(rest);
    let (host, port) = match host.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host, None),
    };
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok())
}

impl ServerConfig {
    /// The base of links sent to people: `public_url`, or `http://{addr}`.
    pub fn base_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }
}

fn check_health(ck: &mut Checker, raw: RawHealth) -> HealthConfig {
    let mut bands = Bands::default();
    if let Some(b) = raw.bands {
        let mut value = |v: Option<S<f64>>, key: &str, into: &mut f64| {
            let v = v?;
            let x = *v.get_ref();
            if (0.0..=100.0).contains(&x) {
                *into = x;
            } else {
                ck.err(
                    v.span(),
                    format!("health.bands.{key} must be between 0 and 100, got {x}"),
                );
            }
            Some(v.span())
        };
        let yellow_span = value(b.yellow_from, "yellow_from", &mut bands.yellow_from);
        let green_span = value(b.green_from, "green_from", &mut bands.green_from);
        if bands.yellow_from >= bands.green_from {
            let at = green_span.or(yellow_span).unwrap_or(0..0);
            ck.err(
                at,
                format!(
                    "health.bands out of order: yellow_from ({}) must be below green_from ({})",
                    bands.yellow_from, bands.green_from
                ),
            );
        }
    }

    let default_measures = match raw.measures {
        Some(list) => check_measures(ck, list, "health.measures"),
        // Without a default scorecard in the file, the built-in one applies.
        None => Config::default().health.default.measures,
    };
    let default = Scorecard {
        name: "default".to_string(),
        matches: None,
        measures: default_measures,
    };

    let mut names = BTreeSet::new();
    let mut scorecards = Vec::new();
    for card in raw.scorecards {
        let span = card.span();
        let card = card.into_inner();
        let name = match card.name {
            Some(n) => {
                let s = n.get_ref().trim().to_string();
                if s.is_empty() {
                    ck.err(n.span(), "scorecard name is empty");
                } else if s == "default" {
                    ck.err(
                        n.span(),
                        "the name \"default\" is taken by the default scorecard ([[health.measures]])",
                    );
                } else if !names.insert(s.clone()) {
                    ck.err(n.span(), format!("a scorecard named {s:?} already exists"));
                }
                s
            }
            None => {
                ck.err(span.clone(), "[[health.scorecards]] needs a `name`");
                String::new()
            }
        };
        let matches = match card.matches {
            Some(m) => check_match(ck, m, &name),
            None => {
                ck.err(
                    span.clone(),
                    format!("scorecard {name:?} needs a `match`, such as match = {{ plan = \"enterprise\" }}"),
                );
                ScorecardMatch::default()
            }
        };
        let measures = match card.measures {
            Some(list) => check_measures(ck, list, "health.scorecards.measures"),
            None => {
                ck.err(
                    span,
                    format!("scorecard {name:?} has no measures: add [[health.scorecards.measures]] entries after it"),
                );
                Vec::new()
            }
        };
        scorecards.push(Scorecard {
            name,
            matches: Some(matches),
            measures,
        });
    }

    HealthConfig {
        bands,
        default,
        scorecards,
    }
}

fn check_match(ck: &mut Checker, raw: S<RawMatch>, scorecard: &str) -> ScorecardMatch {
    let span = raw.span();
    let raw = raw.into_inner();
    let mut values = |v: Option<S<OneOrMany>>, key: &str| -> Vec<String> {
        let Some(v) = v else { return Vec::new() };
        let span = v.span();
        let list = v.into_inner().into_vec();
        if list.is_empty() || list.iter().any(|s| s.trim().is_empty()) {
            ck.err(span, format!("match.{key} needs non-empty values"));
        }
        list
    };
    let mut out = ScorecardMatch {
        plan: values(raw.plan, "plan"),
        industry: values(raw.industry, "industry"),
        region: values(raw.region, "region"),
        attributes: BTreeMap::new(),
    };
    for (k, v) in raw.attributes.unwrap_or_default() {
        let key = k.into_inner();
        let vals = values(Some(v), &format!("attributes.{key}"));
        out.attributes.insert(key, vals);
    }
    if out.is_empty() {
        ck.err(
            span,
            format!("the match of scorecard {scorecard:?} is empty: name a plan, industry, region or attributes"),
        );
    }
    out
}

/// Parameters each measure kind takes, besides name, kind, weight and the
/// normalisation.
fn params_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "active_user_ratio" => &["window_days", "denominator"],
        "event_count" | "event_trend" => &["window_days", "events"],
        "feature_adoption" => &["window_days", "features"],
        "seat_utilisation" | "latest_nps" | "csat_average" | "payment_failures" => &["window_days"],
        "open_tickets" => &["priority_weights"],
        "custom_attribute" => &["attribute"],
        _ => &[],
    }
}

const MAX_WINDOW_DAYS: i64 = 3650;
const MAX_FEATURES: usize = 64;

fn check_measures(ck: &mut Checker, list: S<Vec<S<RawMeasure>>>, table: &str) -> Vec<Measure> {
    let list_span = list.span();
    let list = list.into_inner();
    if list.is_empty() {
        ck.err(
            list_span,
            format!("{table} is empty: a scorecard needs at least one measure"),
        );
    }
    let mut names = BTreeSet::new();
    list.into_iter()
        .filter_map(|m| check_measure(ck, m, table, &mut names))
        .collect()
}

fn check_measure(
    ck: &mut Checker,
    raw: S<RawMeasure>,
    table: &str,
    names: &mut BTreeSet<String>,
) -> Option<Measure> {
    let span = raw.span();
    let m = raw.into_inner();
    let errors_before = ck.errors.len();

    let name = match &m.name {
        Some(n) => {
            let s = n.get_ref().trim().to_string();
            if s.is_empty() {
                ck.err(n.span(), "measure name is empty");
            } else if !names.insert(s.clone()) {
                ck.err(
                    n.span(),
                    format!("two measures are named {s:?} in this scorecard"),
                );
            }
            s
        }
        None => {
            ck.err(span.clone(), format!("[[{table}]] needs a `name`"));
            String::new()
        }
    };
    let label = if name.is_empty() {
        "this measure".to_string()
    } else {
        format!("measure {name:?}")
    };

    let weight = match &m.weight {
        Some(w) => {
            let x = *w.get_ref();
            if !(x.is_finite() && x > 0.0) {
                ck.err(
                    w.span(),
                    format!("{label}: weight must be a positive number, got {x}"),
                );
            }
            x
        }
        None => {
            ck.err(
                span.clone(),
                format!("{label} needs a `weight` (a positive number)"),
            );
            0.0
        }
    };

    // A relative measure's points come from its percentile: linear from 0
    // to 100 unless a normalisation is given.
    let normalisation = if m.percentile.is_some() && m.thresholds.is_none() && m.linear.is_none() {
        Some(Normalisation::Linear {
            min: 0.0,
            max: 100.0,
            direction: Direction::HigherIsBetter,
        })
    } else {
        check_normalisation(ck, &m, &label, span.clone())
    };
    let per = check_per(ck, &m, &label);
    let relative = check_percentile(ck, &m, &label);

    let kind_name = match &m.kind {
        Some(k) if MeasureKind::NAMES.contains(&k.get_ref().as_str()) => Some(k.get_ref().clone()),
        Some(k) => {
            ck.err(
                k.span(),
                format!(
                    "{label}: unknown measure kind {:?}; expected one of {}",
                    k.get_ref(),
                    MeasureKind::NAMES.join(", ")
                ),
            );
            None
        }
        None => {
            ck.err(
                span.clone(),
                format!(
                    "{label} needs a `kind`, one of {}",
                    MeasureKind::NAMES.join(", ")
                ),
            );
            None
        }
    };
    let baseline_days = check_baseline(ck, &m, kind_name.as_deref(), &label);
    let kind = kind_name.and_then(|k| check_kind(ck, &m, &k, &label, span));

    if ck.errors.len() > errors_before {
        return None;
    }
    Some(Measure {
        name,
        kind: kind?,
        weight,
        normalisation: normalisation?,
        per,
        baseline_days,
        relative,
    })
}

/// `per`: what the raw value is divided by.
fn check_per(ck: &mut Checker, m: &RawMeasure, label: &str) -> Option<Per> {
    let p = m.per.as_ref()?;
    let per = Per::parse(p.get_ref());
    if per.is_none() {
        ck.err(
            p.span(),
            format!(
                "{label}: per must be \"active_user\", \"seat\" or \"known_user\", got {:?}",
                p.get_ref()
            ),
        );
    }
    per
}

/// `baseline_days`: `event_trend` only, longer than its window.
fn check_baseline(
    ck: &mut Checker,
    m: &RawMeasure,
    kind: Option<&str>,
    label: &str,
) -> Option<u32> {
    let b = m.baseline_days.as_ref()?;
    let x = *b.get_ref();
    if kind.is_some_and(|k| k != "event_trend") {
        ck.err(
            b.span(),
            format!("{label}: `baseline_days` applies to kind \"event_trend\" only"),
        );
        return None;
    }
    let window = m.window_days.as_ref().map_or(30, |w| *w.get_ref());
    if x <= window || x > MAX_WINDOW_DAYS {
        ck.err(
            b.span(),
            format!("{label}: baseline_days must be more than window_days ({window}) and at most {MAX_WINDOW_DAYS}, got {x}"),
        );
        return None;
    }
    Some(x as u32)
}

/// `percentile = { among, min_group, direction }`.
fn check_percentile(ck: &mut Checker, m: &RawMeasure, label: &str) -> Option<Relative> {
    let p = m.percentile.as_ref()?;
    let raw = p.get_ref();
    let among = raw
        .among
        .as_ref()
        .map_or(Among::All, |a| Among::parse(a.get_ref().trim()));
    let min_group = match &raw.min_group {
        Some(n) if *n.get_ref() >= 1 && *n.get_ref() <= 1_000_000 => *n.get_ref() as u32,
        Some(n) => {
            ck.err(
                n.span(),
                format!(
                    "{label}: percentile.min_group must be from 1 to 1000000, got {}",
                    n.get_ref()
                ),
            );
            return None;
        }
        None => 30,
    };
    let direction = match &raw.direction {
        Some(d) => match Direction::parse(d.get_ref()) {
            Some(d) => d,
            None => {
                ck.err(
                    d.span(),
                    format!("{label}: percentile.direction must be \"higher_is_better\" or \"lower_is_better\", got {:?}", d.get_ref()),
                );
                return None;
            }
        },
        None => Direction::HigherIsBetter,
    };
    Some(Relative {
        among,
        min_group,
        direction,
    })
}

/// Builds the kind with its parameters, rejecting parameters that do not
/// apply to it.
fn check_kind(
    ck: &mut Checker,
    m: &RawMeasure,
    kind: &str,
    label: &str,
    span: Range<usize>,
) -> Option<MeasureKind> {
    reject_foreign_params(ck, m, kind, label);
    let kind = match kind {
        "active_user_ratio" => MeasureKind::ActiveUserRatio {
            window_days: check_window(ck, m, label, 30),
            denominator: check_denominator(ck, m, label),
        },
        "event_count" => MeasureKind::EventCount {
            window_days: check_window(ck, m, label, 30),
            events: check_events(ck, m, label),
        },
        "event_trend" => MeasureKind::EventTrend {
            window_days: check_window(ck, m, label, 30),
            events: check_events(ck, m, label),
        },
        "seat_utilisation" => MeasureKind::SeatUtilisation {
            window_days: check_window(ck, m, label, 30),
        },
        "feature_adoption" => MeasureKind::FeatureAdoption {
            window_days: check_window(ck, m, label, 30),
            features: check_features(ck, m, label, span),
        },
        "latest_nps" => MeasureKind::LatestNps {
            window_days: m
                .window_days
                .as_ref()
                .map(|_| check_window(ck, m, label, 365)),
        },
        "csat_average" => MeasureKind::CsatAverage {
            window_days: check_window(ck, m, label, 90),
        },
        "open_tickets" => MeasureKind::OpenTickets {
            priority_weights: check_priority_weights(ck, m, label),
        },
        "days_since_engagement" => MeasureKind::DaysSinceEngagement,
        "days_to_renewal" => MeasureKind::DaysToRenewal,
        "churn_risk" => MeasureKind::ChurnRisk,
        "payment_failures" => MeasureKind::PaymentFailures {
            window_days: check_window(ck, m, label, 90),
        },
        "custom_attribute" => MeasureKind::CustomAttribute {
            attribute: check_attribute(ck, m, label, span)?,
        },
        _ => return None,
    };
    Some(kind)
}

/// Reports each parameter given that the kind does not take.
fn reject_foreign_params(ck: &mut Checker, m: &RawMeasure, kind: &str, label: &str) {
    let allowed = params_of(kind);
    let given: [(&str, Option<Range<usize>>); 6] = [
        ("window_days", m.window_days.as_ref().map(S::span)),
        ("events", m.events.as_ref().map(S::span)),
        ("features", m.features.as_ref().map(S::span)),
        ("denominator", m.denominator.as_ref().map(S::span)),
        ("priority_weights", m.priority_weights.as_ref().map(S::span)),
        ("attribute", m.attribute.as_ref().map(S::span)),
    ];
    for (param, at) in given {
        if let Some(at) = at
            && !allowed.contains(&param)
        {
            let takes = if allowed.is_empty() {
                "no parameters".to_string()
            } else {
                allowed.join(", ")
            };
            ck.err(
                at,
                format!("{label}: `{param}` does not apply to kind {kind:?} (it takes {takes})"),
            );
        }
    }
}

/// `window_days`, or `default` when it is not given or out of range (an
/// error then).
fn check_window(ck: &mut Checker, m: &RawMeasure, label: &str, default: u32) -> u32 {
    match &m.window_days {
        Some(w) => {
            let x = *w.get_ref();
            if (1..=MAX_WINDOW_DAYS).contains(&x) {
                x as u32
            } else {
                ck.err(
                    w.span(),
                    format!("{label}: window_days must be a whole number of days from 1 to {MAX_WINDOW_DAYS}, got {x}"),
                );
                default
            }
        }
        None => default,
    }
}

/// The `denominator` of an active user ratio, `auto` by default.
fn check_denominator(ck: &mut Checker, m: &RawMeasure, label: &str) -> Denominator {
    match &m.denominator {
        Some(d) => Denominator::parse(d.get_ref()).unwrap_or_else(|| {
            ck.err(
                d.span(),
                format!(
                    "{label}: denominator must be \"seats\", \"known_users\", \"auto\" or \"none\", got {:?}",
                    d.get_ref()
                ),
            );
            Denominator::Auto
        }),
        None => Denominator::Auto,
    }
}

/// The `events` counted, none (every event) by default.
fn check_events(ck: &mut Checker, m: &RawMeasure, label: &str) -> Vec<String> {
    match &m.events {
        Some(list) => names_list(ck, list, label, "events"),
        None => Vec::new(),
    }
}

/// The key `features` of a feature adoption measure: required, from one to
/// [`MAX_FEATURES`].
fn check_features(
    ck: &mut Checker,
    m: &RawMeasure,
    label: &str,
    span: Range<usize>,
) -> Vec<String> {
    match &m.features {
        Some(list) => {
            let f = names_list(ck, list, label, "features");
            if f.is_empty() {
                ck.err(
                    list.span(),
                    format!("{label}: list at least one feature (an event name)"),
                );
            } else if f.len() > MAX_FEATURES {
                ck.err(
                    list.span(),
                    format!("{label}: at most {MAX_FEATURES} features, got {}", f.len()),
                );
            }
            f
        }
        None => {
            ck.err(
                span,
                format!("{label} needs `features`, the event names of the key features, such as features = [\"report_created\"]"),
            );
            Vec::new()
        }
    }
}

/// The `priority_weights` of open tickets: the defaults, replaced by each
/// weight given that is 0 or more.
fn check_priority_weights(ck: &mut Checker, m: &RawMeasure, label: &str) -> PriorityWeights {
    let mut w = PriorityWeights::default();
    if let Some(pw) = &m.priority_weights {
        let pw = pw.get_ref();
        for (key, v, into) in [
            ("low", &pw.low, &mut w.low),
            ("normal", &pw.normal, &mut w.normal),
            ("high", &pw.high, &mut w.high),
            ("urgent", &pw.urgent, &mut w.urgent),
        ] {
            if let Some(v) = v {
                let x = *v.get_ref();
                if x.is_finite() && x >= 0.0 {
                    *into = x;
                } else {
                    ck.err(
                        v.span(),
                        format!("{label}: priority_weights.{key} must be 0 or more, got {x}"),
                    );
                }
            }
        }
    }
    w
}

/// The custom `attribute`, trimmed: required and not blank.
fn check_attribute(
    ck: &mut Checker,
    m: &RawMeasure,
    label: &str,
    span: Range<usize>,
) -> Option<String> {
    match &m.attribute {
        Some(a) if !a.get_ref().trim().is_empty() => Some(a.get_ref().trim().to_string()),
        Some(a) => {
            ck.err(a.span(), format!("{label}: attribute is empty"));
            None
        }
        None => {
            ck.err(
                span,
                format!("{label} needs `attribute`, the name of a custom account attribute"),
            );
            None
        }
    }
}

fn names_list(ck: &mut Checker, list: &S<Vec<S<String>>>, label: &str, key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in list.get_ref() {
        let s = n.get_ref().trim();
        if s.is_empty() {
            ck.err(n.span(), format!("{label}: an entry of `{key}` is empty"));
        } else if out.iter().any(|o| o == s) {
            ck.err(
                n.span(),
                format!("{label}: {s:?} is listed twice in `{key}`"),
            );
        } else {
            out.push(s.to_string());
        }
    }
    out
}

fn check_normalisation(
    ck: &mut Checker,
    m: &RawMeasure,
    label: &str,
    span: Range<usize>,
) -> Option<Normalisation> {
    match (&m.thresholds, &m.linear) {
        (Some(_), Some(l)) => {
            ck.err(
                l.span(),
                format!("{label} has both `thresholds` and `linear`; keep one"),
            );
            None
        }
        (None, None) => {
            ck.err(
                span,
                format!("{label} needs a normalisation: `thresholds = [[value, points], ...]` or `linear = {{ min = ..., max = ... }}`"),
            );
            None
        }
        (Some(t), None) => check_thresholds(ck, t, label),
        (None, Some(l)) => check_linear(ck, l, label),
    }
}

fn check_thresholds(ck: &mut Checker, list: &RawSteps, label: &str) -> Option<Normalisation> {
    let before = ck.errors.len();
    if list.get_ref().is_empty() {
        ck.err(list.span(), format!("{label}: thresholds is empty"));
    }
    let mut steps: Vec<Step> = Vec::new();
    for step in list.get_ref() {
        let pair = step.get_ref();
        if pair.len() != 2 {
            ck.err(
                step.span(),
                format!(
                    "{label}: each threshold is [value, points], got {} numbers",
                    pair.len()
                ),
            );
            continue;
        }
        let (value, points) = (*pair[0].get_ref(), *pair[1].get_ref());
        if !value.is_finite() {
            ck.err(
                pair[0].span(),
                format!("{label}: threshold value must be a number, got {value}"),
            );
            continue;
        }
        if !(0.0..=100.0).contains(&points) {
            ck.err(
                pair[1].span(),
                format!("{label}: threshold points must be between 0 and 100, got {points}"),
            );
        }
        if let Some(prev) = steps.last() {
            if value == prev.value {
                ck.err(
                    pair[0].span(),
                    format!("{label}: thresholds overlap: value {value} appears twice"),
                );
            } else if value < prev.value {
                ck.err(
                    pair[0].span(),
                    format!(
                        "{label}: thresholds out of order: {value} comes after {}; list steps by increasing value",
                        prev.value
                    ),
                );
            }
        }
        steps.push(Step { value, points });
    }
    (ck.errors.len() == before).then_some(Normalisation::Thresholds(steps))
}

fn check_linear(ck: &mut Checker, l: &S<RawLinear>, label: &str) -> Option<Normalisation> {
    let before = ck.errors.len();
    let raw = l.get_ref();
    let mut bound = |v: &Option<S<f64>>, key: &str| -> f64 {
        match v {
            Some(v) if v.get_ref().is_finite() => *v.get_ref(),
            Some(v) => {
                ck.err(v.span(), format!("{label}: linear.{key} must be a number"));
                0.0
            }
            None => {
                ck.err(l.span(), format!("{label}: linear needs `{key}`"));
                0.0
            }
        }
    };
    let min = bound(&raw.min, "min");
    let max = bound(&raw.max, "max");
    if ck.errors.len() == before && min >= max {
        let at = raw.max.as_ref().map_or(l.span(), S::span);
        ck.err(
            at,
            format!("{label}: linear.min ({min}) must be below linear.max ({max}); use direction = \"lower_is_better\" to reverse"),
        );
    }
    let direction = match &raw.direction {
        Some(d) => Direction::parse(d.get_ref()).unwrap_or_else(|| {
            ck.err(
                d.span(),
                format!(
                    "{label}: direction must be \"higher_is_better\" or \"lower_is_better\", got {:?}",
                    d.get_ref()
                ),
            );
            Direction::HigherIsBetter
        }),
        None => Direction::HigherIsBetter,
    };
    (ck.errors.len() == before).then_some(Normalisation::Linear {
        min,
        max,
        direction,
    })
}

#[cfg(test)]
mod tests;
