//! Batched writes: multi-row `INSERT ... ON CONFLICT` statements with bound
//! parameters, shared by the importers and the demo loader.

use std::collections::HashSet;

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
// Dynamic SQL here is assembled only from the static table specs in `rows`;
// every value is a bound parameter.
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::rows::{Conflict, Record, TableSpec, Val, table_spec, to_values};
use crate::{Kind, Result};

/// How many rows go in one statement: as many as fit in about 30,000 bound
/// parameters (SQLite allows 32,766, PostgreSQL 65,535), at most 1,000.
pub fn batch_rows(kind: Kind) -> usize {
    (30_000 / table_spec(kind).columns.len()).min(1000)
}

/// How many rows of `kind` the importers and the demo loader hold before
/// they write: a statement's worth ([`batch_rows`]), or for events one
/// PostgreSQL statement's worth ([`PG_EVENTS`]; on SQLite, ten statements).
pub(crate) fn held_rows(kind: Kind) -> usize {
    if kind == Kind::Events {
        PG_EVENTS
    } else {
        batch_rows(kind)
    }
}

fn bind<'q>(mut q: Query<'q, Any, AnyArguments>, vals: &'q [Val]) -> Query<'q, Any, AnyArguments> {
    for v in vals {
        q = match v {
            Val::Int(i) => q.bind(*i),
            Val::Text(s) => q.bind(s.as_deref()),
        };
    }
    q
}

/// Builds `INSERT INTO t (..) VALUES (..), (..) ON CONFLICT ...` for `n` rows,
/// updating only `update` columns on conflict. SQLite gets anonymous `?`
/// placeholders: binding thousands of numbered `$N` parameters makes SQLite
/// look each name up in a list, quadratic in their number (it was 80% of an
/// import's time).
/// True when the connection needs numbered `$N` placeholders (PostgreSQL);
/// SQLite gets anonymous `?` ones in multi-row statements (see [`insert_sql`]).
pub(crate) fn numbered_placeholders(conn: &AnyConnection) -> bool {
    conn.backend_name() != "SQLite"
}

/// Appends `rows` tuples of `width` placeholders, `($1, $2), ($3, $4)` or
/// `(?, ?), (?, ?)`.
pub(crate) fn push_value_tuples(sql: &mut String, rows: usize, width: usize, numbered: bool) {
    let mut p = 1;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push('$');
                sql.push_str(&p.to_string());
                p += 1;
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
}

pub(crate) fn insert_sql(spec: &TableSpec, n: usize, update: &[&str], numbered: bool) -> String {
    let cols = spec.columns.len();
    let mut sql = String::with_capacity(64 + n * cols * 6);
    sql.push_str("INSERT INTO ");
    sql.push_str(spec.name);
    sql.push_str(" (");
    sql.push_str(&spec.columns.join(", "));
    sql.push_str(") VALUES ");
    push_value_tuples(&mut sql, n, cols, numbered);
    match spec.conflict {
        // No conflict target: besides `seq` the events' one unique key is
        // `message_id`, whose unique index a table partitioned by month
        // cannot have (docs/SCALE.md); a trigger skips the row there instead.
        Conflict::MessageId => sql.push_str(" ON CONFLICT DO NOTHING"),
        Conflict::Id => {
            let sets: Vec<String> = update
                .iter()
                .filter(|c| **c != "id")
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            if sets.is_empty() {
                sql.push_str(" ON CONFLICT (id) DO NOTHING");
            } else {
                sql.push_str(" ON CONFLICT (id) DO UPDATE SET ");
                sql.push_str(&sets.join(", "));
            }
        }
    }
    sql
}

/// Writes rows (each in the table's column order) in batches; returns the
/// number of rows the database reports as written.
pub async fn write_rows(
    conn: &mut AnyConnection,
    kind: Kind,
    rows: &[Vec<Val>],
    update: &[&str],
) -> Result<u64> {
    let spec = table_spec(kind);
    let numbered = numbered_placeholders(conn);
    if kind == Kind::Events && numbered {
        return write_events_pg(conn, rows).await;
    }
    let mut written = 0;
    for chunk in rows.chunks(batch_rows(kind)) {
        let sql = insert_sql(spec, chunk.len(), update, numbered);
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            q = bind(q, row);
        }
        written += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(written)
}

