//! Backups and restores (`tenure backup`, `tenure restore`), and the checks
//! that make them safe. [`backup`] and [`restore`] pick the way by the URL.
//!
//! SQLite: a backup is `VACUUM INTO` a temporary file beside the
//! destination: one read transaction, so it is a consistent snapshot while
//! `tenure serve` keeps writing (WAL mode lets readers and the writer run
//! side by side). The copy is then opened on its own and checked (`PRAGMA
//! integrity_check`, the migrations it has applied) and only then renamed
//! to its name, so a failed or interrupted backup leaves nothing that looks
//! like one.
//!
//! A restore checks the file first (a SQLite database, intact, with
//! Tenure's migration table, every applied migration one this binary knows
//! with the same checksum, none newer), copies it beside the live database,
//! brings the copy's schema up to date there, and renames it over the live
//! file. Until that rename the live database is untouched; after it, it is
//! wholly the restored one. The live database must not be in use: on the
//! way in the restore switches it out of WAL mode and takes an exclusive
//! lock, which SQLite refuses while any other connection has it open (a
//! running `tenure serve` with open connections), and the restore stops
//! there. A server whose pool happened to have closed every connection
//! cannot be seen, which is why docs/OPERATIONS.md says to stop it first.
//!
//! PostgreSQL: `pg_dump --format=custom` to a temporary file, read back in
//! full (`pg_restore --data-only` to a pipe: every table's rows counted,
//! the migration table checked as on SQLite) and renamed into place. A
//! restore checks the archive the same way, refuses while other clients
//! are connected, and pipes `pg_restore`'s SQL into `psql` inside one
//! transaction that first drops the schema's tables and functions and
//! commits only if `pg_restore` succeeded; then the migrations run. The
//! password is handed to the tools in `PGPASSWORD`, never as an argument,
//! and never appears in a message.

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use sqlx::migrate::Migrator;

use crate::{
    Backend, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Store, StoreError, normalise_url, scan,
};

/// Why a backup or restore did not happen. Nothing was changed in either
/// case: no backup file was left, and the live database is as it was.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The request cannot be carried out as asked (the file exists, is not
    /// a Tenure database, is newer than this binary, the database is in
    /// use...): the message says what to do.
    #[error("{0}")]
    Refused(String),
    /// The database or the file system failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `pg_dump`, `pg_restore` or `psql` failed; holds what it said.
    #[error("{0}")]
    Tool(String),
}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError::Store(StoreError::Scan(e))
    }
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(StoreError::Sql(e))
    }
}

fn io(context: impl Into<String>, e: std::io::Error) -> BackupError {
    BackupError::Store(StoreError::io(context, e))
}

fn refused(message: impl Into<String>) -> BackupError {
    BackupError::Refused(message.into())
}

/// The message for a PostgreSQL URL where only SQLite will do.
const POSTGRES_REFUSAL: &str = "this is for SQLite databases; for PostgreSQL, `tenure backup` and \
     `tenure restore` run pg_dump and pg_restore (docs/OPERATIONS.md, \"Backup and restore\")";

/// The rows of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRows {
    pub table: String,
    pub rows: i64,
}

/// What a checked backup holds: a SQLite file, or a `pg_dump` archive.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The file checked (after a backup, the backup file).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The highest migration applied to it.
    pub schema_version: i64,
    /// Every table with its row count, by name (`_sqlx_migrations` included).
    pub tables: Vec<TableRows>,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The database replaced (or created): its file, or its URL without
    /// the password.
    pub database: String,
    /// The schema version of the backup as it was read.
    pub from_version: i64,
    /// The restored database after its pending migrations ran.
    pub checked: Checked,
}

