//! Shared output helpers for the commands: number formatting and settings
//! read from the configuration file.

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
