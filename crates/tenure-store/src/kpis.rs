//! What the CSM KPIs read that no other module loads: every task with a
//! due day, with when it was made and done, so that the overdue tasks of
//! a past month-end can be counted as well as today's
//! (`tenure_core::target::kpis::task_overdue_on`). Everything else the
//! KPIs read comes from the loads of `analytics`, `health`, `engage` and
//! `target`.

use jiff::civil::Date;
use tenure_core::model::{MICROS_PER_DAY, date_from_day};
use tenure_core::target::tasks::TaskStatus;

use crate::health::{decode, parse_day};
use crate::{Result, Store};

/// A task with a due day, as the overdue-task KPI reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDue {
    pub account_id: String,
    pub owner_email: Option<String>,
    pub due_on: Date,
    /// The UTC day it was made.
    pub created_on: Date,
    pub status: TaskStatus,
    pub completed_on: Option<Date>,
}

impl Store {
    /// Every task with a due day, read in bulk.
    pub async fn task_dues(&self) -> Result<Vec<TaskDue>> {
        let mut out = Vec::new();
        self.scan(
            "SELECT account_id, owner_email, due_on, created_at, status, completed_on \
             FROM tasks WHERE due_on IS NOT NULL",
            &[],
            |row| {
                let status = row.text(4)?;
                let at = row.int(3)?;
                out.push(TaskDue {
                    account_id: row.text(0)?.to_string(),
                    owner_email: row.opt_text(1)?.map(str::to_string),
                    due_on: parse_day(row.text(2)?)?,
                    created_on: date_from_day(
                        i32::try_from(at.div_euclid(MICROS_PER_DAY))
                            .map_err(|_| decode(format!("task created at {at} is out of range")))?,
                    ),
                    status: TaskStatus::parse(status)
                        .ok_or_else(|| decode(format!("bad task status {status:?}")))?,
                    completed_on: row.opt_text(5)?.map(parse_day).transpose()?,
                });
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }
}
