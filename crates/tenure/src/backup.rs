//! `tenure backup FILE` and `tenure restore FILE`: a checked copy of the
//! database while the server runs (SQLite's `VACUUM INTO`, or `pg_dump`
//! for PostgreSQL), and putting one back. The work and the checks are in
//! tenure-store's `backup`; docs/OPERATIONS.md has the procedure.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tenure_store::backup::{BackupError, Checked};

use crate::BadInput;
use crate::data::redact_url;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write: a SQLite database, or a pg_dump
    /// custom-format archive for PostgreSQL.
    pub file: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file to restore (written by `tenure backup`). Stop
    /// `tenure serve` first: the database is replaced whole.
    pub file: PathBuf,
}

/// A refusal is the user's to fix (exit code 2); anything else is a failure.
fn bad_input(e: BackupError) -> anyhow::Error {
    match e {
        BackupError::Refused(m) => BadInput(m).into(),
        BackupError::Store(e) => e.into(),
        BackupError::Tool(m) => anyhow::anyhow!(m),
    }
}

pub async fn backup(db: &str, args: BackupArgs) -> Result<()> {
    let checked = tenure_store::backup::backup(db, &args.file, args.force)
        .await
        .map_err(bad_input)
        .with_context(|| format!("backing up {} to {}", redact_url(db), args.file.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "backed up {} to {} ({}, schema version {}, checked)",
        redact_url(db),
        checked.path.display(),
        size(checked.bytes),
        checked.schema_version
    )?;
    write_tables(&mut out, &checked)?;
    Ok(())
}

pub async fn restore(db: &str, args: RestoreArgs) -> Result<()> {
    let restored = tenure_store::backup::restore(db, &args.file)
        .await
        .map_err(bad_input)
        .with_context(|| format!("restoring {}", args.file.display()))?;
    let checked = &restored.checked;
    let migrated = if checked.schema_version != restored.from_version {
        format!(", migrated to {}", checked.schema_version)
    } else {
        String::new()
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "restored {} into {} (schema version {}{migrated})",
        args.file.display(),
        restored.database,
        restored.from_version
    )?;
    write_tables(&mut out, checked)?;
    Ok(())
}

/// The tables with rows, and how many are empty.
fn write_tables(out: &mut impl Write, checked: &Checked) -> std::io::Result<()> {
    let full: Vec<_> = checked.tables.iter().filter(|t| t.rows > 0).collect();
    let width = full.iter().map(|t| t.table.len()).max().unwrap_or(0);
    for t in &full {
        writeln!(out, "  {:<width$}  {:>10}", t.table, t.rows)?;
    }
    let empty = checked.tables.len() - full.len();
    if empty > 0 {
        writeln!(out, "  ({empty} empty tables)")?;
    }
    Ok(())
}

fn size(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MB {
        format!("{:.1} MB", bytes as f64 / MB)
    } else {
        format!("{:.1} kB", bytes as f64 / 1024.0)
    }
}
