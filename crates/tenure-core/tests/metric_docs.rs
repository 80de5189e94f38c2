//! docs/METRICS.md against the code: every metric's line quotes
//! `Metric::definition` word for word, and every function and test that a
//! "Computed by" or "Pinned by" reference names exists where the doc says.
//!
//! The doc's convention (stated at its top): a reference is a `code span`;
//! a `(file.rs)` right after it names its file, under
//! crates/tenure-core/src/metrics/ or, with a `/`, from the workspace root.
//! A function named without a file is not allowed; a test named without a
//! file is in crates/tenure-core/src/metrics/tests.rs.

use std::path::{Path, PathBuf};

use tenure_core::metrics::Metric;

const DOC: &str = include_str!("../../../docs/METRICS.md");

/// Where `(file.rs)` references without a `/` live.
const METRICS_SRC: &str = "crates/tenure-core/src/metrics";
/// Where a test named without a file lives.
const DEFAULT_TESTS: &str = "tests.rs";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn resolve(file: &str) -> PathBuf {
    if file.contains('/') {
        workspace().join(file)
    } else {
        workspace().join(METRICS_SRC).join(file)
    }
}

fn read(file: &str) -> Result<String, String> {
    std::fs::read_to_string(resolve(file)).map_err(|e| format!("cannot read {file}: {e}"))
}

/// The doc's paragraphs and list items, each with its whitespace collapsed
/// to single spaces (a line break inside a definition does not matter).
fn blocks(doc: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut flush = |current: &mut Vec<&str>| {
        if !current.is_empty() {
            out.push(current.join(" "));
            current.clear();
        }
    };
    for line in doc.lines() {
        if line.trim().is_empty() || line.starts_with("- ") || line.starts_with('#') {
            flush(&mut current);
        }
        if !line.trim().is_empty() {
            current.push(line.trim());
        }
    }
    flush(&mut current);
    out.into_iter()
        .map(|b| b.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// One `code span` of a reference, with the file named right after it.
#[derive(Debug)]
struct Reference {
    name: String,
    file: Option<String>,
}

/// The code spans of `span`, each with the `(file.rs)` that follows it.
fn references(span: &str) -> Vec<Reference> {
    let parts: Vec<&str> = span.split('`').collect();
    let mut out = Vec::new();
    for (i, name) in parts.iter().enumerate().skip(1).step_by(2) {
        let after = parts.get(i + 1).copied().unwrap_or("");
        let file = after
            .strip_prefix(" (")
            .and_then(|r| r.split_once(')'))
            .map(|(f, _)| f.to_string())
            .filter(|f| f.ends_with(".rs"));
        out.push(Reference {
            name: name.to_string(),
            file,
        });
    }
    out
}

/// The "computed by" and "pinned by" parts of a block, if it has them:
/// each runs from its marker to the next marker or the end of the block.
fn spans(block: &str) -> (Option<&str>, Option<&str>) {
    let lower = block.to_ascii_lowercase();
    let computed = lower.find("computed by `");
    let pinned = lower.find("pinned by `");
    let end = block.len();
    let c = computed.map(|c| &block[c..pinned.filter(|&p| p > c).unwrap_or(end)]);
    let p = pinned.map(|p| &block[p..computed.filter(|&c| c > p).unwrap_or(end)]);
    (c, p)
}

/// The line of a function or constant definition named `name` in `text`,
/// with its indentation.
fn definition_lines<'a>(text: &'a str, name: &str) -> Vec<(usize, &'a str)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line.trim_start();
        for prefix in ["pub(crate) ", "pub(super) ", "pub "] {
            if let Some(r) = rest.strip_prefix(prefix) {
                rest = r;
                break;
            }
        }
        for prefix in ["const fn ", "async fn ", "fn "] {
            if let Some(r) = rest.strip_prefix(prefix)
                && (r.starts_with(&format!("{name}(")) || r.starts_with(&format!("{name}<")))
            {
                out.push((i, line));
            }
        }
        if rest.starts_with(&format!("const {name}:")) {
            out.push((i, line));
        }
    }
    out
}

