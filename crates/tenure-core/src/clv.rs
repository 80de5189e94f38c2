//! Customer lifetime value for transactional (non-contractual) customers:
//! customers who buy when they like and leave without saying so
//! (docs/CLV.md).
//!
//! Two models, both fitted by maximum likelihood:
//!
//! - **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy
//!   way"): while alive, a customer buys as a Poisson process with rate λ,
//!   λ ~ Gamma(r, α) across customers; after each purchase they drop out
//!   with probability p, p ~ Beta(a, b). It reads each customer's RFM
//!   summary: repeat purchases x, the time of the last one t_x and the age
//!   T, all measured from the first purchase.
//! - **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"): each
//!   purchase's value is Gamma(p, ν) with ν ~ Gamma(q, γ) across customers
//!   (`v` here is γ), independent of the purchase process. It reads each
//!   repeat customer's number of repeat purchases and their mean value.
//!
//! From them: the expected purchases in the next t days, the probability
//! that a customer is still alive, the expected value of their purchases,
//! and their discounted lifetime value over a horizon. The fits run
//! L-BFGS (the `argmin` crate) on the mean negative log-likelihood over
//! the logarithms of the parameters, with analytic gradients; Nelder–Mead
//! takes over when the line search gives up, and a fit whose gradient is
//! not flat at the end is refused rather than returned.
//!
//! Pure: transactions in, numbers out, no IO.

use std::cell::RefCell;
use std::collections::HashMap;

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::LBFGS;
use jiff::civil::Date;
use ndarray::Array1;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::model::day_number;

/// The average length of a month in days, as everywhere in Tenure
/// (docs/METRICS.md): discounting counts months of this length.
pub const DAYS_PER_MONTH: f64 = 30.4375;

/// BG/NBD needs at least this many customers to fit its four parameters.
pub const MIN_CUSTOMERS: usize = 10;

/// Gamma-Gamma needs at least this many customers with repeat purchases
/// (and a positive mean spend) to fit its three parameters.
pub const MIN_REPEAT_CUSTOMERS: usize = 5;

/// The unit of time the models count in. The parameters `α` (BG/NBD)
/// scale with it; the published CDNOW figures are in weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Day,
    Week,
}

impl TimeUnit {
    /// The unit's length in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
        }
    }

    pub fn parse(s: &str) -> Option<TimeUnit> {
        match s {
            "day" => Some(TimeUnit::Day),
            "week" => Some(TimeUnit::Week),
            _ => None,
        }
    }
}

/// One purchase: who, on which UTC day, for how much (in currency units,
/// not negative).
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub customer: String,
    pub day: Date,
    pub amount: f64,
}

/// What the purchase model reads of a customer: repeat purchases `x`,
/// recency `t_x` (the last purchase, from the first) and age `T` (the end
/// of calibration, from the first purchase), both in the model's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rfm {
    pub frequency: u32,
    pub recency: f64,
    pub age: f64,
}

/// What the spend model reads of a repeat customer: the number of repeat
/// purchases and their mean value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spend {
    pub frequency: u32,
    pub mean: f64,
}

/// One customer's summary over the calibration period.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary {
    pub customer: String,
    pub first: Date,
    pub last: Date,
    /// Transactions in the calibration period (several on one day count
    /// once in `rfm.frequency`).
    pub transactions: usize,
    pub rfm: Rfm,
    /// The mean value of the repeat purchases (each day's purchases added
    /// up; the first day left out, as the models want); 0 without any.
    pub mean_spend: f64,
}

impl CustomerSummary {
    /// The spend model's input, for customers with repeat purchases.
    pub fn spend(&self) -> Option<Spend> {
        (self.rfm.frequency > 0).then_some(Spend {
            frequency: self.rfm.frequency,
            mean: self.mean_spend,
        })
    }
}

/// Every customer's summary, ordered by customer id.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub calibration_end: Date,
    pub unit: TimeUnit,
    pub customers: Vec<CustomerSummary>,
    /// Transactions after the calibration end, left out.
    pub after_calibration: usize,
}

impl Summary {
    pub fn rfm(&self) -> Vec<Rfm> {
        self.customers.iter().map(|c| c.rfm).collect()
    }

    /// The spend model's input: repeat customers with a positive mean spend.
    pub fn spend(&self) -> Vec<Spend> {
        self.customers
            .iter()
            .filter_map(CustomerSummary::spend)
            .filter(|s| s.mean > 0.0)
            .collect()
    }

    /// Customers with repeat purchases.
    pub fn repeat_customers(&self) -> usize {
        self.customers
            .iter()
            .filter(|c| c.rfm.frequency > 0)
            .count()
    }
}

