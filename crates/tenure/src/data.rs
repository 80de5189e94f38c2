//! Commands that move data in and out: `db`, `import`, `export`, `init`,
//! `config check`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tenure_core::crm::{Crm, Object};
use tenure_store::crm::{CrmImportOptions, CrmSummary, Outcome};
use tenure_store::export::ExportFormat;
use tenure_store::import::{Format as FileFormat, ImportOptions};
use tenure_store::{Kind, Store};

use crate::BadInput;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Report every error in the configuration file, with its line.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations.
    Migrate,
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the file holds.
    pub kind: String,
    /// The file: CSV with a header row, or NDJSON (one JSON object per line).
    pub file: PathBuf,
    /// Create a bare account for rows whose account does not exist yet.
    #[arg(long)]
    pub create_missing_accounts: bool,
    /// File format; guessed from the file name when left out.
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Import an events file again even if the same file was imported before.
    #[arg(long)]
    pub allow_reimport: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Read a CRM's export as it is (docs/CRM.md); KIND is then accounts
    /// (companies), contacts, or opportunities (deals).
    #[arg(long, value_enum)]
    pub from: Option<CrmSource>,
    /// With --from: show the mapping on the first rows and what would be
    /// created, updated, unchanged or refused; write nothing.
    #[arg(long, requires = "from")]
    pub dry_run: bool,
    /// With --from: the file is a full export; report the records earlier
    /// imports saw that it no longer holds (nothing is deleted).
    #[arg(long, requires = "from")]
    pub full: bool,
}

/// The CRMs whose exports `--from` reads.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CrmSource {
    Salesforce,
    Hubspot,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InputFormat {
    Csv,
    Ndjson,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export: a record kind, or `health` (every account's health
    /// for a CRM import, CSV only; docs/CRM.md).
    pub kind: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: OutputFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With `health`: name the CRM's id column as that CRM does
    /// (Salesforce `Id`, HubSpot `Record ID`).
    #[arg(long, value_enum)]
    pub crm: Option<CrmSource>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Csv,
    Json,
    Ndjson,
}

pub fn parse_kind(s: &str) -> Result<Kind> {
    s.parse::<Kind>()
        .map_err(|e| crate::BadInput(e.to_string()).into())
}

pub async fn open_store(db: &str) -> Result<Store> {
    Store::open(db)
        .await
        .with_context(|| format!("opening the database {}", redact_url(db)))
}

/// Hides a password in a database URL, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub async fn db(url: &str, command: DbCommand) -> Result<()> {
    match command {
        DbCommand::Migrate => {
            let store = open_store(url).await?;
            let applied = store.migration_status().await?;
            println!(
                "database {} is up to date ({} migrations applied)",
                redact_url(url),
                applied.iter().filter(|m| m.applied).count()
            );
        }
        DbCommand::Status => {
            let store = Store::connect(url)
                .await
                .with_context(|| format!("connecting to {}", redact_url(url)))?;
            let states = store.migration_status().await?;
            println!("database: {} ({:?})", redact_url(url), store.backend());
            for m in &states {
                println!(
                    "  {:>4}  {:<8} {}",
                    m.version,
                    if m.applied { "applied" } else { "pending" },
                    m.description
                );
            }
            let pending = states.iter().filter(|m| !m.applied).count();
            if pending > 0 {
                println!("{pending} pending: run `tenure db migrate`");
            }
        }
    }
    Ok(())
}

