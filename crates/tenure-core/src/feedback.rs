//! Feedback (docs/FEEDBACK.md): what customers say, from survey comments,
//! ticket text, CSM notes and the API, each item with a sentiment and
//! themes; product requests ranked by the revenue asking for them.
//!
//! - [`sentiment`]: from a score where there is one (NPS 0–6 negative,
//!   7–8 neutral, 9–10 positive; CSAT 1–2, 3, 4–5; CES 1–3, 4–5, 6–7).
//! - [`Theme`] and [`tag`]: the `[[feedback.themes]]` tag rules, keywords
//!   (whole words, case-insensitive, `export*` for a prefix) and/or a CEL
//!   rule over the item's [`ItemFacts`] ([`ITEM_FIELDS`]).
//! - [`suggest`]: suggested themes from the untagged items, TF-IDF vectors
//!   clustered by k-means (`linfa-clustering`, its fixed seed), each with
//!   its top terms and example comments. No model, nothing downloaded.
//! - [`RequestStatus`] and [`rank`]: product requests with the count, the
//!   ARR and the ARR at risk of the accounts asking.

use std::collections::{BTreeMap, HashMap, HashSet};

use cel::common::types::{CelInt, CelNull, CelString};
use cel::common::value::CowVal;
use cel::context::VariableResolver;
use linfa::DatasetBase;
use linfa::prelude::{Fit, Predict};
use linfa_clustering::KMeans;
use ndarray::Array2;

use crate::model::SurveyKind;
use crate::rules::Rule;

/// Where a feedback item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A survey response's comment.
    Survey,
    /// A ticket's subject and description.
    Ticket,
    /// A CSM's engagement notes.
    Note,
    /// Entered through the API or by hand.
    Api,
}

impl Source {
    pub const ALL: [Source; 4] = [Source::Survey, Source::Ticket, Source::Note, Source::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Survey => "survey",
            Source::Ticket => "ticket",
            Source::Note => "note",
            Source::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        let s = s.trim().to_ascii_lowercase();
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The stable id of the item made from a source row: the same row
    /// always makes the same item, so a re-run updates instead of adding.
    pub fn item_id(self, row_id: &str) -> String {
        format!("fb-{}-{row_id}", self.as_str())
    }
}

/// An item's sentiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub const ALL: [Sentiment; 3] = [Sentiment::Negative, Sentiment::Neutral, Sentiment::Positive];

    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Positive => "positive",
        }
    }

    pub fn parse(s: &str) -> Option<Sentiment> {
        let s = s.trim().to_ascii_lowercase();
        Sentiment::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The sentiment of a score of `kind`: NPS 0–6 negative, 7–8 neutral,
/// 9–10 positive; CSAT 1–2, 3, 4–5; CES (1 very hard to 7 very easy)
/// 1–3, 4–5, 6–7. A score outside the kind's range has none.
pub fn sentiment(kind: SurveyKind, score: i64) -> Option<Sentiment> {
    let (lo, hi) = kind.range();
    if score < lo || score > hi {
        return None;
    }
    let (neutral_from, positive_from) = match kind {
        SurveyKind::Nps => (7, 9),
        SurveyKind::Csat => (3, 4),
        SurveyKind::Ces => (4, 6),
    };
    Some(if score >= positive_from {
        Sentiment::Positive
    } else if score >= neutral_from {
        Sentiment::Neutral
    } else {
        Sentiment::Negative
    })
}

/// The fields a theme's rule can read: the item's and its account's.
pub const ITEM_FIELDS: &[(&str, &str)] = &[
    ("text", "the item's text"),
    ("source", "survey, ticket, note or api"),
    (
        "kind",
        "the survey kind of its score: nps, csat or ces (null when none)",
    ),
    ("score", "its score, on the kind's scale (null when none)"),
    (
        "sentiment",
        "negative, neutral or positive (null when unknown)",
    ),
    ("account_id", "the account's id"),
    ("account", "the account's name"),
    ("plan", "the account's plan"),
    ("industry", "the account's industry"),
    ("region", "the account's region"),
    ("csm_email", "the account's CSM"),
];

/// Whether `name` is one of [`ITEM_FIELDS`].
pub fn is_item_field(name: &str) -> bool {
    ITEM_FIELDS.iter().any(|(n, _)| *n == name)
}

/// One item as a theme's rule sees it. `None` is CEL's `null`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemFacts {
    pub text: String,
    pub source: String,
    pub kind: Option<String>,
    pub score: Option<i64>,
    pub sentiment: Option<String>,
    pub account_id: String,
    pub account: String,
    pub plan: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub csm_email: Option<String>,
}

