//! The audit log: who changed what, and when.

use sqlx::{AssertSqlSafe, Row};

use crate::{Result, Store};

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    /// Microseconds since the epoch.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    /// JSON object.
    pub details: String,
}

impl Store {
    /// The audit log, oldest first; only entries about one entity id when given.
    pub async fn audit_log(&self, entity_id: Option<&str>) -> Result<Vec<AuditEntry>> {
        let base = "SELECT id, at, actor, action, entity, entity_id, details FROM audit_log";
        let rows = match entity_id {
            Some(id) => {
                sqlx::query(AssertSqlSafe(format!(
                    "{base} WHERE entity_id = $1 ORDER BY id"
                )))
                .bind(id)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!("{base} ORDER BY id")))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    entity: r.try_get(4)?,
                    entity_id: r.try_get(5)?,
                    details: r.try_get(6)?,
                })
            })
            .collect()
    }
}

pub(crate) async fn audit(
    conn: &mut sqlx::AnyConnection,
    at: i64,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    details: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(details.to_string())
    .execute(conn)
    .await?;
    Ok(())
}
