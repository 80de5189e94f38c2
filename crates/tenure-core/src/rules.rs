//! Rules written in CEL (the Common Expression Language, through the
//! maintained `cel` crate): segment rules, journey-stage entry criteria
//! and playbook triggers and exits, all evaluated over one account's
//! [`Facts`].
//!
//! A [`Rule`] is compiled once, when `tenure.toml` is checked: a syntax
//! error or a name that is not a field ([`FIELDS`]) is a [`RuleError`] with
//! its line and column inside the expression, which the configuration
//! checker turns into a line of the file. Evaluating it on an account gives
//! `true`, `false` or an error in words (a missing custom attribute, a
//! comparison of a missing value): the caller marks that account and goes
//! on. A missing value is CEL's `null`, and comparing `null` with a number
//! is an error, so rules say `nps != null && nps >= 50`; `has(attrs.x)`
//! asks whether a custom attribute is set.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::common::types::{CelBool, CelDouble, CelInt, CelMap, CelMapKey, CelNull, CelString};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, Program, Value};

/// A field rules can read: its name, its type and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    /// `int`, `double`, `string`, `bool` or `map`, as CEL names them.
    pub kind: &'static str,
    pub about: &'static str,
}

macro_rules! fields {
    ($( $name:literal : $kind:literal => $about:literal ),* $(,)?) => {
        /// Every field a rule can read, in the order docs/ENGAGE.md lists
        /// them. Fields without a value for an account are `null`.
        pub const FIELDS: &[Field] = &[ $( Field { name: $name, kind: $kind, about: $about }, )* ];
    };
}

fields! {
    "id": "string" => "the account's id",
    "name": "string" => "the account's name",
    "industry": "string" => "industry, as imported",
    "plan": "string" => "plan, as imported",
    "region": "string" => "region, as imported",
    "csm_email": "string" => "the owning CSM's email",
    "employees": "int" => "number of employees",
    "attrs": "map" => "custom attributes (extra columns of the accounts file), as text: attrs.segment",
    "mrr": "double" => "MRR today, in the reporting currency",
    "arr": "double" => "12 × MRR today",
    "arr_percentile": "double" => "share of paying accounts with a lower ARR, 0–1 (null when not paying)",
    "paying": "bool" => "MRR today is above zero",
    "in_trial": "bool" => "today falls in the account's trial",
    "churned": "bool" => "paid before, pays nothing today",
    "days_since_first_mrr": "int" => "days since the account first paid (null if it never did)",
    "days_since_created": "int" => "days since created_at",
    "days_to_renewal": "int" => "days to the nearest renewal_date of a running subscription",
    "seats": "int" => "seats of the subscriptions running today",
    "health": "double" => "today's health score, 0–100",
    "band": "string" => "today's health band: red, yellow or green",
    "health_trend_30d": "double" => "health score change over 30 days",
    "active_users_30d": "int" => "distinct active users in the last 30 days",
    "usage_rate": "double" => "active users in 30 days ÷ seats, 0–1",
    "events_30d": "int" => "events in the last 30 days",
    "nps": "double" => "the account's latest NPS answer, 0–10",
    "days_since_nps": "int" => "days since that answer",
    "open_tickets": "int" => "support tickets still open",
    "days_since_last_engagement": "int" => "days since the CSM's last logged engagement",
    "stage": "string" => "journey stage (segment rules only: stages are decided first)",
    "previous_band": "string" => "the health band of the day before (null when that day has no score)",
    "active_users_change_30d": "double" => "change in active users, the last 30 days against the 30 days before, in percent (-40: down 40 %; null when the 30 days before had none)",
    "events_change_30d": "double" => "change in events, the last 30 days against the 30 days before, in percent (null when the 30 days before had none)",
    "payment_failures_30d": "int" => "failed payments in the last 30 days (null when no billing source is connected)",
    "champions": "int" => "champion contacts who have not left",
    "days_since_champion_lost": "int" => "days since a champion contact left or lost the champion flag (null if none ever did)",
    "days_in_stage": "int" => "days since the account entered its journey stage (playbook rules only)",
    "overdue_engagements": "int" => "engagements the cadence policies want that are overdue (playbook rules only)",
    "churn_risk": "double" => "the churn model's probability of churn within its horizon, 0–1, from the latest daily prediction on or before the day (null without a model or a prediction for the account)",
}

