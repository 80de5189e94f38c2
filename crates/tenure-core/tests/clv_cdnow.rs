//! The CLV models fitted on CDNOW, the data set of the papers, against
//! their published parameters (docs/CLV.md).
//!
//! The data ships inside the Python `lifetimes` package; scripts/test.sh
//! downloads its wheel once into target/cdnow and exports
//! `TENURE_CDNOW_DIR` (without it the tests look in target/cdnow). The
//! tests fail when the files are missing, never pass without them.

use std::path::PathBuf;

use jiff::civil::Date;
use tenure_core::clv::{TimeUnit, Transaction, fit_bg_nbd, fit_gamma_gamma, summarize};

fn cdnow_file(name: &str) -> String {
    let dir = std::env::var_os("TENURE_CDNOW_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/cdnow"));
    let path = dir.join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the CDNOW data {} ({e}): run scripts/test.sh once, which downloads it \
             into target/cdnow, or set TENURE_CDNOW_DIR",
            path.display()
        )
    })
}

/// CDNOW_sample.txt: customer id, sample id, date (YYYYMMDD), CDs, dollars.
fn transactions() -> Vec<Transaction> {
    cdnow_file("CDNOW_sample.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let d = f[2];
            Transaction {
                customer: f[0].to_string(),
                day: Date::new(
                    d[..4].parse().unwrap(),
                    d[4..6].parse().unwrap(),
                    d[6..].parse().unwrap(),
                )
                .unwrap(),
                amount: f[4].parse().unwrap(),
            }
        })
        .collect()
}

/// The papers' calibration period: the 39 weeks to 1997-09-30.
const CALIBRATION_END: Date = Date::constant(1997, 9, 30);

#[test]
fn the_summary_matches_the_published_one() {
    let summary = summarize(&transactions(), CALIBRATION_END, TimeUnit::Week);
    assert_eq!(summary.customers.len(), 2357);
    // cdnow_customers_summary_with_transactions.csv: ID (the sample id,
    // CDNOW_sample.txt's second column), x, t_x, T, zbar, rounded to 2
    // decimals.
    let sample_ids: std::collections::HashMap<u32, String> = cdnow_file("CDNOW_sample.txt")
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let customer = f.next()?.to_string();
            Some((f.next()?.parse().unwrap(), customer))
        })
        .collect();
    let published = cdnow_file("cdnow_customers_summary_with_transactions.csv");
    let rows: Vec<Vec<f64>> = published
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), summary.customers.len());
    for row in &rows {
        let id = &sample_ids[&(row[0] as u32)];
        let c = summary
            .customers
            .iter()
            .find(|c| &c.customer == id)
            .unwrap();
        assert_eq!(f64::from(c.rfm.frequency), row[1], "{c:?}");
        for (got, want) in [
            (c.rfm.recency, row[2]),
            (c.rfm.age, row[3]),
            (c.mean_spend, row[4]),
        ] {
            assert!((got - want).abs() <= 0.005 + 1e-9, "{c:?} against {row:?}");
        }
    }
}

/// Fader, Hardie & Lee (2005), "Counting your customers the easy way",
/// section 5: r = 0.243, α = 4.414, a = 0.793, b = 2.426 in weeks
/// (lifetimes 0.11.3 gives 0.242593, 4.413532, 0.792886, 2.425752).
#[test]
fn bg_nbd_on_cdnow_gives_the_published_parameters() {
    let summary = summarize(&transactions(), CALIBRATION_END, TimeUnit::Week);
    let fit = fit_bg_nbd(&summary.rfm()).unwrap();
    let m = fit.model;
    for (name, got, want) in [
        ("r", m.r, 0.243),
        ("alpha", m.alpha, 4.414),
        ("a", m.a, 0.793),
        ("b", m.b, 2.426),
    ] {
        assert!(
            (got - want).abs() <= 1e-3,
            "{name} = {got}, published {want}"
        );
    }
    // The paper's log-likelihood at its estimates: −9582.4.
    assert!(
        (fit.log_likelihood + 9582.4).abs() < 0.1,
        "{}",
        fit.log_likelihood
    );
    // The same customers counted in days: α scales by 7, the rest stays.
    let days = summarize(&transactions(), CALIBRATION_END, TimeUnit::Day);
    let d = fit_bg_nbd(&days.rfm()).unwrap().model;
    assert!((d.r - m.r).abs() < 1e-4 && (d.a - m.a).abs() < 1e-4 && (d.b - m.b).abs() < 1e-4);
    assert!((d.alpha / 7.0 - m.alpha).abs() < 1e-3, "{d:?} {m:?}");
}

/// Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for
/// customer base analysis": p = 6.25, q = 3.74, γ = 15.44. The maximum of
/// the likelihood on the same repeat customers, found apart from this code
/// with scipy's Nelder–Mead at tolerance 1e-12 over the exact mean spends:
/// 6.249572, 3.744225, 15.443522. (lifetimes' bundled summary rounds the
/// mean spends to cents, which moves the maximum to 6.248804, 3.744588,
/// 15.447744, the figures of its documentation; `scripts/bench-clv.sh`
/// runs lifetimes on the transactions themselves instead.)
#[test]
fn gamma_gamma_on_cdnow_gives_the_published_parameters() {
    let summary = summarize(&transactions(), CALIBRATION_END, TimeUnit::Week);
    let fit = fit_gamma_gamma(&summary.spend()).unwrap();
    assert_eq!(fit.customers, 946);
    let m = fit.model;
    for (name, got, exact, published) in [
        ("p", m.p, 6.249572, 6.25),
        ("q", m.q, 3.744225, 3.74),
        ("v", m.v, 15.443522, 15.44),
    ] {
        assert!(
            (got - exact).abs() <= 1e-3,
            "{name} = {got}, the likelihood's maximum {exact}"
        );
        assert!(
            (got - published).abs() <= 0.005,
            "{name} = {got}, published {published}"
        );
    }
    // The maximum: −4055.9177 (scipy, as above).
    assert!(
        (fit.log_likelihood + 4055.9177).abs() < 1e-3,
        "{}",
        fit.log_likelihood
    );
}
