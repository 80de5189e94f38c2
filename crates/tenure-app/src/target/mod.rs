//! Target (docs/TARGET.md): success plans made from templates and edited
//! by hand, their goals measured each day; tasks; the CSM KPIs against
//! their targets. Decisions are core's (`tenure_core::target`); this layer
//! loads, applies and stores.

pub mod import;
pub mod kpis;
pub mod plans;
pub mod tasks;
