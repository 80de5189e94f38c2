//! Engage's SQL (docs/ENGAGE.md): the runs of days every account spent in
//! a journey stage and in a segment (table `engage_runs`, migration 0008),
//! and the engagement days that cadence reads. Which runs an account had
//! is the application layer's decision; this module stores them.

use jiff::civil::Date;
use sqlx::Row;
use sqlx::any::AnyRow;
use tenure_core::engage::ChampionContact;
use tenure_core::model::utc_date;

use crate::health::{get_day, get_opt_day, parse_day};
use crate::scan::Bind;
use crate::{Result, Store};

/// What a run is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Stage,
    Segment,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Stage => "stage",
            Dimension::Segment => "segment",
        }
    }

    fn parse(s: &str) -> Dimension {
        if s == "segment" {
            Dimension::Segment
        } else {
            Dimension::Stage
        }
    }
}

/// Days an account spent in one stage or segment, from `entered_on` to
/// the day before `left_on` (`None` while it is still there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub account_id: String,
    pub dimension: Dimension,
    /// The stage's or the segment's name.
    pub name: String,
    /// The segment's touch tier.
    pub tier: Option<String>,
    pub entered_on: Date,
    pub left_on: Option<Date>,
}

/// One account's runs of one dimension from a day on (those still open
/// on that day or entered after it), as the application layer rebuilt
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunsFrom {
    pub account_id: String,
    pub dimension: Dimension,
    pub runs: Vec<Run>,
}

fn run_row(row: &AnyRow) -> Result<Run> {
    let dimension: String = row.try_get(1)?;
    Ok(Run {
        account_id: row.try_get(0)?,
        dimension: Dimension::parse(&dimension),
        name: row.try_get(2)?,
        tier: row.try_get(3)?,
        entered_on: get_day(row, 4)?,
        left_on: get_opt_day(row, 5)?,
    })
}

/// The UTC day of a timestamp column (microseconds since the epoch).
fn day_of_micros_row(row: &AnyRow, i: usize) -> Result<Date> {
    Ok(utc_date(micros_time(row.try_get(i)?)?))
}

