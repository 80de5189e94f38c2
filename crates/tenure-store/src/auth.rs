//! Users, API keys and web sessions.
//!
//! This module stores only what it is given: password hashes (argon2, made by
//! the server's `auth` module), SHA-256 hashes of API keys and session tokens.
//! It never sees a password, a key or a session token in clear.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError};

/// What a user or an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Everything, including users and keys.
    Admin,
    /// Reads all accounts and writes all customer-success data.
    Leader,
    /// Reads and writes their own accounts (`accounts.csm_email`) only,
    /// unless given access to all accounts.
    Csm,
    /// Reads the shared views and account cards only (the server keeps
    /// it to them), writes nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Leader, Role::Csm, Role::Viewer];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Csm => "csm",
            Role::Viewer => "viewer",
        }
    }

    /// True for roles that may change customer data (within their scope).
    pub fn can_write(&self) -> bool {
        !matches!(self, Role::Viewer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a role name Tenure does not know.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, leader, csm or viewer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        let norm = s.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == norm)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// A person who can log in.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    /// A CSM with this flag sees all accounts, not only their own.
    pub all_accounts: bool,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub all_accounts: bool,
    pub password_hash: String,
}

/// What an API key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The JSON API under `/api/v1/`, with a role.
    Api,
    /// Segment-compatible ingest (`/v1/*`) only: a "write key".
    Ingest,
}

impl KeyKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyKind::Api => "api",
            KeyKind::Ingest => "ingest",
        }
    }
}

/// An API key as stored: never the key itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub kind: KeyKind,
    /// The role of an API key; `None` for ingest keys.
    pub role: Option<Role>,
    /// The first characters of the key, to recognise it in listings.
    pub prefix: String,
    /// For CSM keys: whose accounts the key sees.
    pub user_email: Option<String>,
    pub all_accounts: bool,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// An API key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: String,
    pub name: String,
    pub kind: KeyKind,
    pub role: Option<Role>,
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    pub key_hash: String,
    pub user_email: Option<String>,
    pub all_accounts: bool,
}

/// A live web session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

fn ts(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Sql(sqlx::Error::Decode(
        format!("stored {what} {value:?} is not valid").into(),
    ))
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse().map_err(|_| corrupt("role", s))
}

const USER_COLUMNS: &str = "id, email, name, role, all_accounts, disabled, created_at";

fn user_from_row(r: &AnyRow, at: usize) -> Result<User> {
    let role: String = r.try_get(at + 3)?;
    Ok(User {
        id: r.try_get(at)?,
        email: r.try_get(at + 1)?,
        name: r.try_get(at + 2)?,
        role: parse_role(&role)?,
        all_accounts: r.try_get::<i64, _>(at + 4)? != 0,
        disabled: r.try_get::<i64, _>(at + 5)? != 0,
        created_at: ts(r.try_get(at + 6)?),
    })
}

const KEY_COLUMNS: &str =
    "id, name, kind, role, prefix, user_email, all_accounts, created_at, revoked_at, last_used_at";

fn key_from_row(r: &AnyRow) -> Result<ApiKey> {
    let kind: String = r.try_get(2)?;
    let kind = match kind.as_str() {
        "api" => KeyKind::Api,
        "ingest" => KeyKind::Ingest,
        other => return Err(corrupt("key kind", other)),
    };
    let role: Option<String> = r.try_get(3)?;
    Ok(ApiKey {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        kind,
        role: role.as_deref().map(parse_role).transpose()?,
        prefix: r.try_get(4)?,
        user_email: r.try_get(5)?,
        all_accounts: r.try_get::<i64, _>(6)? != 0,
        created_at: ts(r.try_get(7)?),
        revoked_at: r.try_get::<Option<i64>, _>(8)?.map(ts),
        last_used_at: r.try_get::<Option<i64>, _>(9)?.map(ts),
    })
}