/// The newest migration this binary knows (SQLite's list; PostgreSQL's is
/// the same by the "one schema, two backends" rule).
pub fn latest_version() -> i64 {
    SQLITE_MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// A file beside `path` named after it, for work that is renamed into
/// place: same folder, so the rename is atomic.
fn sibling(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tenure.db".into());
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// A file of ours removed when dropped, unless kept.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    fn new(path: PathBuf) -> Scratch {
        remove_sqlite_files(&path);
        Scratch { path, keep: false }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            remove_sqlite_files(&self.path);
        }
    }
}

/// Removes a database file and any journal files beside it.
fn remove_sqlite_files(path: &Path) {
    let _ = std::fs::remove_file(path);
    for suffix in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(with_suffix(path, suffix));
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Flushes a file's contents to disk.
fn sync_file(path: &Path) -> Result<(), BackupError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(format!("syncing {}", path.display()), e))
}

/// Flushes a folder's entries (after a rename) to disk. Not every platform
/// can open a folder; there the rename is still atomic, only perhaps not
/// yet durable.
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Double-quotes an SQL identifier read from a database's own catalogue.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The file behind a SQLite URL, or a refusal for PostgreSQL and memory.
pub fn sqlite_path(url: &str) -> Result<PathBuf, BackupError> {
    let (url, backend) = normalise_url(url)?;
    if backend == Backend::Postgres {
        return Err(refused(POSTGRES_REFUSAL));
    }
    scan::sqlite_file(&url)
        .ok_or_else(|| refused("an in-memory database has nothing to back up or restore"))
}

/// Checks a SQLite file that Tenure wrote or is about to use: SQLite's own
/// integrity check, then Tenure's migration table (every applied migration
/// one this binary knows, with the same checksum, none failed), then counts
/// the rows of each table. Opens the file read-only.
pub fn check_sqlite_file(path: &Path) -> Result<Checked, BackupError> {
    check_sqlite_as(path, &path.display().to_string())
}