fn text_val(v: &Option<String>) -> CowVal<'_, '_> {
    match v {
        Some(s) => CowVal::owned(CelString::from(s.as_str())),
        None => CowVal::owned(CelNull),
    }
}

impl VariableResolver for ItemFacts {
    fn resolve<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        Some(match name {
            "text" => CowVal::owned(CelString::from(self.text.as_str())),
            "source" => CowVal::owned(CelString::from(self.source.as_str())),
            "kind" => text_val(&self.kind),
            "score" => match self.score {
                Some(x) => CowVal::owned(CelInt::from(x)),
                None => CowVal::owned(CelNull),
            },
            "sentiment" => text_val(&self.sentiment),
            "account_id" => CowVal::owned(CelString::from(self.account_id.as_str())),
            "account" => CowVal::owned(CelString::from(self.account.as_str())),
            "plan" => text_val(&self.plan),
            "industry" => text_val(&self.industry),
            "region" => text_val(&self.region),
            "csm_email" => text_val(&self.csm_email),
            _ => return None,
        })
    }
}

/// A keyword: whole words in order, the last one a prefix when written
/// with a trailing `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyword {
    pub words: Vec<String>,
    pub prefix: bool,
}

impl Keyword {
    /// A keyword as written in the configuration; an error in words when
    /// it has no letter or digit.
    pub fn parse(s: &str) -> Result<Keyword, String> {
        let t = s.trim();
        let prefix = t.ends_with('*');
        let words = words(t.trim_end_matches('*'));
        if words.is_empty() {
            return Err(format!(
                "the keyword {s:?} has no letter or digit: write a word such as \"export\" or a prefix such as \"export*\""
            ));
        }
        Ok(Keyword { words, prefix })
    }

    /// Whether the keyword is in `text`'s words.
    pub fn found_in(&self, text_words: &[String]) -> bool {
        let n = self.words.len();
        if text_words.len() < n {
            return false;
        }
        (0..=text_words.len() - n).any(|i| {
            self.words.iter().enumerate().all(|(j, w)| {
                let t = &text_words[i + j];
                if self.prefix && j == n - 1 {
                    t.starts_with(w.as_str())
                } else {
                    t == w
                }
            })
        })
    }
}

/// The lower-case words of `text`: runs of letters, digits and
/// apostrophes.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// A `[[feedback.themes]]` entry. With keywords and a rule, an item needs
/// both: one of the keywords, and the rule true.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub keywords: Vec<Keyword>,
    pub rule: Option<Rule>,
}

impl Theme {
    /// Whether the item (its words already split) has the theme; a rule
    /// that cannot be decided on the item does not match.
    pub fn matches(&self, facts: &ItemFacts, text_words: &[String]) -> bool {
        let by_word =
            self.keywords.is_empty() || self.keywords.iter().any(|k| k.found_in(text_words));
        by_word
            && self
                .rule
                .as_ref()
                .is_none_or(|r| r.matches_on(facts).unwrap_or(false))
    }
}

/// The checked `[feedback]` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackConfig {
    pub themes: Vec<Theme>,
    /// The `[[outbound.webhooks]]` endpoint told of new requests and status
    /// changes.
    pub requests_webhook: Option<String>,
}

/// The names of the themes the item has, in the configuration's order.
pub fn tag(themes: &[Theme], facts: &ItemFacts) -> Vec<String> {
    let w = words(&facts.text);
    themes
        .iter()
        .filter(|t| t.matches(facts, &w))
        .map(|t| t.name.clone())
        .collect()
}

/// A product request's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestStatus {
    Open,
    Planned,
    Shipped,
    Declined,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 4] = [
        RequestStatus::Open,
        RequestStatus::Planned,
        RequestStatus::Shipped,
        RequestStatus::Declined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Planned => "planned",
            RequestStatus::Shipped => "shipped",
            RequestStatus::Declined => "declined",
        }
    }

    /// A status from its name; an error in words naming the four.
    pub fn parse(s: &str) -> Result<RequestStatus, String> {
        let t = s.trim().to_ascii_lowercase();
        RequestStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == t)
            .ok_or_else(|| format!("expected open, planned, shipped or declined, got {s:?}"))
    }
}