impl Store {
    /// Adds a user. An email already taken (case-insensitively) is
    /// [`StoreError::Invalid`].
    pub async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User> {
        let email = user.email.trim().to_ascii_lowercase();
        if self.user_by_email(&email).await?.is_some() {
            return Err(crate::api::invalid(
                "email",
                format!("a user with email {email} already exists"),
            ));
        }
        sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, created_at, disabled, all_accounts) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        )
        .bind(&user.id)
        .bind(&email)
        .bind(user.name.as_deref())
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(now.as_microsecond())
        .bind(i64::from(user.all_accounts))
        .execute(&self.pool)
        .await?;
        self.user_by_email(&email)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {email}")))
    }

    /// A user by email (case-insensitive), disabled or not.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.trim().to_ascii_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| user_from_row(&r, 0)).transpose()
    }

    /// The user and their password hash, for logging in. Disabled users and
    /// users without a password are left out.
    pub async fn login_candidate(&self, email: &str) -> Result<Option<(User, String)>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users \
             WHERE email = $1 AND disabled = 0 AND password_hash IS NOT NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.trim().to_ascii_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some((user_from_row(&r, 0)?, r.try_get(7)?))),
            None => Ok(None),
        }
    }

    /// Every user, by email.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY email");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| user_from_row(r, 0)).collect()
    }

    /// Disables (or re-enables) a user; disabling also ends their sessions.
    pub async fn set_user_disabled(&self, email: &str, disabled: bool) -> Result<()> {
        let email = email.trim().to_ascii_lowercase();
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET disabled = $1 WHERE email = $2")
            .bind(i64::from(disabled))
            .bind(&email)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {email}")));
        }
        if disabled {
            sqlx::query(
                "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = $1)",
            )
            .bind(&email)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a user's password hash and ends their sessions.
    pub async fn set_password_hash(&self, email: &str, hash: &str) -> Result<()> {
        let email = email.trim().to_ascii_lowercase();
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $1 WHERE email = $2")
            .bind(hash)
            .bind(&email)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {email}")));
        }
        sqlx::query(
            "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = $1)",
        )
        .bind(&email)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a new API key (only its hash).
    pub async fn create_api_key(&self, key: &NewApiKey, now: Timestamp) -> Result<ApiKey> {
        sqlx::query(
            "INSERT INTO api_keys (id, name, kind, role, prefix, key_hash, created_at, user_email, all_accounts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&key.id)
        .bind(&key.name)
        .bind(key.kind.as_str())
        .bind(key.role.map(|r| r.as_str()))
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(now.as_microsecond())
        .bind(key.user_email.as_deref())
        .bind(i64::from(key.all_accounts))
        .execute(&self.pool)
        .await?;
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&key.id)
            .fetch_one(&self.pool)
            .await?;
        key_from_row(&row)
    }

    /// The live (not revoked) key with this hash.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| key_from_row(&r)).transpose()
    }

    /// Records that a key was used.
    pub async fn touch_api_key(&self, id: &str, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now.as_microsecond())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every key, revoked ones included, oldest first.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Revokes a key given its id or its prefix; returns it.
    /// A prefix shared by several live keys is [`StoreError::Invalid`].
    pub async fn revoke_api_key(&self, id_or_prefix: &str, now: Timestamp) -> Result<ApiKey> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE (id = $1 OR prefix = $1) AND revoked_at IS NULL"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_or_prefix)
            .fetch_all(&self.pool)
            .await?;
        let key = match rows.as_slice() {
            [] => return Err(StoreError::NotFound(format!("live key {id_or_prefix}"))),
            [one] => key_from_row(one)?,
            _ => {
                return Err(crate::api::invalid(
                    "key",
                    format!("{id_or_prefix} matches several keys: give the key id"),
                ));
            }
        };
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2")
            .bind(now.as_microsecond())
            .bind(&key.id)
            .execute(&self.pool)
            .await?;
        Ok(ApiKey {
            revoked_at: Some(now),
            ..key
        })
    }

    /// Starts a session for a user.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now.as_microsecond())
        .bind(expires_at.as_microsecond())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session with this token hash, if its user is not disabled.
    pub async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>> {
        let cols: Vec<String> = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect();
        let sql = format!(
            "SELECT {}, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
            cols.join(", ")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now.as_microsecond())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some(Session {
                user: user_from_row(&r, 0)?,
                csrf_token: r.try_get(7)?,
                expires_at: ts(r.try_get(8)?),
            })),
            None => Ok(None),
        }
    }

    /// Ends a session (logging out).
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.as_microsecond())
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
