//! Stored daily scores and the scorecard versions they refer to. Snapshots
//! store numbers only; the measure names and weights live once per
//! scorecard version in `health_scorecards`.

use std::collections::HashMap;

use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tenure_core::health::{Band, HealthConfig, HealthModel, HealthScore};
use tenure_core::model::{date_from_day, day_number};

use super::{decode, get_day, get_opt_day};
use crate::bulk::{numbered_placeholders, push_value_tuples};
use crate::scan::Bind;
use crate::{Result, Store};

/// A stored daily score.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub account_id: String,
    pub day: Date,
    pub score: Option<f64>,
    pub band: Option<Band>,
    pub computed: Option<f64>,
    pub override_id: Option<i64>,
    pub scorecard_version: String,
    /// One per measure, in the order of the scorecard version's
    /// [`StoredScorecard::measures`] (names live there, once).
    pub measures: Vec<StoredMeasure>,
}

impl Snapshot {
    /// The snapshot of a score computed for `account_id` (`override_id`:
    /// the stored override the score applied, if any).
    pub fn of(account_id: &str, score: &HealthScore, override_id: Option<i64>) -> Snapshot {
        Snapshot {
            account_id: account_id.to_string(),
            day: score.as_of,
            score: score.score,
            band: score.band,
            computed: score.computed,
            override_id,
            scorecard_version: score.scorecard_version.to_string(),
            measures: score
                .measures
                .iter()
                .map(|m| StoredMeasure {
                    raw: m.raw,
                    points: m.normalised,
                    contribution: m.contribution,
                })
                .collect(),
        }
    }
}

/// One measure of a stored score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredMeasure {
    /// The raw value; `None` when the account had no data for it.
    pub raw: Option<f64>,
    /// The normalised value, 0–100.
    pub points: Option<f64>,
    /// Points it added to the score.
    pub contribution: f64,
}

/// The `measures` column: `[[raw, points, contribution], ...]`. The store
/// is the only place that reads or writes this text.
fn encode_measures(measures: &[StoredMeasure]) -> String {
    let rows: Vec<(Option<f64>, Option<f64>, f64)> = measures
        .iter()
        .map(|m| (m.raw, m.points, m.contribution))
        .collect();
    serde_json::to_string(&rows).expect("numbers always serialize")
}

fn decode_measures(text: &str) -> Result<Vec<StoredMeasure>> {
    let rows: Vec<(Option<f64>, Option<f64>, Option<f64>)> = serde_json::from_str(text)
        .map_err(|e| decode(format!("bad snapshot measures {text:?}: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|(raw, points, contribution)| StoredMeasure {
            raw,
            points,
            contribution: contribution.unwrap_or(0.0),
        })
        .collect())
}

fn decode_band(text: Option<String>) -> Result<Option<Band>> {
    text.map(|t| Band::parse(&t).ok_or_else(|| decode(format!("bad band {t:?}"))))
        .transpose()
}

/// A scorecard version as stored with the snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredScorecard {
    pub version: String,
    pub name: String,
    pub measures: Vec<ScorecardMeasure>,
}

