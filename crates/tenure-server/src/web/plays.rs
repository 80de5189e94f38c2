//! `/playbooks`: every playbook of tenure.toml with its trigger, audience
//! and actions, the last firings with the values each trigger saw, and a
//! dry run (`?dry_run=NAME`): who would enter today and why, acting on
//! nothing (docs/REACT.md). A CSM sees their own accounts.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::layout::{Nav, money, render, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::plays::{DryRunOut, PlaybookOut, dry_run, playbook_out};

/// `(ARR, values seen, today)` of a dry run's account.
pub type DryRow = (String, String, String);

/// A firing, for the page.
#[derive(Debug, Clone)]
pub struct FiringRow {
    pub day: String,
    pub playbook: String,
    pub account_href: String,
    pub account_id: String,
    pub seen: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "playbooks.html")]
pub struct PlaybooksPage {
    pub nav: Nav,
    pub playbooks: Vec<(PlaybookOut, String)>,
    /// The dry run asked for, and for each account its ARR, the values
    /// seen and what happens today, as text.
    pub dry: Option<(DryRunOut, Vec<DryRow>)>,
    pub dry_error: Option<String>,
    pub firings: Vec<FiringRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    dry_run: Option<String>,
}

/// Firings shown.
const FIRINGS: usize = 50;

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let scope = p.scope();
    let cur = state.web.config.currency.reporting.as_str().to_string();
    let playbooks = state
        .web
        .config
        .playbooks
        .iter()
        .map(|pb| {
            (
                playbook_out(pb),
                format!("/playbooks?dry_run={}#dry-run", urlencode(&pb.name)),
            )
        })
        .collect();
    let (dry, dry_error) = match q.dry_run.as_deref() {
        None => (None, None),
        Some(name) => match dry_run(&state, &scope, name, None).await {
            Ok(d) => {
                let rows = d
                    .accounts
                    .iter()
                    .map(|c| {
                        (
                            money(c.arr, &cur, false),
                            c.inputs
                                .iter()
                                .map(|i| format!("{} = {}", i.field, i.value))
                                .collect::<Vec<_>>()
                                .join(", "),
                            c.why_not.clone().unwrap_or_else(|| "enters".into()),
                        )
                    })
                    .collect();
                (Some((d, rows)), None)
            }
            Err(e) => (None, Some(e.message.clone())),
        },
    };
    let mut all = state.store.play_enrolments(&scope, None, None).await?;
    all.sort_by(|a, b| b.enrolled_on.cmp(&a.enrolled_on).then(a.id.cmp(&b.id)));
    let firings = all
        .iter()
        .take(FIRINGS)
        .map(|e| FiringRow {
            day: e.enrolled_on.to_string(),
            playbook: e.playbook.clone(),
            account_href: format!("/accounts/{}", urlencode(&e.account_id)),
            account_id: e.account_id.clone(),
            seen: e
                .inputs
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            state: match (&e.exited_on, &e.exit_reason) {
                (Some(d), Some(r)) => format!("left {d} ({r})"),
                _ => format!("running, {} action(s) done", e.actions.len()),
            },
        })
        .collect();
    render(&PlaybooksPage {
        nav: Nav::new(&p, "playbooks"),
        playbooks,
        dry,
        dry_error,
        firings,
    })
}
