//! `tenure users` and `tenure keys`: who may use the server.

use std::io::{BufRead, IsTerminal};

use anyhow::Result;
use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde_json::json;
use tenure_server::auth::{generate_key, hash_password, random_token};
use tenure_store::StoreError;
use tenure_store::auth::{KeyKind, NewApiKey, NewUser, Role};

use crate::BadInput;
use crate::data::open_store;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user. The password is read from standard input when it is not a
    /// terminal; otherwise one is generated and printed once.
    Add(UserAddArgs),
    /// List users.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Set a user's password (from standard input, or generated) and end their sessions.
    Password {
        email: String,
        /// Generate a password even when standard input is not a terminal.
        #[arg(long)]
        generate: bool,
    },
    /// Stop a user from logging in and end their sessions.
    Disable { email: String },
    /// Let a disabled user log in again.
    Enable { email: String },
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    pub email: String,
    /// admin, leader, csm or viewer.
    #[arg(long)]
    pub role: String,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// A CSM who sees every account, not only their own.
    #[arg(long)]
    pub all_accounts: bool,
    /// Generate a password even when standard input is not a terminal.
    #[arg(long)]
    pub generate_password: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key. It is printed once, alone on the last line of standard output.
    Create(KeyCreateArgs),
    /// List keys (never the keys themselves: their prefix).
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Revoke a key, by id or prefix.
    Revoke { key: String },
}

#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// What the key is for, e.g. "crm-sync".
    #[arg(long)]
    pub name: String,
    /// Role of an API key: admin, leader, csm or viewer.
    #[arg(long, conflicts_with = "ingest", required_unless_present = "ingest")]
    pub role: Option<String>,
    /// An ingest (write) key for the Segment-compatible /v1/* endpoints.
    #[arg(long)]
    pub ingest: bool,
    /// For a csm key: the CSM's email, whose accounts the key sees.
    #[arg(long)]
    pub user: Option<String>,
    /// A csm key that sees every account.
    #[arg(long)]
    pub all_accounts: bool,
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse::<Role>()
        .map_err(|e| BadInput(e.to_string()).into())
}

fn check_email(s: &str) -> Result<String> {
    let t = s.trim().to_ascii_lowercase();
    match t.split_once('@') {
        Some((a, b)) if !a.is_empty() && b.contains('.') && !t.contains(' ') => Ok(t),
        _ => Err(BadInput(format!("expected an email address, got {s:?}")).into()),
    }
}

/// How listings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

/// A password from standard input (first line), or a generated one.
/// Returns the password and whether it was generated.
fn obtain_password(generate: bool) -> Result<(String, bool)> {
    let stdin = std::io::stdin();
    if generate || stdin.is_terminal() {
        return Ok((random_token(18), true));
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.chars().count() < 8 {
        return Err(BadInput(
            "the password read from standard input must have at least 8 characters".into(),
        )
        .into());
    }
    Ok((pw, false))
}

fn hash(pw: &str) -> Result<String> {
    hash_password(pw).map_err(|e| anyhow::anyhow!("hashing the password: {}", e.message))
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_token(12))
}

fn store_error(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::NotFound(what) => BadInput(format!("{what} not found")).into(),
        other => other.into(),
    }
}