impl Store {
    /// The runs still open on `day` or entered after it (every run when
    /// `None`), by account, dimension and entry day: what a pass from
    /// `day` rewrites, and what a report from `day` reads.
    pub async fn engage_runs(&self, open_on: Option<Date>) -> Result<Vec<Run>> {
        let (sql, binds) = match open_on {
            None => (
                "SELECT account_id, dimension, name, tier, entered_on, left_on FROM engage_runs \
                 ORDER BY account_id, dimension, entered_on",
                Vec::new(),
            ),
            Some(day) => (
                "SELECT account_id, dimension, name, tier, entered_on, left_on FROM engage_runs \
                 WHERE left_on IS NULL OR left_on >= $1 \
                 ORDER BY account_id, dimension, entered_on",
                vec![Bind::Text(day.to_string())],
            ),
        };
        // Read through the scan path: the daily pass reads a run per
        // account and dimension.
        let mut out = Vec::new();
        self.scan(sql, &binds, |row| {
            out.push(Run {
                account_id: row.text(0)?.to_string(),
                dimension: Dimension::parse(row.text(1)?),
                name: row.text(2)?.to_string(),
                tier: row.opt_text(3)?.map(str::to_string),
                entered_on: parse_day(row.text(4)?)?,
                left_on: row.opt_text(5)?.map(parse_day).transpose()?,
            });
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// One account's runs, oldest first.
    pub async fn account_engage_runs(&self, account_id: &str) -> Result<Vec<Run>> {
        let rows = sqlx::query(
            "SELECT account_id, dimension, name, tier, entered_on, left_on FROM engage_runs \
             WHERE account_id = $1 ORDER BY dimension, entered_on",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_row).collect()
    }

    /// Replaces, in one transaction, each listed account's runs of the
    /// dimension that were open on `from` or entered after it with the
    /// rebuilt ones; returns how many runs were written.
    pub async fn replace_engage_runs(&self, from: Date, replaced: &[RunsFrom]) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let from = from.to_string();
        let mut n = 0;
        for r in replaced {
            sqlx::query(
                "DELETE FROM engage_runs WHERE account_id = $1 AND dimension = $2 \
                 AND (left_on IS NULL OR left_on >= $3)",
            )
            .bind(r.account_id.as_str())
            .bind(r.dimension.as_str())
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?;
            for run in &r.runs {
                n += sqlx::query(
                    "INSERT INTO engage_runs \
                     (account_id, dimension, name, tier, entered_on, left_on) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(r.account_id.as_str())
                .bind(r.dimension.as_str())
                .bind(run.name.as_str())
                .bind(run.tier.as_deref())
                .bind(run.entered_on.to_string())
                .bind(run.left_on.map(|d| d.to_string()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    /// `(kind, UTC day)` of one account's engagements, sorted.
    pub async fn account_engagement_days(&self, account_id: &str) -> Result<Vec<(String, Date)>> {
        let rows = sqlx::query(
            "SELECT kind, occurred_at FROM engagements WHERE account_id = $1 \
             ORDER BY kind, occurred_at",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, day_of_micros_row(row, 1)?)))
            .collect()
    }

    /// `(account_id, kind, UTC day)` of the engagements from `from` to `to`
    /// (both included), sorted by account, kind and day: what compliance
    /// over a period reads, with [`Store::latest_engagement_days`] before
    /// it.
    pub async fn engagement_days(
        &self,
        from: Date,
        to: Date,
    ) -> Result<Vec<(String, String, Date)>> {
        self.engagement_scan(
            "SELECT account_id, kind, occurred_at FROM engagements \
             WHERE occurred_at >= $1 AND occurred_at < $2 \
             ORDER BY account_id, kind, occurred_at",
            &[
                Bind::Int(day_start_micros(from)),
                Bind::Int(day_start_micros(tenure_core::model::add_days(to, 1))),
            ],
        )
        .await
    }

    /// `(account_id, kind, UTC day)` of each account's latest engagement
    /// of each kind before `day`, sorted by account and kind: where
    /// cadence stands reads only these.
    pub async fn latest_engagement_days(&self, day: Date) -> Result<Vec<(String, String, Date)>> {
        self.engagement_scan(
            "SELECT account_id, kind, MAX(occurred_at) FROM engagements \
             WHERE occurred_at < $1 GROUP BY account_id, kind ORDER BY account_id, kind",
            &[Bind::Int(day_start_micros(day))],
        )
        .await
    }

    /// `(account_id, kind, UTC day)` rows of an engagements query.
    async fn engagement_scan(
        &self,
        sql: &str,
        binds: &[Bind],
    ) -> Result<Vec<(String, String, Date)>> {
        let mut out = Vec::new();
        self.scan(sql, binds, |row| {
            out.push((
                row.text(0)?.to_string(),
                row.text(1)?.to_string(),
                utc_date(micros_time(row.int(2)?)?),
            ));
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// `(account_id, contact)` of every contact that is or was a champion
    /// (flagged now, or the flag taken off: migration 0014), for the
    /// champion facts.
    pub async fn champion_contacts(&self) -> Result<Vec<(String, ChampionContact)>> {
        let mut out = Vec::new();
        let day = |s: Option<&str>| s.map(parse_day).transpose();
        self.scan(
            "SELECT account_id, champion, left_on, champion_lost_on FROM contacts \
             WHERE champion = 1 OR champion_lost_on IS NOT NULL",
            &[],
            |row| {
                out.push((
                    row.text(0)?.to_string(),
                    ChampionContact {
                        champion: row.opt_int(1)? == Some(1),
                        left_on: day(row.opt_text(2)?)?,
                        lost_on: day(row.opt_text(3)?)?,
                    },
                ));
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }
}

/// A timestamp column (microseconds since the epoch).
fn micros_time(micros: i64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_microsecond(micros)
        .map_err(|e| crate::health::decode(format!("bad engagement time: {e}")))
}

/// Microseconds since the epoch at the start of a UTC day.
fn day_start_micros(day: Date) -> i64 {
    i64::from(tenure_core::model::day_number(day)) * tenure_core::model::MICROS_PER_DAY
}