/// A progress bar on a terminal, nothing otherwise.
pub fn progress_bar(total: u64, quiet: bool, unit_bytes: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(total);
    let template = if unit_bytes {
        "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({eta})"
    } else {
        "{spinner} {msg} [{bar:30}] {pos}/{len} ({eta})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    Some(pb)
}

pub async fn import(db: &str, config_path: &Path, args: ImportArgs) -> Result<()> {
    if let Some(from) = args.from {
        return import_crm(db, config_path, from, args).await;
    }
    let kind = parse_kind(&args.kind)?;
    let meta = std::fs::metadata(&args.file)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", args.file.display())))?;
    if meta.is_dir() {
        return Err(BadInput(format!("{} is a folder, not a file", args.file.display())).into());
    }
    let config = tenure_app::command::load_config(config_path)?;
    let store = open_store(db).await?;
    let options = ImportOptions {
        create_missing_accounts: args.create_missing_accounts,
        default_currency: config.currency.reporting,
        format: args.format.map(|f| match f {
            InputFormat::Csv => FileFormat::Csv,
            InputFormat::Ndjson => FileFormat::Ndjson,
        }),
        allow_reimport: args.allow_reimport,
    };
    let pb = progress_bar(meta.len(), args.quiet, true);
    if let Some(pb) = &pb {
        pb.set_message(format!("importing {}", args.file.display()));
    }
    let mut on_progress = |bytes: u64| {
        if let Some(pb) = &pb {
            pb.set_position(bytes);
        }
    };
    let result = store
        .import_file(kind, &args.file, &options, &mut on_progress)
        .await;
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let summary = result.with_context(|| format!("importing {} as {kind}", args.file.display()))?;
    if !args.quiet {
        let mut line = format!(
            "{}: {} rows imported as {} ({} inserted, {} updated",
            summary.file,
            thousands(summary.rows),
            kind,
            thousands(summary.inserted),
            thousands(summary.updated)
        );
        if summary.duplicates_skipped > 0 {
            line.push_str(&format!(
                ", {} duplicates skipped",
                thousands(summary.duplicates_skipped)
            ));
        }
        if summary.accounts_created > 0 {
            line.push_str(&format!(
                ", {} accounts created",
                thousands(summary.accounts_created)
            ));
        }
        line.push_str(&format!(") in {:.2} s", summary.elapsed.as_secs_f64()));
        println!("{line}");
    }
    Ok(())
}

/// `tenure import --from CRM OBJECT FILE`: a CRM export read as it is.
async fn import_crm(db: &str, config_path: &Path, from: CrmSource, args: ImportArgs) -> Result<()> {
    let crm = match from {
        CrmSource::Salesforce => Crm::Salesforce,
        CrmSource::Hubspot => Crm::Hubspot,
    };
    let object = Object::parse(&args.kind).map_err(|e| BadInput(e.0))?;
    if args.format.is_some() || args.create_missing_accounts || args.allow_reimport {
        return Err(BadInput(
            "--format, --create-missing-accounts and --allow-reimport do not apply to CRM exports (--from)"
                .to_string(),
        )
        .into());
    }
    let meta = std::fs::metadata(&args.file)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", args.file.display())))?;
    if meta.is_dir() {
        return Err(BadInput(format!("{} is a folder, not a file", args.file.display())).into());
    }
    let config = tenure_app::command::load_config(config_path)?;
    let store = open_store(db).await?;
    let options = CrmImportOptions {
        crm,
        object,
        settings: config.crm.settings(crm).clone(),
        dry_run: args.dry_run,
        full: args.full,
        preview: if args.dry_run { 5 } else { 0 },
    };
    let summary = store
        .import_crm(&args.file, &options)
        .await
        .with_context(|| {
            format!(
                "importing {} as {} {}",
                args.file.display(),
                crm.as_str(),
                object.label(crm)
            )
        })?;
    if !args.quiet || args.dry_run {
        print!("{}", crm_report(&summary));
    }
    Ok(())
}

/// The summary of a CRM import for people: with a dry run, the mapping,
/// the first rows and the problems too.
fn crm_report(s: &CrmSummary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let what = format!("{} {}", s.crm.as_str(), s.object.label(s.crm));
    if s.dry_run {
        let _ = writeln!(out, "{}: {what}, dry run: nothing was written", s.file);
        let _ = writeln!(out, "columns read:");
        let width = s
            .mapped
            .iter()
            .map(|(c, _)| c.chars().count())
            .max()
            .unwrap_or(0);
        for (column, target) in &s.mapped {
            let pad = width - column.chars().count();
            let _ = writeln!(out, "  {column}{} -> {target}", " ".repeat(pad));
        }
        if !s.ignored.is_empty() {
            let _ = writeln!(out, "columns ignored: {}", s.ignored.join(", "));
        }
        if !s.preview.is_empty() {
            let _ = writeln!(out, "first rows:");
        }
        for row in &s.preview {
            let cells: Vec<String> = row
                .cells
                .iter()
                .filter(|(_, _, v)| !v.is_empty())
                .map(|(_, t, v)| format!("{t}={v:?}"))
                .collect();
            let outcome = match &row.outcome {
                Outcome::Created => "would be created".to_string(),
                Outcome::Updated(f) => format!("would be updated ({})", f.join(", ")),
                Outcome::Unchanged => "unchanged".to_string(),
                Outcome::Renewal {
                    account,
                    date,
                    subscriptions,
                } => format!(
                    "renewal of {account} on {date}: {subscriptions} running subscription(s)"
                ),
                Outcome::Skipped(why) => format!("skipped: {why}"),
                Outcome::Refused(p) => format!("refused: {p}"),
            };
            let _ = writeln!(out, "  line {}: {} -> {outcome}", row.line, cells.join(" "));
        }
        if !s.problems.is_empty() {
            let _ = writeln!(out, "problems:");
            for p in &s.problems {
                let _ = writeln!(out, "  {p}");
            }
        }
    }
    let verb = |done: &str, would: &str| {
        if s.dry_run {
            would.to_string()
        } else {
            done.to_string()
        }
    };
    let mut line = format!("{}: {} rows of {what}", s.file, thousands(s.rows));
    if s.object == tenure_core::crm::Object::Deals {
        let _ = write!(
            line,
            ": renewal dates for {} accounts; {} subscriptions {}, {} unchanged; {} deals skipped",
            thousands(s.renewal_accounts),
            thousands(s.updated),
            verb("updated", "would be updated"),
            thousands(s.unchanged),
            thousands(s.skipped)
        );
    } else {
        let _ = write!(
            line,
            ": {} {}, {} {}, {} unchanged",
            thousands(s.created),
            verb("created", "would be created"),
            thousands(s.updated),
            verb("updated", "would be updated"),
            thousands(s.unchanged)
        );
    }
    let _ = write!(line, ", {} refused", thousands(s.refused));
    if !s.dry_run {
        let _ = write!(line, " in {:.2} s", s.elapsed.as_secs_f64());
    }
    let _ = writeln!(out, "{line}");
    if s.dry_run && s.refused > 0 {
        let _ = writeln!(
            out,
            "an import would write nothing until the refused rows are fixed"
        );
    }
    if !s.without_subscription.is_empty() {
        let shown: Vec<&str> = s
            .without_subscription
            .iter()
            .take(10)
            .map(String::as_str)
            .collect();
        let _ = writeln!(
            out,
            "{} accounts with a renewal have no running subscription to carry it: {}{}",
            s.without_subscription.len(),
            shown.join(", "),
            if s.without_subscription.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        );
    }
    if s.vanished > 0 {
        let _ = writeln!(
            out,
            "{} {} seen in earlier imports are not in this full export (nothing was deleted): {}{}",
            thousands(s.vanished),
            s.object.label(s.crm),
            s.vanished_ids.join(", "),
            if s.vanished > s.vanished_ids.len() as u64 {
                ", ..."
            } else {
                ""
            }
        );
    }
    out
}

pub async fn export(db: &str, config_path: &Path, args: ExportArgs) -> Result<()> {
    if args.kind == "health" {
        return export_health(db, config_path, args).await;
    }
    if args.crm.is_some() {
        return Err(BadInput("--crm applies to `tenure export health` only".into()).into());
    }
    let kind = parse_kind(&args.kind)?;
    let store = open_store(db).await?;
    let format = match args.format {
        OutputFormat::Csv => ExportFormat::Csv,
        OutputFormat::Json => ExportFormat::Json,
        OutputFormat::Ndjson => ExportFormat::Ndjson,
    };
    match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| BadInput(format!("cannot create {}: {e}", path.display())))?;
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
            let n = store.export(kind, format, &mut out).await?;
            out.flush()?;
            eprintln!("{}: {} {kind} written", path.display(), thousands(n));
        }
        None => {
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout());
            store.export(kind, format, &mut out).await?;
            out.flush()?;
        }
    }
    Ok(())
}

