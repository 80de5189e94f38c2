//! `tenure clv fit` and `tenure clv predict`: customer lifetime value from
//! a file of transactions (docs/CLV.md). This module reads the CSV file,
//! refusing bad rows by file, line and column, hands the transactions to
//! `tenure_core::clv` (the summary, the BG/NBD and Gamma-Gamma fits, the
//! predictions) and prints. No database: the file is the whole input.
//!
//! `fit` prints the fitted models; its JSON (`--format json`, or the file
//! `--save` writes) is also the model file that `predict --model` reads,
//! so a model fitted once can value customers later. Without `--model`,
//! `predict` fits on the same transactions first.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tenure_core::clv::{
    self, BgNbd, ClvError, Fit, GammaGamma, Summary, TimeUnit, Transaction, Valuation,
};
use tenure_core::model::{parse_date, parse_id, parse_timestamp, utc_date};

use crate::BadInput;

#[derive(Debug, Args)]
pub struct ClvArgs {
    #[command(subcommand)]
    pub command: ClvCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClvCommand {
    /// Fit BG/NBD (purchases) and Gamma-Gamma (spend) to a transactions file.
    ///
    /// The JSON output (`--format json`, or `--save FILE`) is the model file
    /// `tenure clv predict --model` reads.
    Fit(FitArgs),
    /// Each customer's expected purchases, P(alive), expected spend and
    /// discounted CLV over the next --t days.
    ///
    /// With --model, the models come from `tenure clv fit`'s JSON; without,
    /// they are fitted on the same transactions first.
    Predict(PredictArgs),
}

/// The time unit the models count in (the published CDNOW figures are in
/// weeks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnitArg {
    Day,
    Week,
}

