//! `tenure.toml` parsing, as a specification: what is accepted, and for each
//! mistake, the line reported and what the message says.

use super::*;
use crate::health::{Among, Band, Denominator, MeasureKind};

/// Asserts that `text` is rejected with exactly these errors: each a line
/// and a fragment of its message.
#[track_caller]
fn check_errors(text: &str, expected: &[(usize, &str)]) {
    let errors = match parse_config(text) {
        Ok(_) => panic!("expected errors, the config was accepted"),
        Err(e) => e,
    };
    let got: Vec<(usize, &str)> = errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        errors.len(),
        expected.len(),
        "expected {expected:?}, got {got:?}"
    );
    for ((line, fragment), e) in expected.iter().zip(&errors) {
        assert!(
            e.line == *line && e.message.contains(fragment),
            "expected line {line} containing {fragment:?}, got {got:?}"
        );
    }
}

#[track_caller]
fn parse_ok(text: &str) -> Config {
    match parse_config(text) {
        Ok(c) => c,
        Err(e) => panic!("rejected: {e:?}"),
    }
}

/// A valid measure to pad scorecards with.
const ONE_MEASURE: &str = r#"
[[health.measures]]
name = "Tickets"
kind = "open_tickets"
weight = 1
thresholds = [[0, 100], [3, 0]]
"#;

#[test]
fn default_config_parses() {
    let config = parse_ok(DEFAULT_CONFIG);
    assert_eq!(config, Config::default());
    assert_eq!(config.currency.reporting, Currency::USD);
    assert_eq!(
        config.currency.rates[&Currency::parse("EUR").unwrap()],
        1.08
    );
    assert_eq!(
        config.currency.rates[&Currency::parse("GBP").unwrap()],
        1.27
    );
    assert_eq!(config.costs.gross_margin, 1.0);
    assert_eq!(config.costs.cs_cost_monthly, None);
    assert_eq!(config.health.bands.band(39.9), Band::Red);
    assert_eq!(config.health.bands.band(40.0), Band::Yellow);
    assert_eq!(config.health.bands.band(70.0), Band::Green);
    let kinds: Vec<&str> = config
        .health
        .default
        .measures
        .iter()
        .map(|m| m.kind.name())
        .collect();
    assert_eq!(
        kinds,
        [
            "active_user_ratio",
            "event_count",
            "event_trend",
            "latest_nps",
            "days_to_renewal",
            "payment_failures"
        ]
    );
    // Usage is placed among the company's customers: active users among
    // all of them, events per active user within the plan when 30 or more
    // of it have data. No measure reads an event by name.
    let relative: Vec<Option<(Among, u32)>> = config
        .health
        .default
        .measures
        .iter()
        .map(|m| m.relative.as_ref().map(|r| (r.among.clone(), r.min_group)))
        .collect();
    assert_eq!(
        relative,
        [
            Some((Among::All, 30)),
            Some((Among::Plan, 30)),
            None,
            None,
            None,
            None
        ]
    );
    assert!(
        config
            .health
            .default
            .measures
            .iter()
            .all(|m| match &m.kind {
                MeasureKind::FeatureAdoption { .. } => false,
                MeasureKind::EventCount { events, .. } | MeasureKind::EventTrend { events, .. } =>
                    events.is_empty(),
                _ => true,
            })
    );
    // `tenure init` writes the adaptive scorecard, and the threshold one
    // (the former default) is a different card.
    let adaptive = parse_config(crate::health::ADAPTIVE_SCORECARD).unwrap();
    assert_eq!(config.health, adaptive.health);
    let thresholds = parse_config(crate::health::THRESHOLD_SCORECARD).unwrap();
    assert_ne!(
        thresholds.health.default.version(),
        config.health.default.version()
    );
    assert!(config.health.scorecards.is_empty());
    assert_eq!(config.server.addr, "127.0.0.1:8080");
}