/// `tenure export health`: every account's health as CSV for a CRM import.
async fn export_health(db: &str, config_path: &Path, args: ExportArgs) -> Result<()> {
    if args.format != OutputFormat::Csv {
        return Err(
            BadInput("`tenure export health` writes CSV only: use --format csv".into()).into(),
        );
    }
    let config = tenure_app::command::load_config(config_path)?;
    let store = open_store(db).await?;
    let crm = args.crm.map(|c| match c {
        CrmSource::Salesforce => Crm::Salesforce,
        CrmSource::Hubspot => Crm::Hubspot,
    });
    let rows =
        tenure_app::health::export::rows(&store, &config, crm, tenure_app::clock::today()).await?;
    match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| BadInput(format!("cannot create {}: {e}", path.display())))?;
            tenure_app::health::export::write_csv(&rows, crm, std::io::BufWriter::new(file))?;
            eprintln!(
                "{}: {} accounts written",
                path.display(),
                thousands(rows.len() as u64)
            );
        }
        None => {
            tenure_app::health::export::write_csv(&rows, crm, std::io::stdout().lock())?;
        }
    }
    Ok(())
}

pub fn init(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        return Err(BadInput(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        ))
        .into());
    }
    std::fs::write(path, tenure_core::config::DEFAULT_CONFIG)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote {}; check it with `tenure config check`",
        path.display()
    );
    Ok(())
}

pub fn config_check(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        BadInput(format!(
            "cannot read {}: {e} (run `tenure init` to write one)",
            path.display()
        ))
    })?;
    let config = tenure_app::command::parse_config_file(path, &text)?;
    println!(
        "{}: OK (reporting currency {}, scorecard version {})",
        path.display(),
        config.currency.reporting,
        config.scorecard_hash()
    );
    Ok(())
}

/// `--format` of the commands that print a table for people or JSON for
/// scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Prints pretty JSON and a newline to standard output.
pub fn print_json(v: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// Formats a count with thousands separators: 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
