//! Logs help and never leak: every request gets an id, and no token, code, state or
//! secret appears in the log of a whole session at the most verbose level.

mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn a_whole_session_logs_no_secret() {
    let logs = Captured::default();
    tracing_subscriber::fmt()
        .with_env_filter("scalekit_leptos_starter=trace,tower_http=trace")
        .with_writer(logs.clone())
        .with_ansi(false)
        .init();

    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, &app, "login").await;
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers().get("x-request-id").is_some(),
        "responses carry their request id"
    );
    browser
        .get(&app.url.join("/dashboard/profile").unwrap())
        .await;
    browser.get(&app.url.join("/auth/refresh").unwrap()).await;
    // A failure path too: a replayed callback.
    browser.get(&callback).await;
    browser
        .post_form(&app.url.join("/auth/logout").unwrap(), &[])
        .await;

    // Values from requests cannot forge log lines: a newline in them stays escaped.
    let forged = "2026-11-29T00:00:00.000000Z ERROR forged: admin signed in";
    let hostile = format!("denied\n{forged}");
    let mut initiate = app.url.join("/auth/initiate").unwrap();
    initiate.query_pairs_mut().append_pair("error", &hostile);
    browser.get(&initiate).await;
    let authorize = start_login(&mut browser, &app, "login").await;
    let mut callback_error = app.url.join("/auth/callback").unwrap();
    callback_error
        .query_pairs_mut()
        .append_pair("state", &query(&authorize)["state"])
        .append_pair("error", &hostile)
        .append_pair("error_description", &hostile);
    assert_eq!(
        browser.get(&callback_error).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let text = logs.text();
    assert!(
        text.contains("signed in") && text.contains("request_id=req-"),
        "{text}"
    );
    assert!(
        text.contains("denied\\n2026"),
        "the hostile values were logged, escaped:\n{text}"
    );
    assert!(
        !text.lines().any(|line| line.starts_with(forged)),
        "a request forged a log line:\n{text}"
    );
    let params = query(&callback);
    let idp = app.idp();
    let secrets = [
        ("a JWT", "eyJ".to_string()),
        ("a refresh token", "rt_".to_string()),
        ("the authorization code", params["code"].clone()),
        ("the state", params["state"].clone()),
        ("the nonce", query(&authorize)["nonce"].clone()),
        ("the client secret", idp.client_secret.expose().to_string()),
    ];
    for (what, secret) in secrets {
        assert!(
            !text.contains(&secret),
            "{what} appears in the logs:\n{text}"
        );
    }
}
