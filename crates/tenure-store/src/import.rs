//! All-or-nothing importers for every kind of [`Kind`] (README.md, "Import
//! your own data", lists them with their columns).
//!
//! A file is read as a stream (CSV by header name in any column order, or
//! NDJSON; gzip-compressed either way), each row is parsed into a core
//! record, and full batches are written inside one transaction. Any bad row
//! stops the writing; the importer goes on reading to report up to
//! [`MAX_PROBLEMS`] problems, each naming file, line and column, then rolls
//! the whole file back. Memory stays flat: only one batch of rows, and the
//! ids seen (for the duplicate check), are held.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use tenure_core::model::{
    self, Account, Contact, Currency, Engagement, Event, Money, Priority, Subscription, SurveyKind,
    SurveyResponse, Ticket, ValueError,
};

use crate::bulk::{all_account_ids, existing_ids, held_rows, write_rows};
use crate::rows::{Record, Val, columns_for_field, to_values};
use crate::{Kind, Result, Store, StoreError};

/// At most this many problems are reported for one file.
pub const MAX_PROBLEMS: usize = 20;

/// One problem with an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// 1-based line number; 0 when the problem concerns the whole file.
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, " line {}", self.line)?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column {c:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Formats problems one per line, for error messages.
pub fn format_problems(problems: &[Problem]) -> String {
    let mut out: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    if problems.len() >= MAX_PROBLEMS {
        out.push(format!(
            "(stopped after the first {MAX_PROBLEMS} problems; nothing was imported)"
        ));
    } else {
        out.push("(nothing was imported)".to_string());
    }
    out.join("\n")
}

/// The layout of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// Guesses the format from a file name (`.gz` is looked through).
    pub fn from_name(name: &str) -> Format {
        let lower = name.to_ascii_lowercase();
        let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
        if stem.ends_with(".ndjson") || stem.ends_with(".jsonl") || stem.ends_with(".json") {
            Format::Ndjson
        } else {
            Format::Csv
        }
    }
}

/// Options of `tenure import`.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Create a bare account (name = id) for rows whose account does not exist.
    pub create_missing_accounts: bool,
    /// Currency of subscriptions whose file has no `currency` value.
    pub default_currency: Currency,
    /// Overrides the format guessed from the file name.
    pub format: Option<Format>,
    /// Import an events file again even though the same bytes were imported before.
    pub allow_reimport: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            create_missing_accounts: false,
            default_currency: Currency::USD,
            format: None,
            allow_reimport: false,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub kind: Kind,
    pub file: String,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    /// Events skipped because their `message_id` was already stored.
    pub duplicates_skipped: u64,
    pub accounts_created: u64,
    /// SHA-256 of the file's bytes, as given.
    pub checksum: String,
    pub elapsed: Duration,
}

/// Counts and hashes the bytes read from the underlying file.
struct Tally<R> {
    inner: R,
    state: Arc<Mutex<(u64, Sha256)>>,
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut st) = self.state.lock() {
            st.0 += n as u64;
            st.1.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// One row as read from a file, before parsing: values aligned with
/// [`Kind::fields`], plus unknown columns.
struct RawRow {
    line: u64,
    values: Vec<Option<String>>,
    extras: Vec<(String, String)>,
}

/// A row read: raw values to parse, or an event line already parsed by
/// [`fast_event`].
enum Row {
    Raw(RawRow),
    Event(u64, Event),
}

/// Reads rows of a kind from CSV or NDJSON.
enum Source<R: BufRead> {
    Csv {
        reader: csv::Reader<R>,
        /// For each CSV column: the field index, or None for a custom attribute.
        map: Vec<Option<usize>>,
        headers: Vec<String>,
        record: csv::StringRecord,
    },
    Ndjson {
        reader: R,
        line: u64,
        buf: Vec<u8>,
    },
}

impl<R: BufRead> Source<R> {
    /// Opens a source; for CSV, reads and checks the header.
    fn open(
        kind: Kind,
        format: Format,
        reader: R,
        file: &str,
    ) -> Result<(Self, Vec<bool>), Vec<Problem>> {
        let nf = kind.fields().len();
        match format {
            Format::Ndjson => Ok((
                Source::Ndjson {
                    reader,
                    line: 0,
                    buf: Vec::new(),
                },
                vec![true; nf],
            )),
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(false)
                    .from_reader(reader);
                let problem = |column: Option<String>, message: String| Problem {
                    file: file.to_string(),
                    line: 1,
                    column,
                    message,
                };
                let headers = match reader.headers() {
                    Ok(h) => h.clone(),
                    Err(e) => return Err(vec![csv_problem(file, &e)]),
                };
                if headers.is_empty() || (headers.len() == 1 && headers[0].trim().is_empty()) {
                    return Err(vec![Problem {
                        file: file.to_string(),
                        line: 0,
                        column: None,
                        message: "the file is empty".to_string(),
                    }]);
                }
                let mut problems = Vec::new();
                let mut present = vec![false; nf];
                let mut map = Vec::new();
                let mut names = Vec::new();
                let mut seen = HashSet::new();
                for h in headers.iter() {
                    let name = h.trim().trim_start_matches('\u{feff}').to_string();
                    let norm = name.to_ascii_lowercase();
                    if name.is_empty() {
                        problems.push(problem(None, "a column has an empty header".into()));
                    } else if !seen.insert(norm.clone()) {
                        problems.push(problem(
                            Some(name.clone()),
                            "this column appears twice".into(),
                        ));
                    }
                    match kind.field_index(&norm) {
                        Some(i) => {
                            present[i] = true;
                            map.push(Some(i));
                        }
                        None if kind == Kind::Accounts => map.push(None),
                        None => {
                            let expected: Vec<&str> =
                                kind.fields().iter().map(|f| f.name).collect();
                            problems.push(problem(
                                Some(name.clone()),
                                format!(
                                    "unknown column for {kind}; expected {}",
                                    expected.join(", ")
                                ),
                            ));
                            map.push(None);
                        }
                    }
                    names.push(name);
                }
                for (i, f) in kind.fields().iter().enumerate() {
                    if f.required && !present[i] {
                        problems.push(problem(
                            Some(f.name.to_string()),
                            "missing required column".to_string(),
                        ));
                    }
                }
                if !problems.is_empty() {
                    problems.truncate(MAX_PROBLEMS);
                    return Err(problems);
                }
                Ok((
                    Source::Csv {
                        reader,
                        map,
                        headers: names,
                        record: csv::StringRecord::new(),
                    },
                    present,
                ))
            }
        }
    }

    /// The next row, a problem with it, or None at the end.
    fn next_row(&mut self, kind: Kind, file: &str) -> Option<Result<Row, Problem>> {
        let nf = kind.fields().len();
        match self {
            Source::Csv {
                reader,
                map,
                headers,
                record,
            } => match reader.read_record(record) {
                Ok(false) => None,
                Err(e) => Some(Err(csv_problem(file, &e))),
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    let mut values = vec![None; nf];
                    let mut extras = Vec::new();
                    for (i, cell) in record.iter().enumerate() {
                        let v = cell.trim();
                        match map[i] {
                            Some(f) => {
                                if !v.is_empty() {
                                    values[f] = Some(v.to_string());
                                }
                            }
                            None => {
                                if !v.is_empty() {
                                    extras.push((headers[i].clone(), v.to_string()));
                                }
                            }
                        }
                    }
                    Some(Ok(Row::Raw(RawRow {
                        line,
                        values,
                        extras,
                    })))
                }
            },
            Source::Ndjson { reader, line, buf } => loop {
                buf.clear();
                *line += 1;
                match reader.read_until(b'\n', buf) {
                    Ok(0) => return None,
                    Ok(_) => {}
                    Err(e) => {
                        return Some(Err(Problem {
                            file: file.to_string(),
                            line: *line,
                            column: None,
                            message: format!("cannot read the file: {e}"),
                        }));
                    }
                }
                let text = match std::str::from_utf8(buf) {
                    Ok(t) => t,
                    Err(e) => {
                        return Some(Err(Problem {
                            file: file.to_string(),
                            line: *line,
                            column: None,
                            message: format!(
                                "invalid UTF-8 at byte {} of the line",
                                e.valid_up_to() + 1
                            ),
                        }));
                    }
                };
                // Blank lines are skipped; so are the brackets and commas of a
                // JSON array written one object per line, as `tenure export
                // --format json` writes it.
                let text = text.trim();
                let text = text.strip_suffix(',').unwrap_or(text).trim_end();
                if text.is_empty() || text == "[" || text == "]" {
                    continue;
                }
                if kind == Kind::Events
                    && let Some(event) = fast_event(text)
                {
                    return Some(Ok(Row::Event(*line, event)));
                }
                return Some(json_row(kind, text, *line, file).map(Row::Raw));
            },
        }
    }
}

