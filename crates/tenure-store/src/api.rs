//! Record-at-a-time reads and writes for the JSON API: list with filters,
//! sort and keyset pagination, get, create, replace, delete.
//!
//! Every function takes a [`Scope`]: a CSM restricted to their own accounts
//! sees only accounts whose `csm_email` is theirs and the records of those
//! accounts. Records outside the scope are reported as [`StoreError::NotFound`],
//! so their existence does not leak.

use jiff::Timestamp;
// Dynamic SQL here is assembled only from static column and table names (the
// table specs in `rows` and the fixed lists below); every value is bound.
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tenure_core::model::{Account, Event};

use crate::bulk::{existing_ids, write_rows};
use crate::import::Problem;
use crate::rows::{Record, Val, from_row, select_list, table_spec, to_values};
use crate::scan::{Bind, bind_all};
use crate::{Kind, Result, Store, StoreError};

/// A rejected request value, reported like an import problem: `column` is
/// the JSON field.
pub fn invalid(column: &str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid(vec![Problem {
        file: "request".to_string(),
        line: 0,
        column: Some(column.to_string()),
        message: message.into(),
    }])
}

/// A record's column values for a write, refusing text with U+0000, which
/// PostgreSQL cannot store (refused on every backend alike).
pub(crate) fn checked_values(rec: &Record) -> Result<Vec<Val>> {
    let values = to_values(rec);
    for (column, v) in table_spec(rec.kind()).columns.iter().zip(&values) {
        if let Val::Text(Some(s)) = v
            && s.contains('\0')
        {
            return Err(invalid(column, "must not contain the character U+0000"));
        }
    }
    Ok(values)
}

/// Which accounts a caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Every account.
    #[default]
    All,
    /// Only accounts whose `csm_email` is this address (compared case-insensitively).
    Csm(String),
}

impl Scope {
    pub(crate) fn email(&self) -> Option<String> {
        match self {
            Scope::All => None,
            Scope::Csm(e) => Some(e.trim().to_ascii_lowercase()),
        }
    }
}

/// A sort key's value in a cursor.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyValue {
    Int(i64),
    Text(String),
}

/// Where the next page starts: the sort key and id of the last item returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub key: Option<KeyValue>,
    pub id: String,
}

/// One page of results; `next` is `None` on the last page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// How accounts can be sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountSort {
    #[default]
    Id,
    Name,
    Employees,
    CreatedAt,
}

impl AccountSort {
    /// The SQL expression sorted on; NULLs are mapped to a value that sorts
    /// first so that keyset comparisons stay total on both backends.
    fn expr(&self) -> Option<&'static str> {
        match self {
            AccountSort::Id => None,
            AccountSort::Name => Some("name"),
            AccountSort::Employees => Some("COALESCE(employees, -1)"),
            AccountSort::CreatedAt => Some("COALESCE(created_at, '')"),
        }
    }

    fn key_of(&self, a: &Account) -> Option<KeyValue> {
        match self {
            AccountSort::Id => None,
            AccountSort::Name => Some(KeyValue::Text(a.name.clone())),
            AccountSort::Employees => Some(KeyValue::Int(a.employees.unwrap_or(-1))),
            AccountSort::CreatedAt => Some(KeyValue::Text(
                a.created_at.map(|d| d.to_string()).unwrap_or_default(),
            )),
        }
    }
}

/// Filters, sort and page of an accounts listing.
#[derive(Debug, Clone)]
pub struct AccountQuery {
    pub scope: Scope,
    pub csm_email: Option<String>,
    pub plan: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    pub sort: AccountSort,
    pub descending: bool,
    pub after: Option<Cursor>,
    pub limit: u32,
}

impl Default for AccountQuery {
    fn default() -> Self {
        AccountQuery {
            scope: Scope::All,
            csm_email: None,
            plan: None,
            industry: None,
            region: None,
            name_contains: None,
            sort: AccountSort::Id,
            descending: false,
            after: None,
            limit: 50,
        }
    }
}

/// Filters and page of a listing of records that belong to accounts.
#[derive(Debug, Clone)]
pub struct RecordQuery {
    pub scope: Scope,
    pub account_id: Option<String>,
    /// For tickets, survey responses, engagements and events: the record's
    /// time is at or after `from` ...
    pub from: Option<Timestamp>,
    /// ... and before `to`.
    pub to: Option<Timestamp>,
    /// Survey kind (nps, csat, ces) or engagement kind.
    pub kind: Option<String>,
    pub after: Option<Cursor>,
    pub limit: u32,
}

impl Default for RecordQuery {
    fn default() -> Self {
        RecordQuery {
            scope: Scope::All,
            account_id: None,
            from: None,
            to: None,
            kind: None,
            after: None,
            limit: 50,
        }
    }
}

