//! Mapping between core records and table rows.
//!
//! [`Record`] is any importable record; [`to_values`] turns it into the
//! values of its table's columns, [`from_row`] reads one back, and
//! [`file_values`] gives the values of its *file* columns for exports.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use tenure_core::model::{
    Account, Contact, Currency, Engagement, Event, Money, Priority, Subscription, SurveyKind,
    SurveyResponse, Ticket,
};

use crate::scan::ScanRow;
use crate::{Kind, Result, StoreError};

/// A value bound to a column. Nulls keep their type: PostgreSQL rejects a
/// text-typed NULL in a BIGINT column.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

/// Bound on a `rusqlite` statement (the SQLite file's bulk writes).
impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Val::Int(i) => i.to_sql(),
            Val::Text(t) => t.to_sql(),
        }
    }
}

/// Where an upsert finds its conflict.
#[derive(Debug, Clone, Copy)]
pub enum Conflict {
    /// Keyed by `id`: insert or update.
    Id,
    /// Events: skip rows whose non-null `message_id` is already stored.
    MessageId,
}

/// A table's writable columns, in the order [`to_values`] produces them.
#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub conflict: Conflict,
}

const ACCOUNTS: TableSpec = TableSpec {
    name: "accounts",
    columns: &[
        "id",
        "name",
        "industry",
        "employees",
        "region",
        "plan",
        "csm_email",
        "created_at",
        "trial_start",
        "trial_end",
        "attributes",
    ],
    conflict: Conflict::Id,
};
const CONTACTS: TableSpec = TableSpec {
    name: "contacts",
    columns: &[
        "id",
        "account_id",
        "email",
        "name",
        "role",
        "champion",
        "left_on",
    ],
    conflict: Conflict::Id,
};
const SUBSCRIPTIONS: TableSpec = TableSpec {
    name: "subscriptions",
    columns: &[
        "id",
        "account_id",
        "mrr_minor",
        "currency",
        "plan",
        "seats",
        "start_date",
        "end_date",
        "renewal_date",
    ],
    conflict: Conflict::Id,
};
const EVENTS: TableSpec = TableSpec {
    name: "events",
    columns: &[
        "account_id",
        "user_id",
        "event",
        "ts",
        "properties",
        "message_id",
    ],
    conflict: Conflict::MessageId,
};
const TICKETS: TableSpec = TableSpec {
    name: "tickets",
    columns: &[
        "id",
        "account_id",
        "opened_at",
        "closed_at",
        "priority",
        "first_contact_resolved",
        "csat",
        "subject",
        "description",
    ],
    conflict: Conflict::Id,
};
const SURVEY_RESPONSES: TableSpec = TableSpec {
    name: "survey_responses",
    columns: &[
        "id",
        "account_id",
        "contact_id",
        "kind",
        "score",
        "responded_at",
        "comment",
    ],
    conflict: Conflict::Id,
};
const ENGAGEMENTS: TableSpec = TableSpec {
    name: "engagements",
    columns: &[
        "id",
        "account_id",
        "kind",
        "occurred_at",
        "csm_email",
        "notes",
    ],
    conflict: Conflict::Id,
};

/// The table behind a kind.
pub fn table_spec(kind: Kind) -> &'static TableSpec {
    match kind {
        Kind::Accounts => &ACCOUNTS,
        Kind::Contacts => &CONTACTS,
        Kind::Subscriptions => &SUBSCRIPTIONS,
        Kind::Events => &EVENTS,
        Kind::Tickets => &TICKETS,
        Kind::SurveyResponses => &SURVEY_RESPONSES,
        Kind::Engagements => &ENGAGEMENTS,
    }
}

/// The table columns a file column writes (for updating only what a file has).
pub fn columns_for_field(kind: Kind, field: &str) -> &'static [&'static str] {
    match (kind, field) {
        (Kind::Subscriptions, "mrr" | "currency") => &["mrr_minor", "currency"],
        (Kind::Events, "timestamp") => &["ts"],
        _ => {
            let spec = table_spec(kind);
            match spec.columns.iter().position(|c| *c == field) {
                Some(i) => &spec.columns[i..=i],
                None => &[],
            }
        }
    }
}

/// Any importable record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Account(Account),
    Contact(Contact),
    Subscription(Subscription),
    Event(Event),
    Ticket(Ticket),
    SurveyResponse(SurveyResponse),
    Engagement(Engagement),
}

