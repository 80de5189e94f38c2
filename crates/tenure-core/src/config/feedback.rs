//! Checks `[feedback]`: the theme tag rules (`[[feedback.themes]]`, their
//! keywords and CEL rules over a feedback item, errors at their line) and
//! the webhook endpoint told of product requests.

use super::Checker;
use super::engage::{check_rule, unique, unknown};
use super::raw::RawFeedback;
use crate::feedback::{FeedbackConfig, Keyword, Theme, is_item_field};

/// The checked `[feedback]` section; `endpoints` are the names of
/// `[[outbound.webhooks]]`.
pub(super) fn check_feedback(
    ck: &mut Checker,
    raw: RawFeedback,
    endpoints: &[&str],
) -> FeedbackConfig {
    let requests_webhook = raw.requests_webhook.and_then(|w| {
        let name = w.get_ref().trim().to_string();
        if endpoints.contains(&name.as_str()) {
            Some(name)
        } else if endpoints.is_empty() {
            ck.err(
                w.span(),
                format!(
                    "feedback.requests_webhook: {name:?} is not an endpoint: no [[outbound.webhooks]] is configured"
                ),
            );
            None
        } else {
            ck.err(
                w.span(),
                format!(
                    "feedback.requests_webhook: {} (name one of [[outbound.webhooks]])",
                    unknown("webhook endpoint", &name, endpoints.iter().copied())
                ),
            );
            None
        }
    });
    let mut themes = Vec::new();
    for (name, t) in unique(ck, raw.themes, "feedback.themes", |t| t.name.as_ref()) {
        let span = t.span();
        let t = t.into_inner();
        let label = format!("feedback.themes {name:?}");
        let before = ck.errors.len();
        let mut keywords = Vec::new();
        for k in t.keywords {
            match Keyword::parse(k.get_ref()) {
                Ok(kw) => keywords.push(kw),
                Err(m) => ck.err(k.span(), format!("{label}: {m}")),
            }
        }
        let rule = match t.rule {
            None => None,
            Some(src) => check_rule(
                ck,
                &format!("{label}: rule"),
                Some(src),
                span.clone(),
                &is_item_field,
            ),
        };
        if ck.errors.len() > before {
            continue;
        }
        if keywords.is_empty() && rule.is_none() {
            ck.err(span, format!("{label}: give keywords, a rule, or both"));
            continue;
        }
        themes.push(Theme {
            name,
            keywords,
            rule,
        });
    }
    FeedbackConfig {
        themes,
        requests_webhook,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse_config;

    fn lines(text: &str) -> Vec<(usize, String)> {
        parse_config(text)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line, e.message))
            .collect()
    }

    #[test]
    fn themes_and_webhook_parse() {
        let c = parse_config(
            r#"
[[outbound.webhooks]]
name = "product"
url = "https://tracker.example.com/hook"
secret = "s3cret-s3cret-s3cret"

[feedback]
requests_webhook = "product"

[[feedback.themes]]
name = "exports"
keywords = ["export*", "csv"]

[[feedback.themes]]
name = "angry"
rule = "sentiment == 'negative' && score != null"
"#,
        )
        .unwrap();
        assert_eq!(c.feedback.requests_webhook.as_deref(), Some("product"));
        let names: Vec<&str> = c.feedback.themes.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["exports", "angry"]);
        assert!(c.feedback.themes[0].keywords[0].prefix);
        assert!(crate::config::Config::default().feedback.themes.is_empty());
    }

    #[test]
    fn errors_at_their_line() {
        let errs = lines(
            r#"[feedback]
requests_webhook = "nowhere"

[[feedback.themes]]
name = "bad rule"
rule = "health > 3"

[[feedback.themes]]
name = "nothing"

[[feedback.themes]]
name = "bad keyword"
keywords = ["ok", "--"]

[[feedback.themes]]
name = "bad keyword"
keywords = ["dup"]
"#,
        );
        let at = |line: usize, part: &str| {
            assert!(
                errs.iter().any(|(l, m)| *l == line && m.contains(part)),
                "no error at line {line} with {part:?}: {errs:?}"
            )
        };
        at(2, "\"nowhere\" is not an endpoint");
        at(6, "feedback.themes \"bad rule\": rule");
        at(8, "give keywords, a rule, or both");
        at(13, "has no letter or digit");
        at(16, "defined twice");
    }

    /// The commented example of the default file parses once uncommented
    /// (with the webhook line left out: it names an endpoint of the user's).
    #[test]
    fn the_commented_example_is_valid_when_uncommented() {
        let example = crate::config::tests::uncommented_example("# [feedback]");
        let f = parse_config(&example).expect("the example parses").feedback;
        assert_eq!(f.themes.len(), 3);
    }
}
