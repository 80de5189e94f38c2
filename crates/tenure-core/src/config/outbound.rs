//! Checks `[outbound]`: the SMTP server email is sent through, the webhook
//! endpoints (each with its signing secret) and the retry policy, each
//! problem at its line. Secrets are [`Secret`]s, redacted in `Debug`; one
//! named by `password_env` / `secret_env` is read from the environment by
//! the application when it sends (the core reads no environment).

use std::collections::BTreeSet;

use super::raw::{RawOutbound, RawSmtp, RawWebhook, S};
use super::{Checker, Secret};

/// Attempts before a message is given up as dead, unless configured.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;
/// The first retry waits this long; each later one twice the one before.
pub const DEFAULT_BACKOFF_SECONDS: u64 = 30;
/// How long one SMTP session or webhook call may take.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

/// `[outbound]`. The default has no SMTP server and no endpoints: nothing
/// can be sent until they are configured.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundConfig {
    pub smtp: Option<SmtpConfig>,
    pub webhooks: Vec<WebhookEndpoint>,
    /// Attempts in all, the first included, before a message is dead.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub backoff_seconds: u64,
    pub timeout_seconds: u64,
}

impl Default for OutboundConfig {
    fn default() -> OutboundConfig {
        OutboundConfig {
            smtp: None,
            webhooks: Vec::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff_seconds: DEFAULT_BACKOFF_SECONDS,
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
        }
    }
}

impl OutboundConfig {
    /// The endpoint named `name`.
    pub fn webhook(&self, name: &str) -> Option<&WebhookEndpoint> {
        self.webhooks.iter().find(|w| w.name == name)
    }

    /// The wait in seconds after failed attempt number `attempts` (1 for
    /// the first): the base, doubled for each attempt after the first.
    pub fn backoff_after(&self, attempts: u32) -> u64 {
        let doublings = attempts.saturating_sub(1).min(30);
        self.backoff_seconds.saturating_mul(1u64 << doublings)
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required); port 587.
    StartTls,
    /// TLS from the first byte ("SMTPS"); port 465.
    Tls,
    /// No encryption: only for a relay on the same machine or tests.
    None,
}

impl SmtpSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// Where a secret comes from: the file itself, or an environment variable
/// read when it is needed.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretSource {
    Inline(Secret),
    Env(String),
}

/// `[outbound.smtp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretSource>,
    /// The sender, `name@example.com` or `Name <name@example.com>`.
    pub from: String,
    /// A PEM file of extra root certificates to trust for the server's
    /// TLS certificate (a company's own CA), besides the system's; read
    /// when sending, relative to the working directory.
    pub ca_file: Option<String>,
}

/// `[[outbound.webhooks]]`: an endpoint playbooks call by name.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub name: String,
    pub url: String,
    /// The HMAC-SHA256 key the payloads are signed with.
    pub secret: SecretSource,
}

pub(super) fn check_outbound(ck: &mut Checker, raw: RawOutbound) -> OutboundConfig {
    let mut out = OutboundConfig::default();
    if let Some(n) = raw.max_attempts {
        match u32::try_from(*n.get_ref()) {
            Ok(v) if (1..=50).contains(&v) => out.max_attempts = v,
            _ => ck.err(
                n.span(),
                format!(
                    "outbound.max_attempts must be from 1 to 50, got {}",
                    n.get_ref()
                ),
            ),
        }
    }
    for (value, key, into) in [
        (
            raw.backoff_seconds,
            "backoff_seconds",
            &mut out.backoff_seconds,
        ),
        (
            raw.timeout_seconds,
            "timeout_seconds",
            &mut out.timeout_seconds,
        ),
    ] {
        if let Some(n) = value {
            match u64::try_from(*n.get_ref()) {
                Ok(v) if (1..=86_400).contains(&v) => *into = v,
                _ => ck.err(
                    n.span(),
                    format!(
                        "outbound.{key} must be from 1 to 86400 seconds, got {}",
                        n.get_ref()
                    ),
                ),
            }
        }
    }
    out.smtp = raw.smtp.and_then(|s| check_smtp(ck, s));
    let mut names = BTreeSet::new();
    for w in raw.webhooks {
        if let Some(w) = check_webhook(ck, w, &mut names) {
            out.webhooks.push(w);
        }
    }
    out
}

