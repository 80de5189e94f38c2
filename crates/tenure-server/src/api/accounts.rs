//! `/api/v1/accounts`: customer accounts, with filters, sort and cursor
//! pagination. A CSM sees and writes only accounts whose `csm_email` is
//! theirs; an account a CSM creates without `csm_email` becomes theirs.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tenure_core::model::{self, Account};
use tenure_store::Kind;
use tenure_store::api::{AccountQuery, AccountSort, Scope};
use tenure_store::rows::Record;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::crud::{self, Resource};
use crate::api::extract::{ApiJson, ApiQuery, Checks, cursor_param, email, encode_cursor};
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};
use crate::web::card::AccountCard;

/// An account to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    /// Left out on create: a new id is generated.
    pub id: Option<String>,
    pub name: String,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub region: Option<String>,
    pub plan: Option<String>,
    /// The CSM who owns the account.
    pub csm_email: Option<String>,
    /// YYYY-MM-DD.
    pub created_at: Option<String>,
    pub trial_start: Option<String>,
    pub trial_end: Option<String>,
    /// Custom attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    pub id: String,
    pub name: String,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub region: Option<String>,
    pub plan: Option<String>,
    pub csm_email: Option<String>,
    pub created_at: Option<String>,
    pub trial_start: Option<String>,
    pub trial_end: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

/// One page of accounts; `next_cursor` is null on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<AccountOut>,
    pub next_cursor: Option<String>,
}

/// Filters, sort and page of the accounts listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountParams {
    pub csm_email: Option<String>,
    pub plan: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    /// Case-insensitive part of the name.
    pub q: Option<String>,
    /// id (default), name, employees or created_at; prefix with `-` for descending.
    pub sort: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<u32>,
}

pub struct Accounts;

impl Resource for Accounts {
    const KIND: Kind = Kind::Accounts;
    const ID_PREFIX: &'static str = "acc";
    type In = AccountIn;
    type Out = AccountOut;

    fn body_id(input: &AccountIn) -> Option<String> {
        input.id.clone()
    }

    fn into_record(a: AccountIn, id: String) -> Result<Record, AppError> {
        let mut ck = Checks::default();
        let id = ck.check("id", model::parse_id(&id));
        if a.name.trim().is_empty() {
            ck.problem("name", "must not be empty");
        }
        if let Some(n) = a.employees
            && n < 0
        {
            ck.problem("employees", "must not be negative");
        }
        let csm_email = ck.opt("csm_email", &a.csm_email, email);
        let created_at = ck.opt("created_at", &a.created_at, model::parse_date);
        let trial_start = ck.opt("trial_start", &a.trial_start, model::parse_date);
        let trial_end = ck.opt("trial_end", &a.trial_end, model::parse_date);
        if let (Some(s), Some(e)) = (trial_start, trial_end)
            && e < s
        {
            ck.problem(
                "trial_end",
                format!("trial_end {e} is before trial_start {s}"),
            );
        }
        ck.finish(())?;
        Ok(Record::Account(Account {
            id: id.unwrap_or_default(),
            name: a.name.trim().to_string(),
            industry: a.industry,
            employees: a.employees,
            region: a.region,
            plan: a.plan,
            csm_email,
            created_at,
            trial_start,
            trial_end,
            attributes: a.attributes,
        }))
    }

    fn to_out(r: Record) -> Option<AccountOut> {
        let Record::Account(a) = r else { return None };
        Some(out(a))
    }
}

fn out(a: Account) -> AccountOut {
    AccountOut {
        id: a.id,
        name: a.name,
        industry: a.industry,
        employees: a.employees,
        region: a.region,
        plan: a.plan,
        csm_email: a.csm_email,
        created_at: a.created_at.map(|d| d.to_string()),
        trial_start: a.trial_start.map(|d| d.to_string()),
        trial_end: a.trial_end.map(|d| d.to_string()),
        attributes: a.attributes,
    }
}

/// A CSM writes only their own accounts: an account without a CSM becomes
/// theirs, one with another CSM is refused.
fn own_account(p: &Principal, mut body: AccountIn) -> Result<AccountIn, AppError> {
    if let Scope::Csm(me) = p.scope() {
        match body
            .csm_email
            .as_deref()
            .map(|e| e.trim().to_ascii_lowercase())
        {
            None => body.csm_email = Some(me),
            Some(e) if e == me => {}
            Some(_) => {
                return Err(AppError::forbidden(
                    "a CSM may only write accounts whose csm_email is their own",
                ));
            }
        }
    }
    Ok(body)
}

fn parse_sort(s: Option<&str>) -> Result<(AccountSort, bool), AppError> {
    let s = s.unwrap_or("id").trim();
    let (desc, name) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let sort = match name {
        "id" => AccountSort::Id,
        "name" => AccountSort::Name,
        "employees" => AccountSort::Employees,
        "created_at" => AccountSort::CreatedAt,
        other => {
            return Err(AppError::bad_request(format!(
                "unknown sort {other:?}: expected id, name, employees or created_at, optionally prefixed with -"
            )));
        }
    };
    Ok((sort, desc))
}

/// List accounts.
#[utoipa::path(get, path = "/accounts", tag = "accounts",
    params(AccountParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountPage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn list_accounts(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<AccountParams>,
) -> Result<Json<AccountPage>, AppError> {
    let (sort, descending) = parse_sort(q.sort.as_deref())?;
    let page = state
        .store
        .list_accounts(&AccountQuery {
            scope: p.scope(),
            csm_email: q.csm_email,
            plan: q.plan,
            industry: q.industry,
            region: q.region,
            name_contains: q.q.filter(|s| !s.is_empty()),
            sort,
            descending,
            after: cursor_param(&q.cursor)?,
            limit: q.limit.unwrap_or(50),
        })
        .await?;
    Ok(Json(AccountPage {
        items: page.items.into_iter().map(out).collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

/// Create an account.
#[utoipa::path(post, path = "/accounts", tag = "accounts",
    request_body = AccountIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AccountOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn create_account(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<AccountIn>,
) -> Result<(StatusCode, Json<AccountOut>), AppError> {
    p.require_write()?;
    let body = own_account(&p, body)?;
    Ok((
        StatusCode::CREATED,
        Json(crud::create::<Accounts>(&state, &p, body).await?),
    ))
}

/// Get an account.
#[utoipa::path(get, path = "/accounts/{id}", tag = "accounts",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountOut),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_account(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<AccountOut>, AppError> {
    Ok(Json(crud::get::<Accounts>(&state, &p, &id).await?))
}

/// Replace an account's fields.
#[utoipa::path(put, path = "/accounts/{id}", tag = "accounts",
    params(("id" = String, Path)),
    request_body = AccountIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn replace_account(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AccountIn>,
) -> Result<Json<AccountOut>, AppError> {
    p.require_write()?;
    let body = own_account(&p, body)?;
    Ok(Json(crud::replace::<Accounts>(&state, &p, id, body).await?))
}

/// Delete an account and everything that belongs to it.
#[utoipa::path(delete, path = "/accounts/{id}", tag = "accounts",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn delete_account(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    crud::delete::<Accounts>(&state, &p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account's compact card for a CRM side panel: ARR, renewal, health
/// with its top reasons, segment, tier, stage, the risk board, the latest
/// NPS, open tasks and CSM; the same as the page `/accounts/{id}/card`.
#[utoipa::path(get, path = "/accounts/{id}/card", tag = "accounts",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountCard),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn account_card(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<AccountCard>, AppError> {
    Ok(Json(crate::web::card::card(&state, &p, &id).await?))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(get_account, replace_account, delete_account))
        .routes(routes!(account_card))
}
