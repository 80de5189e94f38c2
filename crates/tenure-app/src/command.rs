//! What Tenure's command-line programs (`tenure` and `tenure-bench`) share:
//! the bad-input error, the exit code of an error, and reading
//! `tenure.toml` with its errors listed by line.

use std::error::Error as StdError;
use std::ops::Deref;
use std::path::Path;
use std::process::ExitCode;

use tenure_core::config::{Config, parse_config};
use tenure_store::StoreError;

use crate::Error;

/// An error caused by the user's input (a bad file, flag or config): exit
/// code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for BadInput {}

/// The exit code for an error, given its chain of causes (outermost
/// first, as `anyhow::Error::chain` gives them): 2 when the user's input
/// is at fault, 0 when standard output was closed early (`| head`), 1
/// otherwise.
pub fn exit_code<'a>(chain: impl IntoIterator<Item = &'a (dyn StdError + 'static)>) -> u8 {
    for cause in chain {
        if cause.downcast_ref::<BadInput>().is_some() {
            return 2;
        }
        if cause
            .downcast_ref::<Error>()
            .is_some_and(Error::is_bad_input)
        {
            return 2;
        }
        if let Some(StoreError::Invalid(_) | StoreError::BadUrl(_)) =
            cause.downcast_ref::<StoreError>()
        {
            return 2;
        }
        if closed_pipe(cause) {
            return 0;
        }
    }
    1
}

/// True when the error is a write to a closed pipe (`tenure … | head`),
/// also when a CSV or JSON writer wrapped it without giving it as source.
fn closed_pipe(cause: &(dyn StdError + 'static)) -> bool {
    let pipe = std::io::ErrorKind::BrokenPipe;
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        return io.kind() == pipe;
    }
    if let Some(e) = cause.downcast_ref::<serde_json::Error>() {
        return e.io_error_kind() == Some(pipe);
    }
    if let Some(e) = cause.downcast_ref::<csv::Error>() {
        return matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == pipe);
    }
    false
}

/// Runs a program's work on a multi-threaded runtime and turns its outcome
/// into the exit code (see [`exit_code`]), printing the error with its
/// causes to standard error unless standard output was closed early.
pub fn run_to_exit<E>(work: impl Future<Output = Result<(), E>>) -> ExitCode
where
    E: std::fmt::Display + Deref<Target = dyn StdError + Send + Sync + 'static>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let first: &(dyn StdError + 'static) = &*err;
            let code = exit_code(std::iter::successors(Some(first), |&e| e.source()));
            if code != 0 {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(code)
        }
    }
}

/// Parses configuration text read from `path`, turning its errors into one
/// [`BadInput`] that lists each with the file name and line.
pub fn parse_config_file(path: &Path, text: &str) -> Result<Config, BadInput> {
    parse_config(text).map_err(|errors| {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{} line {}: {}", path.display(), e.line, e.message))
            .collect();
        BadInput(format!(
            "{} has {} error(s):\n{}",
            path.display(),
            errors.len(),
            lines.join("\n")
        ))
    })
}

/// Reads `tenure.toml`; a missing file gives the built-in defaults (the
/// same values `tenure init` writes).
pub fn load_config(path: &Path) -> Result<Config, BadInput> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_config_file(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(BadInput(format!("cannot read {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_cause() {
        let bad: &(dyn StdError + 'static) = &BadInput("x".into());
        assert_eq!(exit_code([bad]), 2);
        let invalid: &(dyn StdError + 'static) = &Error::Invalid("x".into());
        assert_eq!(exit_code([invalid]), 2);
        let internal: &(dyn StdError + 'static) = &Error::Internal("x".into());
        assert_eq!(exit_code([internal]), 1);
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let pipe: &(dyn StdError + 'static) = &pipe;
        assert_eq!(exit_code([internal, pipe]), 0);
        let json = serde_json::Error::io(std::io::ErrorKind::BrokenPipe.into());
        let json: &(dyn StdError + 'static) = &json;
        assert_eq!(exit_code([json]), 0);
        let other = serde_json::Error::io(std::io::ErrorKind::PermissionDenied.into());
        let other: &(dyn StdError + 'static) = &other;
        assert_eq!(exit_code([other]), 1);
        let csv = csv::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        let csv: &(dyn StdError + 'static) = &csv;
        assert_eq!(exit_code([csv]), 0);
    }

    #[test]
    fn config_errors_name_the_file_and_line() {
        let e = parse_config_file(Path::new("t.toml"), "[costs]\ngross_margin = 3\n").unwrap_err();
        assert!(
            e.0.starts_with("t.toml has 1 error(s):\nt.toml line 2: "),
            "{e}"
        );
        let missing = load_config(Path::new("/nonexistent/tenure.toml")).unwrap();
        assert_eq!(missing, Config::default());
    }
}
