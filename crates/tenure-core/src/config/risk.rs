//! Checks `[risk]`: the leadership-review thresholds for the whole book
//! and per Engage segment, and the weekly digest (`[risk.digest]`), each
//! problem at its line.

use super::Checker;
use super::engage::unknown;
use super::raw::{RawRisk, RawRiskDigest, S};
use crate::engage::EngageConfig;
use crate::model::Currency;
use crate::react::digest::{DigestConfig, Recipient, WEEKDAYS, parse_weekday};
use crate::react::risk::{RiskConfig, SegmentThresholds, Thresholds};
use crate::target::tasks::check_owner;

/// The checked `[risk]` section; segment names are Engage's.
pub(super) fn check_risk(
    ck: &mut Checker,
    raw: RawRisk,
    reporting: Currency,
    engage: &EngageConfig,
) -> RiskConfig {
    let thresholds = check_thresholds(
        ck,
        (
            &raw.arr_at_risk,
            &raw.arr_at_risk_share,
            &raw.accounts_at_risk,
        ),
        reporting,
        "risk",
    );
    let known: Vec<&str> = engage.segments.0.iter().map(|s| s.name.as_str()).collect();
    let mut segments: Vec<SegmentThresholds> = Vec::new();
    for s in raw.segments {
        let span = s.span();
        let s = s.into_inner();
        let Some(name) = s.name else {
            ck.err(span, "risk.segments: every entry needs a name");
            continue;
        };
        let n = name.get_ref().trim().to_string();
        if !known.contains(&n.as_str()) {
            ck.err(
                name.span(),
                format!(
                    "risk.segments: {}",
                    unknown("segment", &n, known.iter().copied())
                ),
            );
            continue;
        }
        if segments.iter().any(|x| x.segment == n) {
            ck.err(name.span(), format!("risk.segments: {n:?} is listed twice"));
            continue;
        }
        let t = check_thresholds(
            ck,
            (&s.arr_at_risk, &s.arr_at_risk_share, &s.accounts_at_risk),
            reporting,
            &format!("risk.segments {n:?}:"),
        );
        if t.is_empty() {
            ck.err(
                span,
                format!(
                    "risk.segments {n:?}: give at least one of arr_at_risk, arr_at_risk_share, accounts_at_risk"
                ),
            );
        }
        segments.push(SegmentThresholds {
            segment: n,
            thresholds: t,
        });
    }
    let digest = raw.digest.and_then(|d| check_digest(ck, d));
    RiskConfig {
        thresholds,
        segments,
        digest,
    }
}

/// `[risk.digest]`: `to` (addresses, or `leaders`) and `weekday`
/// (default Monday).
fn check_digest(ck: &mut Checker, raw: S<RawRiskDigest>) -> Option<DigestConfig> {
    let span = raw.span();
    let raw = raw.into_inner();
    let mut ok = true;
    let mut to: Vec<Recipient> = Vec::new();
    match raw.to {
        None => {
            ck.err(
                span,
                "risk.digest needs `to`: a list of email addresses, or \"leaders\" for every leader and admin",
            );
            ok = false;
        }
        Some(list) => {
            if list.get_ref().is_empty() {
                ck.err(
                    list.span(),
                    "risk.digest.to is empty: name at least one address, or \"leaders\"",
                );
                ok = false;
            }
            for a in list.into_inner() {
                let text = a.get_ref().trim();
                let r = if text.eq_ignore_ascii_case("leaders") {
                    Recipient::Leaders
                } else {
                    match check_owner(text) {
                        Ok(e) => Recipient::Address(e),
                        Err(m) => {
                            ck.err(
                                a.span(),
                                format!(
                                    "risk.digest.to: {m} (give addresses, or \"leaders\" for every leader and admin)"
                                ),
                            );
                            ok = false;
                            continue;
                        }
                    }
                };
                if to.contains(&r) {
                    ck.err(
                        a.span(),
                        format!("risk.digest.to: {text:?} is listed twice"),
                    );
                    ok = false;
                    continue;
                }
                to.push(r);
            }
        }
    }
    let weekday = match raw.weekday {
        None => jiff::civil::Weekday::Monday,
        Some(w) => match parse_weekday(w.get_ref()) {
            Some(d) => d,
            None => {
                let names: Vec<&str> = WEEKDAYS.iter().map(|(n, _)| *n).collect();
                ck.err(
                    w.span(),
                    format!(
                        "risk.digest.weekday must be a day of the week ({}), got {:?}",
                        names.join(", "),
                        w.get_ref()
                    ),
                );
                ok = false;
                jiff::civil::Weekday::Monday
            }
        },
    };
    ok.then_some(DigestConfig { to, weekday })
}

/// The three threshold keys as written.
type Keys<'a> = (&'a Option<S<f64>>, &'a Option<S<f64>>, &'a Option<S<i64>>);