/// Fields Engage decides from the stage and segment, so that stage and
/// segment rules cannot read them: playbooks can.
pub const AFTER_ENGAGE: [&str; 2] = ["days_in_stage", "overdue_engagements"];

/// The names of [`FIELDS`].
pub fn field_names() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().map(|f| f.name)
}

/// One account's values for [`FIELDS`]. `None` is CEL's `null`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub id: String,
    pub name: String,
    pub industry: Option<String>,
    pub plan: Option<String>,
    pub region: Option<String>,
    pub csm_email: Option<String>,
    pub employees: Option<i64>,
    pub attrs: BTreeMap<String, String>,
    pub mrr: f64,
    pub arr_percentile: Option<f64>,
    pub paying: bool,
    pub in_trial: bool,
    pub churned: bool,
    pub days_since_first_mrr: Option<i64>,
    pub days_since_created: Option<i64>,
    pub days_to_renewal: Option<i64>,
    pub seats: Option<i64>,
    pub health: Option<f64>,
    pub band: Option<&'static str>,
    pub health_trend_30d: Option<f64>,
    pub active_users_30d: Option<i64>,
    pub usage_rate: Option<f64>,
    pub events_30d: Option<i64>,
    pub nps: Option<f64>,
    pub days_since_nps: Option<i64>,
    pub open_tickets: Option<i64>,
    pub days_since_last_engagement: Option<i64>,
    pub stage: Option<String>,
    pub previous_band: Option<&'static str>,
    pub active_users_change_30d: Option<f64>,
    pub events_change_30d: Option<f64>,
    pub payment_failures_30d: Option<i64>,
    pub champions: Option<i64>,
    pub days_since_champion_lost: Option<i64>,
    pub days_in_stage: Option<i64>,
    pub overdue_engagements: Option<i64>,
    pub churn_risk: Option<f64>,
}

fn text(v: &Option<String>) -> CowVal<'_, '_> {
    match v {
        Some(s) => CowVal::owned(CelString::from(s.as_str())),
        None => CowVal::owned(CelNull),
    }
}

fn int(v: Option<i64>) -> CowVal<'static, 'static> {
    match v {
        Some(x) => CowVal::owned(CelInt::from(x)),
        None => CowVal::owned(CelNull),
    }
}

fn static_text(v: Option<&'static str>) -> CowVal<'static, 'static> {
    match v {
        Some(b) => CowVal::owned(CelString::from(b)),
        None => CowVal::owned(CelNull),
    }
}

fn double(v: Option<f64>) -> CowVal<'static, 'static> {
    match v {
        Some(x) => CowVal::owned(CelDouble::from(x)),
        None => CowVal::owned(CelNull),
    }
}

