//! The README's recipes, proven: a guarded page, `require_user` in a server function,
//! `<RequirePermission>` on a page, and calling your own API with the access token from
//! the server.

use crate::common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn the_account_page_calls_the_api_with_the_access_token_from_the_server() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();

    // Guarded: signed out, the page sends people home.
    let account = app.url.join("/dashboard/account").unwrap();
    let response = browser.get(&account).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    log_in(&mut browser, &app, "grace@example.com").await;
    let response = browser.get(&account).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Grace Hopper"), "{html}");
    let subject = html
        .split("data-testid=\"api-subject\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default();
    assert!(
        subject.starts_with("usr_"),
        "the API saw the person's token: {html}"
    );
    assert!(!html.contains("eyJ"), "the token never reaches the page");
}

#[tokio::test]
async fn require_user_answers_401_when_signed_out() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let overview = app.url.join("/api/account_overview").unwrap();
    let response = browser
        .post_form_with(&overview, &[], &[("accept", "application/json")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("You need to be signed in"));
}

#[tokio::test]
async fn the_example_api_refuses_requests_without_a_valid_bearer_token() {
    let app = spawn_app(300).await;
    let http = reqwest::Client::new();
    let whoami = app.url.join("/api/example/whoami").unwrap();
    for auth in [None, Some("Bearer not-a-token"), Some("Basic abc")] {
        let mut request = http.get(whoami.clone());
        if let Some(value) = auth {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn require_permission_allows_and_denies_by_the_access_tokens_permissions() {
    let app = spawn_app(300).await;
    let report = app.url.join("/api/organization_report").unwrap();
    let json = [("accept", "application/json")];

    // Ada's token grants organization:manage.
    let mut ada = Browser::default();
    log_in(&mut ada, &app, "ada@example.com").await;
    let response = ada.post_form_with(&report, &[], &json).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("managed by Ada Lovelace"));

    // Grace's does not.
    let mut grace = Browser::default();
    log_in(&mut grace, &app, "grace@example.com").await;
    let response = grace.post_form_with(&report, &[], &json).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("organization:manage"));

    // And the pages show both outcomes.
    let account = app.url.join("/dashboard/account").unwrap();
    let html = grace.get(&account).await.text().await.unwrap();
    assert!(html.contains("You need the"), "{html}");
    let profile = ada
        .get(&app.url.join("/dashboard/profile").unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        profile.contains("organization:manage") && profile.contains("admin"),
        "{profile}"
    );
}

#[tokio::test]
async fn a_page_behind_require_permission_shows_only_to_holders_of_the_permission() {
    let app = spawn_app(300).await;
    let page = app.url.join("/dashboard/organization").unwrap();

    let mut anonymous = Browser::default();
    let response = anonymous.get(&page).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "signed out: sent home"
    );
    assert_eq!(location(&response, &app.url).path(), "/");

    let mut ada = Browser::default();
    log_in(&mut ada, &app, "ada@example.com").await;
    let response = ada.get(&page).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("managed by Ada Lovelace"), "{html}");
    assert!(!html.contains("no-access"), "{html}");

    let mut grace = Browser::default();
    log_in(&mut grace, &app, "grace@example.com").await;
    let response = grace.get(&page).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("data-testid=\"no-access\""), "{html}");
    assert!(html.contains("organization:manage"), "{html}");
    assert!(!html.contains("managed by"), "no report for Grace: {html}");
}