/// [`check_sqlite_file`] on `path`, naming it `shown` in messages (a copy
/// is checked in the name of its original).
fn check_sqlite_as(path: &Path, shown: &str) -> Result<Checked, BackupError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refused(format!("{shown} does not exist")));
        }
        Err(e) => return Err(io(format!("reading {shown}"), e)),
    };
    if !meta.is_file() {
        return Err(refused(format!("{shown} is not a file")));
    }
    let mut header = [0u8; 16];
    let read = {
        use std::io::Read;
        File::open(path)
            .and_then(|mut f| f.read(&mut header))
            .map_err(|e| io(format!("reading {shown}"), e))?
    };
    if read < 16 || &header != b"SQLite format 3\0" {
        return Err(refused(format!(
            "{shown} is not a SQLite database (a Tenure backup is one)"
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let corrupt = |e: rusqlite::Error| {
        refused(format!(
            "{shown} is damaged: SQLite cannot read it ({e}); it cannot be used as a backup"
        ))
    };
    let problems: Vec<String> = conn
        .prepare("PRAGMA integrity_check(20)")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(corrupt)?;
    if problems != ["ok"] {
        return Err(refused(format!(
            "{shown} is damaged: it fails SQLite's integrity check, so it cannot be used as a backup:\n  {}",
            problems.join("\n  ")
        )));
    }
    let has_migrations: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        [],
        |r| r.get(0),
    )?;
    if has_migrations == 0 {
        return Err(refused(format!(
            "{shown} is a SQLite database but not a Tenure one (it has no migration table)"
        )));
    }
    let applied = {
        let mut stmt = conn.prepare(
            "SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY version",
        )?;
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?
    };
    let schema_version = check_migrations(shown, applied, &SQLITE_MIGRATIONS)?;
    let tables = table_rows(&conn)?;
    Ok(Checked {
        path: path.to_path_buf(),
        bytes: meta.len(),
        schema_version,
        tables,
    })
}

/// One row of `_sqlx_migrations`: version, description, success, checksum.
type Applied = (i64, String, bool, Vec<u8>);

/// Checks the migrations a database or archive has applied against this
/// binary's: each known, with the same checksum, none failed, none newer.
/// Returns the schema version (the highest applied).
fn check_migrations(
    shown: &str,
    applied: Vec<Applied>,
    migrator: &Migrator,
) -> Result<i64, BackupError> {
    let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    let mut schema_version = 0;
    for (version, description, success, checksum) in applied {
        if !success {
            return Err(refused(format!(
                "{shown}: migration {version} ({description}) failed part-way in that database; \
                 it cannot be used as a backup"
            )));
        }
        match migrator.iter().find(|m| m.version == version) {
            None if version > latest => {
                return Err(refused(format!(
                    "{shown} has schema version {version}, newer than this tenure's {latest}: \
                     restore it with the newer tenure that wrote it"
                )));
            }
            None => {
                return Err(refused(format!(
                    "{shown} has migration {version} ({description}), which this tenure does not know"
                )));
            }
            Some(m) if *m.checksum != *checksum => {
                return Err(refused(format!(
                    "{shown}: migration {version} ({description}) differs from this tenure's; \
                     the file was not written by a released Tenure"
                )));
            }
            Some(_) => schema_version = schema_version.max(version),
        }
    }
    if schema_version == 0 {
        return Err(refused(format!(
            "{shown} has Tenure's migration table but no migration applied"
        )));
    }
    Ok(schema_version)
}

/// Every table of a database with its row count, by name.
fn table_rows(conn: &Connection) -> Result<Vec<TableRows>, BackupError> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    names
        .into_iter()
        .map(|table| {
            let sql = format!("SELECT COUNT(*) FROM {}", quote_ident(&table));
            let rows = conn.query_row(&sql, [], |r| r.get(0))?;
            Ok(TableRows { table, rows })
        })
        .collect()
}

/// Refuses a backup destination that exists (unless `force`), is a
/// folder, or is the live database file.
fn check_dest(dest: &Path, live: Option<&Path>, force: bool) -> Result<(), BackupError> {
    if !dest.exists() {
        return Ok(());
    }
    let same = match (dest.canonicalize(), live.map(Path::canonicalize)) {
        (Ok(a), Some(Ok(b))) => a == b,
        _ => false,
    };
    if same {
        return Err(refused(format!(
            "{} is the database itself: back it up to another file",
            dest.display()
        )));
    }
    if dest.is_dir() {
        return Err(refused(format!("{} is a folder", dest.display())));
    }
    if !force {
        return Err(refused(format!(
            "{} exists: pass --force to replace it, or choose another name",
            dest.display()
        )));
    }
    Ok(())
}

/// Backs up the database at `url` to `dest`: `VACUUM INTO` on SQLite
/// ([`Store::backup_sqlite`]), `pg_dump` on PostgreSQL. The copy is
/// checked before it takes its name.
pub async fn backup(url: &str, dest: &Path, force: bool) -> Result<Checked, BackupError> {
    let (normal, backend) = normalise_url(url)?;
    match backend {
        Backend::Postgres => {
            let url = url.to_string();
            let dest = dest.to_path_buf();
            blocking(move || backup_postgres(&url, &dest, force)).await
        }
        Backend::Sqlite => {
            let live = sqlite_path(url)?;
            // Connecting would create an empty database: a backup of
            // nothing is more likely a mistyped --db.
            if !live.exists() {
                return Err(refused(format!("no database at {}", live.display())));
            }
            // Without migrating: the backup is the database as it is.
            let store = Store::connect(&normal).await?;
            let out = store.backup_sqlite(dest, force).await;
            store.close().await;
            out
        }
    }
}

/// Replaces the database at `url` with the backup `file` and brings it up
/// to date: [`restore_sqlite`], or `pg_restore` on PostgreSQL.
pub async fn restore(url: &str, file: &Path) -> Result<Restored, BackupError> {
    match normalise_url(url)?.1 {
        Backend::Sqlite => restore_sqlite(url, file).await,
        Backend::Postgres => restore_postgres(url, file).await,
    }
}

/// Runs blocking work (files, subprocesses) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackupError::Tool(format!("a backup task failed: {e}")))?
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `dest`, checks
    /// it (see [`check_sqlite_file`]) and returns what it holds. Refuses an
    /// existing `dest` unless `force`, and a PostgreSQL store.
    pub async fn backup_sqlite(&self, dest: &Path, force: bool) -> Result<Checked, BackupError> {
        let Some(live) = self.sqlite_file.clone() else {
            return Err(refused(match self.backend {
                Backend::Postgres => POSTGRES_REFUSAL,
                Backend::Sqlite => "an in-memory database has nothing to back up",
            }));
        };
        check_dest(dest, Some(&live), force)?;
        let temp = Scratch::new(sibling(dest, "backup"));
        let Some(temp_str) = temp.path.to_str() else {
            return Err(refused(format!(
                "{} is not a UTF-8 path, which SQLite's VACUUM INTO needs",
                dest.display()
            )));
        };
        // One read transaction: a snapshot as of its start, while writers
        // go on (WAL mode). The copy is in rollback-journal mode, one file.
        sqlx::query("VACUUM INTO $1")
            .bind(temp_str)
            .execute(&self.pool)
            .await?;
        let temp_path = temp.path.clone();
        let mut checked = scan::run_blocking(|| check_sqlite_file(&temp_path))?;
        sync_file(&temp.path)?;
        std::fs::rename(&temp.path, dest).map_err(|e| {
            io(
                format!("renaming {} to {}", temp.path.display(), dest.display()),
                e,
            )
        })?;
        let mut temp = temp;
        temp.keep = true;
        sync_dir(dest);
        checked.path = dest.to_path_buf();
        Ok(checked)
    }

    /// Applies the migrations up to `version` and no further: the state of
    /// an older release, for tests of the migrations themselves.
    pub async fn migrate_to(&self, version: i64) -> crate::Result<()> {
        self.migrator().run_to(version, &self.pool).await?;
        Ok(())
    }
}