/// How [`rank`] orders requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RankBy {
    /// ARR of the requesting accounts, largest first.
    #[default]
    Arr,
    /// Requesting accounts, most first.
    Count,
    /// ARR at risk among them, largest first.
    ArrAtRisk,
}

impl RankBy {
    pub fn parse(s: &str) -> Result<RankBy, String> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "arr" => Ok(RankBy::Arr),
            "count" | "accounts" => Ok(RankBy::Count),
            "arr_at_risk" | "risk" => Ok(RankBy::ArrAtRisk),
            _ => Err(format!("expected arr, count or arr_at_risk, got {s:?}")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RankBy::Arr => "arr",
            RankBy::Count => "count",
            RankBy::ArrAtRisk => "arr_at_risk",
        }
    }
}

/// A request's standing: how many accounts ask, their ARR and the ARR of
/// those at risk (reporting minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    pub accounts: usize,
    pub arr: i64,
    pub arr_at_risk: i64,
    pub accounts_at_risk: usize,
}

/// The standing of one request from its distinct requesting accounts,
/// each account's ARR (missing: 0) and the accounts at risk.
pub fn standing<'a>(
    accounts: impl IntoIterator<Item = &'a str>,
    arr: &HashMap<String, i64>,
    at_risk: &HashSet<String>,
) -> Standing {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut s = Standing::default();
    for a in accounts {
        if !seen.insert(a) {
            continue;
        }
        let v = arr.get(a).copied().unwrap_or(0);
        s.accounts += 1;
        s.arr += v;
        if at_risk.contains(a) {
            s.accounts_at_risk += 1;
            s.arr_at_risk += v;
        }
    }
    s
}

/// Orders `(title, standing)` pairs by `by`, then by the other two
/// measures, then by title: the indexes of `rows` in rank order.
pub fn rank(rows: &[(&str, Standing)], by: RankBy) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    let key = |s: &Standing| -> (i64, i64, i64) {
        let c = s.accounts as i64;
        match by {
            RankBy::Arr => (s.arr, c, s.arr_at_risk),
            RankBy::Count => (c, s.arr, s.arr_at_risk),
            RankBy::ArrAtRisk => (s.arr_at_risk, s.arr, c),
        }
    };
    idx.sort_by(|&a, &b| {
        key(&rows[b].1)
            .cmp(&key(&rows[a].1))
            .then_with(|| rows[a].0.cmp(rows[b].0))
    });
    idx
}

/// Words too common to say anything about a theme.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "but", "by", "can", "can't", "could", "did", "do",
    "does", "doesn't", "don't", "for", "from", "get", "got", "had", "has", "have", "he", "her",
    "here", "him", "his", "how", "i", "i'm", "if", "in", "into", "is", "isn't", "it", "it's",
    "its", "just", "me", "more", "most", "my", "no", "not", "now", "of", "on", "one", "only", "or",
    "our", "out", "over", "really", "she", "so", "some", "still", "than", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "to", "too", "up", "us", "very", "was", "we",
    "were", "what", "when", "which", "while", "who", "why", "will", "with", "would", "you", "your",
    "we're", "you're", "there's", "please", "thanks", "thank",
];

/// A suggested theme: its top terms and a few of its comments.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The terms that weigh most in it, heaviest first.
    pub terms: Vec<String>,
    /// How many of the untagged items fall in it.
    pub items: usize,
    /// Up to three of them, closest to its centre first (indexes of the
    /// texts given).
    pub examples: Vec<usize>,
    /// A `[[feedback.themes]]` entry to paste.
    pub toml: String,
}

/// Terms kept for clustering, at most.
const MAX_TERMS: usize = 300;