pub(crate) fn csv_problem(file: &str, e: &csv::Error) -> Problem {
    let (line, message) = match e.kind() {
        csv::ErrorKind::Utf8 { pos, err } => (
            pos.as_ref().map_or(0, |p| p.line()),
            format!("invalid UTF-8 in field {}", err.field() + 1),
        ),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => (
            pos.as_ref().map_or(0, |p| p.line()),
            format!("expected {expected_len} columns as in the header, found {len}"),
        ),
        _ => (
            e.position().map_or(0, |p| p.line()),
            format!("cannot read the file: {e}"),
        ),
    };
    Problem {
        file: file.to_string(),
        line,
        column: None,
        message,
    }
}

/// An events line in the usual shape, parsed without building a JSON map
/// of it: string values borrowed from the line, then checked as
/// [`parse_record`] checks them. `None` for anything else (another type of
/// value, an unknown or repeated key, a value [`parse_record`] would refuse,
/// invalid JSON), which then goes the general way ([`json_row`]) and gets
/// its problem reported there; so when this gives an event, it is the event
/// the general way gives (a property test checks it).
fn fast_event(text: &str) -> Option<Event> {
    // `&str` borrows from the line; a string with an escape in it cannot,
    // and goes the general way.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line<'a> {
        timestamp: Option<&'a str>,
        account_id: Option<&'a str>,
        user_id: Option<&'a str>,
        event: Option<&'a str>,
        properties: Option<serde_json::Value>,
        message_id: Option<&'a str>,
    }
    /// A trimmed, non-empty value the general way would take as it is.
    fn value(v: Option<&str>) -> Option<&str> {
        let t = v?.trim();
        (!t.is_empty() && !t.contains('\0')).then_some(t)
    }
    let line: Line<'_> = serde_json::from_str(text).ok()?;
    let properties = match line.properties {
        None => None,
        Some(serde_json::Value::Object(o)) => Some(serde_json::Value::Object(o).to_string()),
        Some(_) => return None,
    };
    let message_id = match line.message_id.map(str::trim) {
        Some(m) if m.contains('\0') => return None,
        Some("") | None => None,
        Some(m) => Some(m.to_string()),
    };
    Some(Event {
        timestamp: model::parse_timestamp(value(line.timestamp)?).ok()?,
        account_id: model::parse_id(value(line.account_id)?).ok()?,
        user_id: model::parse_id(value(line.user_id)?).ok()?,
        event: model::parse_id(value(line.event)?).ok()?,
        properties,
        message_id,
    })
}

fn json_row(kind: Kind, text: &str, line: u64, file: &str) -> Result<RawRow, Problem> {
    let problem = |column: Option<String>, message: String| Problem {
        file: file.to_string(),
        line,
        column,
        message,
    };
    let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(o)) => o,
        Ok(_) => return Err(problem(None, "expected a JSON object".to_string())),
        Err(e) => {
            return Err(problem(
                None,
                format!("invalid JSON at column {}: {e}", e.column()),
            ));
        }
    };
    let mut values = vec![None; kind.fields().len()];
    let mut extras = Vec::new();
    let mut attribute_names = HashSet::new();
    for (key, value) in obj {
        let as_text = match &value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            other => Some(other.to_string()),
        };
        match kind.field_index(&key) {
            Some(i) => {
                let is_object = matches!(
                    value,
                    serde_json::Value::Object(_) | serde_json::Value::Array(_)
                );
                if is_object && kind.fields()[i].name != "properties" {
                    return Err(problem(
                        Some(key),
                        "expected a single value, not an object or array".into(),
                    ));
                }
                values[i] = as_text;
            }
            None if kind == Kind::Accounts => {
                if let Some(message) = attribute_name_problem(kind, &key, &mut attribute_names) {
                    return Err(problem(Some(key), message));
                }
                if let Some(v) = as_text {
                    extras.push((key, v));
                }
            }
            None => {
                let expected: Vec<&str> = kind.fields().iter().map(|f| f.name).collect();
                return Err(problem(
                    Some(key),
                    format!("unknown field for {kind}; expected {}", expected.join(", ")),
                ));
            }
        }
    }
    Ok(RawRow {
        line,
        values,
        extras,
    })
}

/// The importer's reading without the database: a file opened (gunzipped,
/// Windows line endings read as `\n`, the CSV header checked), then each
/// row read, parsed and checked against the ids of the rows before it.
/// [`Store::import_reader`] writes what it yields; [`parse_reader`] only
/// collects it.
struct Reading<R: BufRead> {
    kind: Kind,
    name: String,
    format: Format,
    default_currency: Currency,
    source: Source<R>,
    /// Each id seen, with its line.
    seen_ids: HashMap<String, u64>,
    /// Rows read so far, good or bad.
    rows: u64,
    /// Problems so far; a caller adds its own checks' problems here too.
    problems: Vec<Problem>,
    /// A problem made the rest of the file unreadable.
    broken: bool,
}