/// Summarises transactions as of `calibration_end` (inclusive): purchases
/// on one day are one purchase (their amounts added up), a customer's
/// frequency is their purchase days after the first, recency is the last
/// purchase day minus the first and age is the calibration end minus the
/// first, in `unit`s. Transactions after the end are left out, and so are
/// customers whose first purchase comes after it.
pub fn summarize(transactions: &[Transaction], calibration_end: Date, unit: TimeUnit) -> Summary {
    let end = day_number(calibration_end);
    let mut rows: Vec<(&str, i32, f64, Date)> = Vec::with_capacity(transactions.len());
    let mut after_calibration = 0;
    // Transactions share few dates: each date's day number once.
    let mut day_numbers: HashMap<Date, i32> = HashMap::new();
    for t in transactions {
        let day = *day_numbers
            .entry(t.day)
            .or_insert_with(|| day_number(t.day));
        if day > end {
            after_calibration += 1;
        } else {
            rows.push((t.customer.as_str(), day, t.amount, t.day));
        }
    }
    rows.sort_unstable_by(|x, y| x.0.cmp(y.0).then(x.1.cmp(&y.1)));
    let mut customers = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let id = rows[i].0;
        let (first, first_date) = (rows[i].1, rows[i].3);
        let (mut last, mut last_date) = (first, first_date);
        let mut count = 0;
        let mut days = 0u32;
        let mut repeat_total = 0.0;
        while i < rows.len() && rows[i].0 == id {
            let (_, day, amount, date) = rows[i];
            if day != last {
                days += 1;
                last = day;
                last_date = date;
            }
            if day != first {
                repeat_total += amount;
            }
            count += 1;
            i += 1;
        }
        customers.push(CustomerSummary {
            customer: id.to_string(),
            first: first_date,
            last: last_date,
            transactions: count,
            rfm: Rfm {
                frequency: days,
                recency: f64::from(last - first) / unit.days(),
                age: f64::from(end - first) / unit.days(),
            },
            mean_spend: if days > 0 {
                repeat_total / f64::from(days)
            } else {
                0.0
            },
        });
    }
    Summary {
        calibration_end,
        unit,
        customers,
        after_calibration,
    }
}

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClvError {
    /// Fewer customers than the model has any business being fitted on.
    #[error(
        "{customers} customer(s) in the calibration period; the purchase model needs at least {min}"
    )]
    TooFewCustomers { customers: usize, min: usize },
    /// Nobody bought twice: the data says nothing about the purchase rate.
    #[error(
        "no customer made a repeat purchase in the calibration period: the purchase model cannot be fitted"
    )]
    NoRepeatPurchases,
    /// Too few repeat customers with a positive mean spend.
    #[error(
        "{customers} customer(s) with repeat purchases of positive value; the spend model needs at least {min}"
    )]
    TooFewRepeatCustomers { customers: usize, min: usize },
    /// The optimiser did not reach a maximum of the likelihood.
    #[error("the {model} fit did not converge: {detail}")]
    NotConverged { model: &'static str, detail: String },
}

/// A fitted model with how the fit went.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit<M> {
    pub model: M,
    /// The log-likelihood of the data at the fitted parameters (summed over
    /// customers).
    pub log_likelihood: f64,
    /// Optimiser iterations used.
    pub iterations: u64,
    /// Customers the fit read.
    pub customers: usize,
}

/// The BG/NBD purchase model's parameters: purchase rates Gamma(r, α)
/// (α in the model's time unit), dropout probability Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// `ln(e^x + e^y)` without overflow.
fn log_add_exp(x: f64, y: f64) -> f64 {
    let m = x.max(y);
    m + (-(x - y).abs()).exp().ln_1p()
}

impl BgNbd {
    /// One customer's log-likelihood (equation 6 of the paper, with its
    /// last two terms added in log space).
    pub fn log_likelihood(&self, c: Rfm) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(c.frequency);
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + c.age).ln();
        if c.frequency == 0 {
            a1 + a2 + a3
        } else {
            let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + c.recency).ln();
            a1 + a2 + log_add_exp(a3, a4)
        }
    }

    /// The probability that the customer is still alive at the end of
    /// calibration (equation A.10 of the paper's note): 1 without repeat
    /// purchases, since the model lets customers drop out only right after
    /// a purchase.
    pub fn p_alive(&self, c: Rfm) -> f64 {
        if c.frequency == 0 {
            return 1.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(c.frequency);
        let log_odds =
            a.ln() - (b + x - 1.0).ln() + (r + x) * ((alpha + c.age) / (alpha + c.recency)).ln();
        1.0 / (1.0 + log_odds.exp())
    }

    /// Expected purchases in the `t` units after the end of calibration,
    /// given the customer's history (equation 10 of the paper).
    pub fn expected_purchases(&self, c: Rfm, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(c.frequency);
        let big_t = c.age;
        let z = t / (alpha + big_t + t);
        let hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let ratio = ((r + x) * ((alpha + big_t) / (alpha + big_t + t)).ln()).exp();
        let numerator = (a + b + x - 1.0) / (a - 1.0) * (1.0 - ratio * hyp);
        let denominator = if c.frequency == 0 {
            1.0
        } else {
            1.0 + a / (b + x - 1.0) * ((r + x) * ((alpha + big_t) / (alpha + c.recency)).ln()).exp()
        };
        numerator / denominator
    }

    /// Expected purchases of a new customer in their first `t` units
    /// (equation 9 of the paper).
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let z = t / (alpha + t);
        (a + b - 1.0) / (a - 1.0)
            * (1.0 - (r * (alpha / (alpha + t)).ln()).exp() * hyp2f1(r, b, a + b - 1.0, z))
    }
}