impl UnitArg {
    fn unit(self) -> TimeUnit {
        match self {
            UnitArg::Day => TimeUnit::Day,
            UnitArg::Week => TimeUnit::Week,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FitFormat {
    /// For people, rounded.
    Table,
    /// The model file: not rounded.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PredictFormat {
    /// Aligned columns for people, rounded.
    Table,
    /// One object with every customer, not rounded.
    Json,
    /// CSV with a header row, not rounded.
    Csv,
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// CSV file with a header and the columns customer_id, date
    /// (YYYY-MM-DD, or an RFC 3339 timestamp: its UTC date) and amount
    /// (a decimal such as 29.33, not negative); other columns are ignored.
    #[arg(long, value_name = "FILE")]
    pub transactions: PathBuf,
    /// Last day of the calibration period, inclusive (default: the file's
    /// last date); later transactions are left out.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub calibration_end: Option<String>,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The unit the models count time in; α scales with it.
    #[arg(long, value_enum, default_value = "day")]
    pub unit: UnitArg,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FitFormat,
    /// Also write the model file (the JSON form) here.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Print the time each step took to standard error (for
    /// scripts/bench-clv.sh).
    #[arg(long)]
    pub timings: bool,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The model file written by `tenure clv fit --save` (or its
    /// `--format json`); without it the models are fitted on the
    /// transactions.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// The unit to fit in, without --model (with --model, the model's).
    #[arg(long, value_enum)]
    pub unit: Option<UnitArg>,
    /// The horizon: days after the calibration end.
    #[arg(long = "t", value_name = "DAYS", default_value_t = 365.0)]
    pub t: f64,
    /// Discount rate per month (30.4375 days) for CLV, 0.01 = 1 %.
    #[arg(long, value_name = "RATE", conflicts_with = "annual_discount")]
    pub monthly_discount: Option<f64>,
    /// Discount rate per year instead, compounded monthly (0.1 = 10 %).
    #[arg(long, value_name = "RATE")]
    pub annual_discount: Option<f64>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: PredictFormat,
}

/// The monthly discount rate when neither option is given (as `lifetimes`).
const DEFAULT_MONTHLY_DISCOUNT: f64 = 0.01;

pub fn run(args: ClvArgs) -> Result<()> {
    match args.command {
        ClvCommand::Fit(a) => fit(a),
        ClvCommand::Predict(a) => predict(a),
    }
}

/// The transactions of a file and its last date.
struct Loaded {
    transactions: Vec<Transaction>,
    last: Date,
}

/// Problems reported at most, as the importers do.
const MAX_PROBLEMS: usize = 20;

/// Reads a transactions CSV file, refusing it with every problem (up to
/// 20) named by file, line and column.
fn read_transactions(path: &Path) -> Result<Loaded> {
    let name = path.display().to_string();
    let file =
        std::fs::File::open(path).map_err(|e| BadInput(format!("cannot read {name}: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(std::io::BufReader::new(file));
    let mut problems: Vec<String> = Vec::new();
    let refuse = |problems: Vec<String>| -> anyhow::Error {
        let more = if problems.len() >= MAX_PROBLEMS {
            format!("\n(stopped after the first {MAX_PROBLEMS} problems)")
        } else {
            String::new()
        };
        BadInput(format!("{}{more}", problems.join("\n"))).into()
    };
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_ascii_lowercase()).collect(),
        Err(e) => {
            return Err(refuse(vec![format!(
                "{name} line 1: cannot read the header: {e}"
            )]));
        }
    };
    let mut column = |wanted: &str| -> Option<usize> {
        let at = header.iter().position(|c| c == wanted);
        if at.is_none() {
            problems.push(format!(
                "{name} line 1, column {wanted:?}: the column is missing (the file needs customer_id, date and amount)"
            ));
        }
        at
    };
    let (Some(id_at), Some(date_at), Some(amount_at)) =
        (column("customer_id"), column("date"), column("amount"))
    else {
        return Err(refuse(problems));
    };
    let mut transactions = Vec::new();
    let mut last: Option<Date> = None;
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                problems.push(format!("{name} line {line}: cannot read the row: {e}"));
                if problems.len() >= MAX_PROBLEMS
                    || !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. })
                {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        let mut problem = |col: &str, message: String| {
            problems.push(format!("{name} line {line}, column {col:?}: {message}"));
        };
        let customer = parse_id(&record[id_at]).map_err(|e| problem("customer_id", e.0));
        let day = parse_day(&record[date_at]).map_err(|e| problem("date", e));
        let amount = parse_amount(&record[amount_at]).map_err(|e| problem("amount", e));
        if let (Ok(customer), Ok(day), Ok(amount)) = (customer, day, amount) {
            last = Some(last.map_or(day, |l| l.max(day)));
            transactions.push(Transaction {
                customer,
                day,
                amount,
            });
        }
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
    }
    if !problems.is_empty() {
        return Err(refuse(problems));
    }
    let last = last.ok_or_else(|| BadInput(format!("{name} has no transactions")))?;
    Ok(Loaded { transactions, last })
}

/// A date `YYYY-MM-DD`, or the UTC date of an RFC 3339 timestamp.
fn parse_day(s: &str) -> Result<Date, String> {
    let t = s.trim();
    if t.len() == 10 {
        return parse_date(t).map_err(|e| e.0);
    }
    parse_timestamp(t)
        .map(utc_date)
        .map_err(|_| format!("expected a date YYYY-MM-DD or an RFC 3339 timestamp, got {s:?}"))
}

/// A non-negative decimal amount in currency units, such as `29.33`.
fn parse_amount(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let valid = !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.bytes().all(|c| c.is_ascii_digit())
        && body.len() <= 30;
    if !valid {
        return Err(format!("expected an amount such as 29.33, got {s:?}"));
    }
    if t.starts_with('-') {
        return Err(format!(
            "{s:?} is negative: a purchase's amount is 0 or more (leave refunds out)"
        ));
    }
    body.parse::<f64>()
        .map_err(|_| format!("expected an amount such as 29.33, got {s:?}"))
}

fn calibration_end(args: &DataArgs, loaded: &Loaded) -> Result<Date> {
    match &args.calibration_end {
        Some(s) => parse_date(s).map_err(|e| BadInput(format!("--calibration-end: {e}")).into()),
        None => Ok(loaded.last),
    }
}

/// A model error as bad input: the data cannot carry the model.
fn refused(file: &Path, e: ClvError) -> anyhow::Error {
    anyhow::Error::new(BadInput(format!("{}: {e}", file.display())))
}

/// The fitted models as the model file holds them.
#[derive(Debug, Serialize, Deserialize)]
struct ModelFile {
    unit: String,
    calibration_end: String,
    customers: usize,
    repeat_customers: usize,
    transactions: usize,
    after_calibration: usize,
    bg_nbd: BgNbdJson,
    gamma_gamma: GammaGammaJson,
}

#[derive(Debug, Serialize, Deserialize)]
struct BgNbdJson {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    #[serde(default)]
    log_likelihood: Option<f64>,
    #[serde(default)]
    iterations: Option<u64>,
    #[serde(default)]
    customers: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize)]
struct GammaGammaJson {
    p: f64,
    q: f64,
    v: f64,
    /// The population's mean purchase value, p·v ÷ (q − 1).
    #[serde(default)]
    mean_spend: Option<f64>,
    #[serde(default)]
    log_likelihood: Option<f64>,
    #[serde(default)]
    iterations: Option<u64>,
    #[serde(default)]
    customers: Option<usize>,
}

struct Fitted {
    purchases: Fit<BgNbd>,
    spend: Fit<GammaGamma>,
}

fn fit_models(file: &Path, summary: &Summary, timings: &mut Timings) -> Result<Fitted> {
    let purchases = clv::fit_bg_nbd(&summary.rfm()).map_err(|e| refused(file, e))?;
    timings.lap("BG/NBD fit");
    let spend = clv::fit_gamma_gamma(&summary.spend()).map_err(|e| refused(file, e))?;
    timings.lap("Gamma-Gamma fit");
    Ok(Fitted { purchases, spend })
}

/// The time each step took, printed to standard error by `--timings`.
struct Timings {
    on: bool,
    start: std::time::Instant,
    last: std::time::Instant,
    laps: Vec<String>,
}

impl Timings {
    fn new(on: bool) -> Timings {
        let now = std::time::Instant::now();
        Timings {
            on,
            start: now,
            last: now,
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, what: &str) {
        if self.on {
            let now = std::time::Instant::now();
            let ms = (now - self.last).as_secs_f64() * 1000.0;
            self.laps.push(format!("{what} {ms:.3} ms"));
            self.last = now;
        }
    }

    fn print(&mut self) {
        if self.on {
            self.lap("output");
            let total = self.start.elapsed().as_secs_f64() * 1000.0;
            eprintln!("timings: {}; total {total:.3} ms", self.laps.join(", "));
        }
    }
}

fn model_file(summary: &Summary, transactions: usize, f: &Fitted) -> ModelFile {
    let (b, g) = (f.purchases.model, f.spend.model);
    ModelFile {
        unit: summary.unit.name().to_string(),
        calibration_end: summary.calibration_end.to_string(),
        customers: summary.customers.len(),
        repeat_customers: summary.repeat_customers(),
        transactions,
        after_calibration: summary.after_calibration,
        bg_nbd: BgNbdJson {
            r: b.r,
            alpha: b.alpha,
            a: b.a,
            b: b.b,
            log_likelihood: Some(f.purchases.log_likelihood),
            iterations: Some(f.purchases.iterations),
            customers: Some(f.purchases.customers),
        },
        gamma_gamma: GammaGammaJson {
            p: g.p,
            q: g.q,
            v: g.v,
            mean_spend: g.population_mean(),
            log_likelihood: Some(f.spend.log_likelihood),
            iterations: Some(f.spend.iterations),
            customers: Some(f.spend.customers),
        },
    }
}

fn fit(args: FitArgs) -> Result<()> {
    let mut timings = Timings::new(args.timings);
    let loaded = read_transactions(&args.data.transactions)?;
    timings.lap("reading the file");
    let end = calibration_end(&args.data, &loaded)?;
    let summary = clv::summarize(&loaded.transactions, end, args.unit.unit());
    timings.lap("summary");
    let fitted = fit_models(&args.data.transactions, &summary, &mut timings)?;
    let model = model_file(&summary, loaded.transactions.len(), &fitted);
    if let Some(path) = &args.save {
        let text = serde_json::to_string_pretty(&model)? + "\n";
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        FitFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &model)?;
            writeln!(out)?;
        }
        FitFormat::Table => {
            let (b, g) = (&model.bg_nbd, &model.gamma_gamma);
            writeln!(
                out,
                "{} customers ({} with repeat purchases), {} transactions to {} ({} later left out); time in {}s",
                model.customers,
                model.repeat_customers,
                model.transactions - model.after_calibration,
                model.calibration_end,
                model.after_calibration,
                model.unit
            )?;
            writeln!(
                out,
                "BG/NBD (purchases)   r {:.4}  alpha {:.4}  a {:.4}  b {:.4}   log-likelihood {:.2}",
                b.r,
                b.alpha,
                b.a,
                b.b,
                b.log_likelihood.unwrap_or(f64::NAN)
            )?;
            writeln!(
                out,
                "Gamma-Gamma (spend)  p {:.4}  q {:.4}  v {:.4}   log-likelihood {:.2}, {} customers",
                g.p,
                g.q,
                g.v,
                g.log_likelihood.unwrap_or(f64::NAN),
                g.customers.unwrap_or(0)
            )?;
            match g.mean_spend {
                Some(m) => writeln!(out, "Mean purchase value across customers: {m:.2}")?,
                None => writeln!(
                    out,
                    "Mean purchase value across customers: infinite (q <= 1): no CLV"
                )?,
            }
        }
    }
    out.flush()?;
    timings.print();
    Ok(())
}

/// Reads a model file written by `fit`.
fn read_model(path: &Path) -> Result<ModelFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", path.display())))?;
    let model: ModelFile = serde_json::from_str(&text).map_err(|e| {
        BadInput(format!(
            "{} line {}: not a model file of `tenure clv fit --format json`: {e}",
            path.display(),
            e.line()
        ))
    })?;
    let positive = [
        model.bg_nbd.r,
        model.bg_nbd.alpha,
        model.bg_nbd.a,
        model.bg_nbd.b,
        model.gamma_gamma.p,
        model.gamma_gamma.q,
        model.gamma_gamma.v,
    ];
    if positive.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(BadInput(format!(
            "{}: every parameter must be a positive number",
            path.display()
        ))
        .into());
    }
    if TimeUnit::parse(&model.unit).is_none() {
        return Err(BadInput(format!(
            "{}: unit {:?} is neither day nor week",
            path.display(),
            model.unit
        ))
        .into());
    }
    Ok(model)
}

