//! The CSM KPIs of a portfolio against their targets.