pub async fn users(db: &str, command: UsersCommand) -> Result<()> {
    match command {
        UsersCommand::Add(args) => {
            let role = parse_role(&args.role)?;
            let email = check_email(&args.email)?;
            let (password, generated) = obtain_password(args.generate_password)?;
            let store = open_store(db).await?;
            let user = store
                .create_user(
                    &NewUser {
                        id: new_id("usr"),
                        email,
                        name: args.name,
                        role,
                        all_accounts: args.all_accounts,
                        password_hash: hash(&password)?,
                    },
                    Timestamp::now(),
                )
                .await?;
            println!("added {} ({})", user.email, user.role);
            if generated {
                println!("password (shown only once):");
                println!("{password}");
            }
        }
        UsersCommand::List { format } => {
            let store = open_store(db).await?;
            let users = store.list_users().await?;
            if format == ListFormat::Table {
                println!("{:<32} {:<8} {:<8} created", "email", "role", "status");
                for u in &users {
                    println!(
                        "{:<32} {:<8} {:<8} {}",
                        u.email,
                        u.role,
                        if u.disabled { "disabled" } else { "active" },
                        u.created_at
                    );
                }
            } else {
                let rows: Vec<_> = users
                    .iter()
                    .map(|u| {
                        json!({"id": u.id, "email": u.email, "name": u.name, "role": u.role.as_str(),
                               "all_accounts": u.all_accounts, "disabled": u.disabled,
                               "created_at": u.created_at.to_string()})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            }
        }
        UsersCommand::Password { email, generate } => {
            let (password, generated) = obtain_password(generate)?;
            let store = open_store(db).await?;
            store
                .set_password_hash(&email, &hash(&password)?)
                .await
                .map_err(store_error)?;
            println!("password of {email} changed; their sessions are ended");
            if generated {
                println!("password (shown only once):");
                println!("{password}");
            }
        }
        UsersCommand::Disable { email } => {
            let store = open_store(db).await?;
            store
                .set_user_disabled(&email, true)
                .await
                .map_err(store_error)?;
            println!("{email} is disabled");
        }
        UsersCommand::Enable { email } => {
            let store = open_store(db).await?;
            store
                .set_user_disabled(&email, false)
                .await
                .map_err(store_error)?;
            println!("{email} is enabled");
        }
    }
    Ok(())
}

pub async fn keys(db: &str, command: KeysCommand) -> Result<()> {
    match command {
        KeysCommand::Create(args) => {
            let (kind, role) = if args.ingest {
                (KeyKind::Ingest, None)
            } else {
                let role = parse_role(args.role.as_deref().unwrap_or_default())?;
                (KeyKind::Api, Some(role))
            };
            let user_email = args.user.as_deref().map(check_email).transpose()?;
            if role == Some(Role::Csm) && user_email.is_none() && !args.all_accounts {
                return Err(BadInput(
                    "a csm key acts for one CSM: pass --user EMAIL (or --all-accounts)".into(),
                )
                .into());
            }
            if args.name.trim().is_empty() {
                return Err(BadInput("--name must not be empty".into()).into());
            }
            let store = open_store(db).await?;
            let generated = generate_key();
            let key = store
                .create_api_key(
                    &NewApiKey {
                        id: new_id("key"),
                        name: args.name.trim().to_string(),
                        kind,
                        role,
                        prefix: generated.prefix.clone(),
                        key_hash: generated.hash.clone(),
                        user_email,
                        all_accounts: args.all_accounts,
                    },
                    Timestamp::now(),
                )
                .await?;
            match key.role {
                Some(r) => println!("created API key {:?} ({}) with role {r}", key.name, key.id),
                None => println!("created ingest key {:?} ({})", key.name, key.id),
            }
            println!("store it now: it is shown only once");
            println!("{}", generated.secret);
        }
        KeysCommand::List { format } => {
            let store = open_store(db).await?;
            let keys = store.list_api_keys().await?;
            if format == ListFormat::Table {
                println!(
                    "{:<20} {:<14} {:<20} {:<7} {:<8} {:<8} last used",
                    "id", "prefix", "name", "kind", "role", "status"
                );
                for k in &keys {
                    println!(
                        "{:<20} {:<14} {:<20} {:<7} {:<8} {:<8} {}",
                        k.id,
                        k.prefix,
                        k.name,
                        k.kind.as_str(),
                        k.role.map_or("-", |r| r.as_str()),
                        if k.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "live"
                        },
                        k.last_used_at
                            .map_or("never".to_string(), |t| t.to_string())
                    );
                }
            } else {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        json!({"id": k.id, "name": k.name, "kind": k.kind.as_str(),
                               "role": k.role.map(|r| r.as_str()), "prefix": k.prefix,
                               "user_email": k.user_email, "all_accounts": k.all_accounts,
                               "created_at": k.created_at.to_string(),
                               "revoked_at": k.revoked_at.map(|t| t.to_string()),
                               "last_used_at": k.last_used_at.map(|t| t.to_string())})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            }
        }
        KeysCommand::Revoke { key } => {
            let store = open_store(db).await?;
            let k = store
                .revoke_api_key(&key, Timestamp::now())
                .await
                .map_err(store_error)?;
            println!("revoked {:?} ({}, {})", k.name, k.id, k.prefix);
        }
    }
    Ok(())
}