impl Facts {
    /// A field's value as text, for a trace: numbers without needless
    /// decimals, strings as they are, `null` for no value.
    pub fn value_text(&self, name: &str) -> String {
        fn num(x: Option<f64>) -> String {
            match x {
                Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
                Some(v) => format!("{v:.4}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string(),
                None => "null".into(),
            }
        }
        let int = |x: Option<i64>| x.map_or("null".to_string(), |v| v.to_string());
        let text = |x: &Option<String>| x.clone().unwrap_or_else(|| "null".into());
        match name {
            "id" => self.id.clone(),
            "name" => self.name.clone(),
            "industry" => text(&self.industry),
            "plan" => text(&self.plan),
            "region" => text(&self.region),
            "csm_email" => text(&self.csm_email),
            "employees" => int(self.employees),
            "attrs" => format!("{:?}", self.attrs),
            "mrr" => num(Some(self.mrr)),
            "arr" => num(Some(self.mrr * 12.0)),
            "arr_percentile" => num(self.arr_percentile),
            "paying" => self.paying.to_string(),
            "in_trial" => self.in_trial.to_string(),
            "churned" => self.churned.to_string(),
            "days_since_first_mrr" => int(self.days_since_first_mrr),
            "days_since_created" => int(self.days_since_created),
            "days_to_renewal" => int(self.days_to_renewal),
            "seats" => int(self.seats),
            "health" => num(self.health),
            "band" => self.band.unwrap_or("null").to_string(),
            "health_trend_30d" => num(self.health_trend_30d),
            "active_users_30d" => int(self.active_users_30d),
            "usage_rate" => num(self.usage_rate),
            "events_30d" => int(self.events_30d),
            "nps" => num(self.nps),
            "days_since_nps" => int(self.days_since_nps),
            "open_tickets" => int(self.open_tickets),
            "days_since_last_engagement" => int(self.days_since_last_engagement),
            "stage" => text(&self.stage),
            "previous_band" => self.previous_band.unwrap_or("null").to_string(),
            "active_users_change_30d" => num(self.active_users_change_30d),
            "events_change_30d" => num(self.events_change_30d),
            "payment_failures_30d" => int(self.payment_failures_30d),
            "champions" => int(self.champions),
            "days_since_champion_lost" => int(self.days_since_champion_lost),
            "days_in_stage" => int(self.days_in_stage),
            "overdue_engagements" => int(self.overdue_engagements),
            "churn_risk" => num(self.churn_risk),
            _ => "null".into(),
        }
    }
}

impl VariableResolver for Facts {
    fn resolve<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        Some(match name {
            "id" => CowVal::owned(CelString::from(self.id.as_str())),
            "name" => CowVal::owned(CelString::from(self.name.as_str())),
            "industry" => text(&self.industry),
            "plan" => text(&self.plan),
            "region" => text(&self.region),
            "csm_email" => text(&self.csm_email),
            "employees" => int(self.employees),
            "attrs" => {
                let map: HashMap<CelMapKey<'b>, Box<dyn Val + 'b>> = self
                    .attrs
                    .iter()
                    .map(|(k, v)| {
                        let value: Box<dyn Val + 'b> = Box::new(CelString::from(v.as_str()));
                        (CelMapKey::String(CelString::from(k.as_str())), value)
                    })
                    .collect();
                CowVal::owned(CelMap::from(map))
            }
            "mrr" => CowVal::owned(CelDouble::from(self.mrr)),
            "arr" => CowVal::owned(CelDouble::from(self.mrr * 12.0)),
            "arr_percentile" => double(self.arr_percentile),
            "paying" => CowVal::owned(CelBool::from(self.paying)),
            "in_trial" => CowVal::owned(CelBool::from(self.in_trial)),
            "churned" => CowVal::owned(CelBool::from(self.churned)),
            "days_since_first_mrr" => int(self.days_since_first_mrr),
            "days_since_created" => int(self.days_since_created),
            "days_to_renewal" => int(self.days_to_renewal),
            "seats" => int(self.seats),
            "health" => double(self.health),
            "band" => static_text(self.band),
            "previous_band" => static_text(self.previous_band),
            "active_users_change_30d" => double(self.active_users_change_30d),
            "events_change_30d" => double(self.events_change_30d),
            "payment_failures_30d" => int(self.payment_failures_30d),
            "champions" => int(self.champions),
            "days_since_champion_lost" => int(self.days_since_champion_lost),
            "days_in_stage" => int(self.days_in_stage),
            "overdue_engagements" => int(self.overdue_engagements),
            "churn_risk" => double(self.churn_risk),
            "health_trend_30d" => double(self.health_trend_30d),
            "active_users_30d" => int(self.active_users_30d),
            "usage_rate" => double(self.usage_rate),
            "events_30d" => int(self.events_30d),
            "nps" => double(self.nps),
            "days_since_nps" => int(self.days_since_nps),
            "open_tickets" => int(self.open_tickets),
            "days_since_last_engagement" => int(self.days_since_last_engagement),
            "stage" => text(&self.stage),
            _ => return None,
        })
    }
}

/// A problem with a rule's text, at a 1-based line and column of the
/// expression (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A compiled rule.
#[derive(Clone)]
pub struct Rule {
    source: Arc<str>,
    program: Arc<Program>,
    /// The field names it reads.
    reads: Arc<[String]>,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Rule").field(&self.source).finish()
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.source == other.source
    }
}

/// The one CEL environment: the standard functions and macros.
fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(Env::stdlib()))
}

