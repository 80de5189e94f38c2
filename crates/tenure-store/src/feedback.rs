//! Feedback's and product requests' SQL (docs/FEEDBACK.md), migration 0017:
//! the feedback items (`feedback_items`, materialised from survey comments,
//! ticket text and engagement notes with a stable id per source row, or
//! sent to the API), their themes (`feedback_themes`), product requests
//! (`product_requests`) and the accounts asking (`product_request_accounts`).
//! Sentiment, themes and ranking are decided in core and the application
//! layer; this module stores them, each change in one transaction, and
//! keeps a CSM to their own accounts.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tenure_core::feedback::{RequestStatus, Sentiment, Source};
use tenure_core::model::SurveyKind;

use crate::api::{Scope, account_visible, scoped};
use crate::bulk::{numbered_placeholders, push_value_tuples};
use crate::health::get_day;
use crate::target::Task;
use crate::{Result, Store, StoreError};

/// A feedback item.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackItem {
    pub id: String,
    pub account_id: String,
    pub contact_id: Option<String>,
    pub source: Source,
    /// The survey response, ticket or engagement it was made from.
    pub source_id: Option<String>,
    pub text: String,
    pub day: Date,
    /// The scale of `score`.
    pub kind: Option<SurveyKind>,
    pub score: Option<i64>,
    pub sentiment: Option<Sentiment>,
    /// Theme names, in the configuration's order.
    pub themes: Vec<String>,
    pub created_by: Option<String>,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

/// A row feedback is made from, as read from its table.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub source: Source,
    pub source_id: String,
    pub account_id: String,
    pub contact_id: Option<String>,
    pub text: String,
    /// Microseconds since the epoch.
    pub at: i64,
    pub kind: Option<SurveyKind>,
    pub score: Option<i64>,
}

/// An account as a theme's rule sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackAccount {
    pub id: String,
    pub name: String,
    pub plan: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub csm_email: Option<String>,
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct FeedbackQuery {
    pub scope: Scope,
    pub account_id: Option<String>,
    pub source: Option<Source>,
    pub sentiment: Option<Sentiment>,
    pub theme: Option<String>,
    /// Only items without a theme.
    pub untagged: bool,
    pub limit: Option<u32>,
}

/// What a sync of the materialised items changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
}

/// A product request.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductRequest {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: RequestStatus,
    pub created_by: Option<String>,
    pub created_at: i64,
    /// The day the status was last set.
    pub status_on: Date,
}

/// An account asking for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLink {
    pub request_id: String,
    pub account_id: String,
    pub account_name: String,
    pub csm_email: Option<String>,
    pub feedback_id: Option<String>,
    pub added_on: Date,
    pub added_by: Option<String>,
}

const ITEM_COLUMNS: &str = "f.id, f.account_id, f.contact_id, f.source, f.source_id, f.text, \
     f.day, f.kind, f.score, f.sentiment, f.created_by, f.created_at";

const REQUEST_COLUMNS: &str = "id, title, description, status, created_by, created_at, status_on";

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Sql(sqlx::Error::Decode(format!("bad {what} {v:?}").into()))
}

fn item_row(r: &AnyRow) -> Result<FeedbackItem> {
    let source: String = r.try_get(3)?;
    let kind: Option<String> = r.try_get(7)?;
    let sentiment: Option<String> = r.try_get(9)?;
    Ok(FeedbackItem {
        id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        contact_id: r.try_get(2)?,
        source: Source::parse(&source).ok_or_else(|| corrupt("feedback source", &source))?,
        source_id: r.try_get(4)?,
        text: r.try_get(5)?,
        day: get_day(r, 6)?,
        kind: kind
            .map(|k| SurveyKind::parse(&k).map_err(|_| corrupt("survey kind", &k)))
            .transpose()?,
        score: r.try_get(8)?,
        sentiment: sentiment
            .map(|s| Sentiment::parse(&s).ok_or_else(|| corrupt("sentiment", &s)))
            .transpose()?,
        themes: Vec::new(),
        created_by: r.try_get(10)?,
        created_at: r.try_get(11)?,
    })
}