#[test]
fn the_commented_example_scorecard_in_the_default_is_valid_when_uncommented() {
    let uncommented: String = DEFAULT_CONFIG
        .lines()
        .map(|l| {
            let t = l.strip_prefix("# ").unwrap_or(l);
            let is_example = t.starts_with("[[health.scorecards")
                || t.starts_with("name = ")
                || t.starts_with("match = ")
                || t.starts_with("kind = ")
                || t.starts_with("window_days = ")
                || t.starts_with("weight = ")
                || t.starts_with("linear = ")
                || t.starts_with("attribute = ");
            if is_example { t } else { l }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = parse_ok(&uncommented);
    assert_eq!(config.health.scorecards.len(), 1);
    let card = &config.health.scorecards[0];
    assert_eq!(card.name, "enterprise");
    assert_eq!(card.measures.len(), 2);
    assert_eq!(
        card.matches.as_ref().unwrap().plan,
        ["enterprise", "enterprise-plus"]
    );
}

#[test]
fn an_empty_file_gives_every_default() {
    let config = parse_ok("");
    assert_eq!(config.currency.rates.len(), 0);
    assert_eq!(config.health, Config::default().health);
    assert_eq!(config.server, ServerConfig::default());
    assert_eq!(config.costs, CostsConfig::default());
}

#[test]
fn sections_and_values_are_read() {
    let config = parse_ok(
        r#"
[currency]
reporting = "eur"
[currency.rates]
USD = 0.92
[costs]
gross_margin = 0.8
cs_cost_monthly = 12500.5
[health.bands]
yellow_from = 30
green_from = 75.5
[server]
addr = "0.0.0.0:3000"
stripe_webhook_secret = "whsec_abc"
"#,
    );
    let eur = Currency::parse("EUR").unwrap();
    assert_eq!(config.currency.reporting, eur);
    assert_eq!(config.currency.rate(eur), Some(1.0));
    assert_eq!(
        config
            .currency
            .to_reporting(Money::new(10_000, Currency::USD)),
        Ok(92.0)
    );
    let gbp = Currency::parse("GBP").unwrap();
    assert_eq!(
        config.currency.to_reporting(Money::new(1, gbp)),
        Err(MissingRate(gbp))
    );
    assert_eq!(config.costs.gross_margin, 0.8);
    assert_eq!(
        config.costs.cs_cost_monthly,
        Some(Money::new(1_250_050, eur))
    );
    assert_eq!(config.health.bands.yellow_from, 30.0);
    assert_eq!(config.health.bands.green_from, 75.5);
    assert_eq!(config.server.addr, "0.0.0.0:3000");
    assert_eq!(
        config
            .server
            .stripe_webhook_secret
            .as_ref()
            .map(Secret::expose),
        Some("whsec_abc")
    );
}

#[test]
fn debug_output_redacts_the_webhook_secret() {
    let config = parse_ok("[server]\nstripe_webhook_secret = \"whsec_topsecret\"\n");
    let shown = format!("{config:?}");
    assert!(!shown.contains("topsecret"), "{shown}");
    assert!(shown.contains("[redacted]"));
}

#[test]
fn per_plan_scorecards_are_read_in_order() {
    let config = parse_ok(&format!(
        r#"{ONE_MEASURE}
[[health.scorecards]]
name = "enterprise"
match = {{ plan = "enterprise" }}

[[health.scorecards.measures]]
name = "Seats"
kind = "seat_utilisation"
weight = 2
linear = {{ min = 0.2, max = 0.9 }}

[[health.scorecards]]
name = "gold"
match = {{ region = ["emea", "amer"], attributes = {{ tier = "gold" }} }}

[[health.scorecards.measures]]
name = "Sponsor"
kind = "custom_attribute"
attribute = "sponsor_score"
weight = 1
linear = {{ min = 0, max = 10, direction = "higher_is_better" }}
"#
    ));
    let h = &config.health;
    assert_eq!(h.default.measures.len(), 1);
    assert_eq!(h.scorecards.len(), 2);
    let mut acct = crate::model::Account::bare("a");
    assert_eq!(h.scorecard_for(&acct).name, "default");
    acct.region = Some("EMEA".into());
    acct.attributes.insert("tier".into(), "gold".into());
    assert_eq!(h.scorecard_for(&acct).name, "gold");
    acct.plan = Some("enterprise".into());
    assert_eq!(h.scorecard_for(&acct).name, "enterprise");
}

#[test]
fn measure_parameters_have_defaults() {
    let config = parse_ok(
        r#"
[[health.measures]]
name = "Active"
kind = "active_user_ratio"
weight = 1
thresholds = [[0, 0], [0.5, 100]]

[[health.measures]]
name = "CSAT"
kind = "csat_average"
weight = 1
linear = { min = 1, max = 5 }

[[health.measures]]
name = "NPS"
kind = "latest_nps"
weight = 1
linear = { min = 0, max = 10 }
"#,
    );
    let kinds: Vec<&MeasureKind> = config
        .health
        .default
        .measures
        .iter()
        .map(|m| &m.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            &MeasureKind::ActiveUserRatio {
                window_days: 30,
                denominator: Denominator::Auto
            },
            &MeasureKind::CsatAverage { window_days: 90 },
            &MeasureKind::LatestNps { window_days: None },
        ]
    );
}

#[test]
fn syntax_errors_have_their_line() {
    check_errors("[currency]\nreporting = \"USD\n", &[(2, "")]);
    check_errors("[costs]\ngross_margin = \n", &[(2, "")]);
}

#[test]
fn unknown_keys_are_rejected_with_their_line() {
    check_errors(
        "[currency]\nreporting = \"USD\"\nreportng = \"EUR\"\n",
        &[(3, "unknown field `reportng`")],
    );
    check_errors("[healht]\nbands = 1\n", &[(1, "unknown field `healht`")]);
    check_errors(
        r#"
[[health.measures]]
name = "Tickets"
kind = "open_tickets"
wieght = 1
thresholds = [[0, 100], [3, 0]]
"#,
        &[(5, "unknown field `wieght`")],
    );
    check_errors(
        "[[health.measures]]\nname = \"L\"\nkind = \"days_to_renewal\"\nweight = 1\nlinear = { min = 0, max = 9, drection = \"lower_is_better\" }\n",
        &[(5, "unknown field `drection`")],
    );
}

#[test]
fn wrong_types_are_rejected_with_their_line() {
    check_errors(
        "[costs]\n\ngross_margin = \"high\"\n",
        &[(3, "invalid type")],
    );
}

#[test]
fn unknown_measure_kinds_are_rejected() {
    check_errors(
        r#"
[[health.measures]]
name = "Logins"
kind = "login_count"
weight = 1
thresholds = [[0, 0], [10, 100]]
"#,
        &[(4, "unknown measure kind \"login_count\"")],
    );
}

#[test]
fn weights_must_be_positive() {
    check_errors(
        &format!(
            r#"{ONE_MEASURE}
[[health.measures]]
name = "Zero"
kind = "days_to_renewal"
weight = 0
thresholds = [[0, 0]]

[[health.measures]]
name = "Negative"
kind = "days_to_renewal"
weight = -2
thresholds = [[0, 0]]
"#
        ),
        &[
            (11, "weight must be a positive number, got 0"),
            (17, "got -2"),
        ],
    );
}

#[test]
fn thresholds_must_increase_without_overlap() {
    check_errors(
        r#"
[[health.measures]]
name = "Trend"
kind = "event_trend"
weight = 1
thresholds = [[0, 0], [0.5, 50], [0.5, 60]]

[[health.measures]]
name = "Tickets"
kind = "open_tickets"
weight = 1
thresholds = [
  [0, 100],
  [5, 20],
  [3, 50],
]

[[health.measures]]
name = "Renewal"
kind = "days_to_renewal"
weight = 1
thresholds = [[0, 40], [30, 170], [90]]
"#,
        &[
            (6, "thresholds overlap: value 0.5 appears twice"),
            (15, "thresholds out of order: 3 comes after 5"),
            (22, "points must be between 0 and 100, got 170"),
            (22, "each threshold is [value, points], got 1 numbers"),
        ],
    );
}

#[test]
fn linear_ranges_need_min_below_max_and_a_known_direction() {
    check_errors(
        r#"
[[health.measures]]
name = "Engagement"
kind = "days_since_engagement"
weight = 1
linear = { min = 120, max = 14 }

[[health.measures]]
name = "Renewal"
kind = "days_to_renewal"
weight = 1
linear = { min = 0, max = 90, direction = "down" }

[[health.measures]]
name = "Both"
kind = "days_to_renewal"
weight = 1
thresholds = [[0, 0]]
linear = { min = 0, max = 90 }
"#,
        &[
            (6, "linear.min (120) must be below linear.max (14)"),
            (
                12,
                "direction must be \"higher_is_better\" or \"lower_is_better\"",
            ),
            (19, "has both `thresholds` and `linear`"),
        ],
    );
}

#[test]
fn bands_must_be_in_order_and_in_range() {
    check_errors(
        "[health.bands]\nyellow_from = 70\ngreen_from = 40\n",
        &[(3, "bands out of order")],
    );
    check_errors(
        "[health.bands]\nyellow_from = 40\ngreen_from = 40\n",
        &[(3, "bands out of order")],
    );
    // Only one given: checked against the default of the other.
    check_errors(
        "[health.bands]\nyellow_from = 80\n",
        &[(2, "yellow_from (80) must be below green_from (70)")],
    );
    check_errors(
        "[health.bands]\ngreen_from = 140\n",
        &[(2, "green_from must be between 0 and 100")],
    );
}

#[test]
fn rates_must_be_positive_and_codes_valid() {
    check_errors(
        "[currency.rates]\nEUR = 0\nGBP = -1.2\nEURO = 1.1\nUSD = 2\n",
        &[
            (2, "currency.rates.EUR must be a positive number, got 0"),
            (3, "currency.rates.GBP must be a positive number"),
            (4, "three-letter currency code"),
            (5, "USD is the reporting currency"),
        ],
    );
    check_errors(
        "[currency]\nreporting = \"dollars\"\n",
        &[(2, "three-letter currency code")],
    );
}

#[test]
fn gross_margin_must_be_a_fraction() {
    check_errors(
        "[costs]\ngross_margin = 80\n",
        &[(2, "costs.gross_margin must be between 0 and 1")],
    );
    check_errors(
        "[costs]\ngross_margin = -0.1\ncs_cost_monthly = -5\n",
        &[
            (2, "gross_margin"),
            (3, "cs_cost_monthly must be a non-negative amount"),
        ],
    );
}

#[test]
fn parameters_must_fit_the_measure_kind() {
    check_errors(
        r#"
[[health.measures]]
name = "Logins"
kind = "event_count"
features = ["login"]
window_days = 0
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Adoption"
kind = "feature_adoption"
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Score"
kind = "custom_attribute"
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Active"
kind = "active_user_ratio"
denominator = "contacts"
weight = 1
thresholds = [[0, 0]]
"#,
        &[
            (5, "`features` does not apply to kind \"event_count\""),
            (
                6,
                "window_days must be a whole number of days from 1 to 3650, got 0",
            ),
            (10, "needs `features`"),
            (16, "needs `attribute`"),
            (25, "denominator must be"),
        ],
    );
}

#[test]
fn measures_need_name_kind_weight_and_normalisation() {
    check_errors(
        "[[health.measures]]\nwindow_days = 30\n",
        &[
            (1, "needs a `name`"),
            (1, "needs a `weight`"),
            (1, "needs a normalisation"),
            (1, "needs a `kind`"),
        ],
    );
    check_errors(
        &format!("{ONE_MEASURE}{ONE_MEASURE}"),
        &[(9, "two measures are named \"Tickets\"")],
    );
    check_errors("[health]\nmeasures = []\n", &[(2, "at least one measure")]);
}

#[test]
fn scorecards_need_a_unique_name_a_match_and_measures() {
    check_errors(
        &format!(
            r#"{ONE_MEASURE}
[[health.scorecards]]
name = "default"
match = {{ plan = "x" }}

[[health.scorecards.measures]]
name = "Tickets"
kind = "open_tickets"
weight = 1
thresholds = [[0, 100]]

[[health.scorecards]]
name = "empty"
match = {{ }}

[[health.scorecards]]
name = "no match"

[[health.scorecards.measures]]
name = "Tickets"
kind = "open_tickets"
weight = 1
thresholds = [[0, 100]]
"#
        ),
        &[
            (9, "the name \"default\" is taken"),
            // Errors about a missing key point at the table's header.
            (18, "scorecard \"empty\" has no measures"),
            (20, "the match of scorecard \"empty\" is empty"),
            (22, "scorecard \"no match\" needs a `match`"),
        ],
    );
}

#[test]
fn errors_carry_a_column() {
    let errors = parse_config("[costs]\ngross_margin = 2\n").unwrap_err();
    assert_eq!((errors[0].line, errors[0].column), (2, 16));
    assert_eq!(
        errors[0].to_string(),
        format!("line 2: {}", errors[0].message)
    );
}

#[test]
fn scorecard_hash_is_stable_and_tracks_content() {
    let a = Config::default();
    assert_eq!(a.scorecard_hash(), Config::default().scorecard_hash());
    assert_eq!(a.scorecard_hash().len(), 8);
    assert_eq!(a.health.default.version().len(), 8);
    // Comments and layout do not matter.
    let relaid = DEFAULT_CONFIG
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n\n");
    assert_eq!(parse_ok(&relaid).scorecard_hash(), a.scorecard_hash());
    // A weight does.
    assert!(DEFAULT_CONFIG.contains("weight = 20"));
    let changed = parse_ok(&DEFAULT_CONFIG.replacen("weight = 20", "weight = 21", 1));
    assert_ne!(changed.scorecard_hash(), a.scorecard_hash());
    assert_ne!(changed.health.default.version(), a.health.default.version());
    // Bands change the whole-config hash but not the scorecard's version.
    let banded = parse_ok(&DEFAULT_CONFIG.replacen("green_from = 70", "green_from = 75", 1));
    assert_ne!(banded.scorecard_hash(), a.scorecard_hash());
    assert_eq!(banded.health.default.version(), a.health.default.version());
}

// ----- [engage] ---------------------------------------------------------

const ENGAGE: &str = r#"
[engage]
engagement_kinds = ["call", "qbr"]

[[engage.tiers]]
name = "high"

[[engage.tiers]]
name = "tech"

[[engage.stages]]
name = "onboarding"
entry = "paying"
target_days = 60

[[engage.stages]]
name = "renewal"
entry = '''
paying
  && days_to_renewal != null && days_to_renewal <= 90'''

[[engage.segments]]
name = "Big"
rule = "arr >= 50000 && stage != \"renewal\""
tier = "high"
persona = "Large"

[[engage.segments]]
name = "Rest"
rule = "true"
tier = "tech"

[[engage.cadence]]
tier = "high"
stage = "onboarding"
kind = "call"
every_days = 14
"#;

#[test]
fn engage_tiers_segments_stages_and_cadence_parse() {
    let c = parse_ok(ENGAGE);
    let e = &c.engage;
    assert_eq!(c.engagement_kinds, ["call", "qbr"]);
    assert_eq!(
        e.tiers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["high", "tech"]
    );
    assert_eq!(e.segments.0[0].tier, 0);
    assert_eq!(e.segments.0[1].tier, 1);
    assert_eq!(e.segments.0[0].persona.as_deref(), Some("Large"));
    assert_eq!(e.journey.0[0].target_days, Some(60));
    assert_eq!(e.journey.0[1].target_days, None);
    assert_eq!(e.cadence[0].stage, Some(0));
    assert_eq!(e.cadence[0].every_days, 14);
    assert_eq!(e.settle_days, 14, "the default");
    let c = parse_ok(&ENGAGE.replace("[engage]\n", "[engage]\nsettle_days = 0\n"));
    assert_eq!(c.engage.settle_days, 0);
    // A stay rule is compiled like an entry rule, errors at their line.
    let with_stay = |rule: &str| {
        ENGAGE.replace(
            "entry = \"paying\"\ntarget_days = 60",
            &format!("entry = \"paying\"\nstay = \"{rule}\"\ntarget_days = 60"),
        )
    };
    let c = parse_ok(&with_stay("paying || in_trial"));
    assert!(c.engage.journey.0[0].stay.is_some());
    assert!(c.engage.journey.0[1].stay.is_none());
    check_errors(
        &with_stay("payin"),
        &[(
            14,
            "engage.stages \"onboarding\": stay: unknown field \"payin\"",
        )],
    );
    check_errors(
        &ENGAGE.replace("[engage]\n", "[engage]\nsettle_days = 400\n"),
        &[(3, "engage.settle_days must be from 0 to 365, got 400")],
    );
}

#[test]
fn a_file_without_engage_gets_the_default_one() {
    let c = parse_ok("[costs]\ngross_margin = 0.8\n");
    assert_eq!(c.engage, Config::default().engage);
    let stages: Vec<&str> = c.engage.journey.0.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        stages,
        [
            "onboarding",
            "adoption",
            "value",
            "renewal",
            "advocacy",
            "churned"
        ]
    );
}

