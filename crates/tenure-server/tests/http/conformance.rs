//! The API against its own OpenAPI document, the regressions of
//! `scripts/api-conformance.sh` (schemathesis; docs/API.md, "Conformance"):
//! every operation documents the errors its shared extractors answer, no
//! two response types share a schema name (utoipa keeps one of them, so the
//! other's responses were documented with the wrong shape), and real
//! answers on a demo company match the schemas documented for them.

use std::collections::BTreeMap;

use serde_json::Value;
use tenure_store::auth::Role;

use crate::common::App;
use crate::support;

fn document() -> Value {
    serde_json::to_value(tenure_server::openapi::document()).unwrap()
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every (method, path, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_operation_documents_the_errors_its_shared_extractors_answer() {
    // schemathesis found 30 operations answering a status their annotation
    // left out: 401 without a key, 400 for a body that is not JSON or a bad
    // query parameter.
    let doc = document();
    let mut missing = Vec::new();
    for (method, path, op) in operations(&doc) {
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        let body = op.get("requestBody").is_some();
        let query = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        let mut expected = Vec::new();
        if secured {
            expected.extend(["401", "403", "429"]);
        }
        if body || query {
            expected.push("400");
        }
        if body {
            expected.extend(["413", "422"]);
        }
        let responses = &op["responses"];
        for status in expected {
            if responses.get(status).is_none() {
                missing.push(format!("{method} {path}: {status}"));
            }
        }
        for (status, r) in responses.as_object().unwrap() {
            if status.starts_with('4') {
                let schema = &r["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
}

/// The names under which the server's `ToSchema` types are documented: the
/// type's name, or its `#[schema(as = ...)]`.
fn schema_names(dir: &std::path::Path, out: &mut BTreeMap<String, Vec<String>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            schema_names(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut derives = false;
        let mut alias: Option<String> = None;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                derives = true;
                alias = None;
            } else if let Some(rest) = line.strip_prefix("#[schema(as = ") {
                alias = Some(rest.trim_end_matches(")]").trim().to_string());
            } else if derives
                && let Some(name) = ["pub struct ", "pub enum ", "struct ", "enum "]
                    .iter()
                    .find_map(|k| line.strip_prefix(k))
            {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let shown = alias.take().unwrap_or(name);
                out.entry(shown)
                    .or_default()
                    .push(path.display().to_string());
                derives = false;
            }
        }
    }
}

#[test]
fn no_two_response_types_share_a_schema_name() {
    // utoipa keys components by name and keeps one: the KPI history was
    // documented as an account's health history, the risk board's measure
    // as a health measure, a survey's month as a KPI month and the plan
    // milestones as survival milestones, and schemathesis saw every such
    // answer violate its schema.
    let mut names = BTreeMap::new();
    schema_names(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut names,
    );
    assert!(names.len() > 50, "found only {names:?}");
    let shared: Vec<_> = names.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(
        shared.is_empty(),
        "schema names used twice (rename one with #[schema(as = ...)]): {shared:#?}"
    );
}

/// The problems of `value` against `schema` (a small part of JSON Schema:
/// `$ref`, `type`, `properties`, `required`, `items`, `oneOf`, `anyOf`,
/// `allOf` and `enum`, what utoipa writes).
fn problems(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return problems(doc, &doc["components"]["schemas"][name], value, at, out);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options.iter().any(|s| {
                let mut p = Vec::new();
                problems(doc, s, value, at, &mut p);
                p.is_empty()
            });
            if !fits {
                out.push(format!("{at}: {value} fits none of {key}"));
            }
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            problems(doc, s, value, at, out);
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {options:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let fits = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        });
        if !fits {
            out.push(format!("{at}: {value} is not of type {types:?}"));
            return;
        }
    }
    if let Some(obj) = value.as_object() {
        for req in schema["required"].as_array().into_iter().flatten() {
            let req = req.as_str().unwrap();
            if !obj.contains_key(req) {
                out.push(format!("{at}: missing required {req:?}"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, v) in obj {
                if let Some(s) = props.get(k) {
                    problems(doc, s, v, &format!("{at}.{k}"), out);
                }
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            problems(doc, items, v, &format!("{at}[{i}]"), out);
        }
    }
}

#[tokio::test]
async fn answers_on_a_demo_company_match_their_documented_schemas() {
    let seeded = support::seeded(60).await;
    let app = App {
        router: tenure_server::router(seeded.state.clone()),
        db: seeded.db,
    };
    let admin = app.key(Role::Admin).await;
    let doc = document();
    let mut all = Vec::new();
    // The four whose schema another type's had taken, and a few more.
    for path in [
        "/kpis/history",
        "/risk",
        "/renewals/forecast",
        "/survival",
        "/churn/predictions",
        "/kpis",
        "/accounts",
        "/plans",
        "/tasks",
        "/segments",
        "/playbooks",
        "/surveys",
        "/requests",
        "/feedback",
    ] {
        let r = app.get(&format!("/api/v1{path}"), &admin).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let schema = &doc["paths"][format!("/api/v1{path}")]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        assert!(schema.is_object(), "{path} documents no 200 body");
        problems(&doc, schema, &r.body, path, &mut all);
    }
    assert!(all.is_empty(), "{all:#?}");
}
