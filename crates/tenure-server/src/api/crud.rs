//! The five routes every record kind that belongs to an account has (list,
//! create, get, replace, delete), written once: [`Resource`] describes a kind's
//! JSON types and the generic functions here do the work; the [`crud!`] macro
//! writes the thin, OpenAPI-annotated handlers of a kind.

use serde::Deserialize;
use tenure_store::Kind;
use tenure_store::api::{Created, RecordQuery};
use tenure_store::rows::Record;
use utoipa::IntoParams;

use crate::AppState;
use crate::api::extract::{cursor_param, encode_cursor, path_id, time_param};
use crate::auth::Principal;
use crate::error::AppError;

/// A record kind served by [`crud!`].
pub trait Resource {
    const KIND: Kind;
    /// Prefix of generated ids (`con` → `con_x9...`).
    const ID_PREFIX: &'static str;
    type In;
    type Out;
    /// The id the body gives, if any.
    fn body_id(input: &Self::In) -> Option<String>;
    /// Checks the body and builds the record with this id.
    fn into_record(input: Self::In, id: String) -> Result<Record, AppError>;
    fn to_out(record: Record) -> Option<Self::Out>;
}

/// Filters of a listing. `from` / `to` filter on the record's time (opened_at,
/// responded_at, occurred_at) where it has one; `kind` applies to survey
/// responses and engagements.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only records of this account.
    pub account_id: Option<String>,
    /// At or after this time (RFC 3339) or date (start of that UTC day).
    pub from: Option<String>,
    /// Before this time, or through this date (inclusive).
    pub to: Option<String>,
    /// Survey kind (nps, csat, ces) or engagement kind.
    pub kind: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<u32>,
}

impl ListParams {
    pub fn to_query(&self, p: &Principal) -> Result<RecordQuery, AppError> {
        Ok(RecordQuery {
            scope: p.scope(),
            account_id: self.account_id.clone(),
            from: time_param("from", &self.from, false)?,
            to: time_param("to", &self.to, true)?,
            kind: self.kind.clone(),
            after: cursor_param(&self.cursor)?,
            limit: self.limit.unwrap_or(50),
        })
    }
}

pub async fn list<R: Resource>(
    state: &AppState,
    p: &Principal,
    q: ListParams,
) -> Result<(Vec<R::Out>, Option<String>), AppError> {
    let page = state.store.list_records(R::KIND, &q.to_query(p)?).await?;
    Ok((
        page.items.into_iter().filter_map(R::to_out).collect(),
        page.next.as_ref().map(encode_cursor),
    ))
}

pub async fn create<R: Resource>(
    state: &AppState,
    p: &Principal,
    input: R::In,
) -> Result<R::Out, AppError> {
    p.require_write()?;
    let id = super::extract::new_id(R::body_id(&input), R::ID_PREFIX);
    let rec = R::into_record(input, id.clone())?;
    match state.store.create_record(&rec, &p.scope()).await? {
        Created::Created => {
            // The pages' kept aggregates and scores read it.
            state.web.cache.invalidate();
            R::to_out(rec).ok_or_else(|| AppError::not_found("record"))
        }
        Created::AlreadyExists => Err(AppError::conflict(format!(
            "{} {id:?} already exists: use PUT to change it",
            R::KIND
        ))),
    }
}

pub async fn get<R: Resource>(
    state: &AppState,
    p: &Principal,
    id: &str,
) -> Result<R::Out, AppError> {
    let rec = state.store.get_record(R::KIND, id, &p.scope()).await?;
    R::to_out(rec).ok_or_else(|| AppError::not_found("record"))
}

pub async fn replace<R: Resource>(
    state: &AppState,
    p: &Principal,
    id: String,
    input: R::In,
) -> Result<R::Out, AppError> {
    p.require_write()?;
    let id = path_id(id, R::body_id(&input))?;
    let rec = R::into_record(input, id)?;
    state.store.replace_record(&rec, &p.scope()).await?;
    // A change to an existing row: the data fingerprint does not see it.
    state.web.cache.invalidate();
    R::to_out(rec).ok_or_else(|| AppError::not_found("record"))
}

pub async fn delete<R: Resource>(
    state: &AppState,
    p: &Principal,
    id: &str,
) -> Result<(), AppError> {
    p.require_write()?;
    state.store.delete_record(R::KIND, id, &p.scope()).await?;
    state.web.cache.invalidate();
    Ok(())
}