fn check_smtp(ck: &mut Checker, raw: S<RawSmtp>) -> Option<SmtpConfig> {
    let span = raw.span();
    let raw = raw.into_inner();
    let mut ok = true;
    let host = match raw.host {
        Some(h) if is_host(h.get_ref().trim()) => h.get_ref().trim().to_string(),
        Some(h) => {
            ck.err(
                h.span(),
                format!(
                    "outbound.smtp.host {:?} is not a host name such as \"smtp.example.com\"",
                    h.get_ref()
                ),
            );
            ok = false;
            String::new()
        }
        None => {
            ck.err(span.clone(), "outbound.smtp needs a host");
            ok = false;
            String::new()
        }
    };
    let security = match raw.security {
        None => SmtpSecurity::StartTls,
        Some(s) => match s.get_ref().trim().to_ascii_lowercase().as_str() {
            "starttls" => SmtpSecurity::StartTls,
            "tls" => SmtpSecurity::Tls,
            "none" => SmtpSecurity::None,
            other => {
                ck.err(
                    s.span(),
                    format!(
                        "outbound.smtp.security must be \"starttls\", \"tls\" or \"none\", got {other:?}"
                    ),
                );
                ok = false;
                SmtpSecurity::StartTls
            }
        },
    };
    let port = match raw.port {
        None => security.default_port(),
        Some(p) => match u16::try_from(*p.get_ref()) {
            Ok(v) if v > 0 => v,
            _ => {
                ck.err(
                    p.span(),
                    format!(
                        "outbound.smtp.port must be from 1 to 65535, got {}",
                        p.get_ref()
                    ),
                );
                ok = false;
                0
            }
        },
    };
    let from = match raw.from {
        Some(f) if is_mailbox(f.get_ref()) => f.get_ref().trim().to_string(),
        Some(f) => {
            ck.err(
                f.span(),
                format!(
                    "outbound.smtp.from {:?} is not an email address such as \"Tenure <cs@example.com>\"",
                    f.get_ref()
                ),
            );
            ok = false;
            String::new()
        }
        None => {
            ck.err(span.clone(), "outbound.smtp needs a from address");
            ok = false;
            String::new()
        }
    };
    let password = secret_source(
        ck,
        raw.password,
        raw.password_env,
        "outbound.smtp",
        "password",
    );
    let username = raw
        .username
        .map(|u| u.into_inner().trim().to_string())
        .filter(|u| !u.is_empty());
    if password.is_some() && username.is_none() {
        ck.err(
            span,
            "outbound.smtp has a password but no username: set both, or neither",
        );
        ok = false;
    }
    let ca_file = match raw.ca_file {
        None => None,
        Some(f) if f.get_ref().trim().is_empty() => {
            ck.err(
                f.span(),
                "outbound.smtp.ca_file is empty: give the path of a PEM file, or leave it out",
            );
            ok = false;
            None
        }
        Some(f) if security == SmtpSecurity::None => {
            ck.err(
                f.span(),
                "outbound.smtp.ca_file is for TLS: set security = \"starttls\" or \"tls\", or leave it out",
            );
            ok = false;
            None
        }
        Some(f) => Some(f.into_inner().trim().to_string()),
    };
    ok.then_some(SmtpConfig {
        host,
        port,
        security,
        username,
        password,
        from,
        ca_file,
    })
}

