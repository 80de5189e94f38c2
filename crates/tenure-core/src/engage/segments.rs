//! Segments and touch tiers: ordered rules, the first that holds wins.

use crate::rules::{Facts, Rule};

/// A touch tier: how much human attention an account gets (high touch,
/// low touch, tech touch, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub name: String,
    pub about: Option<String>,
}

/// A segment: a rule over an account's facts, and the tier its accounts
/// get.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub name: String,
    pub rule: Rule,
    /// Index into [`super::EngageConfig::tiers`].
    pub tier: usize,
    /// Who these customers are, in words.
    pub persona: Option<String>,
}

/// The segments in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Segments(pub Vec<Segment>);

/// An account's segment, and the rules that could not be decided on it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SegmentOf {
    /// Index of the first segment whose rule holds; `None` when none does.
    pub segment: Option<usize>,
    /// `(segment index, error)` for each rule tried that failed.
    pub errors: Vec<(usize, String)>,
}

impl Segments {
    /// The first segment whose rule holds for `facts`. A rule that fails
    /// on this account is recorded and the next one tried.
    pub fn segment_of(&self, facts: &Facts) -> SegmentOf {
        let mut out = SegmentOf::default();
        for (i, s) in self.0.iter().enumerate() {
            match s.rule.matches(facts) {
                Ok(true) => {
                    out.segment = Some(i);
                    break;
                }
                Ok(false) => {}
                Err(e) => out.errors.push((i, e)),
            }
        }
        out
    }

    /// The index of the segment called `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::field_names;

    fn rule(src: &str) -> Rule {
        Rule::compile(src, &|f| field_names().any(|n| n == f)).unwrap()
    }

    fn segments() -> Segments {
        let seg = |name: &str, src: &str, tier| Segment {
            name: name.into(),
            rule: rule(src),
            tier,
            persona: None,
        };
        Segments(vec![
            seg("strategic", "arr >= 100000", 0),
            seg("at-risk smb", r#"attrs.size == "smb" && band == "red""#, 1),
            seg("smb", "arr < 100000", 2),
        ])
    }

    fn facts(mrr: f64, attrs: &[(&str, &str)], band: Option<&'static str>) -> Facts {
        Facts {
            mrr,
            band,
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Facts::default()
        }
    }

    #[test]
    fn the_first_segment_that_holds_wins() {
        let s = segments();
        assert_eq!(s.segment_of(&facts(10_000.0, &[], None)).segment, Some(0));
        let red_smb = facts(100.0, &[("size", "smb")], Some("red"));
        assert_eq!(s.segment_of(&red_smb).segment, Some(1));
        let green_smb = facts(100.0, &[("size", "smb")], Some("green"));
        assert_eq!(s.segment_of(&green_smb).segment, Some(2));
    }

    #[test]
    fn a_rule_that_fails_on_an_account_is_reported_and_skipped() {
        // No `size` attribute: the second rule cannot be decided.
        let got = segments().segment_of(&facts(100.0, &[], Some("red")));
        assert_eq!(got.segment, Some(2));
        assert_eq!(got.errors.len(), 1);
        assert_eq!(got.errors[0].0, 1);
        assert!(got.errors[0].1.contains("size"), "{}", got.errors[0].1);
    }
}
