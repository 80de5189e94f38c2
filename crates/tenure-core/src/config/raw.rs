//! The shape of `tenure.toml` as written, for serde. Every value whose line
//! an error may need is `Spanned`; keys the user must write are `Option` so
//! that their absence is reported together with other problems instead of
//! stopping at the first. Unknown keys are rejected by serde
//! (`deny_unknown_fields`), with the key's position.
//!
//! To add a section: a `Raw...` struct here, a field on [`RawConfig`], and a
//! checking function in the parent module.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(super) type S<T> = Spanned<T>;

/// `[[value, points], ...]`, each number with its position.
pub(super) type RawSteps = S<Vec<S<Vec<S<f64>>>>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub currency: RawCurrency,
    #[serde(default)]
    pub costs: RawCosts,
    #[serde(default)]
    pub health: RawHealth,
    #[serde(default)]
    pub server: RawServer,
    pub engage: Option<S<RawEngage>>,
    pub target: Option<S<RawTarget>>,
    pub playbooks: Option<S<Vec<S<RawPlaybook>>>>,
    pub outbound: Option<S<RawOutbound>>,
    pub risk: Option<S<RawRisk>>,
    pub feedback: Option<S<RawFeedback>>,
    pub surveys: Option<S<Vec<S<RawSurvey>>>>,
    pub survey_settings: Option<S<RawSurveySettings>>,
    pub crm: Option<S<RawCrm>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCurrency {
    pub reporting: Option<S<String>>,
    #[serde(default)]
    pub rates: BTreeMap<S<String>, S<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCosts {
    pub gross_margin: Option<S<f64>>,
    pub cs_cost_monthly: Option<S<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    pub bands: Option<RawBands>,
    pub measures: Option<S<Vec<S<RawMeasure>>>>,
    #[serde(default)]
    pub scorecards: Vec<S<RawScorecard>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBands {
    pub yellow_from: Option<S<f64>>,
    pub green_from: Option<S<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScorecard {
    pub name: Option<S<String>>,
    #[serde(rename = "match")]
    pub matches: Option<S<RawMatch>>,
    pub measures: Option<S<Vec<S<RawMeasure>>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatch {
    pub plan: Option<S<OneOrMany>>,
    pub industry: Option<S<OneOrMany>>,
    pub region: Option<S<OneOrMany>>,
    pub attributes: Option<BTreeMap<S<String>, S<OneOrMany>>>,
}

/// `"x"` or `["x", "y"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A measure with every parameter any kind takes; checking rejects those
/// that do not apply to its kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMeasure {
    pub name: Option<S<String>>,
    pub kind: Option<S<String>>,
    pub weight: Option<S<f64>>,
    pub window_days: Option<S<i64>>,
    pub events: Option<S<Vec<S<String>>>>,
    pub features: Option<S<Vec<S<String>>>>,
    pub denominator: Option<S<String>>,
    pub priority_weights: Option<S<RawPriorityWeights>>,
    pub attribute: Option<S<String>>,
    pub per: Option<S<String>>,
    pub baseline_days: Option<S<i64>>,
    pub percentile: Option<S<RawPercentile>>,
    pub thresholds: Option<RawSteps>,
    pub linear: Option<S<RawLinear>>,
}

/// `percentile = { among = "plan", min_group = 30, direction = "..." }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPercentile {
    pub among: Option<S<String>>,
    pub min_group: Option<S<i64>>,
    pub direction: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPriorityWeights {
    pub low: Option<S<f64>>,
    pub normal: Option<S<f64>>,
    pub high: Option<S<f64>>,
    pub urgent: Option<S<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLinear {
    pub min: Option<S<f64>>,
    pub max: Option<S<f64>>,
    pub direction: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub addr: Option<S<String>>,
    pub stripe_webhook_secret: Option<S<String>>,
    pub public_url: Option<S<String>>,
    pub card_frame_ancestors: Option<S<Vec<S<String>>>>,
}

/// `[engage]`: touch tiers, segments, journey stages and cadence policies.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEngage {
    pub engagement_kinds: Option<S<Vec<S<String>>>>,
    pub settle_days: Option<S<i64>>,
    #[serde(default)]
    pub tiers: Vec<S<RawTier>>,
    #[serde(default)]
    pub segments: Vec<S<RawSegment>>,
    #[serde(default)]
    pub stages: Vec<S<RawStage>>,
    #[serde(default)]
    pub cadence: Vec<S<RawPolicy>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTier {
    pub name: Option<S<String>>,
    pub about: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSegment {
    pub name: Option<S<String>>,
    pub rule: Option<S<String>>,
    pub tier: Option<S<String>>,
    pub persona: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStage {
    pub name: Option<S<String>>,
    pub entry: Option<S<String>>,
    pub stay: Option<S<String>>,
    pub target_days: Option<S<i64>>,
    pub lost: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub tier: Option<S<String>>,
    pub stage: Option<S<String>>,
    pub kind: Option<S<String>>,
    pub every_days: Option<S<i64>>,
}

/// `[target]`: roles, plan templates and KPI targets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub roles: Option<S<Vec<S<String>>>>,
    pub amber_within: Option<S<f64>>,
    #[serde(default)]
    pub templates: Vec<S<RawTemplate>>,
    pub kpis: Option<S<BTreeMap<S<String>, S<f64>>>>,
    #[serde(default)]
    pub csm: Vec<S<RawCsmTargets>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTemplate {
    pub name: Option<S<String>>,
    pub segments: Option<S<Vec<S<String>>>>,
    pub tiers: Option<S<Vec<S<String>>>>,
    pub stages: Option<S<Vec<S<String>>>>,
    #[serde(default)]
    pub goals: Vec<S<RawGoal>>,
    #[serde(default)]
    pub milestones: Vec<S<RawMilestone>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGoal {
    pub name: Option<S<String>>,
    pub metric: Option<S<String>>,
    pub target: Option<S<f64>>,
    pub at_most: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMilestone {
    pub name: Option<S<String>>,
    pub due_days: Option<S<i64>>,
    pub owner: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCsmTargets {
    pub email: Option<S<String>>,
    pub kpis: Option<S<BTreeMap<S<String>, S<f64>>>>,
}

/// `[outbound]`: SMTP settings, webhook endpoints and the retry policy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutbound {
    pub smtp: Option<S<RawSmtp>>,
    #[serde(default)]
    pub webhooks: Vec<S<RawWebhook>>,
    pub max_attempts: Option<S<i64>>,
    pub backoff_seconds: Option<S<i64>>,
    pub timeout_seconds: Option<S<i64>>,
}

/// `[outbound.smtp]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub host: Option<S<String>>,
    pub port: Option<S<i64>>,
    pub security: Option<S<String>>,
    pub username: Option<S<String>>,
    pub password: Option<S<String>>,
    pub password_env: Option<S<String>>,
    pub from: Option<S<String>>,
    pub ca_file: Option<S<String>>,
}

/// `[[outbound.webhooks]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub name: Option<S<String>>,
    pub url: Option<S<String>>,
    pub secret: Option<S<String>>,
    pub secret_env: Option<S<String>>,
}

/// `[risk]`: leadership-review thresholds, for the book and per segment.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRisk {
    pub arr_at_risk: Option<S<f64>>,
    pub arr_at_risk_share: Option<S<f64>>,
    pub accounts_at_risk: Option<S<i64>>,
    #[serde(default)]
    pub segments: Vec<S<RawRiskSegment>>,
    pub digest: Option<S<RawRiskDigest>>,
}

/// `[risk.digest]`: the weekly email to leaders.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRiskDigest {
    pub to: Option<S<Vec<S<String>>>>,
    pub weekday: Option<S<String>>,
}

/// `[[risk.segments]]`: a segment's name and the same threshold keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRiskSegment {
    pub name: Option<S<String>>,
    pub arr_at_risk: Option<S<f64>>,
    pub arr_at_risk_share: Option<S<f64>>,
    pub accounts_at_risk: Option<S<i64>>,
}

/// `[[playbooks]]`: a trigger, an audience and a schedule of actions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlaybook {
    pub name: Option<S<String>>,
    pub description: Option<S<String>>,
    pub trigger: Option<S<String>>,
    pub exit: Option<S<String>>,
    pub segments: Option<S<Vec<S<String>>>>,
    pub tiers: Option<S<Vec<S<String>>>>,
    pub stages: Option<S<Vec<S<String>>>>,
    pub max_enrolments: Option<S<i64>>,
    pub cooldown_days: Option<S<i64>>,
    #[serde(default)]
    pub actions: Vec<S<RawAction>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAction {
    pub day: Option<S<i64>>,
    pub kind: Option<S<String>>,
    pub only_if_matching: Option<bool>,
    pub title: Option<S<String>>,
    pub text: Option<S<String>>,
    pub due_days: Option<S<i64>>,
    pub owner: Option<S<String>>,
    pub priority: Option<S<String>>,
    pub log_kind: Option<S<String>>,
    pub to: Option<S<String>>,
    pub subject: Option<S<String>>,
    pub body: Option<S<String>>,
    pub endpoint: Option<S<String>>,
    pub reason: Option<S<String>>,
}

/// `[survey_settings]`: the fatigue limit and how long a link lasts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSurveySettings {
    pub fatigue_days: Option<S<i64>>,
    pub expiry_days: Option<S<i64>>,
}

/// `[[surveys]]`: a survey, its audience, trigger and channel.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSurvey {
    pub name: Option<S<String>>,
    pub kind: Option<S<String>>,
    pub question: Option<S<String>>,
    pub follow_up: Option<S<String>>,
    pub subject: Option<S<String>>,
    pub segments: Option<S<Vec<S<String>>>>,
    pub tiers: Option<S<Vec<S<String>>>>,
    pub roles: Option<S<Vec<S<String>>>>,
    pub champions_only: Option<bool>,
    pub every_days: Option<S<i64>>,
    pub after: Option<S<String>>,
    pub scheduled_only: Option<S<bool>>,
    pub within_days: Option<S<i64>>,
    pub channel: Option<S<String>>,
}

/// `[feedback]`: theme tag rules and the requests' webhook endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeedback {
    pub requests_webhook: Option<S<String>>,
    #[serde(default)]
    pub themes: Vec<S<RawTheme>>,
}

/// `[[feedback.themes]]`: a name, keywords and/or a CEL rule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTheme {
    pub name: Option<S<String>>,
    #[serde(default)]
    pub keywords: Vec<S<String>>,
    pub rule: Option<S<String>>,
}

/// `[crm]`: how each CRM's exports are read (docs/CRM.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCrm {
    pub salesforce: Option<S<RawCrmSettings>>,
    pub hubspot: Option<S<RawCrmSettings>>,
    pub webhook: Option<S<RawCrmWebhook>>,
}

/// `[crm.webhook]`: the account-change webhook (docs/CRM.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCrmWebhook {
    pub endpoint: Option<S<String>>,
    pub batch_size: Option<S<i64>>,
    pub fields: Option<S<Vec<S<String>>>>,
}

/// `[crm.salesforce]` or `[crm.hubspot]`: column mapping, owners, renewals.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCrmSettings {
    pub fields: Option<S<BTreeMap<S<String>, S<String>>>>,
    pub owners: Option<S<BTreeMap<S<String>, S<String>>>>,
    pub renewal_types: Option<S<Vec<S<String>>>>,
    pub closed_stages: Option<S<Vec<S<String>>>>,
    pub date_order: Option<S<String>>,
}
