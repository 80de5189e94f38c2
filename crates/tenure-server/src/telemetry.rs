//! Request logs and Prometheus metrics of the HTTP server.
//!
//! One middleware times every request, counts it by method, route template
//! (`/api/v1/accounts/{id}`, never the concrete path, so label sets stay
//! small) and status, and writes one log line. The log line carries method,
//! route, path, status and latency only: never headers, cookies, query strings
//! or bodies, so keys, passwords and session tokens cannot end up in logs.
//! `/metrics` renders the counters in the Prometheus text format; the small
//! registry is written by hand to keep dependencies lean.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Registry {
    /// (method, route, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// (method, route) → latency.
    latency: BTreeMap<(String, String), Histogram>,
    in_flight: i64,
}

/// Counters of the HTTP server.
#[derive(Debug, Default)]
pub struct Telemetry {
    inner: Mutex<Registry>,
}

impl Telemetry {
    fn with<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        self.with(|r| {
            *r.requests
                .entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
            let h = r
                .latency
                .entry((method.to_string(), route.to_string()))
                .or_default();
            h.count += 1;
            h.sum += secs;
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
        });
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        self.with(|r| {
            let mut out = String::new();
            out.push_str("# HELP tenure_http_requests_total HTTP requests answered, by method, route and status.\n");
            out.push_str("# TYPE tenure_http_requests_total counter\n");
            for ((m, route, s), n) in &r.requests {
                let _ = writeln!(
                    out,
                    "tenure_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                    escape(route)
                );
            }
            out.push_str("# HELP tenure_http_request_duration_seconds Time to answer HTTP requests.\n");
            out.push_str("# TYPE tenure_http_request_duration_seconds histogram\n");
            for ((m, route), h) in &r.latency {
                let labels = format!("method=\"{m}\",route=\"{}\"", escape(route));
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "tenure_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "tenure_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "tenure_http_request_duration_seconds_sum{{{labels}}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "tenure_http_request_duration_seconds_count{{{labels}}} {}",
                    h.count
                );
            }
            out.push_str("# HELP tenure_http_requests_in_flight HTTP requests being answered.\n");
            out.push_str("# TYPE tenure_http_requests_in_flight gauge\n");
            let _ = writeln!(out, "tenure_http_requests_in_flight {}", r.in_flight);
            out
        })
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Middleware: times, counts and logs each request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    // A survey link's path is its secret token: log the route instead.
    let path = if route.starts_with("/s/{token}") {
        route.clone()
    } else {
        req.uri().path().to_string()
    };
    let t = &state.telemetry;
    t.with(|r| r.in_flight += 1);
    let resp = next.run(req).await;
    t.with(|r| r.in_flight -= 1);
    let secs = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    t.record(&method, &route, status, secs);
    tracing::info!(
        target: "tenure::http",
        method = %method,
        route = %route,
        path = %path,
        status,
        latency_ms = (secs * 1000.0 * 1000.0).round() / 1000.0,
        "request"
    );
    resp
}