impl Record {
    pub fn kind(&self) -> Kind {
        match self {
            Record::Account(_) => Kind::Accounts,
            Record::Contact(_) => Kind::Contacts,
            Record::Subscription(_) => Kind::Subscriptions,
            Record::Event(_) => Kind::Events,
            Record::Ticket(_) => Kind::Tickets,
            Record::SurveyResponse(_) => Kind::SurveyResponses,
            Record::Engagement(_) => Kind::Engagements,
        }
    }

    /// The record's id, for kinds that have one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Record::Account(r) => Some(&r.id),
            Record::Contact(r) => Some(&r.id),
            Record::Subscription(r) => Some(&r.id),
            Record::Event(_) => None,
            Record::Ticket(r) => Some(&r.id),
            Record::SurveyResponse(r) => Some(&r.id),
            Record::Engagement(r) => Some(&r.id),
        }
    }

    /// The account the record belongs to (its own id for accounts).
    pub fn account_id(&self) -> &str {
        match self {
            Record::Account(r) => &r.id,
            Record::Contact(r) => &r.account_id,
            Record::Subscription(r) => &r.account_id,
            Record::Event(r) => &r.account_id,
            Record::Ticket(r) => &r.account_id,
            Record::SurveyResponse(r) => &r.account_id,
            Record::Engagement(r) => &r.account_id,
        }
    }
}

fn text(s: &str) -> Val {
    Val::Text(Some(s.to_string()))
}
fn opt_text(s: &Option<String>) -> Val {
    Val::Text(s.clone())
}
fn opt_date(d: &Option<Date>) -> Val {
    Val::Text(d.map(|d| d.to_string()))
}
fn micros(t: Timestamp) -> Val {
    Val::Int(Some(t.as_microsecond()))
}
fn opt_bool(b: Option<bool>) -> Val {
    Val::Int(b.map(i64::from))
}

/// Encodes custom attributes as the JSON object stored in `accounts.attributes`.
pub fn attributes_json(attrs: &BTreeMap<String, String>) -> String {
    serde_json::to_string(attrs).unwrap_or_else(|_| "{}".to_string())
}

/// The record's values in [`TableSpec::columns`] order.
pub fn to_values(rec: &Record) -> Vec<Val> {
    match rec {
        Record::Account(a) => vec![
            text(&a.id),
            text(&a.name),
            opt_text(&a.industry),
            Val::Int(a.employees),
            opt_text(&a.region),
            opt_text(&a.plan),
            opt_text(&a.csm_email),
            opt_date(&a.created_at),
            opt_date(&a.trial_start),
            opt_date(&a.trial_end),
            Val::Text(Some(attributes_json(&a.attributes))),
        ],
        Record::Contact(c) => vec![
            text(&c.id),
            text(&c.account_id),
            text(&c.email),
            opt_text(&c.name),
            opt_text(&c.role),
            opt_bool(c.champion),
            opt_date(&c.left_on),
        ],
        Record::Subscription(s) => vec![
            text(&s.id),
            text(&s.account_id),
            Val::Int(Some(s.mrr.minor)),
            text(s.mrr.currency.as_str()),
            opt_text(&s.plan),
            Val::Int(s.seats),
            Val::Text(Some(s.start_date.to_string())),
            opt_date(&s.end_date),
            opt_date(&s.renewal_date),
        ],
        Record::Event(e) => vec![
            text(&e.account_id),
            text(&e.user_id),
            text(&e.event),
            micros(e.timestamp),
            opt_text(&e.properties),
            opt_text(&e.message_id),
        ],
        Record::Ticket(t) => vec![
            text(&t.id),
            text(&t.account_id),
            micros(t.opened_at),
            Val::Int(t.closed_at.map(|t| t.as_microsecond())),
            Val::Text(t.priority.map(|p| p.as_str().to_string())),
            opt_bool(t.first_contact_resolved),
            Val::Int(t.csat),
            opt_text(&t.subject),
            opt_text(&t.description),
        ],
        Record::SurveyResponse(r) => vec![
            text(&r.id),
            text(&r.account_id),
            opt_text(&r.contact_id),
            text(r.kind.as_str()),
            Val::Int(Some(r.score)),
            micros(r.responded_at),
            opt_text(&r.comment),
        ],
        Record::Engagement(e) => vec![
            text(&e.id),
            text(&e.account_id),
            text(&e.kind),
            micros(e.occurred_at),
            opt_text(&e.csm_email),
            opt_text(&e.notes),
        ],
    }
}

/// Columns `from_row` expects, in order, for `SELECT {select_list} FROM table`.
pub fn select_list(kind: Kind) -> String {
    table_spec(kind).columns.join(", ")
}

