//! Playbooks' SQL (docs/REACT.md): enrolments with their trace, the
//! actions run or skipped, and the notes playbooks add to an account's
//! timeline (migration 0013). Whether an account enrols and which actions
//! run is the application layer's decision; a day's changes are written
//! here in one transaction, with the tasks they make.

use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::api::{Scope, Where};
use crate::health::{get_day, get_opt_day, parse_day};
use crate::scan::{Bind, bind_all};
use crate::target::Task;
use crate::{Result, Store};

/// One enrolment of an account in a playbook, with its trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrolment {
    pub id: String,
    pub playbook: String,
    /// The playbook's version when it fired.
    pub version: String,
    pub account_id: String,
    pub enrolled_on: Date,
    pub exited_on: Option<Date>,
    /// `finished` (every action ran or was skipped) or `exit` (the exit
    /// rule held).
    pub exit_reason: Option<String>,
    /// The trigger as written.
    pub trigger: String,
    /// `(field, value)` the trigger read when it fired.
    pub inputs: Vec<(String, String)>,
    /// The actions run or skipped: `(index, day, result, detail)`.
    pub actions: Vec<ActionRun>,
}

/// An action of an enrolment that ran or was skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRun {
    pub action: usize,
    pub run_on: Date,
    /// `done` or `skipped`.
    pub result: String,
    /// The task made, or the note.
    pub detail: Option<String>,
}

/// A note a playbook added to an account's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub id: String,
    pub account_id: String,
    pub day: Date,
    pub text: String,
    pub source: String,
}

/// What a day of playbooks writes, all in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayWrites {
    pub enrolments: Vec<Enrolment>,
    /// `(enrolment id, action run)`.
    pub actions: Vec<(String, ActionRun)>,
    /// `(enrolment id, day, reason)`.
    pub exits: Vec<(String, Date, String)>,
    pub tasks: Vec<Task>,
    pub notes: Vec<Note>,
}

fn encode_inputs(inputs: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = inputs
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn decode_inputs(text: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect(),
        _ => Vec::new(),
    }
}

const ENROLMENT_COLUMNS: &str =
    "id, playbook, version, account_id, enrolled_on, exited_on, exit_reason, trigger, inputs";

fn enrolment_row(row: &AnyRow) -> Result<Enrolment> {
    let inputs: String = row.try_get(8)?;
    Ok(Enrolment {
        id: row.try_get(0)?,
        playbook: row.try_get(1)?,
        version: row.try_get(2)?,
        account_id: row.try_get(3)?,
        enrolled_on: get_day(row, 4)?,
        exited_on: get_opt_day(row, 5)?,
        exit_reason: row.try_get(6)?,
        trigger: row.try_get(7)?,
        inputs: decode_inputs(&inputs),
        actions: Vec::new(),
    })
}

impl Store {
    /// Enrolments with their actions: every one in scope, or one
    /// account's, or one playbook's; by account, playbook and day.
    pub async fn play_enrolments(
        &self,
        scope: &Scope,
        account_id: Option<&str>,
        playbook: Option<&str>,
    ) -> Result<Vec<Enrolment>> {
        let mut w = Where::default();
        if let Some(a) = account_id {
            w.add("account_id = ?", vec![Bind::Text(a.to_string())]);
        }
        if let Some(p) = playbook {
            w.add("playbook = ?", vec![Bind::Text(p.to_string())]);
        }
        w.scope(scope, "account_id");
        self.enrolments_where(&w).await
    }

    /// The enrolments a day of playbooks needs: those still running and
    /// those entered on `since` or later (the longest cooldown back).
    pub async fn recent_play_enrolments(&self, since: Date) -> Result<Vec<Enrolment>> {
        let mut w = Where::default();
        w.add(
            "(exited_on IS NULL OR enrolled_on >= ?)",
            vec![Bind::Text(since.to_string())],
        );
        self.enrolments_where(&w).await
    }

    /// Enrolments matching `w`, with their actions.
    async fn enrolments_where(&self, w: &Where) -> Result<Vec<Enrolment>> {
        let sql = format!(
            "SELECT {ENROLMENT_COLUMNS} FROM play_enrolments{} \
             ORDER BY account_id, playbook, enrolled_on, id",
            w.sql()
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<Enrolment> = rows.iter().map(enrolment_row).collect::<Result<_>>()?;
        let index: std::collections::HashMap<String, usize> = out
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        let sql = format!(
            "SELECT enrolment_id, action, run_on, result, detail FROM play_actions \
             WHERE enrolment_id IN (SELECT id FROM play_enrolments{}) \
             ORDER BY enrolment_id, action",
            w.sql()
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            let id: String = r.try_get(0)?;
            if let Some(&i) = index.get(&id) {
                let action: i64 = r.try_get(1)?;
                let run_on: String = r.try_get(2)?;
                out[i].actions.push(ActionRun {
                    action: action as usize,
                    run_on: parse_day(&run_on)?,
                    result: r.try_get(3)?,
                    detail: r.try_get(4)?,
                });
            }
        }
        Ok(out)
    }

    /// Writes a day of playbooks: new enrolments, actions, exits, and the
    /// tasks and notes they make, in one transaction.
    pub async fn write_plays(&self, w: &PlayWrites) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for e in &w.enrolments {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO play_enrolments ({ENROLMENT_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7)"
            )))
            .bind(e.id.as_str())
            .bind(e.playbook.as_str())
            .bind(e.version.as_str())
            .bind(e.account_id.as_str())
            .bind(e.enrolled_on.to_string())
            .bind(e.trigger.as_str())
            .bind(encode_inputs(&e.inputs))
            .execute(&mut *tx)
            .await?;
        }
        for (id, a) in &w.actions {
            sqlx::query(
                "INSERT INTO play_actions (enrolment_id, action, run_on, result, detail) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id.as_str())
            .bind(a.action as i64)
            .bind(a.run_on.to_string())
            .bind(a.result.as_str())
            .bind(a.detail.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        for (id, day, reason) in &w.exits {
            sqlx::query(
                "UPDATE play_enrolments SET exited_on = $1, exit_reason = $2 WHERE id = $3",
            )
            .bind(day.to_string())
            .bind(reason.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        for t in &w.tasks {
            crate::target::insert_task_in(&mut tx, t).await?;
        }
        for n in &w.notes {
            sqlx::query(
                "INSERT INTO account_notes (id, account_id, day, text, source) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(n.id.as_str())
            .bind(n.account_id.as_str())
            .bind(n.day.to_string())
            .bind(n.text.as_str())
            .bind(n.source.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// One account's notes, oldest first.
    pub async fn account_notes(&self, account_id: &str) -> Result<Vec<Note>> {
        let rows = sqlx::query(
            "SELECT id, account_id, day, text, source FROM account_notes WHERE account_id = $1 \
             ORDER BY day, id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Note {
                    id: r.try_get(0)?,
                    account_id: r.try_get(1)?,
                    day: get_day(r, 2)?,
                    text: r.try_get(3)?,
                    source: r.try_get(4)?,
                })
            })
            .collect()
    }
}