impl<'r> Reading<Box<dyn BufRead + Send + 'r>> {
    /// Opens `reader` for an import of `kind`; also returns which of the
    /// kind's fields the file has (all of them for NDJSON).
    fn open(
        kind: Kind,
        name: &str,
        reader: impl Read + Send + 'r,
        options: &ImportOptions,
        tally: &Arc<Mutex<(u64, Sha256)>>,
    ) -> Result<(Self, Vec<bool>)> {
        let input = open_input(name, reader, tally)?;
        let format = options.format.unwrap_or_else(|| Format::from_name(name));
        let input = if format == Format::Csv {
            crlf_to_lf(input)?
        } else {
            input
        };
        let (source, present) =
            Source::open(kind, format, input, name).map_err(StoreError::Invalid)?;
        let reading = Reading {
            kind,
            name: name.to_string(),
            format,
            default_currency: options.default_currency,
            source,
            seen_ids: HashMap::new(),
            rows: 0,
            problems: Vec::new(),
            broken: false,
        };
        Ok((reading, present))
    }
}

impl<R: BufRead> Reading<R> {
    /// The next good record with its line. `None` at the end of the file,
    /// once [`MAX_PROBLEMS`] problems are collected, or after a problem
    /// that leaves the rest of a CSV file unreliable.
    fn next_record(&mut self) -> Option<(u64, Record)> {
        while !self.broken && self.problems.len() < MAX_PROBLEMS {
            let next = self.source.next_row(self.kind, &self.name)?;
            self.rows += 1;
            let row = match next {
                Ok(Row::Raw(r)) => r,
                Ok(Row::Event(line, event)) => return Some((line, Record::Event(event))),
                Err(p) => {
                    self.problems.push(p);
                    // A broken CSV structure makes later lines unreliable.
                    if self.format == Format::Csv && !p_is_row_local(self.problems.last()) {
                        self.broken = true;
                    }
                    continue;
                }
            };
            let record = match parse_record(self.kind, &row, &self.name, self.default_currency) {
                Ok(r) => r,
                Err(ps) => {
                    self.problems.extend(ps);
                    continue;
                }
            };
            if let Some(id) = record.id() {
                if let Some(first) = self.seen_ids.get(id) {
                    self.problems.push(Problem {
                        file: self.name.clone(),
                        line: row.line,
                        column: Some("id".to_string()),
                        message: format!("duplicate id {id:?}: already on line {first}"),
                    });
                    continue;
                }
                self.seen_ids.insert(id.to_string(), row.line);
            }
            return Some((row.line, record));
        }
        None
    }

    /// The problems to report once reading has stopped: at most
    /// [`MAX_PROBLEMS`], or that the file has no data rows.
    fn finish(&mut self) -> Vec<Problem> {
        let mut problems = std::mem::take(&mut self.problems);
        problems.truncate(MAX_PROBLEMS);
        if problems.is_empty() && self.rows == 0 {
            problems.push(Problem {
                file: self.name.clone(),
                line: 0,
                column: None,
                message: "the file has no data rows".to_string(),
            });
        }
        problems
    }
}

/// Reads a whole import file of `kind` without a database: the records it
/// holds with their lines, or the problems [`Store::import_reader`] would
/// report before writing anything, found by the importer's own reading,
/// parsing and duplicate-id check. Whether each row's account exists needs
/// the database and is not checked. The fuzz targets run the importers
/// through it (docs/OPERATIONS.md, "Fuzzing").
pub fn parse_reader(
    kind: Kind,
    name: &str,
    reader: impl Read + Send,
    options: &ImportOptions,
) -> Result<Vec<(u64, Record)>> {
    let tally = Arc::new(Mutex::new((0u64, Sha256::new())));
    let (mut reading, _) = Reading::open(kind, name, reader, options, &tally)?;
    let mut records = Vec::new();
    while let Some(next) = reading.next_record() {
        records.push(next);
    }
    let problems = reading.finish();
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(StoreError::Invalid(problems))
    }
}

/// Why an NDJSON key that is no field cannot be a custom attribute, if it
/// cannot: a CSV file, which `tenure export` writes, could not hold it as
/// a column, since CSV headers are read trimmed and without regard to
/// case. `seen` holds the row's attribute names so far, in lower case.
fn attribute_name_problem(kind: Kind, key: &str, seen: &mut HashSet<String>) -> Option<String> {
    let header = key.trim().trim_start_matches('\u{feff}');
    let lower = header.to_ascii_lowercase();
    if header.is_empty() {
        Some("a custom attribute needs a name".to_string())
    } else if header != key {
        Some("a custom attribute's name must not begin or end with spaces".to_string())
    } else if let Some(i) = kind.field_index(&lower) {
        Some(format!(
            "not a custom attribute: write the field {:?} in lower case",
            kind.fields()[i].name
        ))
    } else if !seen.insert(lower) {
        Some("another custom attribute has this name in other letter case".to_string())
    } else {
        None
    }
}

/// Parses one field of a row, collecting problems.
struct Fields<'a> {
    kind: Kind,
    row: &'a RawRow,
    file: &'a str,
    problems: Vec<Problem>,
}

impl Fields<'_> {
    fn problem(&mut self, field: &str, message: String) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            line: self.row.line,
            column: Some(field.to_string()),
            message,
        });
    }

    fn raw(&self, field: &str) -> Option<&str> {
        let i = self.kind.field_index(field)?;
        self.row.values[i].as_deref()
    }

    /// An optional field parsed with `parse`.
    fn opt<T>(&mut self, field: &str, parse: impl Fn(&str) -> Result<T, ValueError>) -> Option<T> {
        let raw = self.raw(field)?.to_string();
        if raw.contains('\0') {
            // PostgreSQL cannot store it in text: refused on every backend.
            self.problem(field, "must not contain the character U+0000".to_string());
            return None;
        }
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(field, e.0);
                None
            }
        }
    }

    /// A required field: a missing value is a problem.
    fn req<T>(&mut self, field: &str, parse: impl Fn(&str) -> Result<T, ValueError>) -> Option<T> {
        if self.raw(field).is_none() {
            self.problem(field, "a value is required".to_string());
            return None;
        }
        self.opt(field, parse)
    }

    fn text(&mut self, field: &str) -> Option<String> {
        self.opt(field, |s| Ok(s.to_string()))
    }
}

fn non_negative(s: &str) -> Result<i64, ValueError> {
    let n = model::parse_int(s)?;
    if n < 0 {
        return Err(ValueError(format!("must not be negative, got {n}")));
    }
    Ok(n)
}