/// Replaces the SQLite database at `url` with the backup `file`, then
/// brings its schema up to date (see the module documentation for the
/// order of the steps and what is checked).
pub async fn restore_sqlite(url: &str, file: &Path) -> Result<Restored, BackupError> {
    let live = sqlite_path(url)?;
    if let (Ok(a), Ok(b)) = (file.canonicalize(), live.canonicalize())
        && a == b
    {
        return Err(refused(format!(
            "{} is the database itself: restore from a backup file",
            file.display()
        )));
    }
    let shown = file.display().to_string();
    match std::fs::metadata(file) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(refused(format!("{shown} is not a file"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refused(format!("{shown} does not exist")));
        }
        Err(e) => return Err(io(format!("reading {shown}"), e)),
    }
    // A live database's latest writes may sit in its -wal file, which a
    // copy of the main file would leave out.
    let wal = with_suffix(file, "-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(refused(format!(
            "{} is beside {shown}: that is a database in use or not closed cleanly, not a backup; \
             make one from it with `tenure --db sqlite://{shown} backup FILE`",
            wal.display()
        )));
    }

    if let Some(dir) = live.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(format!("creating {}", dir.display()), e))?;
    }
    // The copy is checked, never the file itself: opening a file in WAL
    // mode, even read-only, can leave -shm and -wal files beside it.
    let mut temp = Scratch::new(sibling(&live, "restore"));
    std::fs::copy(file, &temp.path).map_err(|e| {
        io(
            format!("copying {} to {}", file.display(), temp.path.display()),
            e,
        )
    })?;
    let temp_path = temp.path.clone();
    let backup = scan::run_blocking(|| check_sqlite_as(&temp_path, &shown))?;
    // The copy's schema is brought up to date before it replaces anything,
    // so a failing migration leaves the live database as it was.
    let temp_url = format!(
        "sqlite://{}",
        temp.path
            .to_str()
            .ok_or_else(|| refused(format!("{} is not a UTF-8 path", live.display())))?
    );
    let store = Store::open(&temp_url).await?;
    store.close().await;
    let temp_path = temp.path.clone();
    let checked = scan::run_blocking(|| {
        // Back to one self-contained file (the pool put it in WAL mode).
        let conn = Connection::open(&temp_path)?;
        conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
            r.get::<_, String>(0)
        })?;
        drop(conn);
        check_sqlite_file(&temp_path)
    })?;
    sync_file(&temp.path)?;

    // Hold the live database exclusively while it is replaced.
    let lock = lock_live(&live)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let stale = with_suffix(&live, suffix);
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(format!("removing {}", stale.display()), e)),
        }
    }
    std::fs::rename(&temp.path, &live).map_err(|e| {
        io(
            format!("renaming {} to {}", temp.path.display(), live.display()),
            e,
        )
    })?;
    temp.keep = true;
    sync_dir(&live);
    drop(lock);
    Ok(Restored {
        database: live.display().to_string(),
        from_version: backup.schema_version,
        checked: Checked {
            path: live,
            ..checked
        },
    })
}

