//! The OpenAPI 3.1 document, generated from the handlers' annotations
//! (utoipa), served at `/api/openapi.json`, and a browsable reference at
//! `/api/docs` (Scalar). Scalar's script is embedded in the binary
//! (`assets/scalar-standalone.js.gz`, MIT licence, from the npm package
//! `@scalar/api-reference`), so the page loads nothing from a CDN.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::OpenApi as Doc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    OpenApiRouter::with_openapi(doc).nest("/api/v1", crate::api::router())
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