fn email(s: &str) -> Result<String, ValueError> {
    let t = s.trim();
    match t.split_once('@') {
        Some((a, b)) if !a.is_empty() && b.contains('.') && !t.contains(' ') => Ok(t.to_string()),
        _ => Err(ValueError(format!("expected an email address, got {s:?}"))),
    }
}

/// A date, also accepting a timestamp (its UTC date), for `created_at`.
fn date_or_timestamp(s: &str) -> Result<jiff::civil::Date, ValueError> {
    if s.trim().len() > 10 {
        model::parse_timestamp(s).map(model::utc_date)
    } else {
        model::parse_date(s)
    }
}

fn json_object(s: &str) -> Result<String, ValueError> {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(serde_json::Value::Object(o)) => Ok(serde_json::Value::Object(o).to_string()),
        Ok(_) => Err(ValueError("expected a JSON object".to_string())),
        Err(e) => Err(ValueError(format!("invalid JSON: {e}"))),
    }
}

/// Parses a raw row into a record, or the problems with it.
fn parse_record(
    kind: Kind,
    row: &RawRow,
    file: &str,
    default_currency: Currency,
) -> Result<Record, Vec<Problem>> {
    let mut f = Fields {
        kind,
        row,
        file,
        problems: Vec::new(),
    };
    let record = match kind {
        Kind::Accounts => parse_account(&mut f),
        Kind::Contacts => Record::Contact(Contact {
            id: f.req("id", model::parse_id).unwrap_or_default(),
            account_id: f.req("account_id", model::parse_id).unwrap_or_default(),
            email: f.req("email", email).unwrap_or_default(),
            name: f.text("name"),
            role: f.text("role"),
            champion: f.opt("champion", model::parse_bool),
            left_on: f.opt("left_on", model::parse_date),
        }),
        Kind::Subscriptions => parse_subscription(&mut f, default_currency),
        Kind::Events => Record::Event(Event {
            timestamp: f
                .req("timestamp", model::parse_timestamp)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            account_id: f.req("account_id", model::parse_id).unwrap_or_default(),
            user_id: f.req("user_id", model::parse_id).unwrap_or_default(),
            event: f.req("event", model::parse_id).unwrap_or_default(),
            properties: f.opt("properties", json_object),
            message_id: f.text("message_id"),
        }),
        Kind::Tickets => parse_ticket(&mut f),
        Kind::SurveyResponses => parse_survey_response(&mut f),
        Kind::Engagements => Record::Engagement(Engagement {
            id: f.req("id", model::parse_id).unwrap_or_default(),
            account_id: f.req("account_id", model::parse_id).unwrap_or_default(),
            kind: f.req("kind", model::parse_id).unwrap_or_default(),
            occurred_at: f
                .req("occurred_at", model::parse_timestamp)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            csm_email: f.opt("csm_email", email),
            notes: f.text("notes"),
        }),
    };
    if f.problems.is_empty() {
        Ok(record)
    } else {
        Err(f.problems)
    }
}

/// An account row ([`parse_record`]): its custom attributes are the file's
/// extra columns.
fn parse_account(f: &mut Fields<'_>) -> Record {
    let id = f.req("id", model::parse_id);
    let name = f.req("name", |s| Ok(s.to_string()));
    let employees = f.opt("employees", non_negative);
    let trial_start = f.opt("trial_start", model::parse_date);
    let trial_end = f.opt("trial_end", model::parse_date);
    if let (Some(s), Some(e)) = (trial_start, trial_end)
        && e < s
    {
        f.problem(
            "trial_end",
            format!("trial_end {e} is before trial_start {s}"),
        );
    }
    let account = Account {
        id: id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        industry: f.text("industry"),
        employees,
        region: f.text("region"),
        plan: f.text("plan"),
        csm_email: f.opt("csm_email", email),
        created_at: f.opt("created_at", date_or_timestamp),
        trial_start,
        trial_end,
        attributes: f.row.extras.iter().cloned().collect::<BTreeMap<_, _>>(),
    };
    Record::Account(account)
}

/// A subscription row ([`parse_record`]), in `default_currency` when it
/// names none.
fn parse_subscription(f: &mut Fields<'_>, default_currency: Currency) -> Record {
    let currency = f
        .opt("currency", Currency::parse)
        .unwrap_or(default_currency);
    let mrr = f.req("mrr", |s| Money::parse_decimal(s, currency));
    if let Some(m) = mrr
        && m.minor < 0
    {
        f.problem(
            "mrr",
            format!("MRR must not be negative, got {}", m.to_decimal_string()),
        );
    }
    let start = f.req("start_date", model::parse_date);
    let end = f.opt("end_date", model::parse_date);
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        f.problem(
            "end_date",
            format!("end_date {e} must be after start_date {s} (end_date is exclusive)"),
        );
    }
    Record::Subscription(Subscription {
        id: f.req("id", model::parse_id).unwrap_or_default(),
        account_id: f.req("account_id", model::parse_id).unwrap_or_default(),
        mrr: mrr.unwrap_or(Money::new(0, currency)),
        plan: f.text("plan"),
        seats: f.opt("seats", non_negative),
        start_date: start.unwrap_or(jiff::civil::Date::ZERO),
        end_date: end,
        renewal_date: f.opt("renewal_date", model::parse_date),
    })
}

/// A ticket row ([`parse_record`]).
fn parse_ticket(f: &mut Fields<'_>) -> Record {
    let opened = f.req("opened_at", model::parse_timestamp);
    let closed = f.opt("closed_at", model::parse_timestamp);
    if let (Some(o), Some(c)) = (opened, closed)
        && c < o
    {
        f.problem(
            "closed_at",
            format!("closed_at {c} is before opened_at {o}"),
        );
    }
    Record::Ticket(Ticket {
        id: f.req("id", model::parse_id).unwrap_or_default(),
        account_id: f.req("account_id", model::parse_id).unwrap_or_default(),
        opened_at: opened.unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        closed_at: closed,
        priority: f.opt("priority", Priority::parse),
        first_contact_resolved: f.opt("first_contact_resolved", model::parse_bool),
        csat: f.opt("csat", |s| {
            SurveyKind::Csat.check_score(model::parse_int(s)?)
        }),
        subject: f.text("subject"),
        description: f.text("description"),
    })
}

/// A survey response row ([`parse_record`]).
fn parse_survey_response(f: &mut Fields<'_>) -> Record {
    let kind = f.req("kind", SurveyKind::parse);
    let score = f.req("score", model::parse_int);
    if let (Some(k), Some(s)) = (kind, score)
        && let Err(e) = k.check_score(s)
    {
        f.problem("score", e.0);
    }
    Record::SurveyResponse(SurveyResponse {
        id: f.req("id", model::parse_id).unwrap_or_default(),
        account_id: f.req("account_id", model::parse_id).unwrap_or_default(),
        contact_id: f.opt("contact_id", model::parse_id),
        kind: kind.unwrap_or(SurveyKind::Nps),
        score: score.unwrap_or(0),
        responded_at: f
            .req("responded_at", model::parse_timestamp)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        comment: f.text("comment"),
    })
}