/// The type a top-level `impl` line is for: `impl Dataset {`,
/// `impl<'a> LedgerEntry<'a> {`, `impl Serialize for Report {`.
fn impl_target(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("impl")?;
    let rest = if let Some(generic) = rest.strip_prefix('<') {
        let close = generic.find('>')?;
        &generic[close + 1..]
    } else {
        rest
    };
    let rest = rest.trim_start();
    let rest = match rest.split_once(" for ") {
        Some((_, target)) => target,
        None => rest,
    };
    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
}

/// Checks that `path` (`Type::method`, `free_fn`, `CONST`, optionally
/// behind `tenure_core::metrics::`) is defined in `file`.
fn check_code(path: &str, file: &str) -> Result<(), String> {
    let text = read(file)?;
    let (exported, path) = match path.strip_prefix("tenure_core::metrics::") {
        Some(p) => (true, p),
        None => (false, path),
    };
    let segments: Vec<&str> = path.split("::").collect();
    let (ty, name) = match segments[..] {
        [name] => (None, name),
        [ty, name] => (Some(ty), name),
        _ => return Err(format!("`{path}`: expected Type::function or function")),
    };
    if exported {
        let ty = ty.unwrap_or(name);
        let module = read("mod.rs")?;
        let public = module
            .split(';')
            .any(|item| item.trim_start().starts_with("pub use") && item.contains(ty));
        if !public {
            return Err(format!("`{ty}` is not exported from tenure_core::metrics"));
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let found = definition_lines(&text, name).into_iter().any(|(i, line)| {
        let indent = line.len() - line.trim_start().len();
        match ty {
            None => indent == 0,
            Some(ty) => {
                // A method: its nearest top-level `impl` above is for `ty`.
                indent > 0
                    && lines[..i]
                        .iter()
                        .rev()
                        .find(|l| l.starts_with("impl"))
                        .and_then(|l| impl_target(l))
                        == Some(ty)
            }
        }
    });
    if found {
        Ok(())
    } else {
        Err(format!("`{path}` is not defined in {file}"))
    }
}

/// Checks that `name` is a test function (`#[test]` or `#[tokio::test]`)
/// in `file`.
fn check_test(name: &str, file: &str) -> Result<(), String> {
    let text = read(file)?;
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let is_test = lines.windows(2).any(|w| {
        let attribute = w[0] == "#[test]" || w[0].starts_with("#[tokio::test");
        let signature = w[1]
            .strip_prefix("async ")
            .unwrap_or(w[1])
            .starts_with(&format!("fn {name}("));
        attribute && signature
    });
    if is_test {
        Ok(())
    } else {
        Err(format!("`{name}` is not a test in {file}"))
    }
}

/// Every problem with the "computed by" and "pinned by" references of `doc`.
fn reference_problems(doc: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for block in blocks(doc) {
        let (computed, pinned) = spans(&block);
        if let Some(span) = computed {
            let refs = references(span);
            if refs.is_empty() {
                problems.push(format!("no function named in: {span}"));
            }
            for r in refs {
                let result = match &r.file {
                    Some(file) => check_code(&r.name, file),
                    None => Err(format!("`{}`: name its file, as `(file.rs)`", r.name)),
                };
                problems.extend(result.err());
            }
        }
        if let Some(span) = pinned {
            let refs = references(span);
            if refs.is_empty() {
                problems.push(format!("no test named in: {span}"));
            }
            for r in refs {
                let file = r.file.as_deref().unwrap_or(DEFAULT_TESTS);
                problems.extend(check_test(&r.name, file).err());
            }
        }
    }
    problems
}

/// Every problem with the metrics' lines in `doc`: a metric without its
/// line, a line that does not quote `Metric::definition`, or one that does
/// not say what computes the metric and what pins it.
fn definition_problems(doc: &str) -> Vec<String> {
    let blocks = blocks(doc);
    let mut problems = Vec::new();
    for &m in Metric::ALL {
        let start = format!("- `{}`. In short: ", m.key());
        let Some(block) = blocks.iter().find(|b| b.starts_with(&start)) else {
            problems.push(format!("no line starting {start:?}"));
            continue;
        };
        let quoted = format!("{start}{} Computed by `", m.definition());
        if !block.starts_with(&quoted) {
            problems.push(format!(
                "{}: the line does not quote Metric::definition, {:?}, \
                 followed by \"Computed by\": {block}",
                m.key(),
                m.definition()
            ));
        }
        if !block.contains(". Pinned by `") {
            problems.push(format!("{}: no \"Pinned by\" tests", m.key()));
        }
    }
    let lines = blocks.iter().filter(|b| b.contains(". In short: ")).count();
    if lines != Metric::ALL.len() {
        problems.push(format!(
            "{lines} \"In short\" lines for {} metrics",
            Metric::ALL.len()
        ));
    }
    problems
}

/// The `## ` sections that define numbers (everything after "The example
/// data") each say what computes them.
fn section_problems(doc: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let sections: Vec<&str> = doc.split("\n## ").skip(1).collect();
    let first = sections
        .iter()
        .position(|s| s.starts_with("The example data"))
        .map_or(0, |i| i + 1);
    for section in &sections[first..] {
        let title = section.lines().next().unwrap_or_default();
        let text = blocks(section).join(" ").to_ascii_lowercase();
        if !text.contains("computed by `") || !text.contains("pinned by `") {
            problems.push(format!(
                "section {title:?} names no function or test for its figures"
            ));
        }
    }
    if sections.len() <= first {
        problems.push("no sections after \"The example data\"".into());
    }
    problems
}

fn assert_none(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "docs/METRICS.md disagrees with the code:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_metric_line_quotes_its_definition() {
    assert_none(definition_problems(DOC));
}

#[test]
fn every_function_and_test_the_doc_names_exists() {
    assert_none(reference_problems(DOC));
}

#[test]
fn every_section_says_what_computes_and_pins_its_figures() {
    assert_none(section_problems(DOC));
}

/// The checks themselves catch what they are for: a changed definition, a
/// renamed function or test, a wrong file.
#[test]
fn the_checks_fail_on_a_broken_doc() {
    let key = Metric::Nrr.key();
    let line = format!("- `{key}`. In short: ");
    assert!(DOC.contains(&line));
    let broken = DOC.replace("divided by their MRR that day.", "divided by their MRR.");
    assert!(
        definition_problems(&broken)
            .iter()
            .any(|p| p.starts_with(key)),
        "a changed definition went unnoticed"
    );
    let removed = DOC.replace(&line, "- `nrr_removed`. In short: ");
    assert!(!definition_problems(&removed).is_empty());

    for (from, to) in [
        (
            "`Dataset::mrr_summary` (period.rs)",
            "`Dataset::mrr_sum` (period.rs)",
        ),
        (
            "`Dataset::mrr_summary` (period.rs)",
            "`Dataset::mrr_summary` (ledger.rs)",
        ),
        (
            "`Dataset::mrr_summary` (period.rs)",
            "`Dataset::mrr_summary`",
        ),
        (
            "`Dataset::mrr_summary` (period.rs)",
            "`Usage::mrr_summary` (period.rs)",
        ),
        (
            "`Dataset::nps` (period.rs)",
            "`tenure_core::metrics::Nowhere::nps` (period.rs)",
        ),
        (
            "`every_metric_of_a_quarter_by_hand`",
            "`every_metric_of_a_year_by_hand`",
        ),
        (
            "`usage_matches_a_reference` (props.rs)",
            "`usage_matches_a_reference`",
        ),
        // A function that is not a test.
        ("`every_metric_of_a_quarter_by_hand`", "`fixture`"),
    ] {
        assert!(DOC.contains(from), "{from}");
        let broken = DOC.replace(from, to);
        assert!(
            !reference_problems(&broken).is_empty(),
            "{from} → {to} went unnoticed"
        );
    }
}
