//! CRM exports imported as the CRM writes them (docs/CRM.md), all or
//! nothing like every import.
//!
//! The file is opened and read by `import`'s machinery (gzip, the tally
//! for the checksum, CSV problems with their line); the header and each
//! row are mapped by `tenure_core::crm`. Rows are applied to the stored
//! records in one transaction: only created or changed records are
//! written, renewal deals set the renewal date of the account's running
//! subscriptions, and the ids seen are kept in `crm_records` so that a full
//! export can report the records it no longer holds. A dry run does the
//! same work and rolls it back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tenure_core::crm::{
    AccountRef, Change, Crm, CrmRecord, CrmSettings, Field, Mapping, Object, apply_account,
    apply_contact, pick_renewals, renews,
};
use tenure_core::model::{Account, Contact, Subscription};

use crate::bulk::{numbered_placeholders, push_value_tuples, write_rows};
use crate::import::{
    MAX_PROBLEMS, Problem, crlf_to_lf, csv_problem, file_problem, log_import, open_input, tallied,
};
use crate::rows::{Record, from_row, select_list, table_spec, to_values};
use crate::{Kind, Result, Store, StoreError};

/// How many vanished ids a summary names.
pub const VANISHED_SHOWN: usize = 10;

/// Options of `tenure import --from CRM`.
#[derive(Debug, Clone)]
pub struct CrmImportOptions {
    pub crm: Crm,
    pub object: Object,
    /// The CRM's `[crm.*]` settings from `tenure.toml`.
    pub settings: CrmSettings,
    /// Do everything, report it, write nothing.
    pub dry_run: bool,
    /// The file is a full export: report records seen before that it lacks.
    pub full: bool,
    /// How many of the first rows the summary shows mapped.
    pub preview: usize,
}

/// What happens to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// The Tenure fields that change.
    Updated(Vec<String>),
    Unchanged,
    /// An open renewal that sets the renewal date of `subscriptions`
    /// running subscriptions of `account`.
    Renewal {
        account: String,
        date: jiff::civil::Date,
        subscriptions: usize,
    },
    /// Read but not used, and why.
    Skipped(String),
    /// A problem with the row (the import stops on any).
    Refused(String),
}

/// One of the first rows, as mapped.
#[derive(Debug, Clone)]
pub struct PreviewRow {
    pub line: u64,
    /// CRM column, Tenure target, value.
    pub cells: Vec<(String, String, String)>,
    pub outcome: Outcome,
}

/// What a CRM import did, or would do in a dry run.
#[derive(Debug, Clone)]
pub struct CrmSummary {
    pub file: String,
    pub crm: Crm,
    pub object: Object,
    pub dry_run: bool,
    pub rows: u64,
    /// Records created; renewals create none.
    pub created: u64,
    /// Records changed; for deals, subscriptions whose renewal date changes.
    pub updated: u64,
    /// Records the file holds as stored; for deals, subscriptions that
    /// already have the renewal date.
    pub unchanged: u64,
    /// Rows with a problem (a real import writes nothing when there is one).
    pub refused: u64,
    /// Deals that set nothing: not renewals, closed, or a nearer renewal of
    /// the same account won.
    pub skipped: u64,
    /// CRM column → Tenure target, in the file's order.
    pub mapped: Vec<(String, String)>,
    pub ignored: Vec<String>,
    pub preview: Vec<PreviewRow>,
    /// The first problems of refused rows.
    pub problems: Vec<Problem>,
    /// With `full`: records an earlier import of this CRM saw that the file
    /// lacks (none are deleted), and the first few ids.
    pub vanished: u64,
    pub vanished_ids: Vec<String>,
    /// Deals: accounts given a renewal date, and those of them without a
    /// running subscription to carry it.
    pub renewal_accounts: u64,
    pub without_subscription: Vec<String>,
    pub elapsed: Duration,
}

/// A mapped row waiting for the database.
struct Pending {
    line: u64,
    record: CrmRecord,
}