/// Takes the live database for ourselves: out of WAL mode (which
/// checkpoints and removes its `-wal` file, and which SQLite allows only
/// to the sole connection) and under an exclusive lock. `None` when there
/// is no database there yet, or it is not one SQLite can read (a damaged
/// file is what a restore is for).
fn lock_live(live: &Path) -> Result<Option<Connection>, BackupError> {
    if !live.exists() {
        return Ok(None);
    }
    let in_use = || {
        refused(format!(
            "the database {} is in use (is `tenure serve` or another tenure command running?): \
             stop it, then restore",
            live.display()
        ))
    };
    let conn = Connection::open_with_flags(
        live,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_millis(200))?;
    let mode = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
        r.get::<_, String>(0)
    });
    match mode {
        Ok(m) if m.eq_ignore_ascii_case("delete") => {}
        Ok(_) => return Err(in_use()),
        Err(e) if is_busy(&e) => return Err(in_use()),
        Err(_) => return Ok(None),
    }
    match conn.execute_batch("BEGIN EXCLUSIVE") {
        Ok(()) => Ok(Some(conn)),
        Err(e) if is_busy(&e) => Err(in_use()),
        Err(_) => Ok(None),
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

// PostgreSQL: pg_dump and pg_restore.

/// A PostgreSQL URL split for the client tools: the URL without its
/// password, which goes on their command line, and the password, which
/// goes in `PGPASSWORD` (a process listing shows arguments, not the
/// environment). Neither is ever logged.
struct PgTarget {
    url: String,
    password: Option<String>,
}

fn pg_target(url: &str) -> PgTarget {
    let Some((scheme, rest)) = url.split_once("://") else {
        return PgTarget {
            url: url.to_string(),
            password: None,
        };
    };
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(host_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return PgTarget {
            url: url.to_string(),
            password: None,
        };
    };
    match userinfo.split_once(':') {
        Some((user, password)) => PgTarget {
            url: format!("{scheme}://{user}@{host}{tail}"),
            password: Some(percent_decode(password)),
        },
        None => PgTarget {
            url: url.to_string(),
            password: None,
        },
    }
}

/// A URL for messages: its password, if any, replaced by `***`.
fn redacted(url: &str) -> String {
    let target = pg_target(url);
    if target.password.is_none() {
        return target.url;
    }
    match target.url.split_once('@') {
        Some((user, rest)) => format!("{user}:***@{rest}"),
        None => target.url,
    }
}

/// Decodes `%XX` escapes (a URL's password may hold them).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A PostgreSQL client program: from the folder in `TENURE_PG_BIN`, else
/// on the `PATH`, else the newest under `/usr/lib/postgresql/*/bin`
/// (Debian's layout). pg_dump must be at least as new as the server.
fn pg_tool(name: &str) -> Result<PathBuf, BackupError> {
    if let Some(dir) = std::env::var_os("TENURE_PG_BIN") {
        return Ok(PathBuf::from(dir).join(name));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let candidate = e.path().join("bin").join(name);
            candidate.is_file().then_some((version, candidate))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).ok_or_else(|| {
        BackupError::Tool(format!(
            "{name} was not found (PATH, /usr/lib/postgresql/*/bin): install the PostgreSQL \
             client tools, or set TENURE_PG_BIN to their folder"
        ))
    })
}

fn pg_command(name: &str, target: &PgTarget) -> Result<std::process::Command, BackupError> {
    let mut cmd = std::process::Command::new(pg_tool(name)?);
    cmd.stdin(std::process::Stdio::null());
    match &target.password {
        Some(p) => cmd.env("PGPASSWORD", p),
        None => cmd.env_remove("PGPASSWORD"),
    };
    Ok(cmd)
}

/// What a failed tool said on standard error, trimmed.
fn tool_failed(name: &str, status: std::process::ExitStatus, stderr: &[u8]) -> BackupError {
    let said = String::from_utf8_lossy(stderr);
    BackupError::Tool(format!("{name} failed ({status}): {}", said.trim()))
}

/// `pg_dump --format=custom` into a temporary file beside `dest`, checked
/// like a file about to be restored, then renamed to `dest`.
fn backup_postgres(url: &str, dest: &Path, force: bool) -> Result<Checked, BackupError> {
    check_dest(dest, None, force)?;
    let target = pg_target(url);
    let temp = Scratch::new(sibling(dest, "backup"));
    let out = pg_command("pg_dump", &target)?
        .arg("--format=custom")
        .arg("--file")
        .arg(&temp.path)
        .arg("--dbname")
        .arg(&target.url)
        .output()
        .map_err(|e| io("running pg_dump", e))?;
    if !out.status.success() {
        return Err(tool_failed("pg_dump", out.status, &out.stderr));
    }
    let mut checked = check_pg_archive(&temp.path)?;
    sync_file(&temp.path)?;
    std::fs::rename(&temp.path, dest).map_err(|e| {
        io(
            format!("renaming {} to {}", temp.path.display(), dest.display()),
            e,
        )
    })?;
    let mut temp = temp;
    temp.keep = true;
    sync_dir(dest);
    checked.path = dest.to_path_buf();
    Ok(checked)
}

/// Checks a `pg_dump` custom-format archive by reading all of its data
/// back (`pg_restore --data-only` to a pipe): every table's rows are
/// counted and Tenure's migration table is checked as for SQLite.
pub fn check_pg_archive(path: &Path) -> Result<Checked, BackupError> {
    use std::io::{BufRead, Read};
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refused(format!("{shown} does not exist")));
        }
        Err(e) => return Err(io(format!("reading {shown}"), e)),
    };
    let mut magic = [0u8; 5];
    let read = File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(|e| io(format!("reading {shown}"), e))?;
    if read < 5 || &magic != b"PGDMP" {
        return Err(refused(format!(
            "{shown} is not a pg_dump custom-format archive (what `tenure backup` writes for PostgreSQL)"
        )));
    }
    let mut child = pg_command(
        "pg_restore",
        &PgTarget {
            url: String::new(),
            password: None,
        },
    )?
    .arg("--data-only")
    .arg("--file=-")
    .arg(path)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .map_err(|e| io("running pg_restore", e))?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let mut tables: Vec<TableRows> = Vec::new();
    let mut applied: Vec<Applied> = Vec::new();
    let mut has_migrations = false;
    // The table whose COPY block is being read, and its columns.
    let mut current: Option<(usize, Vec<String>)> = None;
    for line in std::io::BufReader::new(stdout).split(b'\n') {
        let line = line.map_err(|e| io("reading pg_restore's output", e))?;
        if let Some((i, columns)) = &current {
            if line == b"\\." {
                current = None;
                continue;
            }
            tables[*i].rows += 1;
            if tables[*i].table == "_sqlx_migrations" {
                applied.push(migration_row(&shown, columns, &line)?);
            }
            continue;
        }
        let Some(copy) = line.strip_prefix(b"COPY ") else {
            continue;
        };
        let copy = String::from_utf8_lossy(copy);
        let Some((name, rest)) = copy.split_once(' ') else {
            continue;
        };
        let table = name
            .rsplit('.')
            .next()
            .unwrap_or(name)
            .trim_matches('"')
            .to_string();
        let columns = rest
            .trim_start_matches('(')
            .split(')')
            .next()
            .unwrap_or_default()
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .collect();
        has_migrations |= table == "_sqlx_migrations";
        tables.push(TableRows { table, rows: 0 });
        current = Some((tables.len() - 1, columns));
    }
    let status = child.wait().map_err(|e| io("running pg_restore", e))?;
    let said = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(refused(format!(
            "{shown} is damaged: pg_restore cannot read it ({})",
            String::from_utf8_lossy(&said).trim()
        )));
    }
    if !has_migrations {
        return Err(refused(format!(
            "{shown} is a PostgreSQL archive but not of a Tenure database (it has no migration table)"
        )));
    }
    let schema_version = check_migrations(&shown, applied, &POSTGRES_MIGRATIONS)?;
    tables.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(Checked {
        path: path.to_path_buf(),
        bytes: meta.len(),
        schema_version,
        tables,
    })
}