/// The Gaussian hypergeometric function ₂F₁(a, b; c; z) for 0 ≤ z < 1 by
/// its power series, which converges there (geometrically, with ratio z).
fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..1_000_000 {
        let n = f64::from(n);
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-16 * sum.abs() {
            break;
        }
    }
    sum
}

/// The Gamma-Gamma spend model's parameters: a purchase's value is
/// Gamma(p, ν) with ν ~ Gamma(q, v).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl GammaGamma {
    /// One repeat customer's log-likelihood of their mean spend `m` over
    /// `x` purchases (the density of z̄ in "RFM and CLV", equation 3).
    pub fn log_likelihood(&self, s: Spend) -> f64 {
        let GammaGamma { p, q, v } = *self;
        let x = f64::from(s.frequency);
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * v.ln()
            + (px - 1.0) * s.mean.ln()
            + px * x.ln()
            - (px + q) * (x * s.mean + v).ln()
    }

    /// The mean value of a purchase across customers, p·v ÷ (q − 1); none
    /// when q ≤ 1 (the mean is infinite).
    pub fn population_mean(&self) -> Option<f64> {
        (self.q > 1.0).then(|| self.p * self.v / (self.q - 1.0))
    }

    /// The expected value of a customer's future purchases given `x`
    /// repeat purchases of mean value `m` (equation 5): a weighted mean of
    /// the population's and the customer's. Without repeat purchases it
    /// is the population mean.
    pub fn expected_spend(&self, frequency: u32, mean: f64) -> Option<f64> {
        if frequency == 0 {
            return self.population_mean();
        }
        let x = f64::from(frequency);
        let d = self.p * x + self.q - 1.0;
        (d > 0.0).then(|| self.p * (self.v + x * mean) / d)
    }
}

/// How a future is valued: the horizon and the monthly discount rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Valuation {
    /// Days after the end of calibration.
    pub horizon_days: f64,
    /// Discount rate per month of [`DAYS_PER_MONTH`] days (0.01 = 1 %).
    pub monthly_discount: f64,
}

/// The monthly rate that compounds to an annual one.
pub fn monthly_from_annual(annual: f64) -> f64 {
    (1.0 + annual).powf(1.0 / 12.0) - 1.0
}

/// A customer's future, from the two models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub expected_purchases: f64,
    pub p_alive: f64,
    /// None when the spend model has no finite mean (q ≤ 1).
    pub expected_spend: Option<f64>,
    /// The discounted value of the purchases expected over the horizon.
    pub clv: Option<f64>,
}

/// Predicts a customer's purchases, survival, spend and discounted value
/// over `valuation`'s horizon. The horizon is cut into months of
/// [`DAYS_PER_MONTH`] days (the last may be shorter); each month's expected
/// purchases × expected spend is discounted by (1 + monthly rate) to the
/// power of the months elapsed at its end, as `lifetimes` does.
pub fn predict(
    purchases: &BgNbd,
    spend: &GammaGamma,
    unit: TimeUnit,
    c: &CustomerSummary,
    valuation: Valuation,
) -> Prediction {
    let horizon = valuation.horizon_days.max(0.0);
    let expected_purchases = purchases.expected_purchases(c.rfm, horizon / unit.days());
    let expected_spend = spend.expected_spend(c.rfm.frequency, c.mean_spend);
    let clv = expected_spend.map(|value| {
        let mut total = 0.0;
        let mut before = 0.0;
        let mut month = 1.0;
        loop {
            let end_days = (month * DAYS_PER_MONTH).min(horizon);
            let cumulative = purchases.expected_purchases(c.rfm, end_days / unit.days());
            let months = end_days / DAYS_PER_MONTH;
            total += (cumulative - before) / (1.0 + valuation.monthly_discount).powf(months);
            before = cumulative;
            if end_days >= horizon {
                break;
            }
            month += 1.0;
        }
        total * value
    });
    Prediction {
        expected_purchases,
        p_alive: purchases.p_alive(c.rfm),
        expected_spend,
        clv,
    }
}

// ---------------------------------------------------------------------
// Fitting.

/// A problem for argmin over the logarithms of a model's parameters: the
/// mean negative log-likelihood and its gradient, computed together and
/// kept for the point last asked (L-BFGS asks for both at each point).
trait Objective {
    /// The mean negative log-likelihood and its gradient with respect to
    /// the log-parameters.
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>);
}

/// A point with the cost and gradient there.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

struct Problem<O> {
    objective: O,
    last: RefCell<Option<Evaluated>>,
}

impl<O: Objective> Problem<O> {
    fn new(objective: O) -> Problem<O> {
        Problem {
            objective,
            last: RefCell::new(None),
        }
    }

