//! A provider that accepts connections and never answers: every page or action that needs
//! it answers within the 5-second budget, the circuit breaker then answers at once, the
//! signed-in keep using the app, and the first success closes the breaker.

use crate::common::*;
use dev_idp::{Counters, Misbehaviour};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// What a person may wait, at most, for an answer when the provider hangs.
const BUDGET: Duration = Duration::from_secs(5);
/// An answer "at once": far below the budget, with room for a loaded test machine.
const AT_ONCE: Duration = Duration::from_millis(1000);

async fn timed<F: std::future::Future>(f: F) -> (F::Output, Duration) {
    let started = Instant::now();
    let output = f.await;
    (output, started.elapsed())
}

/// An app whose breaker opens after 3 failures for 1 s (doubling), for a short test.
async fn app() -> TestApp {
    TestApp::builder()
        .configure(|config| {
            let auth = &mut config.settings.auth;
            auth.breaker_failures = 3;
            auth.breaker_open_secs = 1;
            auth.breaker_max_open_secs = 4;
        })
        .start()
        .await
}

#[tokio::test]
async fn a_hung_provider_gets_answers_within_the_budget_then_at_once_and_recovers() {
    let (logs, _logging) = Captured::app_log_on_this_thread();
    let app = app().await;
    let idp = app.idp();
    // Ada is signed in; a login of Grace's is half-way (back from the provider, not yet
    // at the callback).
    let mut ada = Browser::default();
    log_in(&mut ada, &app, "ada@example.com").await;
    let mut grace = Browser::default();
    let authorize = start_login(&mut grace, &app, "login").await;
    let callback = continue_as(&mut grace, &authorize, "grace@example.com", None).await;

    idp.misbehave(Some(Misbehaviour::Hangs)).unwrap();
    let profile = app.url.join("/dashboard/profile").unwrap();
    let refresh = app.url.join("/auth/refresh").unwrap();

    // 1. The callback's code exchange: the "not answering" page, within the budget.
    let (response, waited) = timed(grace.get(&callback)).await;
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(waited < BUDGET, "callback answered after {waited:?}");
    // 2 and 3. Refreshes: the retry page, within the budget; the session is kept.
    for _ in 0..2 {
        let (response, waited) = timed(ada.get(&refresh)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(waited < BUDGET, "refresh answered after {waited:?}");
    }
    let before = Counters::get(&idp.counters().requests);
    let logged_before_open = logs.text().len();

    // The breaker is open: the same answers, at once, and nobody is sent to the provider.
    let (response, waited) = timed(ada.get(&refresh)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        waited < AT_ONCE,
        "an open breaker answered after {waited:?}"
    );
    let mut newcomer = Browser::default();
    let (response, waited) = timed(newcomer.post_form(
        &app.url.join("/auth/login").unwrap(),
        &[("intent", "login")],
    ))
    .await;
    assert!(waited < AT_ONCE, "login start answered after {waited:?}");
    assert_eq!(
        location(&response, &app.url).as_str(),
        app.url
            .join("/?notice=provider_unavailable")
            .unwrap()
            .as_str(),
        "login start shows the notice instead of sending people into the hung provider"
    );
    // Ada's access token is still valid: her pages need no provider, and render.
    let (response, waited) = timed(ada.get(&profile)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(waited < AT_ONCE);
    assert_eq!(
        Counters::get(&idp.counters().requests),
        before,
        "nothing reached the provider while the breaker was open"
    );
    let logged_while_open = logs.text()[logged_before_open..].to_string();
    assert!(
        !logged_while_open
            .lines()
            .any(|line| line.contains(" WARN ") || line.contains(" ERROR ")),
        "people turned away by the open breaker are not one warning each:\n{logged_while_open}"
    );

    // The provider recovers: after the pause, one trial succeeds and closes the breaker.
    idp.misbehave(None).unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let response = ada.get(&refresh).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the trial refresh succeeds"
    );
    let mut later = Browser::default();
    log_in(&mut later, &app, "grace@example.com").await;
    let logged = logs.text();
    for (line, what) in [
        ("circuit breaker open", "opened"),
        ("circuit breaker closed", "closed"),
    ] {
        assert_eq!(
            logged.matches(line).count(),
            1,
            "one line when the breaker {what}:\n{logged}"
        );
    }
}

#[tokio::test]
async fn a_login_start_with_a_hung_provider_answers_within_the_budget() {
    // Before the first login the app has not discovered the provider yet: login start
    // needs it.
    let app = app().await;
    app.idp().misbehave(Some(Misbehaviour::Hangs)).unwrap();
    let mut browser = Browser::default();
    let (response, waited) = timed(browser.post_form(
        &app.url.join("/auth/login").unwrap(),
        &[("intent", "login")],
    ))
    .await;
    assert!(waited < BUDGET, "login start answered after {waited:?}");
    assert_eq!(
        location(&response, &app.url).as_str(),
        app.url
            .join("/?notice=provider_unavailable")
            .unwrap()
            .as_str()
    );
}

#[tokio::test]
async fn a_hung_userinfo_endpoint_answers_within_the_budget() {
    let app = app().await;
    app.idp()
        .misbehave(Some(Misbehaviour::UserinfoHangs))
        .unwrap();
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, &app, "login").await;
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let (response, waited) = timed(browser.get(&callback)).await;
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(waited < BUDGET, "the callback answered after {waited:?}");
}