impl Store {
    /// Imports a CRM export file.
    pub async fn import_crm(&self, path: &Path, options: &CrmImportOptions) -> Result<CrmSummary> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let file = std::fs::File::open(path)
            .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
        self.import_crm_reader(&name, file, options).await
    }

    /// Imports a CRM export from any reader; `name` is used in messages.
    pub async fn import_crm_reader(
        &self,
        name: &str,
        reader: impl Read + Send,
        options: &CrmImportOptions,
    ) -> Result<CrmSummary> {
        let started = Instant::now();
        let tally = Arc::new(Mutex::new((0u64, Sha256::new())));
        let input = crlf_to_lf(open_input(name, reader, &tally)?)?;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(input);
        let problem = |line: u64, column: Option<&str>, message: String| Problem {
            file: name.to_string(),
            line,
            column: column.map(str::to_string),
            message,
        };
        let headers: Vec<String> = match csv.headers() {
            Ok(h) => h.iter().map(str::to_string).collect(),
            Err(e) => return Err(StoreError::Invalid(vec![csv_problem(name, &e)])),
        };
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mapping = Mapping::detect(options.crm, options.object, &options.settings, &header_refs)
            .map_err(|ps| {
                StoreError::Invalid(
                    ps.into_iter()
                        .map(|p| problem(1, p.column.as_deref(), p.message))
                        .collect(),
                )
            })?;

        let mut summary = CrmSummary {
            file: name.to_string(),
            crm: options.crm,
            object: options.object,
            dry_run: options.dry_run,
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            refused: 0,
            skipped: 0,
            mapped: mapping
                .mapped()
                .into_iter()
                .map(|(c, t)| (c.to_string(), t.name()))
                .collect(),
            ignored: mapping.ignored().into_iter().map(str::to_string).collect(),
            preview: Vec::new(),
            problems: Vec::new(),
            vanished: 0,
            vanished_ids: Vec::new(),
            renewal_accounts: 0,
            without_subscription: Vec::new(),
            elapsed: Duration::ZERO,
        };
        let mut refused_lines: BTreeMap<u64, String> = BTreeMap::new();
        let mut refuse = |summary: &mut CrmSummary, p: Problem| {
            refused_lines.entry(p.line).or_insert_with(|| p.to_string());
            if summary.problems.len() < MAX_PROBLEMS {
                summary.problems.push(p);
            }
        };

        // Read and map every row; the ids seen, for duplicates.
        let mut pending: Vec<Pending> = Vec::new();
        let mut seen: HashMap<String, u64> = HashMap::new();
        let id_column = mapping.column_for(Field::Id).unwrap_or("id").to_string();
        let mut record = csv::StringRecord::new();
        // The line of the blank row that starts a Salesforce report's
        // footer, once seen.
        let mut footer: Option<u64> = None;
        loop {
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Err(e) => {
                    let p = csv_problem(name, &e);
                    let fatal = p.message.starts_with("cannot read the file");
                    summary.rows += 1;
                    refuse(&mut summary, p);
                    if fatal {
                        break;
                    }
                    continue;
                }
                Ok(true) => {}
            }
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != headers.len() {
                // A report exported from Salesforce Classic ends with a
                // blank row, then one-cell rows (totals, copyright, who
                // generated it): read as the end of the data.
                let one_cell = record.len() == 1 && headers.len() > 1;
                if one_cell && (footer.is_some() || record[0].trim().is_empty()) {
                    footer.get_or_insert(line);
                    continue;
                }
                summary.rows += 1;
                refuse(
                    &mut summary,
                    problem(
                        line,
                        None,
                        format!(
                            "expected {} columns as in the header, found {}",
                            headers.len(),
                            record.len()
                        ),
                    ),
                );
                continue;
            }
            if let Some(start) = footer {
                summary.rows += 1;
                refuse(
                    &mut summary,
                    problem(
                        line,
                        None,
                        format!(
                            "a data row after the blank row of line {start}, which ends the data"
                        ),
                    ),
                );
                continue;
            }
            summary.rows += 1;
            let cells: Vec<&str> = record.iter().collect();
            if summary.preview.len() < options.preview {
                summary.preview.push(PreviewRow {
                    line,
                    cells: mapping
                        .columns
                        .iter()
                        .enumerate()
                        .filter_map(|(i, t)| {
                            let t = t.as_ref()?;
                            Some((
                                mapping.headers[i].clone(),
                                t.name(),
                                cells.get(i).map_or("", |c| c.trim()).to_string(),
                            ))
                        })
                        .collect(),
                    outcome: Outcome::Unchanged,
                });
            }
            match mapping.map_row(&cells) {
                Err(ps) => {
                    for p in ps {
                        refuse(&mut summary, problem(line, p.column.as_deref(), p.message));
                    }
                }
                Ok(rec) => {
                    let id = rec.id().to_string();
                    if let Some(first) = seen.get(&id) {
                        refuse(
                            &mut summary,
                            problem(
                                line,
                                Some(&id_column),
                                format!("duplicate id {id:?}: the same record as line {first}"),
                            ),
                        );
                    } else {
                        seen.insert(id, line);
                        pending.push(Pending { line, record: rec });
                    }
                }
            }
        }
        drop(csv);
        if summary.rows == 0 {
            return Err(file_problem(name, "the file has no data rows"));
        }

        // Accounts and contacts in the file's order, a statement at a time.
        let mut tx = self.begin_bulk_write().await?;
        let mut outcomes: HashMap<u64, Outcome> = HashMap::new();
        match options.object {
            Object::Accounts => {
                import_accounts(&mut tx, &pending, &mut summary, &mut outcomes).await?
            }
            Object::Contacts => {
                let refusals =
                    import_contacts(&mut tx, &mapping, &pending, &mut summary, &mut outcomes)
                        .await?;
                for (line, column, message) in refusals {
                    refuse(&mut summary, problem(line, Some(&column), message));
                }
            }
            Object::Deals => {
                let refusals =
                    import_deals(&mut tx, &mapping, &pending, &mut summary, &mut outcomes).await?;
                for (line, column, message) in refusals {
                    refuse(&mut summary, problem(line, Some(&column), message));
                }
            }
        }
        if options.object != Object::Deals {
            let ids: Vec<&str> = pending.iter().map(|p| p.record.id()).collect();
            if options.full {
                let (n, first) = vanished(&mut tx, options.crm, options.object, &ids).await?;
                summary.vanished = n;
                summary.vanished_ids = first;
            }
            record_links(&mut tx, options.crm, options.object, &ids).await?;
        }
        summary.refused = refused_lines.len() as u64;
        for row in &mut summary.preview {
            row.outcome = match refused_lines.get(&row.line) {
                Some(p) => Outcome::Refused(p.clone()),
                None => outcomes.remove(&row.line).unwrap_or(Outcome::Unchanged),
            };
        }
        summary.problems.sort_by_key(|p| p.line);

        if options.dry_run {
            tx.rollback().await?;
            summary.elapsed = started.elapsed();
            return Ok(summary);
        }
        if !summary.problems.is_empty() {
            tx.rollback().await?;
            return Err(StoreError::Invalid(summary.problems));
        }
        let (_, checksum) = tallied(&tally, name)?;
        summary.elapsed = started.elapsed();
        let kind = format!(
            "{} {}",
            options.crm.as_str(),
            options.object.label(options.crm)
        );
        let counts = (summary.rows, summary.created, summary.updated);
        log_import(&mut tx, name, &kind, counts, &checksum, summary.elapsed).await?;
        tx.commit().await?;
        Ok(summary)
    }
}