/// One `_sqlx_migrations` row of a COPY block (tab-separated text; `bytea`
/// as `\\x` and hex digits, booleans as `t` / `f`).
fn migration_row(shown: &str, columns: &[String], line: &[u8]) -> Result<Applied, BackupError> {
    let line = String::from_utf8_lossy(line);
    let values: Vec<&str> = line.split('\t').collect();
    let get = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| values.get(i).copied())
            .ok_or_else(|| refused(format!("{shown}: its migration table has no {name} column")))
    };
    let version = get("version")?
        .parse::<i64>()
        .map_err(|_| refused(format!("{shown}: a migration version is not a number")))?;
    let description = get("description")?.to_string();
    let success = get("success")? == "t";
    let checksum = hex::decode(get("checksum")?.trim_start_matches("\\\\x")).map_err(|_| {
        refused(format!(
            "{shown}: migration {version} has an unreadable checksum"
        ))
    })?;
    Ok((version, description, success, checksum))
}

/// Restores a `pg_dump` archive into the database at `url`, in one
/// transaction: every table and function of the current schema dropped,
/// the archive's objects and rows created (`pg_restore` to SQL, piped into
/// `psql`), committed only once `pg_restore` has finished without error.
/// Then the pending migrations run.
async fn restore_postgres(url: &str, file: &Path) -> Result<Restored, BackupError> {
    let archive = file.to_path_buf();
    let backup = blocking(move || check_pg_archive(&archive)).await?;
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(url).await?;
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        )
        .fetch_one(&mut conn)
        .await?;
        conn.close().await?;
        if others > 0 {
            return Err(refused(format!(
                "the database is in use ({others} other connections: is `tenure serve` or another \
                 tenure command running?): stop it, then restore"
            )));
        }
    }
    let target = pg_target(url);
    let shown = redacted(url);
    let archive = file.to_path_buf();
    blocking(move || pipe_restore(&target, &archive)).await?;
    let store = Store::open(url).await?;
    let tables = store.table_rows().await?;
    let schema_version = store
        .migration_status()
        .await?
        .iter()
        .filter(|m| m.applied)
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    store.close().await;
    Ok(Restored {
        database: shown.clone(),
        from_version: backup.schema_version,
        checked: Checked {
            path: file.to_path_buf(),
            bytes: backup.bytes,
            schema_version,
            tables,
        },
    })
}