/// Writes a batch of parsed records; keeps the counts.
struct Writer {
    kind: Kind,
    update: Vec<&'static str>,
    known_accounts: HashSet<String>,
    create_missing: bool,
    pending: Vec<Record>,
    inserted: u64,
    updated: u64,
    duplicates_skipped: u64,
    accounts_created: u64,
}

impl Writer {
    async fn flush(&mut self, conn: &mut AnyConnection) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.create_missing && self.kind.has_account() {
            let mut missing: Vec<Vec<Val>> = Vec::new();
            for r in &self.pending {
                let id = r.account_id();
                if !self.known_accounts.contains(id) {
                    self.known_accounts.insert(id.to_string());
                    missing.push(to_values(&Record::Account(Account::bare(id))));
                }
            }
            if !missing.is_empty() {
                self.accounts_created += missing.len() as u64;
                write_rows(conn, Kind::Accounts, &missing, &[]).await?;
            }
        }
        let n = self.pending.len() as u64;
        if self.kind.has_id() {
            let ids: Vec<&str> = self.pending.iter().filter_map(|r| r.id()).collect();
            let existing = existing_ids(conn, self.kind, &ids).await?.len() as u64;
            self.updated += existing;
            self.inserted += n - existing;
        }
        let rows: Vec<Vec<Val>> = self.pending.iter().map(to_values).collect();
        let written = write_rows(conn, self.kind, &rows, &self.update).await?;
        if !self.kind.has_id() {
            self.inserted += written;
            self.duplicates_skipped += n - written;
        }
        self.pending.clear();
        Ok(())
    }
}

/// A row whose account does not exist, when missing accounts are not created.
fn missing_account(account_id: &str, line: u64, name: &str) -> Problem {
    Problem {
        file: name.to_string(),
        line,
        column: Some("account_id".to_string()),
        message: format!(
            "account {account_id:?} does not exist (import accounts first, or pass --create-missing-accounts)"
        ),
    }
}

/// Events parsed on the reading thread of [`import_events_sqlite`], with
/// the accounts to create before them.
#[derive(Default)]
struct EventBatch {
    accounts: Vec<String>,
    events: Vec<Event>,
}

/// Events per [`EventBatch`].
const EVENT_BATCH: usize = 4096;

/// Imports events into a SQLite file, all or nothing in `tx`: the file is
/// read and parsed on a thread of its own while this thread writes each
/// event through one prepared statement on `rusqlite` (sqlx's multi-row
/// statements, with every value converted through its `Any` driver, took
/// most of an import's time: docs/PERFORMANCE.md, "Import"). The usage
/// rollups are counted here rather than by the triggers, and into an empty
/// table the secondary indexes are built after the rows
/// ([`crate::deferred`]). The checks, counts, problems and log entry
/// are those of [`Store::import_reader`]'s general way, which a test
/// compares row for row.
fn import_events_sqlite<R: BufRead + Send>(
    tx: &rusqlite::Transaction<'_>,
    mut reading: Reading<R>,
    options: &ImportOptions,
    tally: &Arc<Mutex<(u64, Sha256)>>,
    progress: &mut (dyn FnMut(u64) + Send),
    started: Instant,
) -> Result<ImportSummary> {
    let name = reading.name.clone();
    let set_aside = crate::deferred::prepare(tx)?;
    let mut rollups = set_aside
        .as_ref()
        .map(|_| crate::deferred::Rollups::default());
    let mut known: HashSet<String> = tx
        .prepare("SELECT id FROM accounts")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let create_missing = options.create_missing_accounts;
    let (send, batches) = std::sync::mpsc::sync_channel::<EventBatch>(4);
    let (rows, problems, written) = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut batch = EventBatch::default();
            while let Some((line, record)) = reading.next_record() {
                let Record::Event(event) = record else {
                    unreachable!("an events file gives events")
                };
                if !known.contains(&event.account_id) {
                    if !create_missing {
                        reading.problems.push(missing_account(
                            &event.account_id,
                            line,
                            &reading.name,
                        ));
                        continue;
                    }
                    known.insert(event.account_id.clone());
                    batch.accounts.push(event.account_id.clone());
                }
                if !reading.problems.is_empty() {
                    continue;
                }
                batch.events.push(event);
                // The writer stopped on an error: nothing more to send.
                if batch.events.len() >= EVENT_BATCH
                    && send.send(std::mem::take(&mut batch)).is_err()
                {
                    break;
                }
            }
            if reading.problems.is_empty() && !batch.events.is_empty() {
                let _ = send.send(batch);
            }
            drop(send);
            (reading.rows, reading.finish())
        });
        let written = write_event_batches(tx, &batches, rollups.as_mut(), tally, progress);
        // The parser stops at its next batch once the receiver is gone.
        drop(batches);
        let (rows, problems) = parser.join().expect("the events parser panicked");
        (rows, problems, written)
    });
    if !problems.is_empty() {
        return Err(StoreError::Invalid(problems));
    }
    let (inserted, skipped, accounts_created) = written?;
    if let (Some(set_aside), Some(rollups)) = (set_aside, rollups.as_mut()) {
        crate::deferred::finish(tx, set_aside, rollups)?;
    }
    let (bytes, checksum) = tallied(tally, &name)?;
    progress(bytes);
    if !options.allow_reimport {
        use rusqlite::OptionalExtension;
        let before: Option<i64> = tx
            .query_row(
                IMPORTED_AT,
                rusqlite::params![Kind::Events.as_str(), checksum],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(at) = before {
            return Err(already_imported(&name, at));
        }
    }
    let elapsed = started.elapsed();
    tx.execute(
        LOG_IMPORT,
        rusqlite::params![
            name,
            Kind::Events.as_str(),
            rows as i64,
            inserted as i64,
            0_i64,
            checksum,
            jiff::Timestamp::now().as_microsecond(),
            elapsed.as_millis() as i64,
        ],
    )?;
    Ok(ImportSummary {
        kind: Kind::Events,
        file: name,
        rows,
        inserted,
        updated: 0,
        duplicates_skipped: skipped,
        accounts_created,
        checksum,
        elapsed,
    })
}