/// Stored records of `kind` with these ids.
async fn load_by_ids(
    conn: &mut AnyConnection,
    kind: Kind,
    column: &str,
    ids: &[&str],
) -> Result<Vec<Record>> {
    let numbered = numbered_placeholders(conn);
    let mut out = Vec::new();
    for chunk in ids.chunks(1000) {
        // `kind` and `column` come from the static table specs.
        let mut sql = format!(
            "SELECT {} FROM {} WHERE {column} IN ",
            select_list(kind),
            kind.table()
        );
        push_value_tuples(&mut sql, 1, chunk.len(), numbered);
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(from_row(kind, &row)?);
        }
    }
    Ok(out)
}

/// Writes records of `kind`, replacing every column of those that exist.
async fn write(conn: &mut AnyConnection, kind: Kind, records: &[Record]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = records.iter().map(to_values).collect();
    write_rows(conn, kind, &rows, table_spec(kind).columns).await?;
    Ok(())
}

/// Counts a change and keeps the row's outcome.
fn count(summary: &mut CrmSummary, outcomes: &mut HashMap<u64, Outcome>, line: u64, c: Change) {
    let outcome = match c {
        Change::Created => {
            summary.created += 1;
            Outcome::Created
        }
        Change::Updated(f) => {
            summary.updated += 1;
            Outcome::Updated(f)
        }
        Change::Unchanged => {
            summary.unchanged += 1;
            Outcome::Unchanged
        }
    };
    outcomes.insert(line, outcome);
}

async fn import_accounts(
    conn: &mut AnyConnection,
    pending: &[Pending],
    summary: &mut CrmSummary,
    outcomes: &mut HashMap<u64, Outcome>,
) -> Result<()> {
    let ids: Vec<&str> = pending.iter().map(|p| p.record.id()).collect();
    let stored: HashMap<String, Account> = load_by_ids(conn, Kind::Accounts, "id", &ids)
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Record::Account(a) => Some((a.id.clone(), a)),
            _ => None,
        })
        .collect();
    let mut writes = Vec::new();
    for p in pending {
        let CrmRecord::Account(row) = &p.record else {
            continue;
        };
        let (account, change) = apply_account(stored.get(&row.account.id), row);
        if change != Change::Unchanged {
            writes.push(Record::Account(account));
        }
        count(summary, outcomes, p.line, change);
    }
    write(conn, Kind::Accounts, &writes).await
}