/// Drops every table and function of the current schema: the restore's
/// first statement, in its transaction, so tables of later migrations than
/// the archive's go too.
const DROP_ALL: &str = "DO $$ DECLARE r record; BEGIN \
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP \
      EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename); END LOOP; \
    FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p \
      JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() LOOP \
      EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.sig); END LOOP; \
    END $$;\n";

fn pipe_restore(target: &PgTarget, archive: &Path) -> Result<(), BackupError> {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut psql = pg_command("psql", target)?
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname"])
        .arg(&target.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io("running psql", e))?;
    let mut restore = pg_command("pg_restore", target)?
        .args(["--no-owner", "--no-privileges", "--file=-"])
        .arg(archive)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io("running pg_restore", e))?;
    let mut psql_err = psql.stderr.take().expect("piped");
    let psql_said = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = psql_err.read_to_end(&mut s);
        s
    });
    let mut restore_err = restore.stderr.take().expect("piped");
    let restore_said = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = restore_err.read_to_end(&mut s);
        s
    });
    let mut input = psql.stdin.take().expect("piped");
    let mut script = restore.stdout.take().expect("piped");
    let copied = input
        .write_all(b"BEGIN;\nSET client_min_messages = warning;\n")
        .and_then(|()| input.write_all(DROP_ALL.as_bytes()))
        .and_then(|()| std::io::copy(&mut script, &mut input).map(|_| ()));
    // If psql stopped reading (an error), pg_restore must not wait forever
    // to write the rest: closing our end stops it.
    drop(script);
    let restore_status = restore.wait().map_err(|e| io("running pg_restore", e))?;
    // COMMIT only after pg_restore finished well: psql reaching the end of
    // its input inside the transaction ends the session, which rolls back.
    if copied.is_ok() && restore_status.success() {
        let _ = input.write_all(b"COMMIT;\n");
    }
    drop(input);
    let psql_status = psql.wait().map_err(|e| io("running psql", e))?;
    let restore_said = restore_said.join().unwrap_or_default();
    let psql_said = psql_said.join().unwrap_or_default();
    // psql first: when it stops, pg_restore fails only for lack of a reader.
    if !psql_status.success() {
        return Err(tool_failed("psql", psql_status, &psql_said));
    }
    if !restore_status.success() {
        return Err(tool_failed("pg_restore", restore_status, &restore_said));
    }
    copied.map_err(|e| io("sending the archive to psql", e))?;
    Ok(())
}

