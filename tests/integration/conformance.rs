//! Relying-party conformance: the built-in provider misbehaves in each way the OpenID
//! Foundation's RP certification tests probe, and the app must reject the login (no
//! session cookie, a 401 page) or, for the legitimate oddities, accept it.
//! The same matrix is written up in SECURITY.md.

use crate::common::*;
use dev_idp::{Counters, Misbehaviour};
use reqwest::StatusCode;

/// Attempts a login; returns the callback's status and whether a session was set.
async fn attempt_login(app: &TestApp) -> (StatusCode, bool, String) {
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, app, "login").await;
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let response = browser.get(&callback).await;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    (
        status,
        browser.cookie(&app.url, "__Host-sk_access").is_some(),
        body,
    )
}

#[tokio::test]
async fn every_broken_login_token_is_rejected() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    let login_cases = Misbehaviour::ALL
        .into_iter()
        .filter(|m| !m.must_be_accepted() && !m.on_refresh_only());
    let mut checked = 0;
    for case in login_cases {
        idp.misbehave(Some(case)).unwrap();
        let (status, session, body) = attempt_login(&app).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case:?}: {body}");
        assert!(!session, "{case:?} must not set a session");
        assert!(body.contains("could not be verified"), "{case:?}: {body}");
        checked += 1;
    }
    assert_eq!(checked, 14);

    // The provider behaving again, the same app logs people in.
    idp.misbehave(None).unwrap();
    let (status, session, _) = attempt_login(&app).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(session);
}

#[tokio::test]
async fn unknown_kid_costs_one_refetch_per_login_and_is_refused() {
    // Tokens from the token endpoint may each refetch the key set once (so a spent
    // budget cannot lock people out after a rotation); tokens a client presents share a
    // rate-limited budget (see token_kinds.rs and oidc::validate's tests).
    let app = spawn_app(300).await;
    let idp = app.idp();
    assert_eq!(attempt_login(&app).await.0, StatusCode::SEE_OTHER);
    let fetches = Counters::get(&idp.counters().jwks);
    idp.misbehave(Some(Misbehaviour::UnknownKeyId)).unwrap();
    for _ in 0..5 {
        assert_eq!(attempt_login(&app).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        Counters::get(&idp.counters().jwks),
        fetches + 5,
        "one refetch for each login whose token names an unknown key"
    );
}

#[tokio::test]
async fn a_token_without_kid_is_accepted_while_the_key_set_has_one_key() {
    let app = spawn_app(300).await;
    app.idp().misbehave(Some(Misbehaviour::NoKeyId)).unwrap();
    let (status, session, body) = attempt_login(&app).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session);
}

#[tokio::test]
async fn a_key_rotation_is_accepted_with_exactly_one_refetch() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    let fetches = Counters::get(&idp.counters().jwks);
    assert_eq!(fetches, 1);

    idp.misbehave(Some(Misbehaviour::RotateKeys)).unwrap();
    let (status, session, body) = attempt_login(&app).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session);
    assert_eq!(Counters::get(&idp.counters().jwks), fetches + 1);
    // The session from before the rotation still validates (old key still published).
    let profile = app.url.join("/dashboard/profile").unwrap();
    assert_eq!(browser.get(&profile).await.status(), StatusCode::OK);
    assert_eq!(Counters::get(&idp.counters().jwks), fetches + 1);
}

#[tokio::test]
async fn a_refreshed_id_token_naming_another_person_or_issuer_ends_the_session() {
    for case in [
        Misbehaviour::RefreshChangesSubject,
        Misbehaviour::RefreshChangesIssuer,
    ] {
        let app = spawn_app(300).await;
        let mut browser = Browser::default();
        log_in(&mut browser, &app, "ada@example.com").await;
        app.idp().misbehave(Some(case)).unwrap();
        let response = browser.get(&app.url.join("/auth/refresh").unwrap()).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{case:?}");
        assert_eq!(location(&response, &app.url).path(), "/", "{case:?}");
        assert!(
            browser.cookie(&app.url, "__Host-sk_access").is_none(),
            "{case:?}"
        );
        assert!(
            browser.cookie(&app.url, "__Host-sk_id").is_none(),
            "{case:?}"
        );
    }
}

#[tokio::test]
async fn tokens_too_large_for_a_cookie_give_a_clear_page_and_no_session() {
    let app = spawn_app(300).await;
    app.idp().misbehave(Some(Misbehaviour::HugeTokens)).unwrap();
    let (status, session, body) = attempt_login(&app).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(!session);
    assert!(body.contains("too large"), "{body}");
}

