//! Placeholder route group for /api/v1/cohorts, built in another issue.
//! Add handlers with `#[utoipa::path(...)]` and list them in [`router`]
//! (`.routes(routes!(handler))`); paths are relative to `/api/v1`.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The routes of this group (none yet).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