impl Rule {
    /// Compiles `source`; `allowed` says which field names it may read
    /// (segment rules may read `stage`, stage criteria may not). Every
    /// syntax error, or every unknown name, is reported.
    pub fn compile(source: &str, allowed: &dyn Fn(&str) -> bool) -> Result<Rule, Vec<RuleError>> {
        if source.trim().is_empty() {
            return Err(vec![RuleError {
                line: 1,
                column: 1,
                message: "the rule is empty: write a condition such as `arr >= 50000`, or `true`"
                    .into(),
            }]);
        }
        let program = env().compile(source).map_err(|e| {
            e.errors
                .iter()
                .map(|p| RuleError {
                    line: p.pos.0.max(1) as usize,
                    column: p.pos.1.max(1) as usize,
                    message: p.msg.clone(),
                })
                .collect::<Vec<_>>()
        })?;
        let mut errors = Vec::new();
        let names = free_names(&program);
        for (name, offset) in &names {
            let (name, offset) = (name.as_str(), *offset);
            if !allowed(name) {
                let (line, column) = line_column(source, offset);
                errors.push(RuleError {
                    line,
                    column,
                    message: if field_names().any(|f| f == name) {
                        format!("the field {name:?} is not known yet when this rule is decided")
                    } else {
                        format!("unknown field {name:?}{}", suggestion(name, allowed))
                    },
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Rule {
            source: source.into(),
            program: Arc::new(program),
            reads: names.into_iter().map(|(n, _)| n).collect(),
        })
    }

    /// Whether the rule reads the field `name` (`attrs` for any custom
    /// attribute).
    pub fn reads(&self, name: &str) -> bool {
        self.reads.iter().any(|n| n == name)
    }

    /// The rule as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the account matches; an error in words when the rule cannot
    /// be decided on its values (the caller marks the account and goes on).
    pub fn matches(&self, facts: &Facts) -> Result<bool, String> {
        self.matches_on(facts)
    }

    /// [`Rule::matches`] over another record's fields (a feedback item's,
    /// `feedback::ItemFacts`), for rules compiled with those names allowed.
    pub fn matches_on(&self, vars: &dyn VariableResolver) -> Result<bool, String> {
        let mut ctx = Context::with_env(Arc::clone(env()));
        ctx.set_variable_resolver(vars);
        match self.program.execute(&ctx) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("the rule gave {other:?}, not true or false")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The identifiers `program` reads that no macro binds (`t` in
/// `tags.exists(t, ...)` is bound), each with the byte offset where it
/// starts in the source.
fn free_names(program: &Program) -> Vec<(String, usize)> {
    fn walk(e: &IdedExpr, bound: &mut Vec<String>, out: &mut Vec<(String, u64)>) {
        match &e.expr {
            Expr::Ident(name) => {
                if !name.starts_with('@') && !bound.contains(name) {
                    out.push((name.clone(), e.id));
                }
            }
            Expr::Call(c) => {
                if let Some(t) = &c.target {
                    walk(t, bound, out);
                }
                for a in &c.args {
                    walk(a, bound, out);
                }
            }
            Expr::Select(s) => walk(&s.operand, bound, out),
            Expr::List(l) => {
                for x in &l.elements {
                    walk(x, bound, out);
                }
            }
            Expr::Map(m) => entries(&m.entries, bound, out),
            Expr::Struct(s) => entries(&s.entries, bound, out),
            Expr::Comprehension(c) => {
                walk(&c.iter_range, bound, out);
                walk(&c.accu_init, bound, out);
                let n = bound.len();
                bound.push(c.iter_var.clone());
                bound.extend(c.iter_var2.clone());
                bound.push(c.accu_var.clone());
                walk(&c.loop_cond, bound, out);
                walk(&c.loop_step, bound, out);
                walk(&c.result, bound, out);
                bound.truncate(n);
            }
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
    fn entries(
        list: &[cel::common::ast::IdedEntryExpr],
        bound: &mut Vec<String>,
        out: &mut Vec<(String, u64)>,
    ) {
        for en in list {
            match &en.expr {
                EntryExpr::MapEntry(me) => {
                    walk(&me.key, bound, out);
                    walk(&me.value, bound, out);
                }
                EntryExpr::StructField(f) => walk(&f.value, bound, out),
            }
        }
    }
    let mut out = Vec::new();
    walk(program.expression(), &mut Vec::new(), &mut out);
    let mut seen = Vec::new();
    out.into_iter()
        .filter_map(|(name, id)| {
            let offset = program
                .source_info()
                .offset_for(id)
                .map_or(0, |(start, _)| start as usize);
            (!seen.contains(&name)).then(|| {
                seen.push(name.clone());
                (name, offset)
            })
        })
        .collect()
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset.min(source.len())).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// ` (did you mean "x"?)` when an allowed field is one or two edits away.
fn suggestion(name: &str, allowed: &dyn Fn(&str) -> bool) -> String {
    field_names()
        .filter(|f| allowed(f))
        .map(|f| (edit_distance(name, f), f))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map_or(String::new(), |(_, f)| format!(" (did you mean {f:?}?)"))
}

/// Levenshtein distance, for suggestions only.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(_: &str) -> bool {
        true
    }

    fn known(name: &str) -> bool {
        field_names().any(|f| f == name)
    }

    fn facts() -> Facts {
        Facts {
            id: "a1".into(),
            name: "Acme".into(),
            industry: Some("fintech".into()),
            mrr: 5000.0,
            paying: true,
            employees: Some(120),
            attrs: [("segment".to_string(), "smb".to_string())].into(),
            ..Facts::default()
        }
    }

    fn check(src: &str) -> Result<bool, String> {
        Rule::compile(src, &known)
            .map_err(|e| format!("{e:?}"))?
            .matches(&facts())
    }

    #[test]
    fn rules_read_fields_attributes_and_nulls() {
        assert_eq!(check(r#"arr >= 50000 && industry == "fintech""#), Ok(true));
        assert_eq!(check("arr >= 60001"), Ok(false));
        assert_eq!(check(r#"industry in ["health", "fintech"]"#), Ok(true));
        assert_eq!(check(r#"attrs.segment == "smb""#), Ok(true));
        assert_eq!(check("has(attrs.tier)"), Ok(false));
        assert_eq!(check("nps == null"), Ok(true));
        assert_eq!(check("nps != null && nps >= 50"), Ok(false));
        assert_eq!(
            check(r#"name.startsWith("Ac") && employees > 100"#),
            Ok(true)
        );
    }

    #[test]
    fn a_rule_knows_the_fields_it_reads() {
        let r = Rule::compile(r#"attrs.size == "big" && tags.exists(t, t == "x")"#, &any).unwrap();
        assert!(r.reads("attrs") && r.reads("tags"));
        // `t` is bound by the macro, not read.
        assert!(!r.reads("t") && !r.reads("size"));
        let r = Rule::compile("arr >= 5", &any).unwrap();
        assert!(r.reads("arr") && !r.reads("attrs"));
    }

    #[test]
    fn evaluation_errors_name_the_problem_and_do_not_panic() {
        let e = check("nps >= 50").unwrap_err();
        assert!(e.contains("null"), "{e}");
        let e = check("attrs.tier == \"gold\"").unwrap_err();
        assert!(e.contains("tier"), "{e}");
        let e = check("arr").unwrap_err();
        assert!(e.contains("not true or false"), "{e}");
    }

    #[test]
    fn syntax_errors_and_unknown_fields_have_a_position() {
        let e = Rule::compile("arr >= ", &any).unwrap_err();
        assert_eq!((e[0].line, e[0].column), (1, 8));
        let e = Rule::compile("arr >= 5 &&\n  industri == \"x\"", &known).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].line, e[0].column), (2, 3));
        assert_eq!(
            e[0].message,
            "unknown field \"industri\" (did you mean \"industry\"?)"
        );
        // A macro's own variable is not a field.
        assert!(Rule::compile(r#"[1, 2].exists(t, t > 1) && arr > 0"#, &known).is_ok());
        let e = Rule::compile("stage == \"adoption\"", &|f| f != "stage").unwrap_err();
        assert!(
            e[0].message
                .starts_with("the field \"stage\" is not known yet")
        );
        assert!(Rule::compile("  ", &any).is_err());
    }
}
