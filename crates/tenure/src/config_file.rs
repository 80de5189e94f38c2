//! Reading `tenure.toml` for the commands: its errors become one bad-input
//! error (exit 2) listing each with the file name and line.

use std::path::Path;

use anyhow::Result;
use tenure_core::config::{Config, parse_config};

use crate::BadInput;

/// Parses configuration text, turning errors into one bad-input error that
/// lists each with the file name and line.
pub fn parse_config_file(path: &Path, text: &str) -> Result<Config> {
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
        .into()
    })
}

/// Reads `tenure.toml`; a missing file gives the built-in defaults (the same
/// values `tenure init` writes).
pub fn load_config(path: &Path) -> Result<Config> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_config_file(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(BadInput(format!("cannot read {}: {e}", path.display())).into()),
    }
}
