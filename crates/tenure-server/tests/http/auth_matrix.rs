//! Every data route × every kind of caller: no key, a wrong key, an ingest
//! key, a viewer, a CSM (on their own account and on someone else's) and an
//! admin.

use axum::http::Method;
use serde_json::Value;
use tenure_store::auth::Role;

use crate::api::{CHILDREN, body};
use crate::common::App;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    NoKey,
    WrongKey,
    IngestKey,
    Viewer,
    Csm,
    CsmOther,
    Leader,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    List,
    Create,
    Get,
    Replace,
    Delete,
}

fn expected(caller: Caller, op: Op, collection: &str) -> u16 {
    let ok = match op {
        Op::List | Op::Get | Op::Replace => 200,
        Op::Create => 201,
        Op::Delete => 204,
    };
    match caller {
        Caller::NoKey | Caller::WrongKey => 401,
        Caller::IngestKey => 403,
        // A viewer sees only the shared views and account cards
        // (docs/CRM.md), so no data route, read or write.
        Caller::Viewer => 403,
        Caller::Csm | Caller::Leader | Caller::Admin => ok,
        // Someone else's records do not exist for a CSM; writing into
        // someone else's account is refused.
        Caller::CsmOther => match (op, collection) {
            (Op::List, _) => 200,
            (Op::Create, "accounts") => 403,
            (Op::Create, _) => 422,
            (Op::Replace, "accounts") => 403,
            _ => 404,
        },
    }
}

#[tokio::test]
async fn every_data_route_enforces_keys_and_roles() {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    let keys = [
        (Caller::NoKey, None),
        (
            Caller::WrongKey,
            Some("tnr_this-key-does-not-exist".to_string()),
        ),
        (Caller::IngestKey, Some(app.ingest_key().await)),
        (Caller::Viewer, Some(app.key(Role::Viewer).await)),
        (Caller::Csm, Some(app.key(Role::Csm).await)),
        (Caller::CsmOther, Some(app.key(Role::Csm).await)),
        (Caller::Leader, Some(app.key(Role::Leader).await)),
        (Caller::Admin, Some(admin.clone())),
    ];
    // The CSM's account and someone else's.
    for (id, csm) in [("own", "csm@example.com"), ("theirs", "other@example.com")] {
        let r = app
            .post("/api/v1/accounts", &admin, body("accounts", id, csm))
            .await;
        assert_eq!(r.status.as_u16(), 201);
    }
    let mut n = 0;
    let mut checked = 0;
    for collection in ["accounts", "events"].into_iter().chain(CHILDREN) {
        for (caller, key) in &keys {
            let (account, owner) = if *caller == Caller::CsmOther {
                ("theirs", "other@example.com")
            } else {
                ("own", "csm@example.com")
            };
            let ops: &[Op] = if collection == "events" {
                &[Op::List, Op::Create]
            } else {
                &[Op::List, Op::Create, Op::Get, Op::Replace, Op::Delete]
            };
            for op in ops {
                n += 1;
                // A record of the right account for item routes, made by the admin.
                let id = format!("r{n}");
                let parent = if collection == "accounts" {
                    owner
                } else {
                    account
                };
                if matches!(op, Op::Get | Op::Replace | Op::Delete) {
                    let made = app
                        .post(
                            &format!("/api/v1/{collection}"),
                            &admin,
                            body(collection, &id, parent),
                        )
                        .await;
                    assert_eq!(made.status.as_u16(), 201, "{}", made.body);
                }
                let coll = format!("/api/v1/{collection}");
                let item = format!("{coll}/{id}");
                let mut new_body = body(collection, &id, parent);
                if collection == "accounts" && *caller == Caller::CsmOther {
                    new_body["csm_email"] = Value::from("other@example.com");
                }
                let (method, path, payload) = match op {
                    Op::List => (Method::GET, coll, None),
                    Op::Create => (Method::POST, coll, Some(new_body)),
                    Op::Get => (Method::GET, item, None),
                    Op::Replace => (Method::PUT, item, Some(new_body)),
                    Op::Delete => (Method::DELETE, item, None),
                };
                let r = app
                    .send(method.clone(), &path, key.as_deref(), payload)
                    .await;
                let want = expected(*caller, *op, collection);
                assert_eq!(
                    r.status.as_u16(),
                    want,
                    "{caller:?} {method} {path}: {}",
                    r.body
                );
                if want >= 400 {
                    assert!(
                        r.body["error"]["code"].is_string(),
                        "{caller:?} {method} {path}: JSON error expected"
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 8 * (2 + 5 + 5 * 5));
}

#[tokio::test]
async fn a_csm_lists_only_their_own_accounts_and_records() {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    let csm = app.key(Role::Csm).await;
    for (id, owner) in [("mine", "CSM@example.com"), ("yours", "x@example.com")] {
        app.post("/api/v1/accounts", &admin, body("accounts", id, owner))
            .await;
        app.post(
            "/api/v1/tickets",
            &admin,
            body("tickets", &format!("t-{id}"), id),
        )
        .await;
        app.post(
            "/api/v1/events",
            &admin,
            body("events", &format!("m-{id}"), id),
        )
        .await;
    }
    let ids = |v: &Value, key: &str| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a[key].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&app.get("/api/v1/accounts", &csm).await.body, "id"),
        ["mine"]
    );
    assert_eq!(
        ids(&app.get("/api/v1/tickets", &csm).await.body, "id"),
        ["t-mine"]
    );
    assert_eq!(
        ids(&app.get("/api/v1/events", &csm).await.body, "account_id"),
        ["mine"]
    );
    assert_eq!(
        ids(&app.get("/api/v1/accounts", &admin).await.body, "id").len(),
        2
    );
    // An account a CSM creates without csm_email becomes theirs.
    let r = app
        .post(
            "/api/v1/accounts",
            &csm,
            serde_json::json!({"id": "new", "name": "New"}),
        )
        .await;
    assert_eq!(r.body["csm_email"], "csm@example.com");
}