/// What a create did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    /// A record with that id (or an event with that message id) already exists; nothing changed.
    AlreadyExists,
}

/// Accumulates `WHERE` conditions with numbered placeholders.
#[derive(Default)]
pub(crate) struct Where {
    conds: Vec<String>,
    pub(crate) binds: Vec<Bind>,
}

impl Where {
    fn next(&self) -> usize {
        self.binds.len() + 1
    }
    /// Adds a condition; `?` in it stands for the next placeholder(s).
    pub(crate) fn add(&mut self, cond: &str, values: Vec<Bind>) {
        let mut out = String::new();
        let mut n = self.next();
        for ch in cond.chars() {
            if ch == '?' {
                out.push('$');
                out.push_str(&n.to_string());
                n += 1;
            } else {
                out.push(ch);
            }
        }
        self.conds.push(out);
        self.binds.extend(values);
    }
    pub(crate) fn scope(&mut self, scope: &Scope, account_column: &str) {
        if let Some(email) = scope.email() {
            if account_column == "id" {
                self.add("LOWER(csm_email) = ?", vec![Bind::Text(email)]);
            } else {
                self.add(
                    &format!(
                        "{account_column} IN (SELECT id FROM accounts WHERE LOWER(csm_email) = ?)"
                    ),
                    vec![Bind::Text(email)],
                );
            }
        }
    }
    pub(crate) fn sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }
}

fn time_column(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Tickets => Some("opened_at"),
        Kind::SurveyResponses => Some("responded_at"),
        Kind::Engagements => Some("occurred_at"),
        Kind::Events => Some("ts"),
        _ => None,
    }
}

fn clamp(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 1000))
}

/// `AND column IN (accounts of the CSM)` with its bind as `$n`, or nothing:
/// a CSM's scope on a query whose other placeholders come before `$n`.
pub(crate) fn scoped(scope: &Scope, column: &str, n: usize) -> (String, Option<String>) {
    match scope.email() {
        None => (String::new(), None),
        Some(e) => (
            format!(" AND {column} IN (SELECT id FROM accounts WHERE LOWER(csm_email) = ${n})"),
            Some(e),
        ),
    }
}

/// True when the account exists and is in scope.
pub(crate) async fn account_visible(
    conn: &mut AnyConnection,
    id: &str,
    scope: &Scope,
) -> Result<bool> {
    let mut w = Where::default();
    w.add("id = ?", vec![Bind::Text(id.to_string())]);
    w.scope(scope, "id");
    let sql = format!("SELECT COUNT(*) FROM accounts{}", w.sql());
    let n: i64 = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    Ok(n > 0)
}

/// The scope column of a kind: accounts are scoped by their own id.
fn account_column(kind: Kind) -> &'static str {
    if kind == Kind::Accounts {
        "id"
    } else {
        "account_id"
    }
}