fn check_thresholds(ck: &mut Checker, raw: Keys, reporting: Currency, what: &str) -> Thresholds {
    let sep = if what.ends_with(':') { " " } else { "." };
    let mut t = Thresholds::default();
    if let Some(a) = raw.0 {
        let v = *a.get_ref();
        if v.is_finite() && v >= 0.0 {
            let scale = 10f64.powi(reporting.minor_digits() as i32);
            t.arr_at_risk = Some((v * scale).round() as i64);
        } else {
            ck.err(
                a.span(),
                format!(
                    "{what}{sep}arr_at_risk must be an amount of {reporting} of 0 or more, got {v}"
                ),
            );
        }
    }
    if let Some(a) = raw.1 {
        let v = *a.get_ref();
        if (0.0..=1.0).contains(&v) {
            t.arr_at_risk_share = Some(v);
        } else {
            ck.err(
                a.span(),
                format!("{what}{sep}arr_at_risk_share must be a fraction from 0 to 1 (0.1 is 10%), got {v}"),
            );
        }
    }
    if let Some(a) = raw.2 {
        let v = *a.get_ref();
        match u64::try_from(v) {
            Ok(n) => t.accounts_at_risk = Some(n),
            Err(_) => ck.err(
                a.span(),
                format!("{what}{sep}accounts_at_risk must be a whole number of 0 or more, got {v}"),
            ),
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use crate::config::{DEFAULT_CONFIG, parse_config};

    /// The default without its `[risk]` section, then `extra`.
    fn with(extra: &str) -> String {
        let base = DEFAULT_CONFIG
            .replace("\n[risk]\n", "\n")
            .replace("arr_at_risk_share = 0.15\n", "");
        format!("{base}{extra}")
    }

    fn errors(extra: &str) -> Vec<(usize, String)> {
        match parse_config(&with(extra)) {
            Ok(_) => Vec::new(),
            Err(es) => es.into_iter().map(|e| (e.line, e.message)).collect(),
        }
    }

    #[test]
    fn the_default_watches_the_share_of_arr_at_risk() {
        let c = parse_config(DEFAULT_CONFIG).unwrap();
        assert_eq!(c.risk.thresholds.arr_at_risk_share, Some(0.15));
        assert_eq!(c.risk.thresholds.arr_at_risk, None);
        assert!(c.risk.segments.is_empty());
    }

    #[test]
    fn thresholds_are_read_in_minor_units_with_segments() {
        let text = with(
            "\n[risk]\narr_at_risk = 2500.5\naccounts_at_risk = 3\n\n[[risk.segments]]\nname = \"Strategic\"\narr_at_risk_share = 0.2\n",
        );
        let c = parse_config(&text).unwrap();
        assert_eq!(c.risk.thresholds.arr_at_risk, Some(250_050));
        assert_eq!(c.risk.thresholds.accounts_at_risk, Some(3));
        assert_eq!(c.risk.segments.len(), 1);
        assert_eq!(c.risk.segments[0].segment, "Strategic");
        assert_eq!(c.risk.segments[0].thresholds.arr_at_risk_share, Some(0.2));
    }

    #[test]
    fn bad_thresholds_and_unknown_segments_are_errors_at_their_line() {
        let es = errors(
            "\n[risk]\narr_at_risk_share = 1.5\naccounts_at_risk = -1\n\n[[risk.segments]]\nname = \"Nope\"\narr_at_risk = 5\n",
        );
        let lines = with("").lines().count();
        assert_eq!(es.len(), 3, "{es:?}");
        assert!(
            es[0]
                .1
                .contains("risk.arr_at_risk_share must be a fraction"),
            "{es:?}"
        );
        assert!(
            es[1]
                .1
                .contains("risk.accounts_at_risk must be a whole number"),
            "{es:?}"
        );
        assert!(es[2].1.contains("unknown segment \"Nope\""), "{es:?}");
        let at: Vec<usize> = es.iter().map(|(l, _)| *l).collect();
        assert_eq!(at, [lines + 3, lines + 4, lines + 7], "{es:?}");
    }

    #[test]
    fn the_digest_reads_addresses_leaders_and_a_weekday() {
        let c = parse_config(&with(
            "\n[risk]\narr_at_risk_share = 0.1\n\n[risk.digest]\nto = [\"VP@Example.com\", \"leaders\"]\nweekday = \"Friday\"\n",
        ))
        .unwrap();
        let d = c.risk.digest.unwrap();
        assert_eq!(
            d.to,
            [
                crate::react::digest::Recipient::Address("vp@example.com".into()),
                crate::react::digest::Recipient::Leaders
            ]
        );
        assert_eq!(d.weekday, jiff::civil::Weekday::Friday);
        let c = parse_config(&with("\n[risk.digest]\nto = [\"leaders\"]\n")).unwrap();
        assert_eq!(c.risk.digest.unwrap().weekday, jiff::civil::Weekday::Monday);
        assert_eq!(parse_config(DEFAULT_CONFIG).unwrap().risk.digest, None);
    }

    #[test]
    fn bad_digest_keys_are_errors_at_their_line() {
        let es = errors(
            "\n[risk.digest]\nto = [\"vp@example.com\",\n  \"not an address\", \"vp@example.com\"]\nweekday = \"someday\"\n",
        );
        let lines = with("").lines().count();
        assert_eq!(es.len(), 3, "{es:?}");
        assert!(
            es[0]
                .1
                .contains("risk.digest.to: \"not an address\" is not an email address"),
            "{es:?}"
        );
        assert!(es[1].1.contains("is listed twice"), "{es:?}");
        assert!(
            es[2]
                .1
                .contains("risk.digest.weekday must be a day of the week"),
            "{es:?}"
        );
        let at: Vec<usize> = es.iter().map(|(l, _)| *l).collect();
        assert_eq!(at, [lines + 4, lines + 4, lines + 5], "{es:?}");
        let es = errors("\n[risk.digest]\nweekday = \"monday\"\n");
        assert_eq!(es.len(), 1, "{es:?}");
        assert!(es[0].1.contains("risk.digest needs `to`"), "{es:?}");
        assert_eq!(es[0].0, lines + 2, "{es:?}");
    }
}
