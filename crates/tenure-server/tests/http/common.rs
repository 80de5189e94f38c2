//! The test harness: an app on a fresh database, keys of each role, and
//! one-line requests.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use jiff::Timestamp;
use serde_json::Value;
use tenure_server::auth::generate_key;
use tenure_server::{AppState, ServerConfig, router};
use tenure_store::auth::{KeyKind, NewApiKey, Role};
use tenure_store::testing::{TestDb, test_db};
use tower::ServiceExt;

pub const WEBHOOK_SECRET: &str = "whsec_test_0123456789";

pub struct App {
    pub db: TestDb,
    pub router: Router,
}

/// A response, its body parsed as JSON (Null when empty or not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl App {
    pub async fn new() -> App {
        App::with_config(ServerConfig {
            stripe_webhook_secret: Some(WEBHOOK_SECRET.to_string()),
            ..ServerConfig::default()
        })
        .await
    }

    pub async fn with_config(config: ServerConfig) -> App {
        let db = test_db().await;
        let router = router(AppState::new(db.store.clone(), config));
        App { db, router }
    }

    async fn make_key(
        &self,
        kind: KeyKind,
        role: Option<Role>,
        user_email: Option<&str>,
    ) -> String {
        let k = generate_key();
        self.db
            .store
            .create_api_key(
                &NewApiKey {
                    id: format!("key-{}", &k.hash[..12]),
                    name: "test".into(),
                    kind,
                    role,
                    prefix: k.prefix.clone(),
                    key_hash: k.hash.clone(),
                    user_email: user_email.map(str::to_string),
                    all_accounts: false,
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
        k.secret
    }

    /// An API key with a role; CSM keys act for csm@example.com.
    pub async fn key(&self, role: Role) -> String {
        let email = (role == Role::Csm).then_some("csm@example.com");
        self.make_key(KeyKind::Api, Some(role), email).await
    }

    pub async fn ingest_key(&self) -> String {
        self.make_key(KeyKind::Ingest, None, None).await
    }

    pub async fn call(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A JSON API request with an optional bearer key and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.call(req.unwrap()).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Resp {
        self.send(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn put(&self, path: &str, key: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(key), Some(body)).await
    }

    pub async fn delete(&self, path: &str, key: &str) -> Resp {
        self.send(Method::DELETE, path, Some(key), None).await
    }
}

/// Asserts the status and the error code of an error answer.
#[track_caller]
pub fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.body["error"]["code"], code, "body: {}", r.body);
    assert!(r.body["error"]["message"].is_string());
}