fn request_row(r: &AnyRow) -> Result<ProductRequest> {
    let status: String = r.try_get(3)?;
    Ok(ProductRequest {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        description: r.try_get(2)?,
        status: RequestStatus::parse(&status).map_err(|_| corrupt("request status", &status))?,
        created_by: r.try_get(4)?,
        created_at: r.try_get(5)?,
        status_on: get_day(r, 6)?,
    })
}

/// The columns of `feedback_items`, in the order [`insert_items`] binds.
const INSERT_COLUMNS: &str = "id, account_id, contact_id, source, source_id, text, day, kind, \
     score, sentiment, created_by, created_at";

/// Inserts items and their themes with multi-row statements (500 items,
/// 1,000 themes each).
async fn insert_items(conn: &mut AnyConnection, items: &[&FeedbackItem]) -> Result<()> {
    let numbered = numbered_placeholders(conn);
    for chunk in items.chunks(500) {
        let mut sql = format!("INSERT INTO feedback_items ({INSERT_COLUMNS}) VALUES ");
        push_value_tuples(&mut sql, chunk.len(), 12, numbered);
        let days: Vec<String> = chunk.iter().map(|i| i.day.to_string()).collect();
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (i, day) in chunk.iter().zip(&days) {
            q = q
                .bind(i.id.as_str())
                .bind(i.account_id.as_str())
                .bind(i.contact_id.as_deref())
                .bind(i.source.as_str())
                .bind(i.source_id.as_deref())
                .bind(i.text.as_str())
                .bind(day.as_str())
                .bind(i.kind.map(|k| k.as_str()))
                .bind(i.score)
                .bind(i.sentiment.map(Sentiment::as_str))
                .bind(i.created_by.as_deref())
                .bind(i.created_at);
        }
        q.execute(&mut *conn).await?;
    }
    let themes: Vec<(&str, &str, i64)> = items
        .iter()
        .flat_map(|i| {
            i.themes
                .iter()
                .enumerate()
                .map(|(n, t)| (i.id.as_str(), t.as_str(), n as i64))
        })
        .collect();
    for chunk in themes.chunks(1000) {
        let mut sql =
            String::from("INSERT INTO feedback_themes (item_id, theme, position) VALUES ");
        push_value_tuples(&mut sql, chunk.len(), 3, numbered);
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (id, theme, n) in chunk {
            q = q.bind(*id).bind(*theme).bind(*n);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_item(conn: &mut AnyConnection, i: &FeedbackItem) -> Result<()> {
    sqlx::query(
        "INSERT INTO feedback_items (id, account_id, contact_id, source, source_id, text, day, \
         kind, score, sentiment, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(i.id.as_str())
    .bind(i.account_id.as_str())
    .bind(i.contact_id.as_deref())
    .bind(i.source.as_str())
    .bind(i.source_id.as_deref())
    .bind(i.text.as_str())
    .bind(i.day.to_string())
    .bind(i.kind.map(|k| k.as_str()))
    .bind(i.score)
    .bind(i.sentiment.map(Sentiment::as_str))
    .bind(i.created_by.as_deref())
    .bind(i.created_at)
    .execute(&mut *conn)
    .await?;
    insert_themes(conn, &i.id, &i.themes).await
}

async fn insert_themes(conn: &mut AnyConnection, id: &str, themes: &[String]) -> Result<()> {
    for (n, t) in themes.iter().enumerate() {
        sqlx::query("INSERT INTO feedback_themes (item_id, theme, position) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(t.as_str())
            .bind(n as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The item's fields a sync compares.
type Fingerprint = (
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
);

fn fingerprint(i: &FeedbackItem) -> Fingerprint {
    (
        i.text.clone(),
        i.day.to_string(),
        i.contact_id.clone(),
        i.score,
        i.sentiment.map(|s| s.as_str().to_string()),
        i.themes.join("\n"),
    )
}

/// The WHERE clause of a feedback query over `feedback_items f`, with its
/// bound values in order.
fn item_filter(q: &FeedbackQuery) -> (String, Vec<String>) {
    let mut cond = String::from("1 = 1");
    let mut binds: Vec<String> = Vec::new();
    let next = |binds: &mut Vec<String>, v: String| {
        binds.push(v);
        binds.len()
    };
    if let Some(a) = &q.account_id {
        let n = next(&mut binds, a.clone());
        cond.push_str(&format!(" AND f.account_id = ${n}"));
    }
    if let Some(s) = q.source {
        let n = next(&mut binds, s.as_str().to_string());
        cond.push_str(&format!(" AND f.source = ${n}"));
    }
    if let Some(s) = q.sentiment {
        let n = next(&mut binds, s.as_str().to_string());
        cond.push_str(&format!(" AND f.sentiment = ${n}"));
    }
    if let Some(t) = &q.theme {
        let n = next(&mut binds, t.clone());
        cond.push_str(&format!(
            " AND f.id IN (SELECT item_id FROM feedback_themes WHERE theme = ${n})"
        ));
    }
    if q.untagged {
        cond.push_str(" AND f.id NOT IN (SELECT item_id FROM feedback_themes)");
    }
    let (c, b) = scoped(&q.scope, "f.account_id", binds.len() + 1);
    cond.push_str(&c);
    binds.extend(b);
    (cond, binds)
}

impl Store {
    /// Every row feedback is made from: survey responses with a comment,
    /// tickets with a subject or description (joined by a blank line),
    /// engagements with notes; empty text left out.
    pub async fn feedback_sources(&self) -> Result<Vec<SourceRow>> {
        // Through the scan path: every pass of the job reads them all.
        let mut out = Vec::new();
        self.scan(
            "SELECT id, account_id, contact_id, comment, responded_at, kind, score \
             FROM survey_responses WHERE comment IS NOT NULL ORDER BY id",
            &[],
            |r| {
                let kind = r.text(5)?;
                out.push(SourceRow {
                    source: Source::Survey,
                    source_id: r.text(0)?.to_string(),
                    account_id: r.text(1)?.to_string(),
                    contact_id: r.opt_text(2)?.map(str::to_string),
                    text: r.text(3)?.to_string(),
                    at: r.int(4)?,
                    kind: Some(SurveyKind::parse(kind).map_err(|_| corrupt("survey kind", kind))?),
                    score: Some(r.int(6)?),
                });
                Ok(())
            },
        )
        .await?;
        self.scan(
            "SELECT id, account_id, subject, description, opened_at, csat FROM tickets \
             WHERE subject IS NOT NULL OR description IS NOT NULL ORDER BY id",
            &[],
            |r| {
                let text: Vec<&str> = [r.opt_text(2)?, r.opt_text(3)?]
                    .into_iter()
                    .flatten()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                let csat = r.opt_int(5)?;
                out.push(SourceRow {
                    source: Source::Ticket,
                    source_id: r.text(0)?.to_string(),
                    account_id: r.text(1)?.to_string(),
                    contact_id: None,
                    text: text.join("\n\n"),
                    at: r.int(4)?,
                    kind: csat.map(|_| SurveyKind::Csat),
                    score: csat,
                });
                Ok(())
            },
        )
        .await?;
        self.scan(
            "SELECT id, account_id, notes, occurred_at FROM engagements \
             WHERE notes IS NOT NULL ORDER BY id",
            &[],
            |r| {
                out.push(SourceRow {
                    source: Source::Note,
                    source_id: r.text(0)?.to_string(),
                    account_id: r.text(1)?.to_string(),
                    contact_id: None,
                    text: r.text(2)?.to_string(),
                    at: r.int(3)?,
                    kind: None,
                    score: None,
                });
                Ok(())
            },
        )
        .await?;
        out.retain(|s| !s.text.trim().is_empty());
        Ok(out)
    }

    /// Every account with the fields a theme's rule reads.
    pub async fn feedback_accounts(&self) -> Result<Vec<FeedbackAccount>> {
        let rows = sqlx::query(
            "SELECT id, name, plan, industry, region, csm_email FROM accounts ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedbackAccount {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    plan: r.try_get(2)?,
                    industry: r.try_get(3)?,
                    region: r.try_get(4)?,
                    csm_email: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Makes the stored items match `items` in one transaction: every item
    /// given is added or, when its text, day, contact, score, sentiment or
    /// themes differ, rewritten; items of a source in `sources` that are
    /// not given (their row was deleted or emptied) are removed. Items
    /// that did not change are not written.
    pub async fn sync_feedback(
        &self,
        items: &[FeedbackItem],
        sources: &[Source],
    ) -> Result<SyncCounts> {
        // What is stored, read through the scan path before any write: a
        // pass that changes nothing (the usual one) takes no write lock.
        let mut existing: HashMap<String, (Source, Fingerprint)> = HashMap::new();
        self.scan(
            "SELECT id, source, text, day, contact_id, score, sentiment FROM feedback_items",
            &[],
            |r| {
                let source = r.text(1)?;
                existing.insert(
                    r.text(0)?.to_string(),
                    (
                        Source::parse(source).ok_or_else(|| corrupt("feedback source", source))?,
                        (
                            r.text(2)?.to_string(),
                            r.text(3)?.to_string(),
                            r.opt_text(4)?.map(str::to_string),
                            r.opt_int(5)?,
                            r.opt_text(6)?.map(str::to_string),
                            String::new(),
                        ),
                    ),
                );
                Ok(())
            },
        )
        .await?;
        self.scan(
            "SELECT item_id, theme FROM feedback_themes ORDER BY item_id, position",
            &[],
            |r| {
                if let Some((_, f)) = existing.get_mut(r.text(0)?) {
                    if !f.5.is_empty() {
                        f.5.push('\n');
                    }
                    f.5.push_str(r.text(1)?);
                }
                Ok(())
            },
        )
        .await?;
        let mut counts = SyncCounts::default();
        let mut given: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut new: Vec<&FeedbackItem> = Vec::new();
        let mut changed: Vec<&FeedbackItem> = Vec::new();
        for i in items {
            if !given.insert(i.id.as_str()) {
                continue;
            }
            match existing.get(&i.id) {
                None => new.push(i),
                Some((_, old)) if *old != fingerprint(i) => changed.push(i),
                Some(_) => {}
            }
        }
        let gone: Vec<&str> = existing
            .iter()
            .filter(|(id, (source, _))| sources.contains(source) && !given.contains(id.as_str()))
            .map(|(id, _)| id.as_str())
            .collect();
        counts.added = new.len() as u64;
        counts.updated = changed.len() as u64;
        counts.removed = gone.len() as u64;
        if new.is_empty() && changed.is_empty() && gone.is_empty() {
            return Ok(counts);
        }
        let mut tx = self.begin_write().await?;
        for i in changed {
            sqlx::query(
                "UPDATE feedback_items SET text = $2, day = $3, contact_id = $4, \
                 kind = $5, score = $6, sentiment = $7 WHERE id = $1",
            )
            .bind(i.id.as_str())
            .bind(i.text.as_str())
            .bind(i.day.to_string())
            .bind(i.contact_id.as_deref())
            .bind(i.kind.map(|k| k.as_str()))
            .bind(i.score)
            .bind(i.sentiment.map(Sentiment::as_str))
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM feedback_themes WHERE item_id = $1")
                .bind(i.id.as_str())
                .execute(&mut *tx)
                .await?;
            insert_themes(&mut tx, &i.id, &i.themes).await?;
        }
        insert_items(&mut tx, &new).await?;
        for id in gone {
            sqlx::query("DELETE FROM feedback_themes WHERE item_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM feedback_items WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(counts)
    }

    /// Adds an item for an account in scope.
    pub async fn add_feedback(&self, item: &FeedbackItem, scope: &Scope) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if !account_visible(&mut tx, &item.account_id, scope).await? {
            return Err(StoreError::NotFound(format!(
                "account {:?}",
                item.account_id
            )));
        }
        insert_item(&mut tx, item).await?;
        tx.commit().await
    }

    /// One item in scope, with its themes.
    pub async fn feedback_item(&self, id: &str, scope: &Scope) -> Result<FeedbackItem> {
        let (cond, bind) = scoped(scope, "f.account_id", 2);
        let sql = format!("SELECT {ITEM_COLUMNS} FROM feedback_items f WHERE f.id = $1{cond}");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        if let Some(b) = bind {
            q = q.bind(b);
        }
        let Some(r) = q.fetch_optional(&self.pool).await? else {
            return Err(StoreError::NotFound(format!("feedback item {id:?}")));
        };
        let mut i = item_row(&r)?;
        let mut conn = self.pool.acquire().await?;
        i.themes = load_themes(&mut conn, Some(id))
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        drop(conn);
        Ok(i)
    }

    /// The items that match, newest first, each with its themes.
    pub async fn feedback_items(&self, q: &FeedbackQuery) -> Result<Vec<FeedbackItem>> {
        let (cond, binds) = item_filter(q);
        let limit = match q.limit {
            Some(_) => format!(" LIMIT ${}", binds.len() + 1),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM feedback_items f WHERE {cond} \
             ORDER BY f.day DESC, f.id{limit}"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in &binds {
            query = query.bind(b.as_str());
        }
        if let Some(l) = q.limit {
            query = query.bind(i64::from(l));
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut items: Vec<FeedbackItem> = rows.iter().map(item_row).collect::<Result<_>>()?;
        // Each query with its binds: for a page of items (the account page
        // shows five) the themes of those items only, otherwise of every
        // item the filter matches.
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let queries: Vec<(String, Vec<&str>)> = if q.limit.is_some() {
            ids.chunks(200)
                .map(|chunk| {
                    let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = format!(
                        "SELECT t.item_id, t.theme FROM feedback_themes t \
                         WHERE t.item_id IN ({}) ORDER BY t.item_id, t.position",
                        list.join(", ")
                    );
                    (sql, chunk.to_vec())
                })
                .collect()
        } else {
            let sql = format!(
                "SELECT t.item_id, t.theme FROM feedback_themes t \
                 JOIN feedback_items f ON f.id = t.item_id WHERE {cond} \
                 ORDER BY t.item_id, t.position"
            );
            vec![(sql, binds.iter().map(String::as_str).collect())]
        };
        let mut themes: HashMap<String, Vec<String>> = HashMap::new();
        for (sql, binds) in queries {
            let mut tq = sqlx::query(AssertSqlSafe(sql));
            for b in binds {
                tq = tq.bind(b);
            }
            for r in tq.fetch_all(&self.pool).await? {
                themes.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
            }
        }
        for i in &mut items {
            if let Some(t) = themes.remove(&i.id) {
                i.themes = t;
            }
        }
        Ok(items)
    }

    /// How many items in scope carry each theme, by name.
    pub async fn feedback_theme_counts(&self, scope: &Scope) -> Result<BTreeMap<String, u64>> {
        let (cond, bind) = scoped(scope, "f.account_id", 1);
        let sql = format!(
            "SELECT t.theme, COUNT(*) FROM feedback_themes t \
             JOIN feedback_items f ON f.id = t.item_id WHERE 1 = 1{cond} GROUP BY t.theme"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(b) = bind {
            q = q.bind(b);
        }
        let mut out = BTreeMap::new();
        for r in q.fetch_all(&self.pool).await? {
            let n: i64 = r.try_get(1)?;
            out.insert(r.try_get(0)?, n as u64);
        }
        Ok(out)
    }

    /// Creates a request with its first accounts (each in scope) in one
    /// transaction.
    pub async fn create_request(
        &self,
        r: &ProductRequest,
        links: &[RequestLink],
        scope: &Scope,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_request(&mut tx, r, links, scope).await?;
        tx.commit().await
    }

    /// One request.
    pub async fn request(&self, id: &str) -> Result<ProductRequest> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM product_requests WHERE id = $1");
        match sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        {
            Some(r) => request_row(&r),
            None => Err(StoreError::NotFound(format!("product request {id:?}"))),
        }
    }

    /// Every request, oldest first.
    pub async fn requests(&self) -> Result<Vec<ProductRequest>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM product_requests ORDER BY created_at, id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(request_row).collect()
    }

    /// The accounts in scope asking for requests (one request's when `id`
    /// is given), by request and day added.
    pub async fn request_links(&self, id: Option<&str>, scope: &Scope) -> Result<Vec<RequestLink>> {
        self.request_links_of(id, None, scope).await
    }

    /// [`Store::request_links`] of one request and/or one account.
    pub async fn request_links_of(
        &self,
        id: Option<&str>,
        account_id: Option<&str>,
        scope: &Scope,
    ) -> Result<Vec<RequestLink>> {
        let mut cond = String::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(i) = id {
            binds.push(i.to_string());
            cond.push_str(&format!(" AND l.request_id = ${}", binds.len()));
        }
        if let Some(a) = account_id {
            binds.push(a.to_string());
            cond.push_str(&format!(" AND l.account_id = ${}", binds.len()));
        }
        let (c, b) = scoped(scope, "l.account_id", binds.len() + 1);
        cond.push_str(&c);
        binds.extend(b);
        let sql = format!(
            "SELECT l.request_id, l.account_id, a.name, a.csm_email, l.feedback_id, l.added_on, \
             l.added_by FROM product_request_accounts l JOIN accounts a ON a.id = l.account_id \
             WHERE 1 = 1{cond} ORDER BY l.request_id, l.added_on, l.account_id"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(RequestLink {
                    request_id: r.try_get(0)?,
                    account_id: r.try_get(1)?,
                    account_name: r.try_get(2)?,
                    csm_email: r.try_get(3)?,
                    feedback_id: r.try_get(4)?,
                    added_on: get_day(r, 5)?,
                    added_by: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Adds an account in scope to a request; false when it was already
    /// asking (nothing written).
    pub async fn link_request(&self, link: &RequestLink, scope: &Scope) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let exists: i64 = sqlx::query("SELECT COUNT(*) FROM product_requests WHERE id = $1")
            .bind(link.request_id.as_str())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if exists == 0 {
            return Err(StoreError::NotFound(format!(
                "product request {:?}",
                link.request_id
            )));
        }
        let linked: i64 = sqlx::query(
            "SELECT COUNT(*) FROM product_request_accounts WHERE request_id = $1 AND account_id = $2",
        )
        .bind(link.request_id.as_str())
        .bind(link.account_id.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if linked > 0 {
            return Ok(false);
        }
        insert_link(&mut tx, link, scope).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Inserts a request and the accounts asking in the caller's transaction
/// (with the webhook that tells the tracker); an account out of `scope`
/// is [`StoreError::NotFound`].
pub async fn insert_request(
    conn: &mut AnyConnection,
    r: &ProductRequest,
    links: &[RequestLink],
    scope: &Scope,
) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO product_requests ({REQUEST_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )))
    .bind(r.id.as_str())
    .bind(r.title.as_str())
    .bind(r.description.as_deref())
    .bind(r.status.as_str())
    .bind(r.created_by.as_deref())
    .bind(r.created_at)
    .bind(r.status_on.to_string())
    .execute(&mut *conn)
    .await?;
    for l in links {
        insert_link(&mut *conn, l, scope).await?;
    }
    Ok(())
}

async fn insert_link(conn: &mut AnyConnection, l: &RequestLink, scope: &Scope) -> Result<()> {
    if !account_visible(conn, &l.account_id, scope).await? {
        return Err(StoreError::NotFound(format!("account {:?}", l.account_id)));
    }
    sqlx::query(
        "INSERT INTO product_request_accounts (request_id, account_id, feedback_id, added_on, \
         added_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(l.request_id.as_str())
    .bind(l.account_id.as_str())
    .bind(l.feedback_id.as_deref())
    .bind(l.added_on.to_string())
    .bind(l.added_by.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn load_themes(conn: &mut AnyConnection, id: Option<&str>) -> Result<Vec<(String, String)>> {
    let rows =
        match id {
            Some(i) => sqlx::query(
                "SELECT item_id, theme FROM feedback_themes WHERE item_id = $1 ORDER BY position",
            )
            .bind(i)
            .fetch_all(&mut *conn)
            .await?,
            None => {
                sqlx::query("SELECT item_id, theme FROM feedback_themes ORDER BY item_id, position")
                    .fetch_all(&mut *conn)
                    .await?
            }
        };
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Sets a request's status on `day` in the caller's transaction, with the
/// tasks it makes (the loop closed when shipped); returns the request as
/// it was before.
pub async fn set_request_status(
    conn: &mut AnyConnection,
    id: &str,
    status: RequestStatus,
    day: Date,
    tasks: &[Task],
) -> Result<ProductRequest> {
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM product_requests WHERE id = $1");
    let Some(r) = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Err(StoreError::NotFound(format!("product request {id:?}")));
    };
    let before = request_row(&r)?;
    sqlx::query("UPDATE product_requests SET status = $2, status_on = $3 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(day.to_string())
        .execute(&mut *conn)
        .await?;
    for t in tasks {
        crate::target::insert_task_in(conn, t).await?;
    }
    Ok(before)
}