fn check_webhook(
    ck: &mut Checker,
    raw: S<RawWebhook>,
    names: &mut BTreeSet<String>,
) -> Option<WebhookEndpoint> {
    let span = raw.span();
    let raw = raw.into_inner();
    let name = match raw.name {
        Some(n) => {
            let s = n.get_ref().trim().to_string();
            let valid = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                ck.err(
                    n.span(),
                    format!(
                        "outbound.webhooks: name {:?}: use letters, digits, - and _",
                        n.get_ref()
                    ),
                );
                return None;
            }
            if !names.insert(s.clone()) {
                ck.err(
                    n.span(),
                    format!("outbound.webhooks: {s:?} is listed twice"),
                );
                return None;
            }
            s
        }
        None => {
            ck.err(span, "outbound.webhooks: every endpoint needs a name");
            return None;
        }
    };
    let what = format!("outbound.webhooks {name:?}");
    let url = match raw.url {
        Some(u) if is_http_url(u.get_ref().trim()) => u.get_ref().trim().to_string(),
        Some(u) => {
            ck.err(
                u.span(),
                format!(
                    "{what}: url {:?} must start with http:// or https:// and name a host",
                    u.get_ref()
                ),
            );
            return None;
        }
        None => {
            ck.err(span, format!("{what} needs a url"));
            return None;
        }
    };
    let Some(secret) = secret_source(ck, raw.secret, raw.secret_env, &what, "secret") else {
        ck.err(
            span,
            format!("{what} needs a secret (or secret_env) to sign its payloads"),
        );
        return None;
    };
    Some(WebhookEndpoint { name, url, secret })
}

/// `key` or `key_env`, not both; an empty value is an error.
fn secret_source(
    ck: &mut Checker,
    inline: Option<S<String>>,
    env: Option<S<String>>,
    what: &str,
    key: &str,
) -> Option<SecretSource> {
    match (inline, env) {
        (Some(_), Some(e)) => {
            ck.err(
                e.span(),
                format!("{what}: set {key} or {key}_env, not both"),
            );
            None
        }
        (Some(s), None) if s.get_ref().is_empty() => {
            ck.err(
                s.span(),
                format!("{what}.{key} is empty; remove the line or set it"),
            );
            None
        }
        (Some(s), None) => Some(SecretSource::Inline(Secret::new(s.into_inner()))),
        (None, Some(e)) => {
            let var = e.get_ref().trim();
            let valid =
                !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid {
                Some(SecretSource::Env(var.to_string()))
            } else {
                ck.err(
                    e.span(),
                    format!(
                        "{what}.{key}_env {:?} is not an environment variable name",
                        e.get_ref()
                    ),
                );
                None
            }
        }
        (None, None) => None,
    }
}

fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// `a@b` or `Name <a@b>`.
fn is_mailbox(s: &str) -> bool {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(i), Some(_)) => &s[i + 1..s.len() - 1],
        _ => s,
    };
    match addr.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !addr.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains(char::is_whitespace) && !r.contains(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_config;

    fn errors(toml: &str) -> Vec<(usize, String)> {
        parse_config(toml)
            .expect_err("the config should be refused")
            .into_iter()
            .map(|e| (e.line, e.message))
            .collect()
    }

    #[test]
    fn a_full_section_parses_and_its_secrets_are_redacted() {
        let config = parse_config(
            r#"
[outbound]
max_attempts = 4
backoff_seconds = 10

[outbound.smtp]
host = "smtp.example.com"
security = "tls"
username = "tenure"
password = "hunter2-smtp"
from = "Tenure <cs@example.com>"

[[outbound.webhooks]]
name = "crm"
url = "https://hooks.example.com/tenure"
secret = "whsec-very-secret"

[[outbound.webhooks]]
name = "slack"
url = "http://127.0.0.1:9000/x"
secret_env = "TENURE_SLACK_SECRET"
"#,
        )
        .unwrap();
        let o = &config.outbound;
        let smtp = o.smtp.as_ref().unwrap();
        assert_eq!((smtp.port, smtp.security), (465, SmtpSecurity::Tls));
        assert_eq!(smtp.username.as_deref(), Some("tenure"));
        assert_eq!(o.max_attempts, 4);
        assert_eq!(
            (o.backoff_after(1), o.backoff_after(2), o.backoff_after(3)),
            (10, 20, 40)
        );
        assert_eq!(
            o.webhook("slack").unwrap().secret,
            SecretSource::Env("TENURE_SLACK_SECRET".into())
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2-smtp"), "{debug}");
        assert!(!debug.contains("whsec-very-secret"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn the_section_is_optional_with_defaults() {
        let o = crate::config::Config::default().outbound;
        assert_eq!(o, OutboundConfig::default());
        assert_eq!((o.max_attempts, o.backoff_seconds), (6, 30));
        let o = parse_config("[outbound.smtp]\nhost = \"localhost\"\nfrom = \"a@b.c\"\n")
            .unwrap()
            .outbound;
        let smtp = o.smtp.unwrap();
        assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::StartTls));
        assert!(smtp.password.is_none());
    }

    #[test]
    fn bad_values_are_errors_at_their_lines() {
        let found = errors(
            r#"[outbound]
max_attempts = 0

[outbound.smtp]
host = "smtp.example.com"
security = "ssl"
port = 70000
from = "not an address"
password = "x"

[[outbound.webhooks]]
name = "crm"
url = "ftp://example.com"
secret = "s"

[[outbound.webhooks]]
name = "ok"
url = "https://example.com"

[[outbound.webhooks]]
name = "ok"
url = "https://example.com"
secret = "a"
secret_env = "B"
"#,
        );
        let lines: Vec<usize> = found.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 4, 6, 7, 8, 13, 16, 21], "{found:#?}");
        assert!(found[0].1.contains("max_attempts must be from 1 to 50"));
        assert!(found[1].1.contains("password but no username"));
        assert!(found[2].1.contains("\"starttls\", \"tls\" or \"none\""));
        assert!(found[5].1.contains("must start with http:// or https://"));
        assert!(found[6].1.contains("needs a secret"));
        assert!(found[7].1.contains("listed twice"));
        // Secrets never appear in messages.
        assert!(found.iter().all(|(_, m)| !m.contains("\"s\"")));
    }

    #[test]
    fn a_ca_file_is_kept_for_tls_and_refused_without_it() {
        let c = parse_config(
            "[outbound.smtp]\nhost = \"mail.corp.example\"\nfrom = \"a@b.c\"\nca_file = \" certs/corp-ca.pem \"\n",
        )
        .unwrap();
        assert_eq!(
            c.outbound.smtp.unwrap().ca_file.as_deref(),
            Some("certs/corp-ca.pem")
        );
        let found = errors(
            "[outbound.smtp]\nhost = \"h\"\nsecurity = \"none\"\nfrom = \"a@b.c\"\nca_file = \"ca.pem\"\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 5, "{found:?}");
        assert!(found[0].1.contains("ca_file is for TLS"), "{found:?}");
        let found = errors("[outbound.smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\nca_file = \"\"\n");
        assert_eq!(found[0].0, 4, "{found:?}");
        assert!(found[0].1.contains("ca_file is empty"), "{found:?}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let found = errors("[outbound.smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\npasword = \"x\"\n");
        assert_eq!(found[0].0, 4, "{found:?}");
    }
}

#[cfg(test)]
mod default_example {
    use crate::config::{DEFAULT_CONFIG, parse_config};

    /// The commented `[outbound]` example of the default file parses once
    /// uncommented, and the default itself sends nothing.
    #[test]
    fn the_commented_outbound_example_is_valid_when_uncommented() {
        let start = DEFAULT_CONFIG.find("# [outbound]").expect("the example");
        let example: String = DEFAULT_CONFIG[start..]
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
            .collect::<Vec<_>>()
            .join("\n");
        let o = parse_config(&example).expect("the example parses").outbound;
        assert_eq!(o.smtp.unwrap().port, 587);
        assert_eq!(o.webhooks[0].name, "crm");
        assert!(crate::config::Config::default().outbound.smtp.is_none());
    }
}