/// Resolves the accounts rows name: ids must exist; names must match one
/// stored account. Returns each row's account id, or the problem.
async fn resolve_accounts<'a>(
    conn: &mut AnyConnection,
    refs: impl Iterator<Item = &'a AccountRef>,
) -> Result<HashMap<AccountRef, std::result::Result<String, String>>> {
    let refs: BTreeSet<&AccountRef> = refs.collect();
    let mut out = HashMap::new();
    let ids: Vec<&str> = refs
        .iter()
        .filter_map(|r| match r {
            AccountRef::Id(id) => Some(id.as_str()),
            AccountRef::Name(_) => None,
        })
        .collect();
    let known: HashSet<String> = crate::bulk::existing_ids(conn, Kind::Accounts, &ids).await?;
    let by_name: HashMap<String, Vec<String>> =
        if refs.iter().any(|r| matches!(r, AccountRef::Name(_))) {
            let rows = sqlx::query("SELECT id, name FROM accounts")
                .fetch_all(&mut *conn)
                .await?;
            let mut m: HashMap<String, Vec<String>> = HashMap::new();
            for r in rows {
                let id: String = r.try_get(0)?;
                let name: String = r.try_get(1)?;
                m.entry(name.trim().to_lowercase()).or_default().push(id);
            }
            m
        } else {
            HashMap::new()
        };
    for r in refs {
        let resolved = match r {
            AccountRef::Id(id) if known.contains(id) => Ok(id.clone()),
            AccountRef::Id(id) => Err(format!(
                "account {id:?} does not exist (import the accounts export first)"
            )),
            AccountRef::Name(n) => match by_name.get(&n.trim().to_lowercase()).map(Vec::as_slice) {
                Some([one]) => Ok(one.clone()),
                Some(many) => Err(format!(
                    "{} accounts are named {n:?}: export the account id column to tell them apart",
                    many.len()
                )),
                None => Err(format!(
                    "no account is named {n:?} (import the accounts export first)"
                )),
            },
        };
        out.insert(r.clone(), resolved);
    }
    Ok(out)
}

/// The column naming a row's account, for problems.
fn account_column(mapping: &Mapping, r: &AccountRef) -> String {
    let f = match r {
        AccountRef::Id(_) => Field::AccountId,
        AccountRef::Name(_) => Field::AccountName,
    };
    mapping.column_for(f).unwrap_or("account_id").to_string()
}

/// A row refused once the database is read: line, column, message.
type Refusal = (u64, String, String);

async fn import_contacts(
    conn: &mut AnyConnection,
    mapping: &Mapping,
    pending: &[Pending],
    summary: &mut CrmSummary,
    outcomes: &mut HashMap<u64, Outcome>,
) -> Result<Vec<Refusal>> {
    let rows: Vec<_> = pending
        .iter()
        .filter_map(|p| match &p.record {
            CrmRecord::Contact(c) => Some((p.line, c)),
            _ => None,
        })
        .collect();
    let accounts = resolve_accounts(conn, rows.iter().map(|(_, c)| &c.account)).await?;
    let ids: Vec<&str> = rows.iter().map(|(_, c)| c.contact.id.as_str()).collect();
    let stored: HashMap<String, Contact> = load_by_ids(conn, Kind::Contacts, "id", &ids)
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Record::Contact(c) => Some((c.id.clone(), c)),
            _ => None,
        })
        .collect();
    let mut refusals = Vec::new();
    let mut writes = Vec::new();
    for (line, row) in rows {
        let account_id = match &accounts[&row.account] {
            Ok(id) => id,
            Err(m) => {
                refusals.push((line, account_column(mapping, &row.account), m.clone()));
                continue;
            }
        };
        let (contact, change) = apply_contact(stored.get(&row.contact.id), row, account_id);
        if change != Change::Unchanged {
            writes.push(Record::Contact(contact));
        }
        count(summary, outcomes, line, change);
    }
    write(conn, Kind::Contacts, &writes).await?;
    Ok(refusals)
}

