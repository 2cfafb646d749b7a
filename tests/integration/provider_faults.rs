//! Provider faults: down, slow, failing, talking nonsense. The person gets a clear page
//! within the configured timeout, nothing is stored, and everyone else is still served.

use crate::common::*;
use axum::{http::StatusCode as AxumStatus, response::IntoResponse, routing::get, Json, Router};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use url::Url;

/// What the fake provider does wrong.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    SlowDiscovery,
    TokenEndpoint500,
    TokenEndpointGarbage,
    TokenEndpointSlow,
    TokenEndpointInvalidGrant,
    JwksFailing,
}

/// A provider on loopback that serves discovery and misbehaves as told.
async fn fake_provider(fault: Fault) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = base.clone();
    let discovery = move || {
        let issuer = issuer.clone();
        async move {
            if fault == Fault::SlowDiscovery {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Json(json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/oauth/authorize"),
                "token_endpoint": format!("{issuer}/oauth/token"),
                "jwks_uri": format!("{issuer}/keys"),
                "end_session_endpoint": format!("{issuer}/oidc/logout"),
            }))
        }
    };
    let token = move || async move {
        match fault {
            Fault::TokenEndpoint500 => (AxumStatus::INTERNAL_SERVER_ERROR, "boom").into_response(),
            Fault::TokenEndpointGarbage => {
                (AxumStatus::OK, "<html>not json</html>").into_response()
            }
            Fault::TokenEndpointSlow => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                (AxumStatus::OK, "{}").into_response()
            }
            Fault::TokenEndpointInvalidGrant => (
                AxumStatus::BAD_REQUEST,
                Json(json!({"error": "invalid_grant", "error_description": "code expired"})),
            )
                .into_response(),
            // A well-formed JWT whose key id sends the app to the key set.
            _ => Json(json!({
                "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1In0.c2ln",
                "id_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1In0.c2ln",
                "expires_in": 300, "token_type": "Bearer"
            }))
            .into_response(),
        }
    };
    let keys = move || async move {
        if fault == Fault::JwksFailing {
            (AxumStatus::SERVICE_UNAVAILABLE, "down").into_response()
        } else {
            Json(json!({"keys": []})).into_response()
        }
    };
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth/token", axum::routing::post(token))
        .route("/keys", get(keys));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Url::parse(&base).unwrap()
}

/// The app against `provider`, with one-second timeouts.
async fn app_against(provider: &Url) -> TestApp {
    TestApp::builder()
        .against(provider)
        .configure(|config| {
            config.settings.auth.http_timeout_secs = 1;
            config.settings.auth.http_connect_timeout_secs = 1;
        })
        .start()
        .await
}

/// Starts a login and comes back to the callback with a (fake) code and the right state.
async fn callback_with_code(app: &TestApp) -> (Browser, reqwest::Response, Duration) {
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, app, "login").await;
    let state = query(&authorize)["state"].clone();
    let callback = app
        .url
        .join(&format!("/auth/callback?code=abc&state={state}"))
        .unwrap();
    let started = Instant::now();
    let response = browser.get(&callback).await;
    (browser, response, started.elapsed())
}

#[tokio::test]
async fn provider_down_at_login_start_shows_a_notice() {
    // A port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap()
    };
    let app = app_against(&closed).await;
    let mut browser = Browser::default();
    let response = browser
        .post_form(
            &app.url.join("/auth/login").unwrap(),
            &[("intent", "login")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response, &app.url).as_str(),
        app.url
            .join("/?notice=provider_unavailable")
            .unwrap()
            .as_str()
    );
    let home = browser
        .get(&app.url.join("/?notice=provider_unavailable").unwrap())
        .await;
    assert!(home.text().await.unwrap().contains("could not be reached"));
}

#[tokio::test]
async fn slow_provider_at_login_start_answers_within_the_timeout_and_others_are_served() {
    let provider = fake_provider(Fault::SlowDiscovery).await;
    let app = app_against(&provider).await;
    let login = app.url.join("/auth/login").unwrap();
    let slow = tokio::spawn(async move {
        let mut browser = Browser::default();
        let started = Instant::now();
        let response = browser.post_form(&login, &[("intent", "login")]).await;
        (
            response.status(),
            response.headers().get("location").cloned(),
            started.elapsed(),
        )
    });
    // Meanwhile the rest of the app answers at once.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let home = Browser::default().get(&app.url).await;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "home took {:?}",
        started.elapsed()
    );

    let (status, location, elapsed) = slow.await.unwrap();
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location.unwrap(), "/?notice=provider_unavailable");
    assert!(
        elapsed < Duration::from_secs(3),
        "gave up after {elapsed:?}"
    );
}

#[tokio::test]
async fn token_endpoint_faults_give_a_friendly_page_and_no_session() {
    let cases = [
        (
            Fault::TokenEndpoint500,
            StatusCode::BAD_GATEWAY,
            "not answering",
        ),
        (
            Fault::TokenEndpointGarbage,
            StatusCode::BAD_GATEWAY,
            "not answering",
        ),
        (
            Fault::TokenEndpointSlow,
            StatusCode::GATEWAY_TIMEOUT,
            "not answering",
        ),
        (
            Fault::TokenEndpointInvalidGrant,
            StatusCode::BAD_REQUEST,
            "already used",
        ),
        (Fault::JwksFailing, StatusCode::BAD_GATEWAY, "not answering"),
    ];
    for (fault, status, text) in cases {
        let provider = fake_provider(fault).await;
        let app = app_against(&provider).await;
        let (browser, response, elapsed) = callback_with_code(&app).await;
        assert_eq!(response.status(), status);
        assert!(
            elapsed < Duration::from_secs(3),
            "answered after {elapsed:?}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(text), "{html}");
        assert!(html.contains("href=\"/\""), "a way to retry");
        assert!(browser.cookie(&app.url, "__Host-sk_access").is_none());
    }
}

#[tokio::test]
async fn the_app_starts_even_when_the_provider_is_unreachable() {
    let closed = Url::parse("http://127.0.0.1:9").unwrap();
    let app = app_against(&closed).await;
    let response = Browser::default().get(&app.url).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn provider_down_during_refresh_keeps_the_session_and_offers_a_retry() {
    use dev_idp::Misbehaviour;
    let app = spawn_app(300).await;
    let idp = app.idp();
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;

    idp.misbehave(Some(Misbehaviour::TokenEndpointDown))
        .unwrap();
    let refresh = app
        .url
        .join("/auth/refresh?return_to=/dashboard/profile")
        .unwrap();
    let response = browser.get(&refresh).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("still signed in") && html.contains("/auth/refresh?return_to="),
        "{html}"
    );
    assert!(
        browser.cookie(&app.url, "__Secure-sk_refresh").is_some(),
        "the refresh token is kept"
    );

    // The provider is back: the retry succeeds with the same refresh token.
    idp.misbehave(None).unwrap();
    let response = browser.get(&refresh).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response, &app.url).path(), "/dashboard/profile");
}