/// Suggested themes from `texts` (the untagged items): TF-IDF vectors of
/// their distinctive words (in at least two texts, not in more than half),
/// normalised, clustered by k-means into up to `k` groups; groups of fewer
/// than two texts are dropped, the rest ordered by size. Texts that are the
/// same (ignoring case and spaces at the ends) are clustered once and
/// counted as often as they occur; examples are distinct texts. Empty when
/// there is too little text.
pub fn suggest(texts: &[&str], k: usize) -> Vec<Suggestion> {
    let mut key_of: HashMap<String, usize> = HashMap::new();
    let mut uniq: Vec<&str> = Vec::new();
    let mut copies: Vec<Vec<usize>> = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let key = t.trim().to_lowercase();
        match key_of.get(&key) {
            Some(&u) => copies[u].push(i),
            None => {
                key_of.insert(key, uniq.len());
                uniq.push(t);
                copies.push(vec![i]);
            }
        }
    }
    let docs: Vec<Vec<String>> = uniq
        .iter()
        .map(|t| {
            words(t)
                .into_iter()
                .filter(|w| {
                    w.chars().count() > 2
                        && !w.chars().all(|c| c.is_ascii_digit())
                        && !STOP_WORDS.contains(&w.as_str())
                })
                .collect()
        })
        .collect();
    let n = texts.len();
    if n < 4 || k == 0 {
        return Vec::new();
    }
    // Document frequencies count every copy of a text.
    let mut df: BTreeMap<&str, usize> = BTreeMap::new();
    for (u, d) in docs.iter().enumerate() {
        let set: HashSet<&str> = d.iter().map(String::as_str).collect();
        for w in set {
            *df.entry(w).or_default() += copies[u].len();
        }
    }
    let mut vocab: Vec<(&str, usize)> = df
        .into_iter()
        .filter(|&(_, c)| c >= 2 && c * 2 <= n.max(4))
        .collect();
    vocab.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    vocab.truncate(MAX_TERMS);
    if vocab.is_empty() {
        return Vec::new();
    }
    let index: HashMap<&str, usize> = vocab
        .iter()
        .enumerate()
        .map(|(i, (w, _))| (*w, i))
        .collect();
    let idf: Vec<f64> = vocab
        .iter()
        .map(|(_, c)| ((1 + n) as f64 / (1 + c) as f64).ln() + 1.0)
        .collect();
    // Only texts with at least one kept term take part.
    let mut rows: Vec<usize> = Vec::new();
    let mut z = Array2::<f64>::zeros((docs.len(), vocab.len()));
    for (i, d) in docs.iter().enumerate() {
        let mut any = false;
        for w in d {
            if let Some(&j) = index.get(w.as_str()) {
                z[[i, j]] += 1.0;
                any = true;
            }
        }
        if any {
            rows.push(i);
        }
    }
    if rows.len() < 2 {
        return Vec::new();
    }
    let mut m = Array2::<f64>::zeros((rows.len(), vocab.len()));
    for (r, &i) in rows.iter().enumerate() {
        let mut norm = 0.0;
        for j in 0..vocab.len() {
            let v = z[[i, j]] * idf[j];
            m[[r, j]] = v;
            norm += v * v;
        }
        let norm = norm.sqrt();
        if norm > 0.0 {
            for j in 0..vocab.len() {
                m[[r, j]] /= norm;
            }
        }
    }
    let k = k.min(rows.len() / 2).max(1);
    let data = DatasetBase::from(m.clone());
    let Ok(model) = KMeans::params(k)
        .n_runs(5)
        .max_n_iterations(200)
        .tolerance(1e-6)
        .fit(&data)
    else {
        return Vec::new();
    };
    let labels = model.predict(&m).to_vec();
    let centroids = model.centroids();
    let mut out = Vec::new();
    for c in 0..k {
        let members: Vec<usize> = (0..rows.len()).filter(|&r| labels[r] == c).collect();
        let items: usize = members.iter().map(|&r| copies[rows[r]].len()).sum();
        if items < 2 {
            continue;
        }
        let mut weights: Vec<(usize, f64)> = (0..vocab.len())
            .map(|j| (j, centroids[[c, j]]))
            .filter(|&(_, w)| w > 0.0)
            .collect();
        weights.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let terms: Vec<String> = weights
            .iter()
            .take(5)
            .map(|&(j, _)| vocab[j].0.to_string())
            .collect();
        if terms.is_empty() {
            continue;
        }
        let mut close: Vec<(usize, f64)> = members
            .iter()
            .map(|&r| {
                let d: f64 = (0..vocab.len())
                    .map(|j| (m[[r, j]] - centroids[[c, j]]).powi(2))
                    .sum();
                (rows[r], d)
            })
            .collect();
        close.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let examples: Vec<usize> = close.iter().take(3).map(|&(u, _)| copies[u][0]).collect();
        let keywords: Vec<String> = terms.iter().take(3).map(|t| format!("{t:?}")).collect();
        let toml = format!(
            "[[feedback.themes]]\nname = {:?}\nkeywords = [{}]\n",
            terms[0],
            keywords.join(", ")
        );
        out.push(Suggestion {
            terms,
            items,
            examples,
            toml,
        });
    }
    out.sort_by(|a, b| b.items.cmp(&a.items).then_with(|| a.terms.cmp(&b.terms)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str) -> ItemFacts {
        ItemFacts {
            text: text.into(),
            source: "survey".into(),
            account_id: "a1".into(),
            account: "Acme".into(),
            ..ItemFacts::default()
        }
    }

    #[test]
    fn sentiment_by_kind() {
        use Sentiment::*;
        let nps: Vec<_> = (0..=10)
            .map(|s| sentiment(SurveyKind::Nps, s).unwrap())
            .collect();
        assert_eq!(&nps[..7], &[Negative; 7]);
        assert_eq!(&nps[7..9], &[Neutral; 2]);
        assert_eq!(&nps[9..], &[Positive; 2]);
        assert_eq!(sentiment(SurveyKind::Csat, 2), Some(Negative));
        assert_eq!(sentiment(SurveyKind::Csat, 3), Some(Neutral));
        assert_eq!(sentiment(SurveyKind::Csat, 4), Some(Positive));
        assert_eq!(sentiment(SurveyKind::Ces, 3), Some(Negative));
        assert_eq!(sentiment(SurveyKind::Ces, 5), Some(Neutral));
        assert_eq!(sentiment(SurveyKind::Ces, 6), Some(Positive));
        assert_eq!(sentiment(SurveyKind::Nps, 11), None);
        assert_eq!(sentiment(SurveyKind::Csat, 0), None);
    }

    #[test]
    fn keywords_match_whole_words_and_prefixes() {
        let w = words("The CSV Export keeps timing out; exports fail.");
        assert!(Keyword::parse("export").unwrap().found_in(&w));
        assert!(Keyword::parse("timing out").unwrap().found_in(&w));
        assert!(!Keyword::parse("port").unwrap().found_in(&w));
        assert!(Keyword::parse("tim*").unwrap().found_in(&w));
        assert!(!Keyword::parse("out timing").unwrap().found_in(&w));
        assert!(Keyword::parse("  ** ").is_err());
    }

    #[test]
    fn themes_from_keywords_and_rules() {
        let allowed = |n: &str| is_item_field(n);
        let themes = vec![
            Theme {
                name: "exports".into(),
                keywords: vec![
                    Keyword::parse("export*").unwrap(),
                    Keyword::parse("csv").unwrap(),
                ],
                rule: None,
            },
            Theme {
                name: "detractor pricing".into(),
                keywords: vec![
                    Keyword::parse("price").unwrap(),
                    Keyword::parse("pricing").unwrap(),
                ],
                rule: Some(Rule::compile("sentiment == 'negative'", &allowed).unwrap()),
            },
            Theme {
                name: "enterprise tickets".into(),
                keywords: vec![],
                rule: Some(
                    Rule::compile("source == 'ticket' && plan == 'enterprise'", &allowed).unwrap(),
                ),
            },
            Theme {
                name: "low score".into(),
                keywords: vec![],
                rule: Some(Rule::compile("score != null && score <= 3", &allowed).unwrap()),
            },
        ];
        assert_eq!(
            tag(&themes, &item("Exporting to CSV is slow")),
            vec!["exports"]
        );
        let mut pricey = item("The pricing is too high");
        assert!(
            tag(&themes, &pricey).is_empty(),
            "no sentiment: the rule is false"
        );
        pricey.sentiment = Some("negative".into());
        pricey.score = Some(2);
        assert_eq!(
            tag(&themes, &pricey),
            vec!["detractor pricing", "low score"]
        );
        let mut t = item("Login fails");
        t.source = "ticket".into();
        t.plan = Some("enterprise".into());
        assert_eq!(tag(&themes, &t), vec!["enterprise tickets"]);
        // `plan` is null on a plain item: the rule errs and does not match.
        assert!(tag(&themes, &item("Login fails")).is_empty());
    }

    #[test]
    fn ranking_by_arr_count_and_risk_by_hand() {
        let arr: HashMap<String, i64> = [("a", 12_000_000), ("b", 3_000_000), ("c", 1_000_000)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let risk: HashSet<String> = ["b".to_string(), "c".to_string()].into();
        // dark mode: a (120k) only; sso: b + c (40k, all at risk); csv: a + b + c, a twice.
        let dark = standing(["a"], &arr, &risk);
        let sso = standing(["b", "c"], &arr, &risk);
        let csv = standing(["a", "b", "c", "a"], &arr, &risk);
        assert_eq!(
            dark,
            Standing {
                accounts: 1,
                arr: 12_000_000,
                arr_at_risk: 0,
                accounts_at_risk: 0
            }
        );
        assert_eq!(
            sso,
            Standing {
                accounts: 2,
                arr: 4_000_000,
                arr_at_risk: 4_000_000,
                accounts_at_risk: 2
            }
        );
        assert_eq!(
            csv,
            Standing {
                accounts: 3,
                arr: 16_000_000,
                arr_at_risk: 4_000_000,
                accounts_at_risk: 2
            }
        );
        let rows = [("dark mode", dark), ("sso", sso), ("csv", csv)];
        assert_eq!(rank(&rows, RankBy::Arr), vec![2, 0, 1]);
        assert_eq!(rank(&rows, RankBy::Count), vec![2, 1, 0]);
        // sso and csv tie on ARR at risk: the larger ARR first.
        assert_eq!(rank(&rows, RankBy::ArrAtRisk), vec![2, 1, 0]);
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(
            RequestStatus::parse(" Shipped "),
            Ok(RequestStatus::Shipped)
        );
        assert!(
            RequestStatus::parse("done")
                .unwrap_err()
                .contains("open, planned")
        );
        assert_eq!(RankBy::parse("arr-at-risk"), Ok(RankBy::ArrAtRisk));
    }

    #[test]
    fn suggestions_group_like_comments() {
        let texts = [
            "The export to CSV keeps failing",
            "CSV export is broken again",
            "Export CSV button does nothing",
            "Please fix the CSV export",
            "Onboarding calls were great, onboarding team helpful",
            "Great onboarding, the onboarding team was helpful",
            "Onboarding team very helpful",
            "Mobile app crashes on login",
            "The mobile app crashes all the time",
            "Mobile app crashes when I open reports",
        ];
        let s = suggest(&texts, 3);
        assert!(!s.is_empty());
        let all: Vec<&str> = s
            .iter()
            .flat_map(|x| x.terms.iter().map(String::as_str))
            .collect();
        assert!(all.contains(&"csv") || all.contains(&"export"), "{s:?}");
        for x in &s {
            assert!(x.items >= 2);
            assert!(!x.examples.is_empty() && x.examples.len() <= 3);
            assert!(x.toml.starts_with("[[feedback.themes]]"));
        }
        assert!(suggest(&["too", "short"], 3).is_empty());
        // Deterministic: the same input, the same suggestions.
        assert_eq!(suggest(&texts, 3), s);
    }

    #[test]
    fn repeated_texts_count_but_are_shown_once() {
        let mut texts = vec!["Login fails with single sign-on"; 4];
        texts.push("  login fails with single sign-on ");
        texts.push("Single sign-on login fails on mobile");
        texts.extend(["Invoice shows the wrong seats"; 3]);
        texts.extend(["Wrong seats on the invoice again"; 2]);
        texts.extend(["Reports page crashes"; 3]);
        texts.extend(["The reports page crashes daily"; 2]);
        let s = suggest(&texts, 3);
        let login = s
            .iter()
            .find(|x| x.terms.iter().any(|t| t == "login"))
            .expect("a login theme");
        assert_eq!(login.items, 6);
        let shown: Vec<&str> = login.examples.iter().map(|&i| texts[i]).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert_ne!(
            shown[0].trim().to_lowercase(),
            shown[1].trim().to_lowercase()
        );
    }
}
