//! Logout revokes the refresh token; error pages show the provider's words only for a
//! login in progress; signed-in pages are never cached; HSTS on https; oversized provider
//! answers are refused; extreme webhook timestamps are just stale.

use crate::common::*;
use dev_idp::{Counters, Misbehaviour};
use reqwest::StatusCode;

#[tokio::test]
async fn logout_revokes_the_refresh_token_so_a_copied_cookie_is_dead() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    let copy = browser.with_same_cookies();

    // Log out, without ever reaching the provider's logout page.
    let response = browser
        .post_form(&app.url.join("/auth/logout").unwrap(), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(Counters::get(&idp.counters().revocation), 1);

    let mut thief = copy;
    let refresh = app.url.join("/auth/refresh").unwrap();
    let response = thief
        .get_with(&refresh, &[("sec-fetch-site", "none")])
        .await;
    let landed = location(&response, &app.url);
    assert_eq!(landed.path(), "/", "the copied refresh cookie is dead");
    assert_eq!(query(&landed)["notice"], "session_ended");
}

#[tokio::test]
async fn provider_errors_are_shown_only_for_the_login_in_progress() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, &app, "login").await;
    let state = query(&authorize)["state"].clone();

    // A link anyone could send: an error without this browser's state.
    for forged_state in [None, Some("not-the-state")] {
        let mut url = app.url.join("/auth/callback").unwrap();
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("error", "access_denied").append_pair(
                "error_description",
                "Your account is locked; call +1 555 0100",
            );
            if let Some(s) = forged_state {
                pairs.append_pair("state", s);
            }
        }
        let response = browser.get(&url).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(
            response.headers().get("set-cookie").is_none(),
            "the login in progress is not consumed"
        );
        let page = response.text().await.unwrap();
        assert!(
            !page.contains("555 0100") && !page.contains("access_denied"),
            "{page}"
        );
    }
    // The same at the IdP-initiated entry point, which has no state at all.
    let mut url = app.url.join("/auth/initiate").unwrap();
    url.query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair(
            "error_description",
            "Your account is locked; call +1 555 0100",
        );
    let response = browser.get(&url).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("set-cookie").is_none());
    let page = response.text().await.unwrap();
    assert!(
        !page.contains("555 0100") && !page.contains("access_denied"),
        "{page}"
    );

    // The real login still completes.
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);

    // With the login's own state, the provider's error is shown (escaped).
    let authorize = start_login(&mut browser, &app, "login").await;
    let mut url = app.url.join("/auth/callback").unwrap();
    url.query_pairs_mut()
        .append_pair("state", &query(&authorize)["state"])
        .append_pair("error", "access_denied")
        .append_pair("error_description", "<b>cancelled</b>");
    let page = browser.get(&url).await.text().await.unwrap();
    assert!(
        page.contains("access_denied") && page.contains("&lt;b&gt;cancelled"),
        "{page}"
    );
    assert_ne!(state, query(&authorize)["state"]);
}

/// HEAD is answered with GET's headers, compression's included.
#[tokio::test]
async fn head_answers_carry_the_headers_of_get() {
    let app = spawn_app(300).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/", "/no-such-page", "/dashboard/profile"] {
        let url = app.url.join(path).unwrap();
        let get = client
            .get(url.clone())
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        let head = client
            .head(url)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        for name in [
            "content-encoding",
            "vary",
            "content-type",
            "content-length",
            "location",
        ] {
            assert_eq!(
                head.headers().get(name),
                get.headers().get(name),
                "{path} {name}"
            );
        }
        if path != "/dashboard/profile" {
            assert_eq!(
                get.headers().get("content-encoding").map(|v| v.as_bytes()),
                Some(&b"gzip"[..]),
                "{path}: pages are compressed"
            );
        }
    }
}

/// Pages are rendered whole before they are sent (so they work without JavaScript), and
/// sent so: with their length, not in chunked encoding (`src/server/render.rs`), with
/// the `<title>` leptos_meta injects and what the page's `<Suspense>` waited for.
#[tokio::test]
async fn pages_are_sent_whole_with_their_length() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let signed_out = browser.get(&app.url).await;
    log_in(&mut browser, &app, "ada@example.com").await;
    let profile = browser
        .get(&app.url.join("/dashboard/profile").unwrap())
        .await;
    let account = browser
        .get(&app.url.join("/dashboard/account").unwrap())
        .await;
    for (page, response, content) in [
        ("/", signed_out, "Log in"),
        ("/dashboard/profile", profile, "ada@example.com"),
        ("/dashboard/account", account, "data-testid=\"api-subject\""),
    ] {
        assert_eq!(response.status(), 200, "{page}");
        assert_eq!(response.headers().get("transfer-encoding"), None, "{page}");
        let length: usize = response
            .headers()
            .get("content-length")
            .unwrap_or_else(|| panic!("{page} has no content-length"))
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = response.text().await.unwrap();
        assert_eq!(body.len(), length, "{page}");
        assert!(
            body.contains("<title>Scalekit + Leptos starter</title>"),
            "{page}: {body}"
        );
        assert!(body.contains(content), "{page}: {body}");
        assert!(!body.contains("Asking your API"), "{page}: {body}");
    }
}

#[tokio::test]
async fn pages_for_a_signed_in_person_are_never_cached() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let anonymous = browser.get(&app.url).await;
    assert_eq!(anonymous.headers().get("cache-control"), None);
    log_in(&mut browser, &app, "ada@example.com").await;
    for path in ["/", "/dashboard/profile", "/no-such-page"] {
        let response = browser.get(&app.url.join(path).unwrap()).await;
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("private, no-store"),
            "{path}"
        );
    }
    assert!(
        anonymous
            .headers()
            .get("strict-transport-security")
            .is_none(),
        "no HSTS for a plain-http APP_URL"
    );
}

#[tokio::test]
async fn an_https_app_sends_hsts() {
    // A configured provider (discovery is lazy: it need not answer) with an https APP_URL,
    // as in production; the built-in provider would refuse such an APP_URL.
    let provider = url::Url::parse("http://127.0.0.1:9").unwrap();
    let app = TestApp::builder()
        .against(&provider)
        .env("APP_URL", "https://app.example")
        .start()
        .await;
    let response = reqwest::get(app.url.join("/healthz").unwrap())
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000")
    );
}

#[tokio::test]
async fn an_oversized_token_answer_is_a_provider_fault_not_a_session() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    idp.misbehave(Some(Misbehaviour::OversizedTokenResponse))
        .unwrap();
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, &app, "login").await;
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.text().await.unwrap().contains("not answering"));
    assert!(browser.cookie(&app.url, "__Host-sk_access").is_none());
}

#[tokio::test]
async fn extreme_webhook_timestamps_are_stale_not_a_crash() {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let app = TestApp::builder()
        .env("SCALEKIT_WEBHOOK_SECRET", SECRET)
        .start()
        .await;
    let client = reqwest::Client::new();
    for timestamp in [i64::MIN, i64::MIN + 1, i64::MAX, -1] {
        let response = client
            .post(app.url.join("/webhooks/scalekit").unwrap())
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", "v1,bm90IGEgc2lnbmF0dXJl")
            .body("{}")
            .send()
            .await
            .expect("an answer, not a reset connection");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{timestamp}");
        assert!(response.text().await.unwrap().contains("five minutes"));
    }
}
