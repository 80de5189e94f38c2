//! The JSON API under `/api/v1/`: one module per route group.
//!
//! Handlers are thin: extract (the caller as a [`Principal`](crate::auth::Principal),
//! the JSON body or query), call the store with the caller's account scope,
//! answer JSON. Request and response types live next to their routes.
//!
//! [`health`] serves an account's score, history and overrides, and
//! [`engage`] segments, the journey and cadence, through the application
//! layer (`tenure_app`), as the CLI and the pages do.

#[macro_use]
mod crud;

pub mod accounts;
pub mod churn;
pub mod contacts;
pub mod engage;
pub mod engagements;
pub mod events;
pub mod extract;
pub mod feedback;
pub mod health;
pub mod kpis;
pub mod outbound;
pub mod plans;
pub mod plays;
pub mod renewals;
pub mod risk;
pub mod session;
pub mod subscriptions;
pub mod survey_responses;
pub mod surveys;
pub mod survival;
pub mod tasks;
pub mod tickets;
pub mod views;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// Every route group of `/api/v1/` (paths relative to it).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(session::router())
        .merge(accounts::router())
        .merge(contacts::router())
        .merge(subscriptions::router())
        .merge(events::router())
        .merge(tickets::router())
        .merge(survey_responses::router())
        .merge(engagements::router())
        .merge(health::router())
        .merge(engage::router())
        .merge(tasks::router())
        .merge(plans::router())
        .merge(plays::router())
        .merge(kpis::router())
        .merge(risk::router())
        .merge(renewals::router())
        .merge(feedback::router())
        .merge(outbound::router())
        .merge(surveys::router())
        .merge(survival::router())
        .merge(churn::router())
        .merge(views::router())
}
