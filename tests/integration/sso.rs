//! Enterprise SSO routing and social login: the hints reach the provider, and the
//! built-in provider reflects them in the hosted page and the tokens.

use crate::common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn sign_in_with_sso_sends_the_email_and_its_domain() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let login = app.url.join("/auth/login").unwrap();
    let response = browser
        .post_form(
            &login,
            &[("intent", "login"), ("login_hint", "ada@example.com")],
        )
        .await;
    let authorize = location(&response, &app.url);
    let params = query(&authorize);
    assert_eq!(params["login_hint"], "ada@example.com");
    assert_eq!(params["domain_hint"], "example.com");
    let page = browser.get(&authorize).await.text().await.unwrap();
    assert!(
        page.contains("value=\"ada@example.com\""),
        "the email is prefilled: {page}"
    );
    assert!(page.contains("Email domain"), "{page}");
}

#[tokio::test]
async fn a_deep_link_routes_to_an_organization_and_connection() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let link = app
        .url
        .join(
            "/login?organization_id=org_acme&connection_id=conn_okta&return_to=/dashboard/account",
        )
        .unwrap();
    // From the customer's portal (another site): confirmed first.
    let response = continue_to_sign_in(&mut browser, &app.url, &link, "cross-site").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let authorize = location(&response, &app.url);
    let params = query(&authorize);
    assert_eq!(params["organization_id"], "org_acme");
    assert_eq!(params["connection_id"], "conn_okta");
    let page = browser.get(&authorize).await.text().await.unwrap();
    assert!(
        page.contains("org_acme") && page.contains("conn_okta"),
        "{page}"
    );

    let callback = continue_as(&mut browser, &authorize, "grace@example.com", None).await;
    let response = browser.get(&callback).await;
    assert_eq!(
        location(&response, &app.url).path(),
        "/dashboard/account",
        "return_to kept"
    );
    let profile = browser
        .get(&app.url.join("/dashboard/profile").unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        profile.contains("org_acme"),
        "the token's oid is the organization asked for"
    );
}

#[tokio::test]
async fn social_providers_come_from_the_settings_and_others_are_dropped() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let login = app.url.join("/auth/login").unwrap();
    let response = browser
        .post_form(&login, &[("intent", "login"), ("provider", "github")])
        .await;
    assert_eq!(query(&location(&response, &app.url))["provider"], "github");
    let response = browser
        .post_form(&login, &[("intent", "login"), ("provider", "myspace")])
        .await;
    assert!(!query(&location(&response, &app.url)).contains_key("provider"));
    let home = browser.get(&app.url).await.text().await.unwrap();
    assert!(
        home.contains("Continue with Google") && home.contains("Continue with GitHub"),
        "{home}"
    );
    assert!(home.contains("Sign in with SSO"));
}

#[tokio::test]
async fn an_idp_initiated_login_is_verified_then_runs_as_a_normal_login() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    let mut browser = Browser::default();
    let start = idp
        .issuer
        .join("/idp-initiated?login_hint=ada@example.com")
        .unwrap();
    let response = browser.get(&start).await;
    let initiate = location(&response, &idp.issuer);
    assert_eq!(initiate.path(), "/auth/initiate");
    assert!(query(&initiate)["idp_initiated_login"].starts_with("eyJ"));

    let response = continue_to_sign_in(&mut browser, &app.url, &initiate, "cross-site").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let authorize = location(&response, &app.url);
    let params = query(&authorize);
    assert_eq!(params["connection_id"], "conn_dev_saml");
    assert_eq!(params["organization_id"], "org_analytical_engines");
    assert_eq!(params["login_hint"], "ada@example.com");
    assert_ne!(
        params["state"], "/dashboard/profile",
        "our own state protects the callback"
    );

    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let response = browser.get(&callback).await;
    assert_eq!(
        location(&response, &app.url).path(),
        "/dashboard/profile",
        "relay_state as return-to"
    );

    // A token signed with another key, or a reported error: a clear 401 page.
    idp.misbehave(Some(dev_idp::Misbehaviour::SignedWithAnotherKey))
        .unwrap();
    let mut other = Browser::default();
    let forged = location(&other.get(&start).await, &idp.issuer);
    let response = other.get(&forged).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        other.cookie(&app.url, "__Host-sk_login").is_none(),
        "no login started"
    );
    let error = app
        .url
        .join("/auth/initiate?error=access_denied&error_description=nope")
        .unwrap();
    assert_eq!(other.get(&error).await.status(), StatusCode::UNAUTHORIZED);
}