    fn at(&self, theta: &Array1<f64>) -> (f64, Vec<f64>) {
        let theta = theta.as_slice().expect("a contiguous parameter vector");
        if let Some((at, cost, grad)) = &*self.last.borrow()
            && at.as_slice() == theta
        {
            return (*cost, grad.clone());
        }
        let (cost, grad) = self.objective.eval(theta);
        // Non-finite values (parameters run off to extremes) are reported as
        // a large cost, so the line search steps back instead of failing.
        let (cost, grad) = if cost.is_finite() && grad.iter().all(|g| g.is_finite()) {
            (cost, grad)
        } else {
            (f64::MAX / 4.0, vec![0.0; theta.len()])
        };
        *self.last.borrow_mut() = Some((theta.to_vec(), cost, grad.clone()));
        (cost, grad)
    }
}

impl<O: Objective> CostFunction for Problem<O> {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, theta: &Array1<f64>) -> Result<f64, argmin::core::Error> {
        Ok(self.at(theta).0)
    }
}

impl<O: Objective> Gradient for Problem<O> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(&self, theta: &Array1<f64>) -> Result<Array1<f64>, argmin::core::Error> {
        Ok(Array1::from(self.at(theta).1))
    }
}

/// The gradient's largest component at which a fit counts as converged
/// (the mean log-likelihood per customer, per unit of log-parameter).
const GRADIENT_TOLERANCE: f64 = 1e-6;

/// Minimises an objective from `start` (log-parameters): L-BFGS, and when
/// it stops short of a flat gradient, Nelder–Mead from where it stopped
/// and L-BFGS again from there. Returns the log-parameters, the mean
/// negative log-likelihood and the iterations used.
fn minimise<O: Objective>(
    objective: O,
    start: &[f64],
    model: &'static str,
    names: &[&str],
) -> Result<(Vec<f64>, f64, u64), ClvError> {
    let problem = Problem::new(objective);
    let not_converged = |detail: String| ClvError::NotConverged { model, detail };
    let mut iterations = 0;
    let mut theta = start.to_vec();
    for round in 0..3 {
        if round > 0 {
            // Nelder–Mead around the point L-BFGS gave up on.
            let mut simplex = vec![Array1::from(theta.clone())];
            for i in 0..theta.len() {
                let mut p = theta.clone();
                p[i] += 0.5;
                simplex.push(Array1::from(p));
            }
            let solver = NelderMead::new(simplex)
                .with_sd_tolerance(1e-12)
                .map_err(|e| not_converged(e.to_string()))?;
            let res = Executor::new(&problem, solver)
                .configure(|s| s.max_iters(5_000))
                .timer(false)
                .run()
                .map_err(|e| not_converged(e.to_string()))?;
            iterations += res.state().get_iter();
            if let Some(best) = res.state().get_best_param() {
                theta = best.to_vec();
            }
        }
        let linesearch = MoreThuenteLineSearch::new();
        let solver = LBFGS::new(linesearch, 7)
            .with_tolerance_grad(GRADIENT_TOLERANCE / 10.0)
            .and_then(|s| s.with_tolerance_cost(0.0))
            .map_err(|e| not_converged(e.to_string()))?;
        let start = Array1::from(theta.clone());
        let run = Executor::new(&problem, solver)
            .configure(|s| s.param(start).max_iters(500))
            .timer(false)
            .run();
        if let Ok(res) = run {
            iterations += res.state().get_iter();
            if let Some(best) = res.state().get_best_param() {
                theta = best.to_vec();
            }
        }
        let (cost, grad) = problem.at(&Array1::from(theta.clone()));
        let worst = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        if cost < f64::MAX / 8.0 && worst <= GRADIENT_TOLERANCE {
            if let Some(detail) = runaway(&theta, names, 18.0) {
                return Err(not_converged(detail));
            }
            return Ok((theta, cost, iterations));
        }
    }
    let (_, grad) = problem.at(&Array1::from(theta.clone()));
    let worst = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let at: Vec<String> = names
        .iter()
        .zip(&theta)
        .map(|(n, t)| format!("{n} = {:.4e}", t.exp()))
        .collect();
    Err(not_converged(runaway(&theta, names, 8.0).unwrap_or_else(|| {
        format!(
            "after {iterations} iterations (at {}) the gradient is still {worst:.2e}, above {GRADIENT_TOLERANCE:e}; the data may not fit the model",
            at.join(", ")
        )
    })))
}

/// The parameter furthest from 1 on the log scale, when it is beyond
/// e^±`limit`: the likelihood keeps growing towards a boundary (for
/// BG/NBD, e.g., customers who all buy at the same rate send r and α to
/// infinity), so no finite estimate exists.
fn runaway(theta: &[f64], names: &[&str], limit: f64) -> Option<String> {
    let (i, t) = theta
        .iter()
        .enumerate()
        .max_by(|x, y| x.1.abs().total_cmp(&y.1.abs()))?;
    (t.abs() > limit).then(|| {
        format!(
            "{} runs off to {:.3e}: the likelihood has no maximum at finite parameters (too little variety in the data for the model)",
            names[i],
            t.exp()
        )
    })
}

impl<O: Objective> CostFunction for &Problem<O> {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, theta: &Array1<f64>) -> Result<f64, argmin::core::Error> {
        (*self).cost(theta)
    }
}