impl StoredScorecard {
    /// Every scorecard of `model` (as configured in `config`), for
    /// [`Store::save_scorecards`].
    pub fn all_of(model: &HealthModel, config: &HealthConfig) -> Vec<StoredScorecard> {
        config
            .all_scorecards()
            .enumerate()
            .map(|(i, card)| StoredScorecard {
                version: model.scorecard_version(i).to_string(),
                name: card.name.clone(),
                measures: card
                    .measures
                    .iter()
                    .map(|m| ScorecardMeasure {
                        name: m.name.clone(),
                        kind: m.kind.name().to_string(),
                        weight: m.weight,
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A measure of a stored scorecard version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScorecardMeasure {
    pub name: String,
    pub kind: String,
    pub weight: f64,
}

const SNAPSHOT_COLUMNS: &str =
    "account_id, day, score, band, computed, override_id, scorecard_version, measures";

fn snapshot_row(row: &AnyRow) -> Result<Snapshot> {
    let measures: String = row.try_get(7)?;
    Ok(Snapshot {
        account_id: row.try_get(0)?,
        day: get_day(row, 1)?,
        score: row.try_get(2)?,
        band: decode_band(row.try_get(3)?)?,
        computed: row.try_get(4)?,
        override_id: row.try_get(5)?,
        scorecard_version: row.try_get(6)?,
        measures: decode_measures(&measures)?,
    })
}

impl Store {
    /// Records scorecard versions (kept once; existing versions are left as they are).
    pub async fn save_scorecards(&self, cards: &[StoredScorecard], now_micros: i64) -> Result<()> {
        for c in cards {
            sqlx::query(
                "INSERT INTO health_scorecards (version, name, measures, first_used_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING",
            )
            .bind(&c.version)
            .bind(&c.name)
            .bind(serde_json::to_string(&c.measures).expect("names and numbers serialize"))
            .bind(now_micros)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Every stored scorecard version.
    pub async fn scorecards(&self) -> Result<HashMap<String, StoredScorecard>> {
        let rows = sqlx::query("SELECT version, name, measures FROM health_scorecards")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let measures: String = r.try_get(2)?;
                let c = StoredScorecard {
                    version: r.try_get(0)?,
                    name: r.try_get(1)?,
                    measures: serde_json::from_str(&measures)
                        .map_err(|e| decode(format!("bad scorecard measures {measures:?}: {e}")))?,
                };
                Ok((c.version.clone(), c))
            })
            .collect()
    }

    /// Writes snapshots (replacing those of the same account and day) in
    /// one transaction: on a SQLite file through one prepared statement on
    /// a `rusqlite` connection (see `scan::write_sqlite`), elsewhere in
    /// multi-row statements.
    pub async fn write_snapshots(&self, snapshots: &[Snapshot], now_micros: i64) -> Result<u64> {
        const UPSERT: &str = " ON CONFLICT (day, account_id) DO UPDATE SET score = excluded.score, \
             band = excluded.band, computed = excluded.computed, \
             override_id = excluded.override_id, \
             scorecard_version = excluded.scorecard_version, \
             measures = excluded.measures, computed_at = excluded.computed_at";
        if let Some(path) = &self.sqlite_file {
            let _guard = self.write_lock.clone().lock_owned().await;
            return crate::scan::run_blocking(|| {
                crate::scan::write_sqlite(path, |tx| {
                    let mut stmt = tx.prepare(&format!(
                        "INSERT INTO health_snapshots ({SNAPSHOT_COLUMNS}, computed_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9){UPSERT}"
                    ))?;
                    let mut written = 0;
                    for s in snapshots {
                        written += stmt.execute(rusqlite::params![
                            s.account_id,
                            s.day.to_string(),
                            s.score,
                            s.band.map(|b| b.as_str()),
                            s.computed,
                            s.override_id,
                            s.scorecard_version,
                            encode_measures(&s.measures),
                            now_micros,
                        ])? as u64;
                    }
                    Ok(written)
                })
            });
        }
        // A fixed, modest batch is prepared once and cached; on in-memory
        // SQLite with anonymous `?` placeholders, which it binds by position.
        const COLS: usize = 9;
        const BATCH: usize = 64;
        let mut tx = self.begin_write().await?;
        let numbered = numbered_placeholders(&tx);
        let mut written = 0;
        for chunk in snapshots.chunks(BATCH) {
            let mut sql = String::with_capacity(200 + chunk.len() * 60);
            sql.push_str(&format!(
                "INSERT INTO health_snapshots ({SNAPSHOT_COLUMNS}, computed_at) VALUES "
            ));
            push_value_tuples(&mut sql, chunk.len(), COLS, numbered);
            sql.push_str(UPSERT);
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for s in chunk {
                q = q
                    .bind(s.account_id.as_str())
                    .bind(s.day.to_string())
                    .bind(s.score)
                    .bind(s.band.map(|b| b.as_str()))
                    .bind(s.computed)
                    .bind(s.override_id)
                    .bind(s.scorecard_version.as_str())
                    .bind(encode_measures(&s.measures))
                    .bind(now_micros);
            }
            written += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Snapshots of one account from `from` to `to` (both included, either
    /// open), oldest first.
    pub async fn account_snapshots(
        &self,
        account_id: &str,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<Snapshot>> {
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::new();
        for list in snapshot_days(&mut conn, from, to).await? {
            let sql = format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM health_snapshots \
                 WHERE day IN ({list}) AND account_id = $1 ORDER BY day"
            );
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(account_id)
                .fetch_all(&mut *conn)
                .await?;
            for row in &rows {
                out.push(snapshot_row(row)?);
            }
        }
        Ok(out)
    }

    /// The snapshot of one account on a day, if stored.
    pub async fn snapshot(&self, account_id: &str, day: Date) -> Result<Option<Snapshot>> {
        Ok(self
            .account_snapshots(account_id, Some(day), Some(day))
            .await?
            .pop())
    }

    /// `(account_id, day, score)` of every snapshot from `from` to `to`
    /// (both included), for deltas.
    pub async fn snapshot_scores(
        &self,
        from: Date,
        to: Date,
    ) -> Result<Vec<(String, Date, Option<f64>)>> {
        let mut out = Vec::new();
        self.scan(
            "SELECT account_id, day, score FROM health_snapshots WHERE day >= $1 AND day <= $2",
            &[Bind::Text(from.to_string()), Bind::Text(to.to_string())],
            |row| {
                out.push((
                    row.text(0)?.to_string(),
                    super::parse_day(row.text(1)?)?,
                    row.opt_real(2)?,
                ));
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// The days that have snapshots, from `from` to `to` (both included), sorted.
    pub async fn snapshot_days(&self, from: Date, to: Date) -> Result<Vec<Date>> {
        let rows = sqlx::query(
            "SELECT DISTINCT day FROM health_snapshots WHERE day >= $1 AND day <= $2 ORDER BY day",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| get_day(r, 0)).collect()
    }

    /// `(account_id, score, band)` of every snapshot on one day.
    pub async fn snapshots_on(
        &self,
        day: Date,
    ) -> Result<Vec<(String, Option<f64>, Option<Band>)>> {
        // Through the scan path: a day holds a snapshot per customer.
        let mut out = Vec::new();
        self.scan(
            "SELECT account_id, score, band FROM health_snapshots WHERE day = $1",
            &[Bind::Text(day.to_string())],
            |row| {
                out.push((
                    row.text(0)?.to_string(),
                    row.opt_real(1)?,
                    decode_band(row.opt_text(2)?.map(str::to_string))?,
                ));
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }
}

/// The days from `from` to `to` (open ends: the first and last stored)
/// that snapshots may hold, as lists of SQL date literals of up to 1,000
/// days each. Snapshots are keyed by day first (migration 0007), so an
/// account's rows are read or deleted with one seek per day, never a scan of
/// every account's rows.
async fn snapshot_days(
    conn: &mut AnyConnection,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<String>> {
    // Two subqueries: SQLite answers a lone MIN or MAX from the index's
    // ends, but both in one SELECT scan every snapshot.
    let row = sqlx::query(
        "SELECT (SELECT MIN(day) FROM health_snapshots), (SELECT MAX(day) FROM health_snapshots)",
    )
    .fetch_one(&mut *conn)
    .await?;
    let (Some(first), Some(last)) = (get_opt_day(&row, 0)?, get_opt_day(&row, 1)?) else {
        return Ok(Vec::new());
    };
    let from = day_number(from.map_or(first, |d| d.max(first)));
    let to = day_number(to.map_or(last, |d| d.min(last)));
    let days: Vec<i32> = (from..=to).collect();
    // Dates formatted here, never input.
    Ok(days
        .chunks(1000)
        .map(|chunk| {
            chunk
                .iter()
                .map(|&d| format!("'{}'", date_from_day(d)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect())
}

/// Deletes every snapshot of an account (with the account, in its
/// transaction).
pub(crate) async fn delete_snapshots(conn: &mut AnyConnection, account_id: &str) -> Result<()> {
    for list in snapshot_days(conn, None, None).await? {
        let sql = format!("DELETE FROM health_snapshots WHERE day IN ({list}) AND account_id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