impl Store {
    /// Lists accounts with filters, sort and keyset pagination.
    pub async fn list_accounts(&self, q: &AccountQuery) -> Result<Page<Account>> {
        let mut w = Where::default();
        w.scope(&q.scope, "id");
        let eq = |w: &mut Where, col: &str, v: &Option<String>| {
            if let Some(v) = v {
                w.add(&format!("{col} = ?"), vec![Bind::Text(v.clone())]);
            }
        };
        if let Some(e) = &q.csm_email {
            w.add(
                "LOWER(csm_email) = ?",
                vec![Bind::Text(e.trim().to_ascii_lowercase())],
            );
        }
        eq(&mut w, "plan", &q.plan);
        eq(&mut w, "industry", &q.industry);
        eq(&mut w, "region", &q.region);
        if let Some(s) = &q.name_contains {
            let pattern = format!(
                "%{}%",
                s.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            w.add("LOWER(name) LIKE ? ESCAPE '\\'", vec![Bind::Text(pattern)]);
        }
        let (cmp, dir) = if q.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let expr = q.sort.expr();
        if let Some(c) = &q.after {
            match (expr, &c.key) {
                (Some(e), Some(k)) => {
                    let kb = match k {
                        KeyValue::Int(i) => Bind::Int(*i),
                        KeyValue::Text(s) => Bind::Text(s.clone()),
                    };
                    let kb2 = match k {
                        KeyValue::Int(i) => Bind::Int(*i),
                        KeyValue::Text(s) => Bind::Text(s.clone()),
                    };
                    w.add(
                        &format!("({e} {cmp} ? OR ({e} = ? AND id {cmp} ?))"),
                        vec![kb, kb2, Bind::Text(c.id.clone())],
                    );
                }
                (None, _) => w.add(&format!("id {cmp} ?"), vec![Bind::Text(c.id.clone())]),
                (Some(_), None) => {
                    return Err(invalid("cursor", "the cursor does not fit this sort"));
                }
            }
        }
        let order = match expr {
            Some(e) => format!("{e} {dir}, id {dir}"),
            None => format!("id {dir}"),
        };
        let limit = clamp(q.limit);
        let sql = format!(
            "SELECT {} FROM accounts{} ORDER BY {order} LIMIT {}",
            select_list(Kind::Accounts),
            w.sql(),
            limit + 1
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_all(&self.pool)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Record::Account(a) = from_row(Kind::Accounts, r)? {
                items.push(a);
            }
        }
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|a| Cursor {
                key: q.sort.key_of(a),
                id: a.id.clone(),
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Lists records of a kind with an id (not accounts, not events), ordered by id.
    pub async fn list_records(&self, kind: Kind, q: &RecordQuery) -> Result<Page<Record>> {
        debug_assert!(kind.has_id() && kind.has_account());
        let mut w = Where::default();
        w.scope(&q.scope, "account_id");
        if let Some(a) = &q.account_id {
            w.add("account_id = ?", vec![Bind::Text(a.clone())]);
        }
        if let Some(col) = time_column(kind) {
            if let Some(f) = q.from {
                w.add(&format!("{col} >= ?"), vec![Bind::Int(f.as_microsecond())]);
            }
            if let Some(t) = q.to {
                w.add(&format!("{col} < ?"), vec![Bind::Int(t.as_microsecond())]);
            }
        }
        if let Some(k) = &q.kind
            && matches!(kind, Kind::SurveyResponses | Kind::Engagements)
        {
            w.add("kind = ?", vec![Bind::Text(k.clone())]);
        }
        if let Some(c) = &q.after {
            w.add("id > ?", vec![Bind::Text(c.id.clone())]);
        }
        let limit = clamp(q.limit);
        let sql = format!(
            "SELECT {} FROM {}{} ORDER BY id LIMIT {}",
            select_list(kind),
            kind.table(),
            w.sql(),
            limit + 1
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_all(&self.pool)
            .await?;
        let mut items = rows
            .iter()
            .map(|r| from_row(kind, r))
            .collect::<Result<Vec<_>>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().and_then(|r| r.id()).map(|id| Cursor {
                key: None,
                id: id.to_string(),
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Lists events by time (then arrival order), optionally of one account
    /// and within `[from, to)`.
    pub async fn list_events(&self, q: &RecordQuery) -> Result<Page<Event>> {
        let mut w = Where::default();
        w.scope(&q.scope, "account_id");
        if let Some(a) = &q.account_id {
            w.add("account_id = ?", vec![Bind::Text(a.clone())]);
        }
        if let Some(f) = q.from {
            w.add("ts >= ?", vec![Bind::Int(f.as_microsecond())]);
        }
        if let Some(t) = q.to {
            w.add("ts < ?", vec![Bind::Int(t.as_microsecond())]);
        }
        if let Some(c) = &q.after {
            let (Some(KeyValue::Int(ts)), Ok(seq)) = (&c.key, c.id.parse::<i64>()) else {
                return Err(invalid("cursor", "the cursor does not fit this listing"));
            };
            w.add(
                "(ts > ? OR (ts = ? AND seq > ?))",
                vec![Bind::Int(*ts), Bind::Int(*ts), Bind::Int(seq)],
            );
        }
        let limit = clamp(q.limit);
        let sql = format!(
            "SELECT {}, seq FROM events{} ORDER BY ts, seq LIMIT {}",
            select_list(Kind::Events),
            w.sql(),
            limit + 1
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_all(&self.pool)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in rows.iter().take(limit as usize) {
            if let Record::Event(e) = from_row(Kind::Events, r)? {
                last = Some((e.timestamp.as_microsecond(), r.try_get::<i64, _>(6)?));
                items.push(e);
            }
        }
        let next = if rows.len() as i64 > limit {
            last.map(|(ts, seq)| Cursor {
                key: Some(KeyValue::Int(ts)),
                id: seq.to_string(),
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// One record by id, if it exists and is in scope.
    pub async fn get_record(&self, kind: Kind, id: &str, scope: &Scope) -> Result<Record> {
        let mut w = Where::default();
        w.add("id = ?", vec![Bind::Text(id.to_string())]);
        w.scope(scope, account_column(kind));
        let sql = format!(
            "SELECT {} FROM {}{}",
            select_list(kind),
            kind.table(),
            w.sql()
        );
        let row = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => from_row(kind, &r),
            None => Err(StoreError::NotFound(format!("{} {id}", kind_noun(kind)))),
        }
    }

    /// Creates a record; an existing id is left alone and reported. The
    /// record's account must exist and be in scope; a new account must be in
    /// scope itself (its `csm_email`).
    pub async fn create_record(&self, rec: &Record, scope: &Scope) -> Result<Created> {
        let kind = rec.kind();
        let values = [checked_values(rec)?];
        let mut tx = if kind == Kind::Events {
            self.begin_bulk_write().await?
        } else {
            self.begin_write().await?
        };
        check_account(&mut tx, rec, scope).await?;
        if let Some(id) = rec.id() {
            if !existing_ids(&mut tx, kind, &[id]).await?.is_empty() {
                return Ok(Created::AlreadyExists);
            }
            write_rows(&mut tx, kind, &values, table_spec(kind).columns).await?;
        } else {
            let n = write_rows(&mut tx, kind, &values, &[]).await?;
            if n == 0 {
                return Ok(Created::AlreadyExists);
            }
        }
        tx.commit().await?;
        Ok(Created::Created)
    }

    /// Replaces every field of an existing record (by id). Both the stored
    /// record and the new one must be in scope.
    pub async fn replace_record(&self, rec: &Record, scope: &Scope) -> Result<()> {
        let kind = rec.kind();
        let id = rec
            .id()
            .ok_or_else(|| invalid("id", "events cannot be replaced"))?;
        let values = [checked_values(rec)?];
        let mut tx = self.begin_write().await?;
        let mut w = Where::default();
        w.add("id = ?", vec![Bind::Text(id.to_string())]);
        w.scope(scope, account_column(kind));
        let sql = format!("SELECT COUNT(*) FROM {}{}", kind.table(), w.sql());
        let n: i64 = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("{} {id}", kind_noun(kind))));
        }
        check_account(&mut tx, rec, scope).await?;
        write_rows(&mut tx, kind, &values, table_spec(kind).columns).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a record by id. Deleting an account deletes everything that
    /// belongs to it, events included.
    pub async fn delete_record(&self, kind: Kind, id: &str, scope: &Scope) -> Result<()> {
        let mut tx = if kind == Kind::Accounts {
            // Its events and their rollups go too.
            self.begin_bulk_write().await?
        } else {
            self.begin_write().await?
        };
        let mut w = Where::default();
        w.add("id = ?", vec![Bind::Text(id.to_string())]);
        w.scope(scope, account_column(kind));
        let sql = format!("DELETE FROM {}{}", kind.table(), w.sql());
        let n = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("{} {id}", kind_noun(kind))));
        }
        if kind == Kind::Accounts {
            // The usage rollups first, while the events still say which
            // days and blocks hold the account's rows (their primary keys
            // start with the day or block): events are only ever deleted
            // with their account.
            const DAYS: &str = "SELECT DISTINCT (ts - ((ts % 86400000000) + 86400000000) \
                % 86400000000) / 86400000000 AS d FROM events WHERE account_id = $1";
            let by_day = |table: &str| {
                format!("DELETE FROM {table} WHERE account_id = $1 AND day IN ({DAYS})")
            };
            for sql in [
                by_day("usage_days"),
                by_day("usage_totals"),
                format!(
                    "DELETE FROM usage_users WHERE account_id = $1 AND block IN \
                     (SELECT DISTINCT (d - ((d % 64) + 64) % 64) / 64 FROM ({DAYS}) e)"
                ),
                "DELETE FROM usage_user_first WHERE account_id = $1".into(),
                "DELETE FROM events WHERE account_id = $1".into(),
                "UPDATE segment_users SET account_id = NULL WHERE account_id = $1".into(),
            ] {
                sqlx::query(AssertSqlSafe(sql))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            crate::health::delete_snapshots(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Checks that a record's account exists and is in scope (for an account:
/// that the account itself would be in scope).
async fn check_account(conn: &mut AnyConnection, rec: &Record, scope: &Scope) -> Result<()> {
    match rec {
        Record::Account(a) => {
            if let Some(email) = scope.email()
                && a.csm_email
                    .as_deref()
                    .map(|e| e.trim().to_ascii_lowercase())
                    != Some(email)
            {
                return Err(invalid(
                    "csm_email",
                    "you may only write accounts whose csm_email is your own email",
                ));
            }
            Ok(())
        }
        _ => {
            let account = rec.account_id();
            if account_visible(conn, account, scope).await? {
                Ok(())
            } else {
                Err(invalid(
                    "account_id",
                    format!("account {account:?} does not exist"),
                ))
            }
        }
    }
}

fn kind_noun(kind: Kind) -> &'static str {
    match kind {
        Kind::Accounts => "account",
        Kind::Contacts => "contact",
        Kind::Subscriptions => "subscription",
        Kind::Events => "event",
        Kind::Tickets => "ticket",
        Kind::SurveyResponses => "survey response",
        Kind::Engagements => "engagement",
    }
}