#[test]
fn engage_rules_report_syntax_errors_and_unknown_fields_at_their_line() {
    // Line 20 is the rule's second line inside the ''' string.
    let text = ENGAGE.replace("days_to_renewal <= 90'''", "days_to_renewl <= 90'''");
    check_errors(
        &text,
        &[(
            20,
            "engage.stages \"renewal\": entry: unknown field \"days_to_renewl\" (did you mean \"days_to_renewal\"?)",
        )],
    );
    let text = ENGAGE.replace("rule = \"true\"", "rule = \"arr >= \"");
    check_errors(
        &text,
        &[(30, "engage.segments \"Rest\": rule: Syntax error")],
    );
    // Stage rules are decided before segments: they cannot read the stage.
    let text = ENGAGE.replace("entry = \"paying\"", "entry = \"stage == \\\"x\\\"\"");
    check_errors(&text, &[(13, "the field \"stage\" is not known yet")]);
    // Nor can segment rules read what Engage decides from the stage.
    let text = ENGAGE.replace("rule = \"true\"", "rule = \"overdue_engagements == 0\"");
    check_errors(
        &text,
        &[(
            30,
            "engage.segments \"Rest\": rule: the field \"overdue_engagements\" is not known yet",
        )],
    );
}

#[test]
fn engage_names_tiers_stages_and_kinds_must_exist() {
    let text = ENGAGE
        .replace("tier = \"tech\"", "tier = \"medium\"")
        .replace("stage = \"onboarding\"", "stage = \"onbording\"")
        .replace("kind = \"call\"", "kind = \"party\"")
        .replace("every_days = 14", "every_days = 0");
    check_errors(
        &text,
        &[
            (31, "unknown tier \"medium\": expected one of high, tech"),
            (
                35,
                "unknown stage \"onbording\": expected one of onboarding, renewal",
            ),
            (
                36,
                "unknown engagement kind \"party\": expected one of call, qbr",
            ),
            (37, "every_days must be from 1 to 730, got 0"),
        ],
    );
    let text = ENGAGE.replace("name = \"Rest\"", "name = \"Big\"");
    check_errors(&text, &[(29, "engage.segments: \"Big\" is defined twice")]);
}