impl<O: Objective> Gradient for &Problem<O> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(&self, theta: &Array1<f64>) -> Result<Array1<f64>, argmin::core::Error> {
        (*self).gradient(theta)
    }
}

/// BG/NBD's data, grouped: customers with the same (x, t_x, T) once with
/// a weight, and the distinct frequencies with their counts (the
/// ln-gamma terms depend on x alone).
struct BgNbdData {
    /// (x, t_x, T, customers).
    rows: Vec<(u32, f64, f64, f64)>,
    /// (x, customers).
    by_frequency: Vec<(u32, f64)>,
    total: f64,
}

impl BgNbdData {
    fn new(data: &[Rfm]) -> BgNbdData {
        let mut rows: HashMap<(u32, u64, u64), f64> = HashMap::new();
        let mut by_frequency: HashMap<u32, f64> = HashMap::new();
        for c in data {
            *rows
                .entry((c.frequency, c.recency.to_bits(), c.age.to_bits()))
                .or_default() += 1.0;
            *by_frequency.entry(c.frequency).or_default() += 1.0;
        }
        let mut rows: Vec<_> = rows
            .into_iter()
            .map(|((x, tx, t), n)| (x, f64::from_bits(tx), f64::from_bits(t), n))
            .collect();
        rows.sort_by(|p, q| p.partial_cmp(q).unwrap_or(std::cmp::Ordering::Equal));
        let mut by_frequency: Vec<_> = by_frequency.into_iter().collect();
        by_frequency.sort_by_key(|p| p.0);
        BgNbdData {
            rows,
            by_frequency,
            total: data.len() as f64,
        }
    }
}

impl Objective for BgNbdData {
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (r, alpha, a, b) = (
            theta[0].exp(),
            theta[1].exp(),
            theta[2].exp(),
            theta[3].exp(),
        );
        // Terms that depend on x alone.
        let mut ll = self.total * r * alpha.ln();
        let (mut dr, mut dalpha, mut da, mut db) =
            (self.total * alpha.ln(), self.total * r / alpha, 0.0, 0.0);
        let (psi_r, psi_ab, psi_b) = (digamma(r), digamma(a + b), digamma(b));
        let (lg_r, lg_ab, lg_b) = (ln_gamma(r), ln_gamma(a + b), ln_gamma(b));
        for &(x, n) in &self.by_frequency {
            let x = f64::from(x);
            ll +=
                n * (ln_gamma(r + x) - lg_r + lg_ab + ln_gamma(b + x) - lg_b - ln_gamma(a + b + x));
            dr += n * (digamma(r + x) - psi_r);
            let psi_abx = digamma(a + b + x);
            da += n * (psi_ab - psi_abx);
            db += n * (psi_ab + digamma(b + x) - psi_b - psi_abx);
        }
        // The last term, ln(e^A3 + [x > 0] e^A4), per customer.
        let ln_a = a.ln();
        for &(x, tx, big_t, n) in &self.rows {
            let xf = f64::from(x);
            let l_t = (alpha + big_t).ln();
            let a3 = -(r + xf) * l_t;
            if x == 0 {
                ll += n * a3;
                dr -= n * l_t;
                dalpha -= n * (r + xf) / (alpha + big_t);
                continue;
            }
            let l_tx = (alpha + tx).ln();
            let a4 = ln_a - (b + xf - 1.0).ln() - (r + xf) * l_tx;
            ll += n * log_add_exp(a3, a4);
            // Weights of the two terms in their sum.
            let w4 = 1.0 / (1.0 + (a3 - a4).exp());
            let w3 = 1.0 - w4;
            dr -= n * (w3 * l_t + w4 * l_tx);
            dalpha -= n * (r + xf) * (w3 / (alpha + big_t) + w4 / (alpha + tx));
            da += n * w4 / a;
            db -= n * w4 / (b + xf - 1.0);
        }
        let k = -1.0 / self.total;
        (
            k * ll,
            vec![k * dr * r, k * dalpha * alpha, k * da * a, k * db * b],
        )
    }
}

/// Fits BG/NBD to customers' RFM summaries by maximum likelihood.
pub fn fit_bg_nbd(data: &[Rfm]) -> Result<Fit<BgNbd>, ClvError> {
    if data.len() < MIN_CUSTOMERS {
        return Err(ClvError::TooFewCustomers {
            customers: data.len(),
            min: MIN_CUSTOMERS,
        });
    }
    if data.iter().all(|c| c.frequency == 0) {
        return Err(ClvError::NoRepeatPurchases);
    }
    // Start from rates of about one purchase per mean age and even odds
    // of dropping out: α on the scale of the data whatever the unit.
    let mean_age = data.iter().map(|c| c.age).sum::<f64>() / data.len() as f64;
    let start = [0.0, mean_age.max(1e-3).ln(), 0.0, 0.0];
    let objective = BgNbdData::new(data);
    let (theta, cost, iterations) =
        minimise(objective, &start, "BG/NBD", &["r", "alpha", "a", "b"])?;
    Ok(Fit {
        model: BgNbd {
            r: theta[0].exp(),
            alpha: theta[1].exp(),
            a: theta[2].exp(),
            b: theta[3].exp(),
        },
        log_likelihood: -cost * data.len() as f64,
        iterations,
        customers: data.len(),
    })
}