impl Store {
    /// Every table of the current schema with its row count, by name (on
    /// PostgreSQL; [`check_sqlite_file`] counts a SQLite file).
    async fn table_rows(&self) -> Result<Vec<TableRows>, BackupError> {
        use sqlx::Row;
        let names: Vec<String> = sqlx::query(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(names.len());
        for table in names {
            // The name comes from the catalogue, quoted as an identifier.
            let sql = format!("SELECT COUNT(*) FROM {}", quote_ident(&table));
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&self.pool)
                .await?;
            out.push(TableRows { table, rows });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_tools_and_the_messages() {
        let t =
            pg_target("postgres://tenure:p%40ss%3Aword@db.internal:5433/tenure?sslmode=require");
        assert_eq!(
            t.url,
            "postgres://tenure@db.internal:5433/tenure?sslmode=require"
        );
        assert_eq!(t.password.as_deref(), Some("p@ss:word"));
        assert_eq!(
            redacted("postgresql://tenure:secret@db/tenure"),
            "postgresql://tenure:***@db/tenure"
        );
        let t = pg_target("postgres://tenure@db/tenure");
        assert_eq!(
            (t.url.as_str(), t.password),
            ("postgres://tenure@db/tenure", None)
        );
        assert_eq!(redacted("postgres://db/tenure"), "postgres://db/tenure");
        // An @ in the path or query is not the user's.
        let t = pg_target("postgres://u:pw@h/db?application_name=a@b");
        assert_eq!(t.url, "postgres://u@h/db?application_name=a@b");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