/// Events a statement on PostgreSQL ([`write_events_pg`]).
pub(crate) const PG_EVENTS: usize = 10_000;

/// Events into PostgreSQL, [`PG_EVENTS`] a statement: each column goes as
/// one parameter, an array literal of the chunk's values, which the server
/// reads with its own array parser and `unnest`s in order (the `seq`
/// numbers follow the rows). A multi-row `INSERT` of six bound values a
/// row made the server parse and plan a statement of 6,000 parameters for
/// every 1,000 events (docs/PERFORMANCE.md, "Import"). Duplicates of a
/// message id are skipped as by [`insert_sql`]; a chunk without message
/// ids cannot have any, and is inserted without `ON CONFLICT`, whose
/// checks took a fifth of the server's time.
async fn write_events_pg(conn: &mut AnyConnection, rows: &[Vec<Val>]) -> Result<u64> {
    macro_rules! insert_events {
        ($tail:literal) => {
            concat!(
                "INSERT INTO events (account_id, user_id, event, ts, properties, message_id) \
                 SELECT r.a, r.u, r.e, r.t, r.p, r.m \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) \
                 WITH ORDINALITY AS r(a, u, e, t, p, m, n) ORDER BY r.n",
                $tail
            )
        };
    }
    const INSERT: &str = insert_events!("");
    const SKIPPING: &str = insert_events!(" ON CONFLICT DO NOTHING");
    const WIDTH: usize = 6;
    const MESSAGE_ID: usize = 5;
    debug_assert_eq!(
        table_spec(Kind::Events).columns,
        [
            "account_id",
            "user_id",
            "event",
            "ts",
            "properties",
            "message_id"
        ]
    );
    let mut written = 0;
    for chunk in rows.chunks(PG_EVENTS) {
        let mut arrays: [String; WIDTH] = Default::default();
        for (c, array) in arrays.iter_mut().enumerate() {
            let values = chunk.iter().map(|row| &row[c]);
            array_literal(array, values);
        }
        let ids = chunk
            .iter()
            .any(|row| !matches!(row[MESSAGE_ID], Val::Text(None)));
        let mut q = sqlx::query(if ids { SKIPPING } else { INSERT });
        for array in &arrays {
            q = q.bind(array.as_str());
        }
        written += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(written)
}

/// Writes `values` as a PostgreSQL array literal into `out`: `{"a","b\"c",NULL,7}`.
/// Texts are quoted, with `"` and `\` escaped by a backslash, so any text
/// (braces, commas, spaces, the word NULL) reads back as itself.
fn array_literal<'v>(out: &mut String, values: impl Iterator<Item = &'v Val>) {
    out.push('{');
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            Val::Int(Some(n)) => out.push_str(&n.to_string()),
            Val::Text(Some(t)) => {
                out.push('"');
                for ch in t.chars() {
                    if ch == '"' || ch == '\\' {
                        out.push('\\');
                    }
                    out.push(ch);
                }
                out.push('"');
            }
            Val::Int(None) | Val::Text(None) => out.push_str("NULL"),
        }
    }
    out.push('}');
}

