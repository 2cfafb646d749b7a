//! Hostile input never crashes the app or earns a 5xx: property tests over the callback
//! query, cookies, return-to values and token headers, sent through the real router.

use crate::common::*;
use axum::{body::Body, http::Request};
use proptest::prelude::*;
use reqwest::StatusCode;
use scalekit_leptos_starter::auth::server::login_state::{safe_return_path, LoginState};
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Sends one request through the router in-process; returns its status.
async fn status_of(
    app: &TestApp,
    method: &str,
    uri: &str,
    cookie: &str,
    body: &str,
    accept: &str,
) -> u16 {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("cookie", cookie)
        .header("accept", accept)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()));
    let Ok(request) = request else {
        return 400; // not even a valid HTTP request: nothing reaches the app
    };
    let response = app.server.router.clone().oneshot(request).await.unwrap();
    response.status().as_u16()
}

/// Query strings: real parameter names with hostile values, plus raw noise.
fn hostile_query() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        ".{0,200}",
        Just("%".to_string()),
        Just("%ZZ%00%ff".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        Just("[]".to_string()),
        Just("a[0][b]=1".to_string()),
        "[a-zA-Z0-9._~-]{0,5000}",
    ];
    let name = prop_oneof![
        Just("code"),
        Just("state"),
        Just("error"),
        Just("error_description"),
        Just("return_to"),
        Just("x"),
    ];
    // serde_qs reads brackets in names as nesting: `x[0]`, `x[]`, `x[a]` and garbage.
    let suffix = prop_oneof![
        Just(""),
        Just("[0]"),
        Just("[]"),
        Just("[a]"),
        Just("[x"),
        Just("]"),
        Just("[99999999999999999999]")
    ];
    prop::collection::vec((name, suffix, value), 0..6).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, s, v)| format!("{n}{s}={}", v.replace(['&', '#', ' '], "")))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// Form bodies: well-formed hostile pairs, or printable noise.
fn hostile_body() -> impl Strategy<Value = String> {
    prop_oneof![
        hostile_query(),
        "[ -~]{0,300}",
        r"[abcXYZ019%&=?/<>.;:_~+!*()\[\]{}| -]{0,300}"
    ]
}

fn hostile_cookie() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("__Host-sk_access"),
        Just("__Secure-sk_refresh"),
        Just("__Host-sk_id"),
        Just("__Host-sk_login"),
        Just("other")
    ];
    let value = prop_oneof![
        "[ -~]{0,300}",
        "[A-Za-z0-9+/=_-]{0,4000}",
        Just("eyJhbGciOiJub25lIn0.e30.".to_string())
    ];
    prop::collection::vec((name, value), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, v)| format!("{n}={}", v.replace([';', '\r', '\n'], "")))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn return_to_is_always_a_same_site_path(raw in ".{0,300}") {
        if let Some(path) = safe_return_path(&raw) {
            prop_assert!(path.starts_with('/'));
            prop_assert!(!path.starts_with("//"));
            prop_assert!(!path.contains('\\'));
            let base = url::Url::parse("http://app.invalid/").unwrap();
            prop_assert_eq!(base.join(&path).unwrap().origin(), base.origin());
        }
    }

    #[test]
    fn login_state_decoding_never_panics_and_keeps_return_to_safe(raw in ".{0,400}") {
        let _ = serde_json::from_str::<LoginState>(&raw);
        let stored = serde_json::json!({
            "state": "s", "nonce": "n", "code_verifier": "v", "return_to": raw, "issued_at": 1,
        });
        if let Ok(state) = serde_json::from_value::<LoginState>(stored) {
            prop_assert!(safe_return_path(&state.return_to).is_some());
        }
    }

    #[test]
    fn jwt_header_parsing_never_panics(raw in "[A-Za-z0-9_.-]{0,400}") {
        let _ = jsonwebtoken::decode_header(&raw);
    }
}

#[test]
fn hostile_requests_never_earn_a_5xx() {
    let rt = runtime();
    let app = rt.block_on(spawn_app(300));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    });
    let paths = prop_oneof![
        Just(("GET", "/auth/callback")),
        Just(("GET", "/auth/refresh")),
        Just(("GET", "/dashboard/profile")),
        Just(("GET", "/")),
        Just(("POST", "/auth/login")),
        Just(("POST", "/auth/logout")),
        Just(("POST", "/auth/refresh/session")),
        Just(("POST", "/auth/me")),
    ];
    // A plain form post (text/html) or the browser build's fetch (*/*).
    let accept = prop_oneof![Just("text/html"), Just("*/*")];
    runner
        .run(
            &(
                paths,
                hostile_query(),
                hostile_cookie(),
                hostile_body(),
                accept,
            ),
            |((method, path), query, cookie, body, accept)| {
                let uri = format!("{path}?{query}");
                let status = rt.block_on(status_of(&app, method, &uri, &cookie, &body, accept));
                prop_assert!(
                    status < 500,
                    "{method} {uri} accept={accept} cookie={cookie:?} body={body:?} -> {status}"
                );
                Ok(())
            },
        )
        .unwrap();
}

#[tokio::test]
async fn open_redirect_attempts_end_on_this_site() {
    let app = spawn_app(300).await;
    for hostile in [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
        "/%2F%2Fevil.example",
    ] {
        let mut browser = Browser::default();
        let login = app.url.join("/auth/login").unwrap();
        let response = browser
            .post_form(&login, &[("intent", "login"), ("return_to", hostile)])
            .await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let authorize = location(&response, &app.url);
        let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
        let response = browser.get(&callback).await;
        let landing = location(&response, &app.url);
        assert_eq!(
            landing.origin(),
            app.url.origin(),
            "{hostile} led to {landing}"
        );
        assert_eq!(landing.path(), "/dashboard/profile", "{hostile}");

        let refresh = app
            .url
            .join(&format!("/auth/refresh?return_to={}", urlencode(hostile)))
            .unwrap();
        let response = browser.get(&refresh).await;
        assert_eq!(
            location(&response, &app.url).origin(),
            app.url.origin(),
            "{hostile}"
        );
    }
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Malformed server-function arguments get a complete 400 over real HTTP: the declared
/// length matches the body, also when the error text is longer than the middleware that
/// turns it into a 400 reads back (64 KiB), and it answers with an empty body.
#[tokio::test]
async fn malformed_server_function_arguments_get_a_complete_400_at_any_size() {
    let app = spawn_app(300).await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    for size in [10, 70_000] {
        let response = client
            .post(app.url.join("/auth/login").unwrap())
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("intent={}", "x".repeat(size)))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{size}");
        let declared = response.content_length();
        let body = response.bytes().await.expect("the whole body, promptly");
        if let Some(declared) = declared {
            assert_eq!(usize::try_from(declared).unwrap(), body.len(), "{size}");
        }
    }
}