#[tokio::test]
async fn the_server_starts_at_once_with_a_hung_provider_and_logs_in_once_it_is_back() {
    // The provider's address accepts connections and never answers.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider_addr = hung.local_addr().unwrap();
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = hung.accept().await {
            held.push(connection);
        }
    });
    let app_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app_url = url::Url::parse(&format!("http://127.0.0.1:{}", app_addr.port())).unwrap();
    const CLIENT_SECRET: &str = "a-client-secret-for-the-restart-test";
    let started = Instant::now();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_scalekit-leptos-starter"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("APP_URL", app_url.as_str().trim_end_matches('/'))
        .env("LEPTOS_SITE_ADDR", app_addr.to_string())
        .env(
            "SCALEKIT_ENVIRONMENT_URL",
            format!("http://{provider_addr}"),
        )
        .env("SCALEKIT_CLIENT_ID", "skc_dev_starter")
        .env("SCALEKIT_CLIENT_SECRET", CLIENT_SECRET)
        .env("SESSION_SECRET", "a-session-secret-for-the-restart-test")
        .env("RUST_LOG", "warn")
        .env_remove("LEPTOS_WATCH")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let healthz = app_url.join("/healthz").unwrap();
    let ready = loop {
        if reqwest::get(healthz.clone())
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server never became ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut browser = Browser::default();
    let login = app_url.join("/auth/login").unwrap();
    let (response, waited) = timed(browser.post_form(&login, &[("intent", "login")])).await;
    assert!(waited < BUDGET, "login start answered after {waited:?}");
    assert_eq!(
        location(&response, &app_url).as_str(),
        app_url
            .join("/?notice=provider_unavailable")
            .unwrap()
            .as_str()
    );

    // The provider comes back at its address: a login works, without a restart.
    holding.abort();
    let _ = holding.await;
    let settings = dev_idp::DevIdpSettings {
        addr: provider_addr,
        client_secret: Some(CLIENT_SECRET.into()),
        ..dev_idp::DevIdpSettings::default()
    };
    let base = app_url.as_str().trim_end_matches('/');
    let _idp = dev_idp::DevIdp::start(
        &settings,
        dev_idp::Registration {
            redirect_uris: vec![format!("{base}/auth/callback")],
            post_logout_redirect_uris: vec![format!("{base}/")],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let response = browser.post_form(&login, &[("intent", "login")]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let authorize = location(&response, &app_url);
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let profile = browser
        .get(&app_url.join("/dashboard/profile").unwrap())
        .await;
    assert_eq!(profile.status(), StatusCode::OK);
    let _ = server.kill();
    let _ = server.wait();
    println!("ready after {ready:?} with a hung provider");
    assert!(
        ready < Duration::from_secs(1),
        "the server took {ready:?} to start with a hung provider"
    );
}

#[tokio::test]
async fn a_slow_provider_is_cut_off_at_the_budget_of_the_whole_request() {
    // Each answer takes 3 s, under the 4 s limit of one call; the callback of a first
    // login needs two (the code exchange, then the key set): 6 s without a budget for
    // the whole request.
    // A 3.5 s budget: the cut-off is what is tested, with room below the 5 s bound for
    // a loaded machine.
    let app = TestApp::builder()
        .configure(|config| config.settings.auth.provider_budget_ms = 3500)
        .start()
        .await;
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, &app, "login").await;
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    app.idp()
        .misbehave(Some(Misbehaviour::AnswersSlowly))
        .unwrap();
    let (response, waited) = timed(browser.get(&callback)).await;
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(waited < BUDGET, "the callback answered after {waited:?}");
}

#[tokio::test]
async fn a_signed_in_page_after_a_restart_answers_within_the_budget_of_the_whole_request() {
    // A restarted instance knows neither the provider's metadata nor its keys, and a
    // signed-in page needs both to check the session: 3 s each from a slow provider, 6 s
    // without a budget for the whole request. A 3.5 s budget, as above.
    let app = TestApp::builder()
        .env("SESSION_SECRET", "a-session-secret-that-outlives-restarts")
        .configure(|config| config.settings.auth.provider_budget_ms = 3500)
        .start()
        .await;
    let mut ada = Browser::default();
    log_in(&mut ada, &app, "ada@example.com").await;
    let restarted = app.another_instance().await;
    let after_another_restart = app.another_instance().await;
    app.idp()
        .misbehave(Some(Misbehaviour::AnswersSlowly))
        .unwrap();

    // The page: the "not answering" page with a way back to it, and nothing ended.
    let profile = restarted.join("/dashboard/profile?tab=1").unwrap();
    let (response, waited) = timed(ada.get(&profile)).await;
    println!("a signed-in page after a restart answered after {waited:?}");
    assert!(waited < BUDGET, "the page answered after {waited:?}");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "the session is left as it is"
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("The sign-in service is not answering"),
        "{page}"
    );
    assert!(
        page.contains(r#"href="/dashboard/profile?tab=1""#),
        "{page}"
    );

    // A server function asking for the person: 503 with the same words, not "signed out".
    let me = after_another_restart.join("/auth/me").unwrap();
    let (response, waited) =
        timed(ada.post_form_with(&me, &[], &[("sec-fetch-site", "same-origin")])).await;
    println!("a server function after a restart answered after {waited:?}");
    assert!(
        waited < BUDGET,
        "the server function answered after {waited:?}"
    );
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("The sign-in service is not answering"));

    // Your API, with the person's access token as a bearer token: 503, not 401.
    let api = app
        .another_instance()
        .await
        .join("/api/example/whoami")
        .unwrap();
    let token = app.server.auth.access_token(&jar_of(&app, &ada)).unwrap();
    let (response, waited) = timed(reqwest::Client::new().get(api).bearer_auth(token).send()).await;
    assert!(waited < BUDGET, "the API answered after {waited:?}");
    assert_eq!(response.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);

    // The home page stays up, within the budget: what a signed-out visitor sees.
    let home = app.another_instance().await;
    let (response, waited) = timed(ada.get(&home)).await;
    assert!(waited < BUDGET, "the home page answered after {waited:?}");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Log in"));

    // The provider answers again: the same page renders, still signed in.
    app.idp().misbehave(None).unwrap();
    let response = ada.get(&profile).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("ada@example.com"));
}