/// The writing side of [`import_events_sqlite`]: events inserted, skipped
/// as duplicates, and accounts created.
fn write_event_batches(
    tx: &rusqlite::Transaction<'_>,
    batches: &std::sync::mpsc::Receiver<EventBatch>,
    mut rollups: Option<&mut crate::deferred::Rollups>,
    tally: &Arc<Mutex<(u64, Sha256)>>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<(u64, u64, u64)> {
    let mut account = tx.prepare(&crate::bulk::insert_sql(
        crate::rows::table_spec(Kind::Accounts),
        1,
        &[],
        false,
    ))?;
    // The columns of `rows::to_values` for an event, in its order.
    let mut event = tx.prepare(
        "INSERT INTO events (account_id, user_id, event, ts, properties, message_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    )?;
    let (mut inserted, mut skipped, mut created) = (0, 0, 0);
    for batch in batches {
        for id in &batch.accounts {
            let values = to_values(&Record::Account(Account::bare(id)));
            created += account.execute(rusqlite::params_from_iter(values.iter()))? as u64;
        }
        for e in &batch.events {
            let n = event.execute(rusqlite::params![
                e.account_id,
                e.user_id,
                e.event,
                e.timestamp.as_microsecond(),
                e.properties,
                e.message_id,
            ])? as u64;
            inserted += n;
            skipped += 1 - n;
            if let Some(r) = rollups.as_deref_mut()
                && n == 1
            {
                let ts = e.timestamp.as_microsecond();
                r.add(tx, &e.account_id, &e.user_id, &e.event, ts)?;
            }
        }
        progress(tally.lock().map_or(0, |t| t.0));
    }
    Ok((inserted, skipped, created))
}

/// The refusal of an events file imported before, at `at`.
fn already_imported(name: &str, at: i64) -> StoreError {
    let when = jiff::Timestamp::from_microsecond(at)
        .map(|t| t.to_string())
        .unwrap_or_default();
    file_problem(
        name,
        format!(
            "this file was already imported (at {when}); events have no id, so importing it again would double them. Pass --allow-reimport to import it anyway"
        ),
    )
}

/// The bytes read and their SHA-256 in hex, once the source has read to
/// the end of file `name`.
pub(crate) fn tallied(tally: &Mutex<(u64, Sha256)>, name: &str) -> Result<(u64, String)> {
    let t = tally
        .lock()
        .map_err(|_| file_problem(name, "internal error"))?;
    Ok((t.0, hex::encode(t.1.clone().finalize())))
}

pub(crate) fn file_problem(file: &str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid(vec![Problem {
        file: file.to_string(),
        line: 0,
        column: None,
        message: message.into(),
    }])
}

impl Store {
    /// Imports one file of `kind`, all or nothing. `progress` is called with
    /// the number of bytes of the file read so far.
    pub async fn import_file(
        &self,
        kind: Kind,
        path: &Path,
        options: &ImportOptions,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<ImportSummary> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let file = std::fs::File::open(path)
            .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
        self.import_reader(kind, &name, file, options, progress)
            .await
    }

    /// Imports from any reader; `name` is the file name used in messages and
    /// in the import log.
    pub async fn import_reader(
        &self,
        kind: Kind,
        name: &str,
        reader: impl Read + Send,
        options: &ImportOptions,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<ImportSummary> {
        self.import_reader_deferring(kind, name, reader, options, progress, true)
            .await
    }

    /// [`Store::import_reader`]; `defer` lets events into a SQLite file go
    /// through [`import_events_sqlite`] (the tests compare it with the
    /// general way).
    pub(crate) async fn import_reader_deferring(
        &self,
        kind: Kind,
        name: &str,
        reader: impl Read + Send,
        options: &ImportOptions,
        progress: &mut (dyn FnMut(u64) + Send),
        defer: bool,
    ) -> Result<ImportSummary> {
        let started = Instant::now();
        let tally = Arc::new(Mutex::new((0u64, Sha256::new())));
        let (mut reading, present) = Reading::open(kind, name, reader, options, &tally)?;
        if defer
            && kind == Kind::Events
            && let Some(path) = &self.sqlite_file
        {
            let _guard = self.write_lock.clone().lock_owned().await;
            return crate::scan::run_blocking(|| {
                crate::scan::write_sqlite(path, |tx| {
                    import_events_sqlite(tx, reading, options, &tally, progress, started)
                })
            });
        }
        let update = update_columns(kind, reading.format, &reading.source, &present);
        let batch = held_rows(kind);
        let mut tx = self.begin_bulk_write().await?;
        let known_accounts = if kind.has_account() {
            all_account_ids(&mut tx).await?
        } else {
            HashSet::new()
        };
        // Accounts are checked here when missing ones are refused, and
        // created by the writer when they are not: one of the two needs
        // the known ids.
        let create_missing = options.create_missing_accounts;
        let (check_accounts, writer_accounts) = if create_missing {
            (HashSet::new(), known_accounts)
        } else {
            (known_accounts, HashSet::new())
        };
        let mut writer = Writer {
            kind,
            update,
            known_accounts: writer_accounts,
            create_missing,
            pending: Vec::new(),
            inserted: 0,
            updated: 0,
            duplicates_skipped: 0,
            accounts_created: 0,
        };
        // The rows are written by a task of their own while this one reads
        // and parses the next batch; on a multi-threaded runtime the two
        // run at once (docs/PERFORMANCE.md, "Import: 1,000,000 events into
        // PostgreSQL").
        let (send, mut batches) = tokio::sync::mpsc::channel::<Vec<Record>>(2);
        let writing = tokio::spawn(async move {
            let mut written = Ok(());
            while let Some(rows) = batches.recv().await {
                writer.pending = rows;
                written = writer.flush(&mut tx).await;
                if written.is_err() {
                    break;
                }
            }
            (tx, writer, written)
        });
        let mut pending = Vec::with_capacity(batch);
        while let Some((line, record)) = reading.next_record() {
            if kind.has_account()
                && !create_missing
                && !check_accounts.contains(record.account_id())
            {
                reading
                    .problems
                    .push(missing_account(record.account_id(), line, name));
                continue;
            }
            if !reading.problems.is_empty() {
                continue;
            }
            pending.push(record);
            if pending.len() >= batch {
                let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
                // Closed when the writer stopped on an error, which it returns.
                if send.send(full).await.is_err() {
                    break;
                }
                progress(tally.lock().map_or(0, |t| t.0));
            }
        }
        let rows = reading.rows;
        let problems = reading.finish();
        if problems.is_empty() && !pending.is_empty() {
            let _ = send.send(pending).await;
        }
        drop(send);
        let (mut tx, writer, written) = match writing.await {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(StoreError::io("writing the rows", std::io::Error::other(e))),
        };
        if !problems.is_empty() {
            tx.rollback().await?;
            return Err(StoreError::Invalid(problems));
        }
        written?;
        // The source has read to the end, so the tally covers the whole file.
        drop(reading);
        let (bytes, checksum) = tallied(&tally, name)?;
        progress(bytes);
        if kind == Kind::Events && !options.allow_reimport {
            let before = imported_at(&mut tx, kind, &checksum).await?;
            if let Some(at) = before {
                tx.rollback().await?;
                return Err(already_imported(name, at));
            }
        }
        let elapsed = started.elapsed();
        let counts = (rows, writer.inserted, writer.updated);
        log_import(&mut tx, name, kind.as_str(), counts, &checksum, elapsed).await?;
        tx.commit().await?;
        Ok(ImportSummary {
            kind,
            file: name.to_string(),
            rows,
            inserted: writer.inserted,
            updated: writer.updated,
            duplicates_skipped: writer.duplicates_skipped,
            accounts_created: writer.accounts_created,
            checksum,
            elapsed,
        })
    }
}

/// The file's bytes, counted and hashed into `tally` as they are read, and
/// gunzipped when they start with the gzip magic number. Fails on an empty
/// file.
pub(crate) fn open_input<'r>(
    name: &str,
    reader: impl Read + Send + 'r,
    tally: &Arc<Mutex<(u64, Sha256)>>,
) -> Result<Box<dyn BufRead + Send + 'r>> {
    let mut raw = BufReader::with_capacity(
        256 * 1024,
        Tally {
            inner: reader,
            state: tally.clone(),
        },
    );
    let head = raw
        .fill_buf()
        .map_err(|e| StoreError::io(format!("reading {name}"), e))?;
    if head.is_empty() {
        return Err(file_problem(name, "the file is empty"));
    }
    let gz = head.starts_with(&[0x1f, 0x8b]);
    let input: Box<dyn BufRead + Send + 'r> = if gz {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            flate2::bufread::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    Ok(input)
}

/// Windows line endings read as `\n`, when the file's first block has
/// any. The CSV reader ends a record at the `\r` and counts the line at
/// the `\n`, so each record's line came out one short on such files.
pub(crate) fn crlf_to_lf<'r>(
    mut input: Box<dyn BufRead + Send + 'r>,
) -> Result<Box<dyn BufRead + Send + 'r>> {
    let head = input
        .fill_buf()
        .map_err(|e| StoreError::io("reading the file", e))?;
    // A first block without a whole line cannot tell: wrapped too.
    if head.contains(&b'\n') && !head.windows(2).any(|w| w == b"\r\n") {
        return Ok(input);
    }
    Ok(Box::new(BufReader::with_capacity(
        256 * 1024,
        CrLf {
            inner: input,
            pending_cr: false,
        },
    )))
}

