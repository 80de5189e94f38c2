//! The demo's `tenure.toml` (docs/DEMO.md): the defaults with `[risk]`
//! thresholds for the simulated company's size, and its surveys and
//! feedback themes. `tenure demo` writes it; the benchmarks read the same.

/// The demo's `tenure.toml`: the defaults, with the `[risk]` thresholds a
/// CS leader of a company of `accounts` simulated accounts (about half of
/// them paying customers, docs/DEMO.md) would set: ARR at risk above 3%
/// of total ARR, more accounts at risk than about 3% of the customers,
/// and more Strategic accounts (the top tenth by ARR) at risk than about
/// 2% of them. Reviews come from these thresholds crossing on the
/// simulated history, not from the demo.
pub fn demo_config(accounts: u32) -> String {
    let base = crate::config::DEFAULT_CONFIG;
    let customers = accounts / 2;
    let risk = format!(
        "[risk]
# Written by `tenure demo` for the demo company (docs/DEMO.md): leadership
# meets when more than 3% of ARR is at risk, when more than about 3% of
# the customers are at risk, or when more than about 2% of the Strategic
# accounts (the top tenth by ARR) are at risk at once.
arr_at_risk_share = 0.03
accounts_at_risk = {}

[[risk.segments]]
name = \"Strategic\"
accounts_at_risk = {}
",
        (customers * 3 / 100).max(5),
        (customers / 10 * 2 / 100).max(2)
    );
    // The default's `[risk]` table runs to the first blank line after it.
    let text = match base.find("\n[risk]\n") {
        Some(at) => {
            let start = at + 1;
            let end = base[start..]
                .find("\n\n")
                .map_or(base.len(), |i| start + i + 1);
            format!("{}{risk}{}", &base[..start], &base[end..])
        }
        None => format!("{base}\n{risk}"),
    };
    format!("{}\n{DEMO_VOICE}", text.trim_end())
}

/// The demo's surveys and feedback themes (docs/DEMO.md, "Voice of the
/// customer"): a quarterly NPS survey, which the demo sends two weeks
/// before the end of its history, and themes for the words of the
/// simulated tickets, notes and comments.
const DEMO_VOICE: &str = r#"
# Written by `tenure demo` (docs/DEMO.md, "Voice of the customer"): a
# quarterly NPS survey to every contact of the paying accounts, and themes
# for what the simulated customers say in tickets, notes and comments.
[[surveys]]
name       = "Quarterly NPS"
kind       = "nps"
question   = "How likely are you to recommend us to a friend or colleague?"
follow_up  = "What is the main reason for your score?"
every_days = 90

[[feedback.themes]]
name     = "exports and reports"
keywords = ["export*", "csv", "report*", "scheduled"]

[[feedback.themes]]
name     = "integrations"
keywords = ["integration*", "salesforce", "slack", "sync*", "api"]

[[feedback.themes]]
name     = "performance"
keywords = ["slow", "time out", "times out", "too long", "faster", "take*"]

[[feedback.themes]]
name     = "reliability"
keywords = ["bug*", "breaking", "breaks", "broken", "missing", "fail*", "duplicate", "fix*"]

[[feedback.themes]]
name     = "access"
keywords = ["login", "sign-on", "single sign-on", "sso", "invite*", "okta"]

[[feedback.themes]]
name     = "pricing and value"
keywords = ["price", "pricing", "expensive", "value", "invoice", "billing", "seats"]

[[feedback.themes]]
name     = "support"
keywords = ["support", "csm", "help*", "responsive", "answer*"]

[[feedback.themes]]
name     = "adoption"
keywords = ["adopted", "adoption", "learning curve", "roll out", "uses", "nobody"]

[[feedback.themes]]
name     = "look and feel"
keywords = ["dark mode", "charts", "dashboard*"]
"#;
