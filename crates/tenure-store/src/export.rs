//! Streaming exporters: every kind as CSV, a JSON array or NDJSON, in the
//! same columns the importers read, so that importing an export gives the
//! same data back.

use std::collections::BTreeSet;
use std::io::Write;

use futures_util::TryStreamExt;
use sqlx::{AssertSqlSafe, Row};

use crate::rows::{FileValue, Record, file_values, from_row, select_list};
use crate::{Kind, Result, Store, StoreError};

/// Output layout of `tenure export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
    Ndjson,
}

fn json_value(v: &FileValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        FileValue::Null => Value::Null,
        FileValue::Str(s) => Value::String(s.clone()),
        FileValue::Int(i) => Value::from(*i),
        FileValue::Bool(b) => Value::Bool(*b),
        FileValue::Decimal(s) => serde_json::from_str::<serde_json::Number>(s)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(s.clone())),
        FileValue::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
    }
}

/// One record as a JSON object with the import file's field names
/// (custom attributes flattened in, as the importer reads them).
pub fn record_json(rec: &Record) -> serde_json::Map<String, serde_json::Value> {
    let mut obj = serde_json::Map::new();
    for (field, value) in rec.kind().fields().iter().zip(file_values(rec)) {
        obj.insert(field.name.to_string(), json_value(&value));
    }
    if let Record::Account(a) = rec {
        for (k, v) in &a.attributes {
            obj.entry(k.clone())
                .or_insert_with(|| serde_json::Value::String(v.clone()));
        }
    }
    obj
}

impl Store {
    /// Streams every record of `kind` to `out`; returns the number written.
    pub async fn export(
        &self,
        kind: Kind,
        format: ExportFormat,
        out: &mut (dyn Write + Send),
    ) -> Result<u64> {
        let werr = |e: std::io::Error| StoreError::io("writing the export", e);
        let order = if kind == Kind::Events { "seq" } else { "id" };
        // Accounts' custom attributes become columns: collect their names first.
        let attribute_columns: Vec<String> =
            if kind == Kind::Accounts && format == ExportFormat::Csv {
                let mut names = BTreeSet::new();
                let mut rows = sqlx::query("SELECT attributes FROM accounts").fetch(&self.pool);
                while let Some(row) = rows.try_next().await? {
                    let text: String = row.try_get(0)?;
                    if let Ok(serde_json::Value::Object(o)) = serde_json::from_str(&text) {
                        names.extend(o.keys().cloned());
                    }
                }
                names
                    .into_iter()
                    .filter(|n| kind.field_index(n).is_none())
                    .collect()
            } else {
                Vec::new()
            };
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {order}",
            select_list(kind),
            kind.table()
        );
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&self.pool);
        let mut n = 0u64;
        if format == ExportFormat::Csv {
            let cerr = |e: csv::Error| StoreError::io("writing the export", e.into());
            let mut w = csv::Writer::from_writer(&mut *out);
            let mut header: Vec<&str> = kind.fields().iter().map(|f| f.name).collect();
            header.extend(attribute_columns.iter().map(String::as_str));
            w.write_record(&header).map_err(cerr)?;
            while let Some(row) = rows.try_next().await? {
                let rec = from_row(kind, &row)?;
                let mut cells: Vec<String> = file_values(&rec)
                    .iter()
                    .map(|v| v.as_csv().into_owned())
                    .collect();
                if let Record::Account(a) = &rec {
                    for c in &attribute_columns {
                        cells.push(a.attributes.get(c).cloned().unwrap_or_default());
                    }
                }
                w.write_record(&cells).map_err(cerr)?;
                n += 1;
            }
            w.flush().map_err(werr)?;
        } else {
            let array = format == ExportFormat::Json;
            if array {
                out.write_all(b"[").map_err(werr)?;
            }
            while let Some(row) = rows.try_next().await? {
                let obj = serde_json::Value::Object(record_json(&from_row(kind, &row)?));
                if array {
                    out.write_all(if n == 0 { b"\n" } else { b",\n" })
                        .map_err(werr)?;
                }
                serde_json::to_writer(&mut *out, &obj).map_err(|e| werr(e.into()))?;
                if !array {
                    out.write_all(b"\n").map_err(werr)?;
                }
                n += 1;
            }
            if array {
                out.write_all(b"\n]\n").map_err(werr)?;
            }
        }
        out.flush().map_err(werr)?;
        Ok(n)
    }
}