/// [`select_list`] with NULL read in place of the column `skipped`.
pub fn select_list_without(kind: Kind, skipped: &str) -> String {
    table_spec(kind)
        .columns
        .iter()
        .map(|&c| if c == skipped { "NULL" } else { c })
        .collect::<Vec<_>>()
        .join(", ")
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Sql(sqlx::Error::Decode(
        format!("stored {what} {value:?} is not valid").into(),
    ))
}

fn get_date(row: &dyn ScanRow, i: usize) -> Result<Option<Date>> {
    row.opt_text(i)?
        .map(|s| s.parse::<Date>().map_err(|_| corrupt("date", s)))
        .transpose()
}

fn get_ts(row: &dyn ScanRow, i: usize) -> Result<Option<Timestamp>> {
    row.opt_int(i)?
        .map(|us| {
            Timestamp::from_microsecond(us).map_err(|_| corrupt("timestamp", &us.to_string()))
        })
        .transpose()
}

fn req<T>(v: Option<T>, what: &str) -> Result<T> {
    v.ok_or_else(|| corrupt(what, "NULL"))
}

fn get_bool(row: &dyn ScanRow, i: usize) -> Result<Option<bool>> {
    Ok(row.opt_int(i)?.map(|v| v != 0))
}

/// Reads a row selected with [`select_list`] back into a record.
pub fn from_row(kind: Kind, row: &dyn ScanRow) -> Result<Record> {
    let s = |i: usize| row.opt_text(i).map(|t| t.map(str::to_string));
    let n = |i: usize| row.opt_int(i);
    Ok(match kind {
        Kind::Accounts => {
            let attrs: Option<String> = s(10)?;
            let attributes = match attrs {
                Some(t) => serde_json::from_str(&t).map_err(|_| corrupt("attributes", &t))?,
                None => BTreeMap::new(),
            };
            Record::Account(Account {
                id: req(s(0)?, "id")?,
                name: req(s(1)?, "name")?,
                industry: s(2)?,
                employees: n(3)?,
                region: s(4)?,
                plan: s(5)?,
                csm_email: s(6)?,
                created_at: get_date(row, 7)?,
                trial_start: get_date(row, 8)?,
                trial_end: get_date(row, 9)?,
                attributes,
            })
        }
        Kind::Contacts => Record::Contact(Contact {
            id: req(s(0)?, "id")?,
            account_id: req(s(1)?, "account_id")?,
            email: req(s(2)?, "email")?,
            name: s(3)?,
            role: s(4)?,
            champion: get_bool(row, 5)?,
            left_on: get_date(row, 6)?,
        }),
        Kind::Subscriptions => {
            let cur: String = req(s(3)?, "currency")?;
            let currency = Currency::parse(&cur).map_err(|_| corrupt("currency", &cur))?;
            Record::Subscription(Subscription {
                id: req(s(0)?, "id")?,
                account_id: req(s(1)?, "account_id")?,
                mrr: Money::new(req(n(2)?, "mrr")?, currency),
                plan: s(4)?,
                seats: n(5)?,
                start_date: req(get_date(row, 6)?, "start_date")?,
                end_date: get_date(row, 7)?,
                renewal_date: get_date(row, 8)?,
            })
        }
        Kind::Events => Record::Event(Event {
            account_id: req(s(0)?, "account_id")?,
            user_id: req(s(1)?, "user_id")?,
            event: req(s(2)?, "event")?,
            timestamp: req(get_ts(row, 3)?, "ts")?,
            properties: s(4)?,
            message_id: s(5)?,
        }),
        Kind::Tickets => {
            let priority = s(4)?
                .map(|p| Priority::parse(&p).map_err(|_| corrupt("priority", &p)))
                .transpose()?;
            Record::Ticket(Ticket {
                id: req(s(0)?, "id")?,
                account_id: req(s(1)?, "account_id")?,
                opened_at: req(get_ts(row, 2)?, "opened_at")?,
                closed_at: get_ts(row, 3)?,
                priority,
                first_contact_resolved: get_bool(row, 5)?,
                csat: n(6)?,
                subject: s(7)?,
                description: s(8)?,
            })
        }
        Kind::SurveyResponses => {
            let k: String = req(s(3)?, "kind")?;
            Record::SurveyResponse(SurveyResponse {
                id: req(s(0)?, "id")?,
                account_id: req(s(1)?, "account_id")?,
                contact_id: s(2)?,
                kind: SurveyKind::parse(&k).map_err(|_| corrupt("survey kind", &k))?,
                score: req(n(4)?, "score")?,
                responded_at: req(get_ts(row, 5)?, "responded_at")?,
                comment: s(6)?,
            })
        }
        Kind::Engagements => Record::Engagement(Engagement {
            id: req(s(0)?, "id")?,
            account_id: req(s(1)?, "account_id")?,
            kind: req(s(2)?, "kind")?,
            occurred_at: req(get_ts(row, 3)?, "occurred_at")?,
            csm_email: s(4)?,
            notes: s(5)?,
        }),
    })
}