/// Writes the five handlers of a [`Resource`], its page type and its router.
macro_rules! crud {
    (
        resource: $res:ty,
        input: $in:ty,
        output: $out:ty,
        page: $page:ident,
        tag: $tag:tt,
        collection: $coll:tt,
        item: $item:tt,
        handlers: ($list:ident, $create:ident, $get:ident, $replace:ident, $delete:ident)
    ) => {
        /// One page of a listing; `next_cursor` is null on the last page.
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $page {
            pub items: Vec<$out>,
            pub next_cursor: Option<String>,
        }

        #[utoipa::path(get, path = $coll, tag = $tag,
                                            params($crate::api::crud::ListParams),
                                            security(("bearer" = [])),
                                            responses(
                                                (status = 200, body = $page),
                                                (status = 400, body = $crate::error::ErrorBody),
                                                (status = 401, body = $crate::error::ErrorBody),
                                                (status = 403, body = $crate::error::ErrorBody),
                                                (status = 429, body = $crate::error::ErrorBody),
                                            ))]
        pub async fn $list(
            axum::extract::State(state): axum::extract::State<$crate::AppState>,
            p: $crate::auth::Principal,
            $crate::api::extract::ApiQuery(q): $crate::api::extract::ApiQuery<
                $crate::api::crud::ListParams,
            >,
        ) -> Result<axum::Json<$page>, $crate::AppError> {
            let (items, next_cursor) = $crate::api::crud::list::<$res>(&state, &p, q).await?;
            Ok(axum::Json($page { items, next_cursor }))
        }

        #[utoipa::path(post, path = $coll, tag = $tag,
                                            request_body = $in,
                                            security(("bearer" = [])),
                                            responses(
                                                (status = 201, body = $out),
                                                (status = 401, body = $crate::error::ErrorBody),
                                                (status = 403, body = $crate::error::ErrorBody),
                                                (status = 409, body = $crate::error::ErrorBody),
                                                (status = 413, body = $crate::error::ErrorBody),
                                                (status = 422, body = $crate::error::ErrorBody),
                                            ))]
        pub async fn $create(
            axum::extract::State(state): axum::extract::State<$crate::AppState>,
            p: $crate::auth::Principal,
            $crate::api::extract::ApiJson(body): $crate::api::extract::ApiJson<$in>,
        ) -> Result<(axum::http::StatusCode, axum::Json<$out>), $crate::AppError> {
            let out = $crate::api::crud::create::<$res>(&state, &p, body).await?;
            Ok((axum::http::StatusCode::CREATED, axum::Json(out)))
        }

        #[utoipa::path(get, path = $item, tag = $tag,
                                            params(("id" = String, Path)),
                                            security(("bearer" = [])),
                                            responses(
                                                (status = 200, body = $out),
                                                (status = 401, body = $crate::error::ErrorBody),
                                                (status = 404, body = $crate::error::ErrorBody),
                                            ))]
        pub async fn $get(
            axum::extract::State(state): axum::extract::State<$crate::AppState>,
            p: $crate::auth::Principal,
            axum::extract::Path(id): axum::extract::Path<String>,
        ) -> Result<axum::Json<$out>, $crate::AppError> {
            Ok(axum::Json(
                $crate::api::crud::get::<$res>(&state, &p, &id).await?,
            ))
        }

        #[utoipa::path(put, path = $item, tag = $tag,
                                            params(("id" = String, Path)),
                                            request_body = $in,
                                            security(("bearer" = [])),
                                            responses(
                                                (status = 200, body = $out),
                                                (status = 400, body = $crate::error::ErrorBody),
                                                (status = 401, body = $crate::error::ErrorBody),
                                                (status = 403, body = $crate::error::ErrorBody),
                                                (status = 404, body = $crate::error::ErrorBody),
                                                (status = 422, body = $crate::error::ErrorBody),
                                            ))]
        pub async fn $replace(
            axum::extract::State(state): axum::extract::State<$crate::AppState>,
            p: $crate::auth::Principal,
            axum::extract::Path(id): axum::extract::Path<String>,
            $crate::api::extract::ApiJson(body): $crate::api::extract::ApiJson<$in>,
        ) -> Result<axum::Json<$out>, $crate::AppError> {
            Ok(axum::Json(
                $crate::api::crud::replace::<$res>(&state, &p, id, body).await?,
            ))
        }

        #[utoipa::path(delete, path = $item, tag = $tag,
                                            params(("id" = String, Path)),
                                            security(("bearer" = [])),
                                            responses(
                                                (status = 204),
                                                (status = 401, body = $crate::error::ErrorBody),
                                                (status = 403, body = $crate::error::ErrorBody),
                                                (status = 404, body = $crate::error::ErrorBody),
                                            ))]
        pub async fn $delete(
            axum::extract::State(state): axum::extract::State<$crate::AppState>,
            p: $crate::auth::Principal,
            axum::extract::Path(id): axum::extract::Path<String>,
        ) -> Result<axum::http::StatusCode, $crate::AppError> {
            $crate::api::crud::delete::<$res>(&state, &p, &id).await?;
            Ok(axum::http::StatusCode::NO_CONTENT)
        }

        /// This group's routes.
        pub fn router() -> utoipa_axum::router::OpenApiRouter<$crate::AppState> {
            utoipa_axum::router::OpenApiRouter::new()
                .routes(utoipa_axum::routes!($list, $create))
                .routes(utoipa_axum::routes!($get, $replace, $delete))
        }
    };
}