// ----- [target] ---------------------------------------------------------

const TARGET: &str = r#"
[target]
amber_within = 0.2

[target.kpis]
health_mean = 65
overdue_tasks = 0

[[target.csm]]
email = "Ana@Example.com"
kpis = { health_mean = 75, nrr = 1.1 }

[[target.templates]]
name = "Big onboarding"
segments = ["Big"]
stages = ["onboarding"]

[[target.templates.goals]]
name = "Seats used"
metric = "usage_rate"
target = 0.6

[[target.templates.goals]]
name = "Licences"
metric = "attrs.licences"
target = 40

[[target.templates.goals]]
name = "Tickets"
metric = "open_tickets"
target = 2
at_most = true

[[target.templates.goals]]
name = "Executive sponsor named"
target = 1

[[target.templates.milestones]]
name = "Kick-off"
due_days = 7

[[target.templates.milestones]]
name = "Sponsor sign-off"
due_days = 30
owner = "executive_sponsor"
"#;

#[test]
fn target_templates_and_kpi_targets_parse() {
    use crate::target::kpis::Kpi;
    use crate::target::plans::GoalMetric;
    let c = parse_ok(&format!("{ENGAGE}{TARGET}"));
    let t = &c.target;
    assert_eq!(t.roles, crate::target::DEFAULT_ROLES);
    assert_eq!(t.amber_within, 0.2);
    let tpl = &t.templates[0];
    assert_eq!(
        (
            tpl.segments.as_slice(),
            tpl.tiers.as_slice(),
            tpl.stages.as_slice()
        ),
        (&[0][..], &[][..], &[0][..])
    );
    assert_eq!(tpl.goals[0].metric, Some(GoalMetric::Fact("usage_rate")));
    assert_eq!(
        tpl.goals[1].metric,
        Some(GoalMetric::Attribute("licences".into()))
    );
    assert!(tpl.goals[2].at_most);
    assert_eq!(tpl.goals[3].metric, None);
    assert_eq!(tpl.milestones[0].owner, "csm", "the default owner");
    assert_eq!(tpl.milestones[1].owner, "executive_sponsor");
    assert_eq!(t.target(Kpi::HealthMean, None), Some(65.0));
    assert_eq!(
        t.target(Kpi::HealthMean, Some("ana@example.com")),
        Some(75.0)
    );
    assert_eq!(
        t.target(Kpi::OverdueTasks, Some("ana@example.com")),
        Some(0.0),
        "the team's"
    );
    assert_eq!(t.target(Kpi::Nrr, None), None);
    // The default file's templates name the default segments and stages.
    let d = Config::default();
    assert!(d.target.templates.len() >= 3);
    assert_eq!(d.target.kpis.get(&Kpi::PlanExecution), Some(&0.8));
    // Without [target] but with [engage]: no templates, no targets.
    let c = parse_ok(ENGAGE);
    assert!(c.target.templates.is_empty() && c.target.kpis.is_empty());
}