async fn import_deals(
    conn: &mut AnyConnection,
    mapping: &Mapping,
    pending: &[Pending],
    summary: &mut CrmSummary,
    outcomes: &mut HashMap<u64, Outcome>,
) -> Result<Vec<Refusal>> {
    let deals: Vec<_> = pending
        .iter()
        .filter_map(|p| match &p.record {
            CrmRecord::Deal(d) => Some((p.line, d)),
            _ => None,
        })
        .collect();
    let mut refusals = Vec::new();
    let mut renewals = Vec::new();
    let open: Vec<_> = deals.iter().filter(|(_, d)| d.open_renewal).collect();
    let accounts = resolve_accounts(conn, open.iter().map(|(_, d)| &d.account)).await?;
    for (line, d) in &deals {
        if !d.open_renewal {
            summary.skipped += 1;
            let why = if d.closed {
                "closed".to_string()
            } else {
                format!(
                    "not a renewal (type {:?})",
                    d.deal_type.as_deref().unwrap_or("")
                )
            };
            outcomes.insert(*line, Outcome::Skipped(why));
            continue;
        }
        match &accounts[&d.account] {
            Ok(id) => renewals.push((*line, id.clone(), *d)),
            Err(m) => refusals.push((*line, account_column(mapping, &d.account), m.clone())),
        }
    }
    let picked = pick_renewals(renewals.iter().map(|(_, a, d)| (a.as_str(), *d)));
    summary.renewal_accounts = picked.len() as u64;
    let account_ids: Vec<&str> = picked.keys().map(String::as_str).collect();
    let mut subs: BTreeMap<String, Vec<Subscription>> = BTreeMap::new();
    for r in load_by_ids(conn, Kind::Subscriptions, "account_id", &account_ids).await? {
        if let Record::Subscription(s) = r {
            subs.entry(s.account_id.clone()).or_default().push(s);
        }
    }
    let mut writes = Vec::new();
    let mut carried: HashMap<&str, usize> = HashMap::new();
    for (account, renewal) in &picked {
        let mut n = 0;
        for s in subs.get(account).into_iter().flatten() {
            if !renews(s, renewal.date) {
                continue;
            }
            n += 1;
            if s.renewal_date == Some(renewal.date) {
                summary.unchanged += 1;
            } else {
                summary.updated += 1;
                let mut s = s.clone();
                s.renewal_date = Some(renewal.date);
                writes.push(Record::Subscription(s));
            }
        }
        if n == 0 {
            summary.without_subscription.push(account.clone());
        }
        carried.insert(account.as_str(), n);
    }
    for (line, account, d) in &renewals {
        let r = &picked[account];
        let outcome = if r.deal_id == d.id {
            Outcome::Renewal {
                account: account.clone(),
                date: r.date,
                subscriptions: carried.get(account.as_str()).copied().unwrap_or(0),
            }
        } else {
            summary.skipped += 1;
            Outcome::Skipped(format!(
                "a nearer renewal of the same account wins ({} on {})",
                r.deal_id, r.date
            ))
        };
        outcomes.insert(*line, outcome);
    }
    write(conn, Kind::Subscriptions, &writes).await?;
    Ok(refusals)
}

/// Records of `object` an earlier import of `crm` saw that `ids` lacks:
/// how many, and the first few in id order.
async fn vanished(
    conn: &mut AnyConnection,
    crm: Crm,
    object: Object,
    ids: &[&str],
) -> Result<(u64, Vec<String>)> {
    let present: HashSet<&str> = ids.iter().copied().collect();
    let rows = sqlx::query("SELECT id FROM crm_records WHERE crm = $1 AND object = $2 ORDER BY id")
        .bind(crm.as_str())
        .bind(object.as_str())
        .fetch_all(&mut *conn)
        .await?;
    let mut n = 0;
    let mut first = Vec::new();
    for r in rows {
        let id: String = r.try_get(0)?;
        if !present.contains(id.as_str()) {
            n += 1;
            if first.len() < VANISHED_SHOWN {
                first.push(id);
            }
        }
    }
    Ok((n, first))
}

/// Marks `ids` as seen now by `crm`.
async fn record_links(
    conn: &mut AnyConnection,
    crm: Crm,
    object: Object,
    ids: &[&str],
) -> Result<()> {
    let now = jiff::Timestamp::now().as_microsecond();
    let numbered = numbered_placeholders(conn);
    for chunk in ids.chunks(1000) {
        let mut sql =
            "INSERT INTO crm_records (crm, object, id, first_seen, last_seen) VALUES ".to_string();
        push_value_tuples(&mut sql, chunk.len(), 5, numbered);
        sql.push_str(" ON CONFLICT (crm, object, id) DO UPDATE SET last_seen = excluded.last_seen");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q
                .bind(crm.as_str())
                .bind(object.as_str())
                .bind(*id)
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