/// A value of a file column, typed for JSON exports.
#[derive(Debug, Clone, PartialEq)]
pub enum FileValue {
    Null,
    Str(String),
    Int(i64),
    Bool(bool),
    /// An exact decimal amount, written as a JSON number.
    Decimal(String),
    /// A JSON object kept as text (event properties).
    Json(String),
}

impl FileValue {
    /// The text a CSV cell holds (empty for null).
    pub fn as_csv(&self) -> std::borrow::Cow<'_, str> {
        match self {
            FileValue::Null => "".into(),
            FileValue::Str(s) | FileValue::Decimal(s) | FileValue::Json(s) => s.as_str().into(),
            FileValue::Int(i) => i.to_string().into(),
            FileValue::Bool(b) => (if *b { "true" } else { "false" }).into(),
        }
    }
}

fn fv_opt(s: &Option<String>) -> FileValue {
    s.as_ref()
        .map_or(FileValue::Null, |s| FileValue::Str(s.clone()))
}
fn fv_date(d: &Option<Date>) -> FileValue {
    d.map_or(FileValue::Null, |d| FileValue::Str(d.to_string()))
}
fn fv_ts(t: Timestamp) -> FileValue {
    FileValue::Str(t.to_string())
}

/// The record's values in [`Kind::fields`] order (custom attributes not included).
pub fn file_values(rec: &Record) -> Vec<FileValue> {
    use FileValue as F;
    match rec {
        Record::Account(a) => vec![
            F::Str(a.id.clone()),
            F::Str(a.name.clone()),
            fv_opt(&a.industry),
            a.employees.map_or(F::Null, F::Int),
            fv_opt(&a.region),
            fv_opt(&a.plan),
            fv_opt(&a.csm_email),
            fv_date(&a.created_at),
            fv_date(&a.trial_start),
            fv_date(&a.trial_end),
        ],
        Record::Contact(c) => vec![
            F::Str(c.id.clone()),
            F::Str(c.account_id.clone()),
            F::Str(c.email.clone()),
            fv_opt(&c.name),
            fv_opt(&c.role),
            c.champion.map_or(F::Null, F::Bool),
            fv_date(&c.left_on),
        ],
        Record::Subscription(s) => vec![
            F::Str(s.id.clone()),
            F::Str(s.account_id.clone()),
            F::Decimal(s.mrr.to_decimal_string()),
            F::Str(s.mrr.currency.to_string()),
            fv_opt(&s.plan),
            s.seats.map_or(F::Null, F::Int),
            F::Str(s.start_date.to_string()),
            fv_date(&s.end_date),
            fv_date(&s.renewal_date),
        ],
        Record::Event(e) => vec![
            fv_ts(e.timestamp),
            F::Str(e.account_id.clone()),
            F::Str(e.user_id.clone()),
            F::Str(e.event.clone()),
            e.properties
                .as_ref()
                .map_or(F::Null, |p| F::Json(p.clone())),
            fv_opt(&e.message_id),
        ],
        Record::Ticket(t) => vec![
            F::Str(t.id.clone()),
            F::Str(t.account_id.clone()),
            fv_ts(t.opened_at),
            t.closed_at.map_or(F::Null, fv_ts),
            t.priority
                .map_or(F::Null, |p| F::Str(p.as_str().to_string())),
            t.first_contact_resolved.map_or(F::Null, F::Bool),
            t.csat.map_or(F::Null, F::Int),
            fv_opt(&t.subject),
            fv_opt(&t.description),
        ],
        Record::SurveyResponse(r) => vec![
            F::Str(r.id.clone()),
            F::Str(r.account_id.clone()),
            fv_opt(&r.contact_id),
            F::Str(r.kind.as_str().to_string()),
            F::Int(r.score),
            fv_ts(r.responded_at),
            fv_opt(&r.comment),
        ],
        Record::Engagement(e) => vec![
            F::Str(e.id.clone()),
            F::Str(e.account_id.clone()),
            F::Str(e.kind.clone()),
            fv_ts(e.occurred_at),
            fv_opt(&e.csm_email),
            fv_opt(&e.notes),
        ],
    }
}
