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
        let mut writer = RecordWriter::new(kind, format, &mut *out, attribute_columns)?;
        while let Some(row) = rows.try_next().await? {
            writer.write(&from_row(kind, &row)?)?;
        }
        let n = writer.count();
        writer.finish()?;
        out.flush().map_err(werr)?;
        Ok(n)
    }
}

fn werr(e: std::io::Error) -> StoreError {
    StoreError::io("writing the export", e)
}

/// A CSV writer's error, keeping the underlying IO error (a closed pipe
/// must stay recognisable, so that `tenure export | head` ends quietly).
fn csv_werr(e: csv::Error) -> StoreError {
    if !matches!(e.kind(), csv::ErrorKind::Io(_)) {
        return werr(std::io::Error::other(e));
    }
    match e.into_kind() {
        csv::ErrorKind::Io(io) => werr(io),
        other => werr(std::io::Error::other(format!("{other:?}"))),
    }
}

enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Json { out: W, array: bool },
}

/// Writes records of one kind in an import-compatible layout; used by
/// `tenure export` and by `tenure demo --out`.
pub struct RecordWriter<W: Write> {
    sink: Sink<W>,
    attribute_columns: Vec<String>,
    n: u64,
}

impl<W: Write> RecordWriter<W> {
    /// Starts a file (writes the CSV header or the opening bracket).
    /// `attribute_columns` are the accounts' custom attributes written as
    /// extra CSV columns, in this order.
    pub fn new(
        kind: Kind,
        format: ExportFormat,
        mut out: W,
        attribute_columns: Vec<String>,
    ) -> Result<Self> {
        let sink = match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                let mut header: Vec<&str> = kind.fields().iter().map(|f| f.name).collect();
                header.extend(attribute_columns.iter().map(String::as_str));
                w.write_record(&header).map_err(csv_werr)?;
                Sink::Csv(Box::new(w))
            }
            ExportFormat::Json => {
                out.write_all(b"[").map_err(werr)?;
                Sink::Json { out, array: true }
            }
            ExportFormat::Ndjson => Sink::Json { out, array: false },
        };
        Ok(RecordWriter {
            sink,
            attribute_columns,
            n: 0,
        })
    }

    /// Writes one record.
    pub fn write(&mut self, rec: &Record) -> Result<()> {
        match &mut self.sink {
            Sink::Csv(w) => {
                let values = file_values(rec);
                let mut cells: Vec<std::borrow::Cow<'_, str>> =
                    values.iter().map(FileValue::as_csv).collect();
                if let Record::Account(a) = rec {
                    for c in &self.attribute_columns {
                        cells.push(a.attributes.get(c).map_or("", String::as_str).into());
                    }
                }
                w.write_record(cells.iter().map(|c| c.as_bytes()))
                    .map_err(csv_werr)?;
            }
            Sink::Json { out, array } => {
                if *array {
                    out.write_all(if self.n == 0 { b"\n" } else { b",\n" })
                        .map_err(werr)?;
                }
                serde_json::to_writer(&mut *out, &serde_json::Value::Object(record_json(rec)))
                    // serde_json hands IO errors back unchanged.
                    .map_err(|e| werr(e.into()))?;
                if !*array {
                    out.write_all(b"\n").map_err(werr)?;
                }
            }
        }
        self.n += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Ends the file (closing bracket for JSON) and flushes.
    pub fn finish(self) -> Result<W> {
        match self.sink {
            Sink::Csv(w) => w.into_inner().map_err(|e| werr(e.into_error())),
            Sink::Json { mut out, array } => {
                if array {
                    out.write_all(b"\n]\n").map_err(werr)?;
                }
                out.flush().map_err(werr)?;
                Ok(out)
            }
        }
    }
}

/// What `tenure export health` reads from the records beside the scores,
/// the Engage runs and the risk board (docs/CRM.md, "Health in your CRM").
#[derive(Debug, Clone, Default)]
pub struct HealthExportBase {
    /// Every account's id and name, by id.
    pub accounts: Vec<(String, String)>,
    /// The accounts an import of the CRM asked for saw (`crm_records`):
    /// their Tenure id is the CRM's id.
    pub crm_ids: std::collections::HashSet<String>,
    /// The next renewal date on or after the day among each account's
    /// running subscriptions.
    pub renewals: std::collections::HashMap<String, jiff::civil::Date>,
    /// Each account's latest NPS answer: its score.
    pub latest_nps: std::collections::HashMap<String, i64>,
}

impl Store {
    /// [`HealthExportBase`] on `day`, in four queries; `crm` is
    /// `salesforce` or `hubspot` (`crm_records.crm`).
    pub async fn health_export_base(
        &self,
        crm: Option<&str>,
        day: jiff::civil::Date,
    ) -> Result<HealthExportBase> {
        let mut out = HealthExportBase::default();
        let mut rows = sqlx::query("SELECT id, name FROM accounts ORDER BY id").fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            out.accounts.push((row.try_get(0)?, row.try_get(1)?));
        }
        drop(rows);
        if let Some(crm) = crm {
            let rows =
                sqlx::query("SELECT id FROM crm_records WHERE crm = $1 AND object = 'accounts'")
                    .bind(crm)
                    .fetch_all(&self.pool)
                    .await?;
            for row in rows {
                out.crm_ids.insert(row.try_get(0)?);
            }
        }
        let d = day.to_string();
        let rows = sqlx::query(
            "SELECT account_id, MIN(renewal_date) FROM subscriptions \
             WHERE renewal_date IS NOT NULL AND renewal_date >= $1 AND start_date <= $2 \
             AND (end_date IS NULL OR end_date > $3) GROUP BY account_id",
        )
        .bind(&d)
        .bind(&d)
        .bind(&d)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let id: String = row.try_get(0)?;
            out.renewals.insert(id, crate::health::get_day(&row, 1)?);
        }
        let mut rows = sqlx::query(
            "SELECT account_id, score FROM survey_responses WHERE kind = 'nps' \
             ORDER BY account_id, responded_at, id",
        )
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            // The last row of each account is its latest answer.
            out.latest_nps.insert(row.try_get(0)?, row.try_get(1)?);
        }
        Ok(out)
    }
}