#[tokio::test]
async fn an_idp_initiated_login_is_checked_within_the_budget_of_the_whole_request() {
    // Its token is checked with the provider's keys: a fresh instance needs discovery
    // and the key set first, 3 s each from a slow provider. A 3.5 s budget, as above.
    let app = TestApp::builder()
        .configure(|config| config.settings.auth.provider_budget_ms = 3500)
        .start()
        .await;
    let idp = app.idp();
    let mut browser = Browser::default();
    let start = idp
        .issuer
        .join("/idp-initiated?login_hint=ada@example.com")
        .unwrap();
    let initiate = location(&browser.get(&start).await, &idp.issuer);
    idp.misbehave(Some(Misbehaviour::AnswersSlowly)).unwrap();
    let (response, waited) = timed(browser.get(&initiate)).await;
    println!("an IdP-initiated login with a slow provider answered after {waited:?}");
    assert!(
        waited < BUDGET,
        "the IdP-initiated login answered after {waited:?}"
    );
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("The sign-in service is not answering"),
        "{page}"
    );
}

#[tokio::test]
async fn an_open_breaker_is_not_one_warning_per_signed_in_page_after_a_restart() {
    // A restarted instance that has discovered the provider (someone started a login) but
    // never fetched its keys: while the provider hangs, every signed-in page needs the key
    // set, and once the breaker opens they are turned away at once. The breaker's own
    // line says so; each page turned away must not add a warning of its own.
    let (logs, _logging) = Captured::app_log_on_this_thread();
    let app = TestApp::builder()
        .env("SESSION_SECRET", "a-session-secret-that-outlives-restarts")
        .configure(|config| {
            let auth = &mut config.settings.auth;
            auth.provider_budget_ms = 1000;
            auth.breaker_failures = 2;
            auth.breaker_open_secs = 30;
            auth.breaker_max_open_secs = 60;
        })
        .start()
        .await;
    let mut ada = Browser::default();
    log_in(&mut ada, &app, "ada@example.com").await;
    let restarted = app.another_instance().await;
    let response = Browser::default()
        .post_form(
            &restarted.join("/auth/login").unwrap(),
            &[("intent", "login")],
        )
        .await;
    assert!(
        location(&response, &restarted)
            .as_str()
            .starts_with(app.idp().issuer.as_str()),
        "the restarted instance discovered the provider and sent the person there"
    );
    app.idp().misbehave(Some(Misbehaviour::Hangs)).unwrap();

    let profile = restarted.join("/dashboard/profile").unwrap();
    for _ in 0..2 {
        let response = ada.get(&profile).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let logged_before_open = logs.text().len();
    for _ in 0..3 {
        let (response, waited) = timed(ada.get(&profile)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            waited < AT_ONCE,
            "an open breaker answered after {waited:?}"
        );
    }
    let logged = logs.text();
    assert!(
        logged.contains("circuit breaker open"),
        "the breaker opened:\n{logged}"
    );
    let logged_while_open = &logged[logged_before_open..];
    assert!(
        !logged_while_open
            .lines()
            .any(|line| line.contains(" WARN ") || line.contains(" ERROR ")),
        "pages turned away by the open breaker are not one warning each:\n{logged_while_open}"
    );
}

#[tokio::test]
async fn a_back_channel_logout_during_an_outage_asks_the_provider_to_retry() {
    // A fresh instance checks a logout token with the provider's keys, which it has yet
    // to fetch. With the provider hanging, the answer comes within the budget and asks
    // for a retry: "invalid token" would tell the provider to give up on the logout.
    let app = TestApp::builder()
        .configure(|config| config.settings.auth.provider_budget_ms = 1500)
        .start()
        .await;
    let idp = app.idp();
    let token = logout_token(idp, "ltk_during_outage", "usr_someone");
    let fresh = app.another_instance().await;
    idp.misbehave(Some(Misbehaviour::Hangs)).unwrap();
    let ((status, body), waited) = timed(post_logout_token(&fresh, &token)).await;
    assert!(
        waited < Duration::from_millis(2500),
        "answered after {waited:?}"
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("temporarily_unavailable"), "{body}");

    // The provider retries once it answers again: the logout is accepted.
    idp.misbehave(None).unwrap();
    let (status, body) = post_logout_token(&fresh, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_back_channel_logout_signed_with_a_key_newer_than_our_copy_is_answered_retry() {
    // The instance refetched the key set moments ago (someone sent a token with an
    // unknown key id), then the provider rotates its key and signs a logout token with
    // the new one. Within the refetch interval the instance does not look again: the
    // answer says "retry", not "invalid", and the retry after the interval is accepted.
    let app = TestApp::builder()
        .configure(|config| config.settings.auth.jwks_refetch_min_interval_secs = 2)
        .start()
        .await;
    let idp = app.idp();
    let instance = app.another_instance().await;
    // The instance fetches the key set for a first logout token.
    let first = logout_token(idp, "ltk_first", "usr_someone");
    let (status, body) = post_logout_token(&instance, &first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A token naming a key nobody has: the one refetch the interval allows is spent.
    let stranger = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNua19ub2JvZHkifQ.e30.c2lnbmF0dXJl";
    let (status, body) = post_logout_token(&instance, stranger).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid_request"), "{body}");

    idp.misbehave(Some(Misbehaviour::RotateKeys)).unwrap();
    idp.misbehave(None).unwrap();
    let token = logout_token(idp, "ltk_new_key", "usr_someone");
    let (status, body) = post_logout_token(&instance, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("temporarily_unavailable"), "{body}");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = post_logout_token(&instance, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