#[test]
fn target_templates_name_known_segments_stages_metrics_and_roles() {
    let text = format!("{ENGAGE}{TARGET}")
        .replace("segments = [\"Big\"]", "segments = [\"Huge\"]")
        .replace("stages = [\"onboarding\"]", "stages = [\"onbording\"]")
        .replace("metric = \"usage_rate\"", "metric = \"mau\"")
        .replace("owner = \"executive_sponsor\"", "owner = \"ceo\"")
        .replace("health_mean = 65", "health = 65");
    // Lines are counted from where TARGET starts.
    let base = ENGAGE.lines().count();
    check_errors(
        &text,
        &[
            (base + 6, "unknown KPI \"health\""),
            (
                base + 15,
                "unknown segment \"Huge\": expected one of Big, Rest",
            ),
            (
                base + 16,
                "unknown stage \"onbording\": expected one of onboarding, renewal",
            ),
            (
                base + 20,
                "unknown metric \"mau\": expected attrs.NAME or one of",
            ),
            (
                base + 45,
                "unknown role \"ceo\": expected one of csm, customer",
            ),
        ],
    );
    let text = format!("{ENGAGE}{TARGET}").replace("due_days = 7\n", "due_days = 800\n");
    check_errors(
        &text,
        &[(
            ENGAGE.lines().count() + 40,
            "due_days must be from 0 to 730, got 800",
        )],
    );
    let text =
        format!("{ENGAGE}{TARGET}").replace("[target]\n", "[target]\nroles = [\"customer\"]\n");
    // Without "csm" the milestone owned by default cannot be owned either.
    let errors = parse_config(&text).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("must include \"csm\"")),
        "{errors:?}"
    );
}

