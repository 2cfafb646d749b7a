//! Tokens cannot stand in for each other, and an attacker cannot spend the key-set
//! refetch budget to lock people out after the provider rotates its key.

use crate::common::*;
use dev_idp::Misbehaviour;
use reqwest::StatusCode;

async fn whoami(app: &TestApp, bearer: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url.join("/api/example/whoami").unwrap())
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_providers_id_token_is_not_an_access_token() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    let jar = jar_of(&app, &browser);
    let auth = &app.server.auth;
    let access = auth.access_token(&jar).unwrap();
    let id_token = auth.cookies.id_cookie(&jar).unwrap().id_token;
    assert_eq!(
        whoami(&app, &access).await,
        StatusCode::OK,
        "the access token opens the API"
    );
    assert_eq!(
        whoami(&app, &id_token).await,
        StatusCode::UNAUTHORIZED,
        "the ID token, signed by the same key for the same audience, does not"
    );
}

#[tokio::test]
async fn an_attackers_unknown_kid_cannot_lock_people_out_after_a_key_rotation() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    let mut early = Browser::default();
    log_in(&mut early, &app, "ada@example.com").await;

    // A token naming a key id nobody published spends the refetch budget (its
    // signature is never even checked).
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","kid":"snk_attacker"}"#);
    let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"usr_x"}"#);
    let forged = format!("{header}.{claims}.c2lnbmF0dXJl");
    assert_eq!(whoami(&app, &forged).await, StatusCode::UNAUTHORIZED);

    // The provider rotates its key and signs with the new one.
    idp.misbehave(Some(Misbehaviour::RotateKeys)).unwrap();

    // Real logins within the refetch interval work...
    for email in ["grace@example.com", "ada@example.com"] {
        let mut browser = Browser::default();
        let landed = log_in(&mut browser, &app, email).await;
        assert_eq!(landed.path(), "/dashboard/profile", "{email}");
        let profile = browser
            .get(&app.url.join("/dashboard/profile").unwrap())
            .await;
        assert_eq!(profile.status(), StatusCode::OK, "{email}");
    }
    // ...and so does refreshing a session from before the rotation.
    let refresh = app.url.join("/auth/refresh").unwrap();
    let response = early
        .get_with(&refresh, &[("sec-fetch-site", "none")])
        .await;
    assert_eq!(location(&response, &app.url).path(), "/dashboard/profile");
}

#[tokio::test]
async fn a_key_set_outage_during_refresh_keeps_the_session() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    // The provider rotates its key, then its key set goes down: the refreshed tokens name
    // a key the app cannot fetch.
    idp.misbehave(Some(Misbehaviour::RotateKeys)).unwrap();
    idp.misbehave(Some(Misbehaviour::KeySetDown)).unwrap();
    let refresh = app
        .url
        .join("/auth/refresh?return_to=/dashboard/profile")
        .unwrap();
    let response = browser.get(&refresh).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "nothing cleared"
    );
    assert!(response.text().await.unwrap().contains("still signed in"));
    assert!(browser.cookie(&app.url, "__Host-sk_id").is_some());
    // The key set is back: the retry (within the reuse grace, so the rotated tokens the
    // provider already issued are used) restores the session.
    idp.misbehave(None).unwrap();
    let response = browser.get(&refresh).await;
    assert_eq!(location(&response, &app.url).path(), "/dashboard/profile");
}
