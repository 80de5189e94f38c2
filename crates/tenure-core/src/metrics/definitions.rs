//! The short definition of every metric, written once: the `/metrics`
//! page shows it next to each value, and docs/METRICS.md quotes it under
//! each metric's section (`tests/metric_docs.rs` checks that it does).

use super::report::Metric;

impl Metric {
    /// The metric's definition in one or two sentences, for people: the
    /// dashboard's `/metrics` page and docs/METRICS.md ("In short: ...").
    /// docs/METRICS.md gives the full formula and edge cases.
    pub fn definition(self) -> &'static str {
        match self {
            Metric::MrrStart => {
                "MRR on the day before the period starts: the sum of the mrr of subscriptions running that day."
            }
            Metric::MrrEnd => "MRR on the last day of the period.",
            Metric::ArrEnd => "12 × MRR at the end of the period.",
            Metric::NewMrr => {
                "MRR from accounts going from 0 to paying for the first time in their history."
            }
            Metric::ExpansionMrr => "Increases of an already paying account's MRR.",
            Metric::ContractionMrr => {
                "Decreases of a paying account's MRR that leave it above zero."
            }
            Metric::ChurnedMrr => "MRR lost when an account's MRR falls to zero.",
            Metric::ReactivationMrr => {
                "MRR from accounts that paid before, stopped, and pay again."
            }
            Metric::Nrr => {
                "Net revenue retention: the MRR on the last day of the accounts paying the day before the period, divided by their MRR that day."
            }
            Metric::Grr => {
                "Gross revenue retention: like NRR but each account counts at most its starting MRR, so expansion does not count."
            }
            Metric::RevenueChurnRate => "1 − GRR.",
            Metric::LogoChurnRate => {
                "Accounts paying the day before the period that no longer pay on its last day, divided by those accounts."
            }
            Metric::AccountsStart => "Accounts paying on the day before the period.",
            Metric::AccountsEnd => "Accounts paying on the last day of the period.",
            Metric::Arpa => "Average revenue per account: MRR at end ÷ accounts at end.",
            Metric::Cltv => "Customer lifetime value: ARPA × gross margin ÷ monthly logo churn.",
            Metric::Crc => {
                "Customer retention cost: CS cost of the period ÷ starting accounts still paying at the end."
            }
            Metric::Nps => {
                "% promoters (9–10) − % detractors (0–6) among NPS answers in the period, counting each contact's latest answer."
            }
            Metric::Csat => "Share of CSAT survey answers in the period scoring 4 or 5 (of 5).",
            Metric::Ces => "Mean customer effort score (1–7, 7 easiest) of answers in the period.",
            Metric::Fcr => {
                "Tickets opened in the period resolved at first contact ÷ those with a value."
            }
            Metric::RenewalRate => {
                "Subscriptions due to renew in the period whose account still pays on the renewal day ÷ those due."
            }
            Metric::RenewalRateArr => "The renewal rate weighted by each subscription's ARR.",
            Metric::TrialConversionRate => {
                "Accounts whose trial started in the period that started paying by 30 days after the trial ended ÷ those trials."
            }
            Metric::Dau => "Distinct users with an event on the last day.",
            Metric::Wau => "Distinct users with an event in the 7 days ending with the last day.",
            Metric::Mau => "Distinct users with an event in the 30 days ending with the last day.",
            Metric::Stickiness => "Mean DAU over the 30 days ÷ MAU.",
            Metric::UsageRate => "Σ min(account MAU, its seats) ÷ Σ seats.",
            Metric::AvgTimeOnPlatformMinutes => {
                "Session minutes in the 30-day window ÷ MAU (a session ends after 30 minutes without events)."
            }
            Metric::TimeToValueDays => {
                "Median days from first MRR to the first success-plan milestone done, over the accounts whose first milestone was done in the period."
            }
        }
    }
}