/// One customer's row of `predict`.
#[derive(Debug, Serialize)]
struct Row<'a> {
    customer_id: &'a str,
    frequency: u32,
    recency: f64,
    age: f64,
    mean_spend: f64,
    expected_purchases: f64,
    p_alive: f64,
    expected_spend: Option<f64>,
    clv: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Predictions<'a> {
    unit: &'static str,
    calibration_end: String,
    horizon_days: f64,
    monthly_discount: f64,
    bg_nbd: BgNbdJson,
    gamma_gamma: GammaGammaJson,
    customers: usize,
    total_expected_purchases: f64,
    total_clv: Option<f64>,
    rows: Vec<Row<'a>>,
}

fn predict(args: PredictArgs) -> Result<()> {
    if !(args.t.is_finite() && args.t >= 0.0) {
        return Err(BadInput(format!(
            "--t: expected a number of days, 0 or more, got {}",
            args.t
        ))
        .into());
    }
    let monthly_discount = match (args.monthly_discount, args.annual_discount) {
        (Some(m), _) => m,
        (None, Some(a)) => clv::monthly_from_annual(a),
        (None, None) => DEFAULT_MONTHLY_DISCOUNT,
    };
    if !(monthly_discount.is_finite() && monthly_discount > -1.0) {
        return Err(BadInput("the discount rate must be a number above -1".into()).into());
    }
    let loaded = read_transactions(&args.data.transactions)?;
    let end = calibration_end(&args.data, &loaded)?;
    let (unit, purchases, spend) = match &args.model {
        Some(path) => {
            let model = read_model(path)?;
            let unit = TimeUnit::parse(&model.unit).unwrap_or(TimeUnit::Day);
            if let Some(asked) = args.unit
                && asked.unit() != unit
            {
                return Err(BadInput(format!(
                    "--unit {} differs from the model's unit ({}) in {}",
                    asked.unit().name(),
                    unit.name(),
                    path.display()
                ))
                .into());
            }
            (unit, model.bg_nbd, model.gamma_gamma)
        }
        None => {
            let unit = args.unit.unwrap_or(UnitArg::Day).unit();
            let summary = clv::summarize(&loaded.transactions, end, unit);
            let fitted = fit_models(&args.data.transactions, &summary, &mut Timings::new(false))?;
            let model = model_file(&summary, loaded.transactions.len(), &fitted);
            (unit, model.bg_nbd, model.gamma_gamma)
        }
    };
    let summary = clv::summarize(&loaded.transactions, end, unit);
    let bg = BgNbd {
        r: purchases.r,
        alpha: purchases.alpha,
        a: purchases.a,
        b: purchases.b,
    };
    let gg = GammaGamma {
        p: spend.p,
        q: spend.q,
        v: spend.v,
    };
    let valuation = Valuation {
        horizon_days: args.t,
        monthly_discount,
    };
    let rows: Vec<Row> = summary
        .customers
        .iter()
        .map(|c| {
            let p = clv::predict(&bg, &gg, unit, c, valuation);
            Row {
                customer_id: &c.customer,
                frequency: c.rfm.frequency,
                recency: c.rfm.recency,
                age: c.rfm.age,
                mean_spend: c.mean_spend,
                expected_purchases: p.expected_purchases,
                p_alive: p.p_alive,
                expected_spend: p.expected_spend,
                clv: p.clv,
            }
        })
        .collect();
    let total_expected_purchases = rows.iter().map(|r| r.expected_purchases).sum();
    let total_clv = rows.iter().map(|r| r.clv).sum::<Option<f64>>();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        PredictFormat::Json => {
            let all = Predictions {
                unit: unit.name(),
                calibration_end: end.to_string(),
                horizon_days: args.t,
                monthly_discount,
                bg_nbd: purchases,
                gamma_gamma: spend,
                customers: rows.len(),
                total_expected_purchases,
                total_clv,
                rows,
            };
            serde_json::to_writer_pretty(&mut out, &all)?;
            writeln!(out)?;
        }
        PredictFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            for r in &rows {
                w.serialize(r)?;
            }
            w.flush()?;
        }
        PredictFormat::Table => {
            writeln!(
                out,
                "{} customers as of {}, the next {} days, {:.2} % discount a month; time in {}s",
                rows.len(),
                end,
                args.t,
                monthly_discount * 100.0,
                unit.name()
            )?;
            let mut table = vec![
                [
                    "customer_id",
                    "frequency",
                    "recency",
                    "age",
                    "mean_spend",
                    "expected_purchases",
                    "p_alive",
                    "expected_spend",
                    "clv",
                ]
                .map(String::from)
                .to_vec(),
            ];
            let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
            for r in &rows {
                table.push(vec![
                    r.customer_id.to_string(),
                    r.frequency.to_string(),
                    format!("{:.2}", r.recency),
                    format!("{:.2}", r.age),
                    format!("{:.2}", r.mean_spend),
                    format!("{:.3}", r.expected_purchases),
                    format!("{:.3}", r.p_alive),
                    opt(r.expected_spend),
                    opt(r.clv),
                ]);
            }
            let widths: Vec<usize> = (0..table[0].len())
                .map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0))
                .collect();
            for row in &table {
                let cells: Vec<String> = row
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        if i == 0 {
                            format!("{v:<w$}", w = widths[i])
                        } else {
                            format!("{v:>w$}", w = widths[i])
                        }
                    })
                    .collect();
                writeln!(out, "{}", cells.join("  "))?;
            }
            writeln!(
                out,
                "Total: {total_expected_purchases:.1} expected purchases, CLV {}",
                opt(total_clv)
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Customer ids seen.
    fn ids(loaded: &Loaded) -> BTreeSet<&str> {
        loaded
            .transactions
            .iter()
            .map(|t| t.customer.as_str())
            .collect()
    }

    #[test]
    fn amounts_and_dates_are_parsed_strictly() {
        assert_eq!(parse_amount("29.33"), Ok(29.33));
        assert_eq!(parse_amount(" 12 "), Ok(12.0));
        assert_eq!(parse_amount(".5"), Ok(0.5));
        assert!(parse_amount("1e3").is_err());
        assert!(parse_amount("").is_err());
        assert!(parse_amount("-3.00").unwrap_err().contains("negative"));
        assert_eq!(parse_day("2025-03-01"), Ok(Date::constant(2025, 3, 1)));
        assert_eq!(
            parse_day("2025-03-01T23:30:00-02:00"),
            Ok(Date::constant(2025, 3, 2))
        );
        assert!(parse_day("2025-3-1").is_err());
    }

    #[test]
    fn a_file_is_read_with_extra_columns_ignored() {
        let dir = std::env::temp_dir().join(format!("tenure-clv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        std::fs::write(
            &path,
            "note,customer_id,amount,date\nx,a,10,2025-01-01\ny,b,2.50,2025-01-03\n",
        )
        .unwrap();
        let loaded = read_transactions(&path).unwrap();
        assert_eq!(ids(&loaded), BTreeSet::from(["a", "b"]));
        assert_eq!(loaded.last, Date::constant(2025, 1, 3));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
