//! The account page's override form: what was typed, the message next to
//! each wrong field, and the check, which parses the text and then applies
//! the rules every surface shares (`tenure_core::health::check_override`).

use jiff::civil::Date;
use serde::Deserialize;
use tenure_core::health::{CheckedOverride, OverrideField, check_override};
use tenure_core::model::parse_date;

/// What was typed into the override form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OverrideForm {
    #[serde(default)]
    pub score: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub until: String,
}

/// A message per wrong field, and one for the whole form.
#[derive(Debug, Clone, Default)]
pub struct OverrideErrors {
    pub score: Option<String>,
    pub reason: Option<String>,
    pub until: Option<String>,
    pub form: Option<String>,
}

impl OverrideErrors {
    fn set(&mut self, field: OverrideField, message: &str) {
        let slot = match field {
            OverrideField::Score => &mut self.score,
            OverrideField::Reason => &mut self.reason,
            OverrideField::Until => &mut self.until,
        };
        slot.get_or_insert_with(|| message.to_string());
    }
}

/// Checks the form: text that is not a number or a date first, then the
/// shared rules.
pub fn check_form(f: &OverrideForm, today: Date) -> Result<CheckedOverride, OverrideErrors> {
    let mut err = OverrideErrors::default();
    let score = f.score.trim().parse::<f64>().ok();
    if score.is_none() {
        err.set(OverrideField::Score, "Enter a score from 0 to 100.");
    }
    let until = parse_date(f.until.trim()).ok();
    if until.is_none() {
        err.set(
            OverrideField::Until,
            "Enter the last day it applies as YYYY-MM-DD.",
        );
    }
    // The rules run on what could be read, so that every field's problem
    // shows at once; unread fields get stand-ins that pass.
    let checked = check_override(
        score.unwrap_or(0.0),
        &f.reason,
        until.unwrap_or(today),
        today,
    );
    match checked {
        Ok(o) if score.is_some() && until.is_some() => Ok(o),
        Ok(_) => Err(err),
        Err(problems) => {
            for p in problems {
                err.set(p.field, p.message);
            }
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    fn form(score: &str, reason: &str, until: &str) -> OverrideForm {
        OverrideForm {
            score: score.into(),
            reason: reason.into(),
            until: until.into(),
        }
    }

    #[test]
    fn override_form_needs_score_reason_and_a_near_expiry() {
        let today = d("2026-03-10");
        let e = check_form(&form("140", " ", "2026-03-01"), today).unwrap_err();
        assert!(e.score.is_some() && e.reason.is_some() && e.until.is_some());
        let e = check_form(&form("abc", "r", "2028-01-01"), today).unwrap_err();
        assert_eq!(e.score.as_deref(), Some("Enter a score from 0 to 100."));
        assert_eq!(
            e.until.as_deref(),
            Some("An override lasts at most a year.")
        );
        let e = check_form(&form("50", "r", "soon"), today).unwrap_err();
        assert_eq!(
            e.until.as_deref(),
            Some("Enter the last day it applies as YYYY-MM-DD.")
        );
        assert!(e.score.is_none() && e.reason.is_none());
        let ok = form("35", "Champion left", "2026-04-10");
        assert_eq!(check_form(&ok, today).unwrap().until, d("2026-04-10"));
    }
}