/// Drops each `\r` that comes before a `\n` (see [`crlf_to_lf`]).
struct CrLf<R> {
    inner: R,
    /// The last block ended with a `\r` not yet written.
    pending_cr: bool,
}

impl<R: BufRead> Read for CrLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if out.is_empty() {
                return Ok(0);
            }
            let mut n = 0;
            let buf = self.inner.fill_buf()?;
            if self.pending_cr {
                self.pending_cr = false;
                if buf.first() != Some(&b'\n') {
                    out[0] = b'\r';
                    n = 1;
                }
            }
            let mut used = 0;
            while used < buf.len() && n < out.len() {
                let b = buf[used];
                used += 1;
                if b == b'\r' {
                    match buf.get(used) {
                        Some(b'\n') => continue,
                        Some(_) => {}
                        None => {
                            self.pending_cr = true;
                            break;
                        }
                    }
                }
                out[n] = b;
                n += 1;
            }
            self.inner.consume(used);
            // A block of a lone `\r`: read on to know what follows it.
            if n == 0 && self.pending_cr {
                continue;
            }
            return Ok(n);
        }
    }
}

/// The columns an import updates on rows that exist: those of the fields
/// `present` in the file, and an account's custom attributes when the file
/// can hold them (NDJSON, or CSV with extra columns).
fn update_columns<R: BufRead>(
    kind: Kind,
    format: Format,
    source: &Source<R>,
    present: &[bool],
) -> Vec<&'static str> {
    let mut update: Vec<&'static str> = Vec::new();
    for (i, f) in kind.fields().iter().enumerate() {
        if present[i] {
            for c in columns_for_field(kind, f.name) {
                if !update.contains(c) {
                    update.push(c);
                }
            }
        }
    }
    if kind == Kind::Accounts
        && (format == Format::Ndjson
            || matches!(source, Source::Csv { map, .. } if map.iter().any(Option::is_none)))
    {
        update.push("attributes");
    }
    update
}

/// When a file of a kind with a checksum was imported (both ways of
/// importing ask, to refuse an events file imported before).
const IMPORTED_AT: &str =
    "SELECT imported_at FROM import_log WHERE kind = $1 AND checksum = $2 LIMIT 1";

/// When a file of `kind` with this checksum was imported before, if it was.
async fn imported_at(conn: &mut AnyConnection, kind: Kind, checksum: &str) -> Result<Option<i64>> {
    let before: Option<i64> = sqlx::query_scalar(IMPORTED_AT)
        .bind(kind.as_str())
        .bind(checksum)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(before)
}

