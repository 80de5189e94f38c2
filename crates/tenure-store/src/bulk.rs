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
        if self.buffers[i].1.len() >= batch_rows(kind) {
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
}