/// Gamma-Gamma's data: per customer x, m and the constant
/// ln m and ln x; the distinct frequencies with their counts.
struct GammaGammaData {
    /// (x, m, ln m, ln x).
    rows: Vec<(f64, f64, f64, f64)>,
    /// (x, customers).
    by_frequency: Vec<(u32, f64)>,
    total: f64,
}

impl Objective for GammaGammaData {
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (p, q, v) = (theta[0].exp(), theta[1].exp(), theta[2].exp());
        let (lg_q, psi_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
        let mut ll = self.total * (q * ln_v - lg_q);
        let (mut dp, mut dq, mut dv) = (0.0, self.total * (ln_v - psi_q), self.total * q / v);
        for &(x, n) in &self.by_frequency {
            let px = p * f64::from(x);
            ll += n * (ln_gamma(px + q) - ln_gamma(px));
            let psi_pxq = digamma(px + q);
            dp += n * f64::from(x) * (psi_pxq - digamma(px));
            dq += n * psi_pxq;
        }
        for &(x, m, ln_m, ln_x) in &self.rows {
            let px = p * x;
            let l = (x * m + v).ln();
            ll += (px - 1.0) * ln_m + px * ln_x - (px + q) * l;
            dp += x * (ln_m + ln_x - l);
            dq -= l;
            dv -= (px + q) / (x * m + v);
        }
        let k = -1.0 / self.total;
        (k * ll, vec![k * dp * p, k * dq * q, k * dv * v])
    }
}