/// The commented example of the default file that starts at `marker`,
/// uncommented, up to its first empty line.
pub(super) fn uncommented_example(marker: &str) -> String {
    let start = DEFAULT_CONFIG.find(marker).expect("the example");
    DEFAULT_CONFIG[start..]
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn crm_mappings_are_checked_at_their_line() {
    let example = uncommented_example("[crm.hubspot]");
    let config = parse_ok(&example);
    let hs = config.crm.settings(crate::crm::Crm::Hubspot);
    assert_eq!(
        hs.fields,
        // In the file's order.
        vec![
            (
                "Health (custom)".to_string(),
                crate::crm::Target::Attribute("health".into())
            ),
            (
                "Customer tier".to_string(),
                crate::crm::Target::Field(crate::crm::Field::Plan)
            ),
        ]
    );
    assert_eq!(hs.owners["jane doe"], "jane@example.com");
    assert_eq!(
        config.crm.salesforce.fields[1].1,
        crate::crm::Target::Field(crate::crm::Field::CsmEmail)
    );
    // Without the section, the defaults.
    assert_eq!(Config::default().crm, crate::crm::CrmConfig::default());

    check_errors(
        r#"
[crm.salesforce.fields]
"Account Name" = "name"
"CSM__c" = "csm"
"Tier__c" = "attributes."
"" = "plan"

[crm.salesforce.owners]
"Ann Smith" = "ann"

[crm.hubspot]
renewal_types = []
date_order = "ymd"
"#,
        &[
            (4, "unknown Tenure field \"csm\""),
            (5, "`attributes.` needs the attribute's name"),
            (6, "a column name is empty"),
            (9, "crm.salesforce.owners \"Ann Smith\""),
            (12, "crm.hubspot.renewal_types is empty"),
            (13, "date_order must be \"mdy\" or \"dmy\""),
        ],
    );
    check_errors(
        "[crm.pipedrive]\nfields = {}\n",
        &[(1, "unknown field `pipedrive`")],
    );
}

#[test]
fn the_crm_webhook_names_an_endpoint_and_known_fields() {
    use crate::crm_webhook::{Field, WebhookConfig};
    const HOOK: &str = "[[outbound.webhooks]]\nname = \"crm\"\nurl = \"https://hooks.example.com/t\"\nsecret = \"s\"\n";
    let config = parse_ok(&format!("{HOOK}[crm.webhook]\nendpoint = \"crm\"\n"));
    assert_eq!(
        config.crm.webhook,
        Some(WebhookConfig {
            endpoint: "crm".into(),
            batch_size: 100,
            fields: Field::ALL.to_vec(),
        })
    );
    let config = parse_ok(&format!(
        "{HOOK}[crm.webhook]\nendpoint = \"crm\"\nbatch_size = 2\nfields = [\"nps\", \"health_band\"]\n"
    ));
    let w = config.crm.webhook.unwrap();
    assert_eq!(
        (w.batch_size, w.fields),
        (2, vec![Field::HealthBand, Field::Nps])
    );
    assert_eq!(Config::default().crm.webhook, None);
    // The default file's commented example, with its [outbound] example.
    let example = format!(
        "{}\n{}\n",
        uncommented_example("[outbound]\n"),
        uncommented_example("[crm.webhook]")
    );
    let w = parse_ok(&example).crm.webhook.unwrap();
    assert_eq!((w.endpoint.as_str(), w.fields.len()), ("crm", 6));

    check_errors(
        &format!(
            "{HOOK}[crm.webhook]\nendpoint = \"slack\"\nbatch_size = 0\nfields = [\"band\", \"nps\", \"nps\"]\n"
        ),
        &[
            (
                6,
                "crm.webhook.endpoint: unknown webhook endpoint \"slack\": expected one of crm",
            ),
            (7, "crm.webhook.batch_size must be from 1 to 1000, got 0"),
            (
                8,
                "unknown field \"band\": expected one of health_band, at_risk",
            ),
            (8, "crm.webhook.fields: \"nps\" is listed twice"),
        ],
    );
    check_errors(
        "[crm.webhook]\nendpoint = \"crm\"\n",
        &[(
            2,
            "\"crm\" is not an endpoint: no [[outbound.webhooks]] is configured",
        )],
    );
    check_errors(
        &format!("{HOOK}[crm.webhook]\nfields = []\n"),
        &[
            (5, "crm.webhook: name its endpoint"),
            (6, "crm.webhook.fields is empty"),
        ],
    );
}

#[test]
fn card_frame_ancestors_are_origins_checked_at_their_line() {
    let config = parse_ok(
        "[server]\ncard_frame_ancestors = [\"https://acme.lightning.force.com\", \"https://*.hubspot.com\", \"http://localhost:3000\"]\n",
    );
    assert_eq!(
        config.server.card_frame_ancestors,
        [
            "https://acme.lightning.force.com",
            "https://*.hubspot.com",
            "http://localhost:3000"
        ]
    );
    assert!(Config::default().server.card_frame_ancestors.is_empty());
    check_errors(
        "[server]\ncard_frame_ancestors = [\n  \"https://app.hubspot.com\",\n  \"https://x.com/path\",\n  \"'self'; script-src *\",\n]\n",
        &[
            (
                4,
                "card_frame_ancestors: \"https://x.com/path\" is not an origin",
            ),
            (5, "is not an origin"),
        ],
    );
}