/// The import log's entry for a file (both ways of importing write it).
const LOG_IMPORT: &str = "INSERT INTO import_log (file_name, kind, rows_read, inserted, updated, checksum, imported_at, duration_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Records an import in the import log: its kind as logged (`accounts`,
/// `salesforce accounts`), and its rows read, inserted and updated.
pub(crate) async fn log_import(
    conn: &mut AnyConnection,
    name: &str,
    kind: &str,
    (rows, inserted, updated): (u64, u64, u64),
    checksum: &str,
    elapsed: Duration,
) -> Result<()> {
    sqlx::query(LOG_IMPORT)
        .bind(name)
        .bind(kind)
        .bind(rows as i64)
        .bind(inserted as i64)
        .bind(updated as i64)
        .bind(checksum)
        .bind(jiff::Timestamp::now().as_microsecond())
        .bind(elapsed.as_millis() as i64)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// True when a reading problem concerns one row only (bad UTF-8 or a wrong
/// number of cells), so that reading can go on.
fn p_is_row_local(p: Option<&Problem>) -> bool {
    p.is_some_and(|p| !p.message.starts_with("cannot read the file"))
}

/// An entry of the import log, for `tenure import --history` style listings.
#[derive(Debug, Clone)]
pub struct ImportLogEntry {
    pub file_name: String,
    pub kind: String,
    pub rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub checksum: String,
    pub imported_at: jiff::Timestamp,
    pub duration_ms: i64,
}

impl Store {
    /// The import log, newest first.
    pub async fn import_log(&self, limit: i64) -> Result<Vec<ImportLogEntry>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT file_name, kind, rows_read, inserted, updated, checksum, imported_at, duration_ms \
             FROM import_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ImportLogEntry {
                    file_name: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    rows: r.try_get(2)?,
                    inserted: r.try_get(3)?,
                    updated: r.try_get(4)?,
                    checksum: r.try_get(5)?,
                    imported_at: jiff::Timestamp::from_microsecond(r.try_get(6)?)
                        .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
                    duration_ms: r.try_get(7)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_line_endings_read_as_newlines_even_across_blocks() {
        let text = b"a,b\r\n\"x\r\ny\",2\r\nlone\rcr,3\r\n";
        for block in [1, 2, 3, 64] {
            let inner = BufReader::with_capacity(block, &text[..]);
            let mut out = Vec::new();
            let mut r = CrLf {
                inner,
                pending_cr: false,
            };
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, b"a,b\n\"x\ny\",2\nlone\rcr,3\n", "block {block}");
        }
        let mut out = Vec::new();
        let unix = b"a,b\n1,2\n";
        crlf_to_lf(Box::new(&unix[..]))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, unix);
    }

    /// Found by fuzzing (docs/OPERATIONS.md, "Fuzzing"): an NDJSON key
    /// such as `Industry` was kept as a custom attribute beside the field
    /// `industry`, and the CSV that `tenure export` then wrote had the
    /// column twice, which the importer refuses.
    #[test]
    fn ndjson_attributes_that_a_csv_export_could_not_hold_are_refused() {
        let refused = |line: &str| {
            json_row(Kind::Accounts, line, 3, "accounts.ndjson")
                .err()
                .map(|p| (p.column.unwrap_or_default(), p.message))
        };
        let (column, message) =
            refused(r#"{"id": "a", "name": "A", "Industry": "Media"}"#).unwrap();
        assert_eq!(column, "Industry");
        assert!(message.contains("\"industry\" in lower case"), "{message}");
        let (column, _) = refused(r#"{"id": "a", "name": "A", "tier": "1", "Tier": "2"}"#).unwrap();
        assert_eq!(column, "Tier");
        for key in [" tier", "tier ", "", "\u{feff}tier"] {
            let line = serde_json::json!({"id": "a", "name": "A", key: "1"}).to_string();
            assert_eq!(
                refused(&line).map(|r| r.0),
                Some(key.to_string()),
                "{key:?}"
            );
        }
        let row = json_row(
            Kind::Accounts,
            r#"{"id": "a", "name": "A", "Tier": "gold", "seats_sold": 3}"#,
            3,
            "accounts.ndjson",
        )
        .ok()
        .unwrap();
        assert_eq!(row.extras.len(), 2);
    }

    /// Found by fuzzing: a CSV header with more than [`MAX_PROBLEMS`]
    /// bad columns was reported whole, past the limit every import keeps.
    #[test]
    fn a_header_with_many_bad_columns_reports_at_most_the_limit() {
        let header: Vec<String> = (0..30).map(|i| format!("col{i}")).collect();
        let file = format!("{}\n", header.join(","));
        match parse_reader(
            Kind::Contacts,
            "contacts.csv",
            file.as_bytes(),
            &ImportOptions::default(),
        ) {
            Err(StoreError::Invalid(problems)) => {
                assert_eq!(problems.len(), MAX_PROBLEMS);
                assert_eq!(problems[0].column.as_deref(), Some("col0"));
            }
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn format_is_guessed_from_the_name() {
        assert_eq!(Format::from_name("events.ndjson.gz"), Format::Ndjson);
        assert_eq!(Format::from_name("events.jsonl"), Format::Ndjson);
        assert_eq!(Format::from_name("accounts.CSV"), Format::Csv);
        assert_eq!(Format::from_name("accounts.csv.gz"), Format::Csv);
    }

    #[test]
    fn problems_name_file_line_and_column() {
        let p = Problem {
            file: "accounts.csv".into(),
            line: 14,
            column: Some("employees".into()),
            message: "expected a whole number, got \"12a\"".into(),
        };
        assert_eq!(
            p.to_string(),
            "accounts.csv line 14, column \"employees\": expected a whole number, got \"12a\""
        );
    }

    /// The general way's event for a line, or its problems.
    fn slow_event(text: &str) -> Result<Event, Vec<Problem>> {
        let row = json_row(Kind::Events, text, 1, "f").map_err(|p| vec![p])?;
        match parse_record(Kind::Events, &row, "f", Currency::USD)? {
            Record::Event(e) => Ok(e),
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn usual_event_lines_take_the_fast_way() {
        for line in [
            r#"{"timestamp":"2026-01-02T03:04:05Z","account_id":"a1","user_id":"u1","event":"login"}"#,
            r#"{"timestamp":"2026-01-02T03:04:05.123456Z","account_id":"a1","user_id":"u1","event":"export","properties":{"rows":12,"to":"csv","nested":{"x":[1,2.5,null]}}}"#,
            r#"{"message_id":" m-1 ","event":" view ","user_id":"u 2","account_id":"acme","timestamp":" 2026-01-02T03:04:05+02:00","properties":null}"#,
            r#"{ "timestamp" : "2026-01-02T03:04:05Z", "account_id" : "a1", "user_id" : "u1", "event" : "x", "properties" : { "b" : 1 , "a" : 2 } }"#,
        ] {
            let fast = fast_event(line).unwrap_or_else(|| panic!("slow way: {line}"));
            assert_eq!(slow_event(line), Ok(fast), "{line}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Lines built from the events' keys, other keys, and values of
        /// every JSON type with blanks, escapes, NULs and bad timestamps:
        /// when the fast way gives an event, the general way gives the same.
        #[test]
        fn the_fast_way_gives_what_the_general_way_gives(
            fields in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "timestamp", "account_id", "user_id", "event", "properties",
                        "message_id", "Timestamp", "other",
                    ]),
                    proptest::sample::select(vec![
                        r#""2026-01-02T03:04:05Z""#, r#"" 2026-01-02T03:04:05.5+01:00 ""#,
                        r#""2026-13-02T03:04:05Z""#, r#""yesterday""#, r#""""#, r#""   ""#,
                        r#""a1""#, r#"" a1 ""#, r#""a\u0000b""#, r#""\u00e9t\u00e9""#, r#""a\"b""#,
                        "12", "1.5e3", "true", "null", "[1,2]", r#"{"k":1}"#,
                        r#"{"z":1,"a":[2,{"q":"\u0000"}],"n":1e400}"#, r#"{"f":1.10,"g":"\n"}"#,
                        "{}", r#""x\ty""#, r#""caf\u00e9""#, r#""é""#,
                    ]),
                ),
                0..8,
            ),
            long_id in proptest::bool::ANY,
        ) {
            let mut parts: Vec<String> =
                fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            if long_id {
                parts.push(format!("\"user_id\":\"{}\"", "u".repeat(201)));
            }
            let line = format!("{{{}}}", parts.join(","));
            if let Some(fast) = fast_event(&line) {
                proptest::prop_assert_eq!(slow_event(&line), Ok(fast), "{}", line);
            }
        }
    }
}
