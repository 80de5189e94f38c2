//! The OpenAPI 3.1 document, generated from the handlers' annotations
//! (utoipa), served at `/api/openapi.json`, and a browsable reference at
//! `/api/docs` (Scalar). Scalar's script is embedded in the binary
//! (`assets/scalar-standalone.js.gz`, MIT licence, from the npm package
//! `@scalar/api-reference`), so the page loads nothing from a CDN.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Doc, Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_scalar::Scalar;

use crate::AppState;
use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenure API",
        description = "Customer success data: accounts, contacts, subscriptions, events, tickets, survey responses and engagements. Authenticate with `Authorization: Bearer <API key>` (create one with `tenure keys create`). Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Doc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key from `tenure keys create` (tnr_...)"))
                    .build(),
            ),
        );
    }
}

/// The JSON API with its OpenAPI document.
pub fn api_router() -> OpenApiRouter<AppState> {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let mut router = OpenApiRouter::with_openapi(doc).nest("/api/v1", crate::api::router());
    document_shared_errors(router.get_openapi_mut());
    router
}

/// The error answers of the extractors every handler shares, with what
/// each means: the caller ([`Principal`](crate::auth::Principal)) on every
/// operation with bearer security, query parameters
/// ([`ApiQuery`](crate::api::extract::ApiQuery)) and JSON bodies
/// ([`ApiJson`](crate::api::extract::ApiJson)).
const SHARED_ERRORS: [(&str, &str); 6] = [
    (
        "400",
        "Bad request: a query parameter or the JSON body cannot be read.",
    ),
    (
        "401",
        "Missing, unknown or revoked API key, or an expired session.",
    ),
    (
        "403",
        "The caller's role may not do this (or an ingest key, or a session without its CSRF token).",
    ),
    ("413", "The request body is too large."),
    (
        "422",
        "The JSON body is well formed but a field is missing or not valid.",
    ),
    (
        "429",
        "Too many requests from this caller: retry after the Retry-After header's seconds.",
    ),
];

/// Adds to every operation the error answers its extractors can give and
/// its own annotation leaves out, each an [`ErrorBody`], so that the
/// document lists every status the server answers: 401, 403 and 429 where
/// the caller is authenticated, 400 where there are query parameters or a
/// body, 413 and 422 where there is a body. Answers without a description
/// get the shared one, or the status's reason phrase (OpenAPI requires one).
fn document_shared_errors(doc: &mut Doc) {
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            document_operation_errors(op);
        }
    }
}

fn document_operation_errors(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let query = op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => p.parameter_in == ParameterIn::Query,
        RefOr::Ref(_) => false,
    });
    let body = op.request_body.is_some();
    let responses = &mut op.responses.responses;
    for (status, description) in SHARED_ERRORS {
        let applies = match status {
            "401" | "403" | "429" => secured,
            "400" => query || body,
            _ => body,
        };
        if applies && !responses.contains_key(status) {
            let mut r = utoipa::openapi::Response::new(description);
            r.content.insert(
                "application/json".to_string(),
                RefOr::T(Content::new(Some(Ref::from_schema_name("ErrorBody")))),
            );
            responses.insert(status.to_string(), RefOr::T(r));
        }
    }
    for (status, r) in responses.iter_mut() {
        let RefOr::T(r) = r else { continue };
        if r.description.is_empty() {
            r.description = SHARED_ERRORS
                .iter()
                .find(|(s, _)| s == status)
                .map(|(_, d)| *d)
                .or_else(|| {
                    status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                })
                .unwrap_or("")
                .to_string();
        }
    }
}

/// The OpenAPI document as the server serves it (for tests and tools).
pub fn document() -> Doc {
    api_router().into_openapi()
}

const SCALAR_JS_GZ: &[u8] = include_bytes!("../assets/scalar-standalone.js.gz");

const DOCS_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
</head>
<body>
<div id="app"></div>
<script src="/api/docs/scalar.js"></script>
<script>
Scalar.createApiReference('#app', {
  content: $spec,
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false
});
</script>
</body>
</html>
"#;

/// `/api/openapi.json`, `/api/docs` and the docs page's script.
pub fn docs_router(doc: Arc<Doc>) -> Router<AppState> {
    let html = Scalar::new((*doc).clone())
        .title("Tenure API")
        .custom_html(DOCS_HTML)
        .to_html();
    let html = Arc::new(html);
    Router::new()
        .route(
            "/api/openapi.json",
            get(move |_: State<AppState>| {
                let doc = doc.clone();
                async move { Json((*doc).clone()) }
            }),
        )
        .route(
            "/api/docs",
            get(move |_: State<AppState>| {
                let html = html.clone();
                async move { Html((*html).clone()) }
            }),
        )
        .route("/api/docs/scalar.js", get(scalar_js))
}

async fn scalar_js(headers: HeaderMap) -> Response {
    let gzip_ok = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("gzip"));
    let common = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=86400"),
    ];
    if gzip_ok {
        (common, [(header::CONTENT_ENCODING, "gzip")], SCALAR_JS_GZ).into_response()
    } else {
        use std::io::Read;
        let mut out = Vec::new();
        match flate2::read::GzDecoder::new(SCALAR_JS_GZ).read_to_end(&mut out) {
            Ok(_) => (common, out).into_response(),
            Err(e) => crate::AppError::internal(e).into_response(),
        }
    }
}