/// Fits Gamma-Gamma to repeat customers' mean spend by maximum likelihood.
/// Customers without repeat purchases or with a mean spend of 0 or less
/// are left out (the model is for positive values).
pub fn fit_gamma_gamma(data: &[Spend]) -> Result<Fit<GammaGamma>, ClvError> {
    let usable: Vec<Spend> = data
        .iter()
        .copied()
        .filter(|s| s.frequency > 0 && s.mean > 0.0 && s.mean.is_finite())
        .collect();
    if usable.len() < MIN_REPEAT_CUSTOMERS {
        return Err(ClvError::TooFewRepeatCustomers {
            customers: usable.len(),
            min: MIN_REPEAT_CUSTOMERS,
        });
    }
    let mut by_frequency: HashMap<u32, f64> = HashMap::new();
    for s in &usable {
        *by_frequency.entry(s.frequency).or_default() += 1.0;
    }
    let mut by_frequency: Vec<_> = by_frequency.into_iter().collect();
    by_frequency.sort_by_key(|p| p.0);
    let objective = GammaGammaData {
        rows: usable
            .iter()
            .map(|s| {
                let x = f64::from(s.frequency);
                (x, s.mean, s.mean.ln(), x.ln())
            })
            .collect(),
        by_frequency,
        total: usable.len() as f64,
    };
    // Start with p = q = 1 and v at the mean spend's scale.
    let mean = usable.iter().map(|s| s.mean).sum::<f64>() / usable.len() as f64;
    let start = [0.0, 0.0, mean.ln()];
    let (theta, cost, iterations) = minimise(objective, &start, "Gamma-Gamma", &["p", "q", "v"])?;
    Ok(Fit {
        model: GammaGamma {
            p: theta[0].exp(),
            q: theta[1].exp(),
            v: theta[2].exp(),
        },
        log_likelihood: -cost * usable.len() as f64,
        iterations,
        customers: usable.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want} (±{tol})");
    }

    fn rfm(frequency: u32, recency: f64, age: f64) -> Rfm {
        Rfm {
            frequency,
            recency,
            age,
        }
    }

    const BG: BgNbd = BgNbd {
        r: 0.5,
        alpha: 3.0,
        a: 0.8,
        b: 2.5,
    };
    const GG: GammaGamma = GammaGamma {
        p: 6.0,
        q: 4.0,
        v: 15.0,
    };

    /// The expected values were computed apart from this code, in Python
    /// with `math.lgamma`, from the formulas of the two papers:
    ///
    /// ```python
    /// def bg_ll(r, al, a, b, x, tx, T):
    ///     A1 = lgamma(r+x) - lgamma(r) + r*log(al)
    ///     A2 = lgamma(a+b) + lgamma(b+x) - lgamma(b) - lgamma(a+b+x)
    ///     A3 = -(r+x)*log(al+T)
    ///     if x == 0: return A1 + A2 + A3
    ///     A4 = log(a) - log(b+x-1) - (r+x)*log(al+tx)
    ///     return A1 + A2 + log(exp(A3) + exp(A4))
    /// def gg_ll(p, q, v, x, m):
    ///     return (lgamma(p*x+q) - lgamma(p*x) - lgamma(q) + q*log(v)
    ///             + (p*x-1)*log(m) + p*x*log(x) - (p*x+q)*log(x*m+v))
    /// ```
    #[test]
    fn log_likelihoods_match_hand_computed_values() {
        close(
            BG.log_likelihood(rfm(0, 0.0, 10.0)),
            -0.7331685343967135,
            1e-12,
        );
        close(
            BG.log_likelihood(rfm(2, 4.5, 10.0)),
            -5.990211962824036,
            1e-12,
        );
        close(
            BG.log_likelihood(rfm(5, 8.0, 12.25)),
            -11.394289909503147,
            1e-12,
        );
        let s = |frequency, mean| Spend { frequency, mean };
        close(GG.log_likelihood(s(1, 20.0)), -3.520042174643976, 1e-12);
        close(GG.log_likelihood(s(3, 35.5)), -4.2255299614432005, 1e-12);
        close(GG.log_likelihood(s(2, 12.25)), -3.5048544037479843, 1e-12);
    }

    /// The objectives the fits minimise are the mean negative of the same
    /// log-likelihoods, and their gradients agree with finite differences.
    #[test]
    fn objectives_and_gradients_agree_with_the_likelihoods() {
        let data = [
            rfm(0, 0.0, 10.0),
            rfm(2, 4.5, 10.0),
            rfm(5, 8.0, 12.25),
            rfm(2, 4.5, 10.0),
        ];
        let theta = [BG.r.ln(), BG.alpha.ln(), BG.a.ln(), BG.b.ln()];
        let objective = BgNbdData::new(&data);
        let (cost, grad) = objective.eval(&theta);
        let want: f64 = data.iter().map(|c| BG.log_likelihood(*c)).sum();
        close(cost, -want / 4.0, 1e-12);
        check_gradient(&objective, &theta, &grad);

        let spends = [(1.0, 20.0), (3.0, 35.5), (2.0, 12.25)];
        let objective = GammaGammaData {
            rows: spends
                .iter()
                .map(|&(x, m): &(f64, f64)| (x, m, m.ln(), x.ln()))
                .collect(),
            by_frequency: vec![(1, 1.0), (2, 1.0), (3, 1.0)],
            total: 3.0,
        };
        let theta = [GG.p.ln(), GG.q.ln(), GG.v.ln()];
        let (cost, grad) = objective.eval(&theta);
        close(
            cost,
            (3.520042174643976 + 4.2255299614432005 + 3.5048544037479843) / 3.0,
            1e-12,
        );
        check_gradient(&objective, &theta, &grad);
    }

    fn check_gradient(objective: &impl Objective, theta: &[f64], grad: &[f64]) {
        for i in 0..theta.len() {
            let h = 1e-6;
            let mut up = theta.to_vec();
            up[i] += h;
            let mut down = theta.to_vec();
            down[i] -= h;
            let numeric = (objective.eval(&up).0 - objective.eval(&down).0) / (2.0 * h);
            close(grad[i], numeric, 1e-7);
        }
    }

    /// Expected values from Python `lifetimes` 0.11.3 with the same
    /// parameters set by hand (`conditional_expected_number_of_purchases_up_to_time(6, x, t_x, T)`,
    /// `conditional_probability_alive`, `expected_number_of_purchases_up_to_time(6)`,
    /// `GammaGammaFitter.conditional_expected_average_profit`).
    #[test]
    fn predictions_match_lifetimes() {
        let cases = [
            (rfm(0, 0.0, 10.0), 0.21398749752082716, 1.0),
            (rfm(2, 4.5, 10.0), 0.5439065417197413, 0.5251763596012853),
            (rfm(5, 8.0, 12.25), 1.1128450732453636, 0.5739981444928521),
        ];
        for (c, purchases, alive) in cases {
            close(BG.expected_purchases(c, 6.0), purchases, 1e-12);
            close(BG.p_alive(c), alive, 1e-12);
        }
        close(BG.expected_purchases_new(6.0), 0.7739034802325019, 1e-12);
        close(
            GG.expected_spend(1, 20.0).unwrap(),
            23.333333333333336,
            1e-12,
        );
        close(
            GG.expected_spend(3, 35.5).unwrap(),
            34.714285714285715,
            1e-12,
        );
        close(GG.expected_spend(0, 0.0).unwrap(), 30.0, 1e-12);
        let infinite_mean = GammaGamma { q: 0.9, ..GG };
        assert_eq!(infinite_mean.expected_spend(0, 0.0), None);
    }

    /// CLV is the expected spend times each month's expected purchases,
    /// discounted month by month; without discount it is spend ×
    /// purchases over the whole horizon.
    #[test]
    fn clv_discounts_month_by_month() {
        let c = CustomerSummary {
            customer: "c".into(),
            first: Date::constant(2025, 1, 1),
            last: Date::constant(2025, 1, 15),
            transactions: 3,
            rfm: rfm(2, 4.5, 10.0),
            mean_spend: 35.5,
        };
        let horizon = 3.0 * DAYS_PER_MONTH;
        let flat = predict(
            &BG,
            &GG,
            TimeUnit::Week,
            &c,
            Valuation {
                horizon_days: horizon,
                monthly_discount: 0.0,
            },
        );
        let spend = GG.expected_spend(2, 35.5).unwrap();
        close(
            flat.expected_purchases,
            BG.expected_purchases(c.rfm, horizon / 7.0),
            1e-12,
        );
        close(flat.clv.unwrap(), spend * flat.expected_purchases, 1e-9);
        let discounted = predict(
            &BG,
            &GG,
            TimeUnit::Week,
            &c,
            Valuation {
                horizon_days: horizon,
                monthly_discount: 0.01,
            },
        );
        let e = |months: f64| BG.expected_purchases(c.rfm, months * DAYS_PER_MONTH / 7.0);
        let want = spend
            * (e(1.0) / 1.01
                + (e(2.0) - e(1.0)) / 1.01f64.powi(2)
                + (e(3.0) - e(2.0)) / 1.01f64.powi(3));
        close(discounted.clv.unwrap(), want, 1e-9);
        close(monthly_from_annual(0.12682503013196977), 0.01, 1e-12);
    }

    fn tx(customer: &str, day: &str, amount: f64) -> Transaction {
        Transaction {
            customer: customer.into(),
            day: day.parse().unwrap(),
            amount,
        }
    }

    /// Worked by hand, in weeks, calibration ending 2025-01-29:
    /// - a: 01-01 (10), 01-08 (20 + 5 on the same day), 01-15 (30), and
    ///   02-01 after the end. Purchase days after the first: 01-08 and
    ///   01-15, so x = 2, t_x = 14 days = 2 weeks, T = 28 days = 4 weeks,
    ///   mean repeat spend (25 + 30) / 2 = 27.5.
    /// - b: one purchase on 01-22 (x = 0, t_x = 0, T = 1 week, spend 0).
    /// - c: two purchases on 01-03 only: one purchase day (x = 0), T = 26
    ///   days.
    /// - d: first purchase after the end: left out.
    #[test]
    fn summary_of_a_small_transaction_list() {
        let txs = [
            tx("a", "2025-01-15", 30.0),
            tx("b", "2025-01-22", 12.0),
            tx("a", "2025-01-01", 10.0),
            tx("a", "2025-01-08", 20.0),
            tx("c", "2025-01-03", 7.0),
            tx("a", "2025-02-01", 99.0),
            tx("a", "2025-01-08", 5.0),
            tx("d", "2025-02-03", 1.0),
            tx("c", "2025-01-03", 8.0),
        ];
        let s = summarize(&txs, Date::constant(2025, 1, 29), TimeUnit::Week);
        assert_eq!(s.after_calibration, 2);
        let got: Vec<_> = s
            .customers
            .iter()
            .map(|c| (c.customer.as_str(), c.transactions, c.rfm, c.mean_spend))
            .collect();
        assert_eq!(
            got,
            [
                ("a", 4, rfm(2, 2.0, 4.0), 27.5),
                ("b", 1, rfm(0, 0.0, 1.0), 0.0),
                ("c", 2, rfm(0, 0.0, 26.0 / 7.0), 0.0),
            ]
        );
        assert_eq!(s.customers[0].first, Date::constant(2025, 1, 1));
        assert_eq!(s.customers[0].last, Date::constant(2025, 1, 15));
        assert_eq!(s.repeat_customers(), 1);
        assert_eq!(
            s.spend(),
            [Spend {
                frequency: 2,
                mean: 27.5
            }]
        );
        let days = summarize(&txs, Date::constant(2025, 1, 29), TimeUnit::Day);
        assert_eq!(days.customers[0].rfm, rfm(2, 14.0, 28.0));
    }

    #[test]
    fn too_little_data_is_refused_not_fitted() {
        let few = vec![rfm(1, 1.0, 5.0); 3];
        assert_eq!(
            fit_bg_nbd(&few),
            Err(ClvError::TooFewCustomers {
                customers: 3,
                min: MIN_CUSTOMERS
            })
        );
        let once = vec![rfm(0, 0.0, 5.0); 50];
        assert_eq!(fit_bg_nbd(&once), Err(ClvError::NoRepeatPurchases));
        let spend = vec![
            Spend {
                frequency: 1,
                mean: 10.0
            };
            2
        ];
        assert_eq!(
            fit_gamma_gamma(&spend),
            Err(ClvError::TooFewRepeatCustomers {
                customers: 2,
                min: MIN_REPEAT_CUSTOMERS
            })
        );
    }

    /// Everyone with the same spend: the spend model's likelihood grows
    /// without bound as the spread goes to zero, so the fit must say it
    /// did not converge rather than hand back parameters.
    #[test]
    fn a_degenerate_fit_says_it_did_not_converge() {
        let spend: Vec<Spend> = (1..=20)
            .map(|i| Spend {
                frequency: 1 + i % 3,
                mean: 10.0,
            })
            .collect();
        match fit_gamma_gamma(&spend) {
            Err(ClvError::NotConverged { model, .. }) => assert_eq!(model, "Gamma-Gamma"),
            other => panic!("expected a fit that did not converge, got {other:?}"),
        }
    }
}