#[tokio::test]
async fn a_provider_that_only_takes_basic_client_authentication_works() {
    let app = spawn_app(300).await;
    // Before the app's first contact, so discovery advertises only client_secret_basic.
    app.idp()
        .misbehave(Some(Misbehaviour::BasicClientAuthOnly))
        .unwrap();
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    let refresh = app.url.join("/auth/refresh").unwrap();
    let response = browser.get(&refresh).await;
    assert_eq!(
        location(&response, &app.url).path(),
        "/dashboard/profile",
        "refresh uses Basic too"
    );
}

#[tokio::test]
async fn a_client_registered_for_basic_auth_needs_the_setting_and_works_with_it() {
    use scalekit_leptos_starter::config::file::TokenEndpointAuthSetting;
    // The provider advertises both methods, but this client is registered for Basic.
    let auto = spawn_app(300).await;
    let idp = auto.idp();
    idp.misbehave(Some(Misbehaviour::RegisteredForBasicAuth))
        .unwrap();
    let (status, session, body) = attempt_login(&auto).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(!session);
    assert!(
        body.contains("did not recognise this app") && body.contains("token_endpoint_auth_method"),
        "the page says what to fix: {body}"
    );

    let configured = TestApp::builder()
        .configure(|config| {
            config.settings.auth.token_endpoint_auth_method =
                TokenEndpointAuthSetting::ClientSecretBasic;
        })
        .start()
        .await;
    let idp = configured.idp();
    idp.misbehave(Some(Misbehaviour::RegisteredForBasicAuth))
        .unwrap();
    let mut browser = Browser::default();
    log_in(&mut browser, &configured, "ada@example.com").await;
    let response = browser
        .get(&configured.url.join("/auth/refresh").unwrap())
        .await;
    assert_eq!(
        location(&response, &configured.url).path(),
        "/dashboard/profile",
        "refresh uses Basic too"
    );
}

#[tokio::test]
async fn opaque_access_tokens_keep_a_session_from_the_id_token_and_expires_in() {
    let app = spawn_app(300).await;
    app.idp()
        .misbehave(Some(Misbehaviour::OpaqueAccessTokens))
        .unwrap();
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    let profile = app.url.join("/dashboard/profile").unwrap();
    let response = browser.get(&profile).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("ada@example.com"));
    let response = browser.get(&app.url.join("/auth/refresh").unwrap()).await;
    assert_eq!(
        location(&response, &app.url).path(),
        "/dashboard/profile",
        "refresh works too"
    );
    assert_eq!(browser.get(&profile).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_profile_served_only_by_userinfo_is_fetched_once_at_login() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    idp.misbehave(Some(Misbehaviour::ProfileOnlyFromUserinfo))
        .unwrap();
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    assert_eq!(Counters::get(&idp.counters().userinfo), 1);

    let profile = app.url.join("/dashboard/profile").unwrap();
    let page = browser.get(&profile).await.text().await.unwrap();
    assert!(page.contains("ada@example.com"), "{page}");
    assert!(page.contains("Ada Lovelace"), "{page}");

    // A refreshed ID token without a profile keeps the one fetched at login.
    let response = browser.get(&app.url.join("/auth/refresh").unwrap()).await;
    assert_eq!(location(&response, &app.url).path(), "/dashboard/profile");
    let page = browser.get(&profile).await.text().await.unwrap();
    assert!(page.contains("ada@example.com"), "{page}");
    assert_eq!(
        Counters::get(&idp.counters().userinfo),
        1,
        "page views and refreshes make no UserInfo call"
    );

    // Logging out removes the stored profile with the rest of the session.
    let response = browser
        .post_form(&app.url.join("/auth/logout").unwrap(), &[])
        .await;
    assert!(response.status().is_redirection() || response.status().is_success());
    assert!(browser
        .cookie(&app.url, "__Host-sk_profile")
        .is_none_or(|v| v.is_empty()));
}

#[tokio::test]
async fn a_userinfo_answer_about_someone_else_is_refused() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    idp.misbehave(Some(Misbehaviour::UserinfoAboutAnotherUser))
        .unwrap();
    let (status, session, body) = attempt_login(&app).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!session, "no session from a substituted profile");
    assert!(body.contains("could not be verified"), "{body}");
}

#[tokio::test]
async fn a_userinfo_outage_is_a_retry_page_and_no_session() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    idp.misbehave(Some(Misbehaviour::UserinfoDown)).unwrap();
    let (status, session, body) = attempt_login(&app).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(!session, "no half-made session without a profile");
    assert!(
        body.contains("not answering") && body.contains("Try again"),
        "{body}"
    );

    idp.misbehave(Some(Misbehaviour::ProfileOnlyFromUserinfo))
        .unwrap();
    let (status, session, _) = attempt_login(&app).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the retry works once it is back"
    );
    assert!(session);
}