/// Inserts `rows` in the caller's transaction, many per statement: `head`
/// (`INSERT INTO t (columns) VALUES `) and a tuple of `width` placeholders
/// a row, as many rows as fit in about 30,000 parameters (at most 1,000),
/// each row's values bound in order by `bind`.
pub(crate) async fn insert_many<'r, T>(
    conn: &mut AnyConnection,
    head: &str,
    width: usize,
    rows: &'r [T],
    bind: impl Fn(Query<'r, Any, AnyArguments>, &'r T) -> Query<'r, Any, AnyArguments>,
) -> Result<()> {
    let numbered = numbered_placeholders(conn);
    for chunk in rows.chunks((30_000 / width).min(1000)) {
        let mut sql = String::from(head);
        push_value_tuples(&mut sql, chunk.len(), width, numbered);
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            q = bind(q, row);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Which of `ids` already exist in the kind's table.
pub async fn existing_ids(
    conn: &mut AnyConnection,
    kind: Kind,
    ids: &[&str],
) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    let numbered = numbered_placeholders(conn);
    for chunk in ids.chunks(1000) {
        let mut sql = format!("SELECT id FROM {} WHERE id IN ", kind.table());
        // One tuple of all the ids: `IN ($1, $2, ...)`.
        push_value_tuples(&mut sql, 1, chunk.len(), numbered);
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            found.insert(row.try_get::<String, _>(0)?);
        }
    }
    Ok(found)
}

/// All account ids, for checking that imported rows point at real accounts.
pub async fn all_account_ids(conn: &mut AnyConnection) -> Result<HashSet<String>> {
    let rows = sqlx::query("SELECT id FROM accounts")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(Into::into))
        .collect()
}

/// Buffers records of every kind and writes them in full batches, accounts
/// first so that foreign keys always hold. Used by the demo loader.
pub struct BulkWriter {
    buffers: Vec<(Kind, Vec<Vec<Val>>)>,
    /// Rows written per kind, in [`Kind::ALL`] order.
    pub written: [u64; 7],
}

impl Default for BulkWriter {
    fn default() -> Self {
        BulkWriter {
            buffers: Kind::ALL.iter().map(|k| (*k, Vec::new())).collect(),
            written: [0; 7],
        }
    }
}

impl BulkWriter {
    /// Adds a record, writing its kind's buffer (after the accounts buffer)
    /// when it is full.
    pub async fn push(&mut self, conn: &mut AnyConnection, rec: &Record) -> Result<()> {
        let kind = rec.kind();
        let i = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.buffers[i].1.push(to_values(rec));
        if self.buffers[i].1.len() >= held_rows(kind) {
            self.flush_one(conn, 0).await?;
            self.flush_one(conn, i).await?;
        }
        Ok(())
    }

    async fn flush_one(&mut self, conn: &mut AnyConnection, i: usize) -> Result<()> {
        let (kind, rows) = &mut self.buffers[i];
        if rows.is_empty() {
            return Ok(());
        }
        let all = table_spec(*kind).columns;
        self.written[i] += write_rows(conn, *kind, rows, all).await?;
        rows.clear();
        Ok(())
    }

    /// Writes everything still buffered.
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result<()> {
        for i in 0..self.buffers.len() {
            self.flush_one(conn, i).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_sql_updates_only_given_columns() {
        let sql = insert_sql(table_spec(Kind::Contacts), 2, &["id", "email"], true);
        assert_eq!(
            sql,
            "INSERT INTO contacts (id, account_id, email, name, role, champion, left_on) VALUES \
             ($1, $2, $3, $4, $5, $6, $7), ($8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (id) DO UPDATE SET email = excluded.email"
        );
        let sql = insert_sql(table_spec(Kind::Events), 2, &[], false);
        assert!(sql.contains("VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?) ON"));
        assert!(sql.ends_with(") ON CONFLICT DO NOTHING"));
    }

    #[test]
    fn array_literals_quote_every_text_and_escape_quotes_and_backslashes() {
        let values = [
            Val::Text(Some("a".into())),
            Val::Text(Some(r#"say "hi" \ {x,y}"#.into())),
            Val::Text(Some("NULL".into())),
            Val::Text(None),
            Val::Int(Some(-7)),
            Val::Int(None),
            Val::Text(Some(String::new())),
        ];
        let mut out = String::new();
        array_literal(&mut out, values.iter());
        assert_eq!(out, r#"{"a","say \"hi\" \\ {x,y}","NULL",NULL,-7,NULL,""}"#);
        out.clear();
        array_literal(&mut out, [].iter());
        assert_eq!(out, "{}");
    }
}
