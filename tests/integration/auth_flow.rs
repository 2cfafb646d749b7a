//! The login, session, refresh and logout flows over real HTTP, against the real router
//! and the built-in identity provider (real RS256-signed JWTs).

use crate::common::*;
use dev_idp::Counters;
use reqwest::StatusCode;
use url::Url;

#[tokio::test]
async fn full_flow_login_profile_refresh_logout() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();

    // Anonymous: the profile redirects home.
    let profile = app.url.join("/dashboard/profile").unwrap();
    let response = browser.get(&profile).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response, &app.url).path(), "/");

    // The authorization URL carries every required parameter.
    let authorize = start_login(&mut browser, &app, "login").await;
    let params = query(&authorize);
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["scope"], "openid profile email offline_access");
    assert_eq!(params["redirect_uri"], format!("{}auth/callback", app.url));
    assert_eq!(params["code_challenge_method"], "S256");
    for name in ["client_id", "state", "nonce", "code_challenge"] {
        assert!(!params[name].is_empty(), "{name}");
    }
    assert!(
        browser.cookie(&app.url, "__Host-sk_login").is_some(),
        "login state cookie set"
    );

    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    assert_eq!(callback.path(), "/auth/callback");
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response, &app.url).path(), "/dashboard/profile");
    assert!(
        browser.cookie(&app.url, "__Host-sk_login").is_none(),
        "login state is single-use"
    );
    // Sealed: no cookie carries its token readably. (Compared with the tokens themselves,
    // unsealed with the app's key: a search for "eyJ" also matched random ciphertext, in
    // 1.2% of logins measured, the rare failure of this test.)
    let jar = tower_cookies::Cookies::default();
    for name in ["__Host-sk_access", "__Secure-sk_refresh", "__Host-sk_id"] {
        let value = browser
            .cookie(&app.url, name)
            .unwrap_or_else(|| panic!("{name} set"));
        jar.add(tower_cookies::Cookie::new(name, value));
    }
    let auth = &app.server.auth;
    let tokens = [
        auth.access_token(&jar).expect("the access cookie unseals"),
        auth.cookies
            .id_cookie(&jar)
            .expect("the ID cookie unseals")
            .id_token,
        {
            let mut headers = axum::http::HeaderMap::new();
            let sealed = browser.cookie(&app.url, "__Secure-sk_refresh").unwrap();
            let cookie = format!("__Secure-sk_refresh={sealed}");
            headers.insert("cookie", cookie.parse().unwrap());
            let session = auth.cookies.id_cookie(&jar).unwrap().session;
            auth.cookies
                .bound_refresh_token(&headers, &session)
                .expect("the refresh cookie unseals, bound to the session")
                .refresh_token
        },
    ];
    for name in ["__Host-sk_access", "__Secure-sk_refresh", "__Host-sk_id"] {
        let sealed = browser.cookie(&app.url, name).unwrap();
        for token in &tokens {
            let sample = &token[token.len().saturating_sub(24)..];
            assert!(!sealed.contains(sample), "{name} shows a token");
        }
    }

    // The profile renders the person from validated claims.
    let response = browser.get(&profile).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Ada Lovelace") && html.contains("ada@example.com"),
        "{html}"
    );
    assert!(html.contains("org_analytical_engines"));
    assert!(
        !html.contains("eyJ"),
        "no token in the HTML or hydration data"
    );

    // An authenticated page view makes no call to the provider.
    let idp = app.idp();
    let before = idp.counters().back_channel_total();
    for _ in 0..3 {
        assert_eq!(browser.get(&profile).await.status(), StatusCode::OK);
    }
    assert_eq!(
        idp.counters().back_channel_total(),
        before,
        "page views call the provider"
    );
    assert_eq!(
        Counters::get(&idp.counters().jwks),
        1,
        "the key set was fetched once"
    );

    // Refresh rotates the refresh token.
    let old_refresh = browser.cookie(&app.url, "__Secure-sk_refresh").unwrap();
    let refresh = app
        .url
        .join("/auth/refresh?return_to=/dashboard/profile")
        .unwrap();
    let response = browser.get(&refresh).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response, &app.url).path(), "/dashboard/profile");
    assert_ne!(
        browser.cookie(&app.url, "__Secure-sk_refresh").unwrap(),
        old_refresh,
        "rotated"
    );
    assert_eq!(browser.get(&profile).await.status(), StatusCode::OK);

    // Logout clears the session and goes through the provider's logout URL.
    let response = browser
        .post_form(&app.url.join("/auth/logout").unwrap(), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let logout = location(&response, &app.url);
    assert_eq!(logout.path(), "/oidc/logout");
    let params = query(&logout);
    assert!(params["id_token_hint"].starts_with("eyJ"));
    assert_eq!(params["post_logout_redirect_uri"], app.url.as_str());
    assert!(!params["state"].is_empty());
    for name in ["__Host-sk_access", "__Host-sk_id"] {
        assert!(browser.cookie(&app.url, name).is_none(), "{name} cleared");
    }
    let response = browser.get(&logout).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = location(&response, &logout);
    assert_eq!(back.origin(), app.url.origin());
    assert_eq!(back.path(), "/");
    assert_eq!(browser.get(&profile).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn expired_access_token_is_refreshed_through_the_refresh_path() {
    let app = spawn_app(2).await;
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "grace@example.com").await;
    // The access cookie expires (here: we drop it, as the browser would after Max-Age).
    browser.remove_cookie(&app.url, "__Host-sk_access");
    let profile = app.url.join("/dashboard/profile?tab=1").unwrap();
    let response = browser.get(&profile).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let refresh = location(&response, &app.url);
    assert_eq!(refresh.path(), "/auth/refresh");
    assert_eq!(query(&refresh)["return_to"], "/dashboard/profile?tab=1");
    let response = browser.get(&refresh).await;
    assert_eq!(location(&response, &app.url).as_str(), profile.as_str());
    let response = browser.get(&profile).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Grace Hopper"));
}

/// The server remembers the session cookies it has unsealed (a memo of their sealed
/// values): the very same cookies must still stop working when the access token inside
/// them expires.
#[tokio::test]
async fn remembered_session_cookies_still_expire_with_their_access_token() {
    let app = TestApp::builder()
        .token_ttl(4)
        .configure(|config| config.settings.auth.clock_leeway_secs = 0)
        .start()
        .await;
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "grace@example.com").await;
    let profile = app.url.join("/dashboard/profile").unwrap();
    for _ in 0..2 {
        assert_eq!(browser.get(&profile).await.status(), StatusCode::OK);
    }
    tokio::time::sleep(std::time::Duration::from_millis(5100)).await;
    let response = browser.get(&profile).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response, &app.url).path(), "/auth/refresh");
}

#[tokio::test]
async fn forged_state_is_refused_and_sets_no_session() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, &app, "login").await;
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let mut forged = callback.clone();
    let code = query(&callback)["code"].clone();
    forged.set_query(Some(&format!("code={code}&state=forged")));
    let response = browser.get(&forged).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("does not match"));
    assert!(browser.cookie(&app.url, "__Host-sk_access").is_none());

    // Without any login in progress (no cookie), a callback is refused too.
    let mut stranger = Browser::default();
    let response = stranger.get(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(stranger.cookie(&app.url, "__Host-sk_access").is_none());
}

#[tokio::test]
async fn replayed_code_is_refused() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, &app, "login").await;
    let login_cookie = browser.cookie(&app.url, "__Host-sk_login").unwrap();
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);

    // An attacker replays the same callback with the same login cookie.
    let mut attacker = Browser::default();
    attacker.set_cookie(&app.url, "__Host-sk_login", &login_cookie, "/");
    let response = attacker.get(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("already used"));
    assert!(attacker.cookie(&app.url, "__Host-sk_access").is_none());
}

#[tokio::test]
async fn replayed_refresh_token_ends_the_session() {
    // No reuse grace: a replay after the rotation goes to the provider, which refuses it.
    let app = TestApp::builder()
        .configure(|config| config.settings.auth.refresh_reuse_grace_secs = 0)
        .start()
        .await;
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    let stolen = browser.cookie(&app.url, "__Secure-sk_refresh").unwrap();
    let refresh = app.url.join("/auth/refresh").unwrap();
    assert_eq!(browser.get(&refresh).await.status(), StatusCode::SEE_OTHER);

    // Replaying the used (rotated-out) refresh token is rejected by the provider.
    let mut attacker = Browser::default();
    attacker.set_cookie(&app.url, "__Secure-sk_refresh", &stolen, "/auth/refresh");
    attacker.set_cookie(
        &app.url,
        "__Host-sk_id",
        &browser.cookie(&app.url, "__Host-sk_id").unwrap(),
        "/",
    );
    let response = attacker.get(&refresh).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response, &app.url).as_str(),
        app.url.join("/?notice=session_ended").unwrap().as_str()
    );
    assert!(attacker.cookie(&app.url, "__Host-sk_access").is_none());
    assert!(
        attacker.cookie(&app.url, "__Host-sk_id").is_none(),
        "session cookies cleared"
    );
}

#[tokio::test]
async fn provider_error_at_the_callback_is_a_401_page_with_escaped_text() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    // The provider's words are shown only for this browser's own login (its state).
    let authorize = start_login(&mut browser, &app, "login").await;
    let url = app
        .url
        .join(&format!(
            "/auth/callback?state={}&error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            query(&authorize)["state"]
        ))
        .unwrap();
    let response = browser.get(&url).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(html.contains("access_denied"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"));
}

#[tokio::test]
async fn sign_up_creates_the_person() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, &app, "signup").await;
    assert_eq!(query(&authorize)["prompt"], "create");
    let callback = continue_as(
        &mut browser,
        &authorize,
        "new.person@example.com",
        Some("New Person"),
    )
    .await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);
    let html = browser
        .get(&app.url.join("/dashboard/profile").unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("New Person") && html.contains("new.person@example.com"));
}

#[tokio::test]
async fn concurrent_refreshes_share_one_provider_call_and_all_stay_signed_in() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    let idp = app.idp();
    let token_calls = Counters::get(&idp.counters().token);

    // Twelve tabs refresh with the same (rotating) refresh token at once.
    let refresh = app
        .url
        .join("/auth/refresh?return_to=/dashboard/profile")
        .unwrap();
    let cookie = browser.cookie_header(&refresh);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut tabs = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let request = http
            .get(refresh.clone())
            .header(reqwest::header::COOKIE, cookie.clone());
        tabs.spawn(async move { request.send().await });
    }
    while let Some(response) = tabs.join_next().await {
        let response = response.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(&response, &app.url).path(),
            "/dashboard/profile",
            "every tab stays signed in"
        );
        let set_cookies: Vec<&str> = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        for name in ["__Host-sk_access=", "__Secure-sk_refresh="] {
            assert!(
                set_cookies.iter().any(|c| c.starts_with(name)),
                "{name} in {set_cookies:?}"
            );
        }
    }
    assert_eq!(
        Counters::get(&idp.counters().token),
        token_calls + 1,
        "one provider call for twelve requests"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();

    let response = browser.get(&app.url).await;
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        header(&response, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        header(&response, "x-frame-options").as_deref(),
        Some("DENY")
    );
    assert_eq!(
        header(&response, "referrer-policy").as_deref(),
        Some("same-origin")
    );
    let csp = header(&response, "content-security-policy").unwrap();
    let html = response.text().await.unwrap();
    let nonce = html
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    // Every inline script carries the nonce.
    assert_eq!(
        html.matches("<script").count(),
        html.matches(&format!("nonce=\"{nonce}\"")).count()
    );

    // Pages without scripts get a policy that allows none; auth responses are not cached.
    let error_page = browser
        .get(&app.url.join("/auth/callback?error=x").unwrap())
        .await;
    assert!(header(&error_page, "content-security-policy")
        .unwrap()
        .contains("script-src 'none'"));
    assert_eq!(
        header(&error_page, "cache-control").as_deref(),
        Some("no-store")
    );
}

#[tokio::test]
async fn cross_site_posts_to_state_changing_functions_are_refused() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    let cross_site = [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ];
    for path in ["/auth/logout", "/auth/login", "/auth/refresh/session"] {
        let response = browser
            .post_form_with(&app.url.join(path).unwrap(), &[], &cross_site)
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Only this app's own pages may call this."),
            "{path}"
        );
    }
    // Still signed in.
    let profile = app.url.join("/dashboard/profile").unwrap();
    assert_eq!(browser.get(&profile).await.status(), StatusCode::OK);
    // The same logout from our own site works.
    let same_site = [("sec-fetch-site", "same-origin")];
    let response = browser
        .post_form_with(&app.url.join("/auth/logout").unwrap(), &[], &same_site)
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn a_callback_naming_another_issuer_is_refused() {
    // RFC 9207: the provider names itself in the callback (the built-in one does); a
    // callback naming another issuer is a mix-up attack and signs nobody in.
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let authorize = start_login(&mut browser, &app, "login").await;
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let params = query(&callback);
    assert_eq!(
        params.get("iss").map(String::as_str),
        Some(authorize.origin().ascii_serialization().as_str()),
        "the built-in provider sends iss"
    );
    let mut mixed_up = callback.clone();
    mixed_up.set_query(Some(&format!(
        "code={}&state={}&iss=https%3A%2F%2Fevil.example",
        params["code"], params["state"]
    )));
    let response = browser.get(&mixed_up).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("could not be verified"));
    assert!(browser.cookie(&app.url, "__Host-sk_access").is_none());
}

#[tokio::test]
async fn signed_in_pages_are_refused_to_the_signed_out_however_their_path_is_spelled() {
    // The guard's list comes from the route tree (`SignedInRoutes`). Sent byte for byte
    // (an HTTP client would normalise these), each spelling must meet the guard itself:
    // 303 to the home page, not a page render.
    let app = spawn_app(300).await;
    for path in [
        "/dashboard/profile",
        "/dashboard/account/",
        "//dashboard//organization",
        "/dashboard/%70rofile",
        "/dashboard/profile/.",
        "/dashboard/x/../account",
        "/dashboard/%2e/organization",
        "/dashboard/profile\\",
        "/x/../dashboard/profile",
    ] {
        let (status, head) = raw_get(&app.url, path).await;
        assert_eq!(status, 303, "{path}: {head}");
        assert!(
            head.to_ascii_lowercase().contains("\r\nlocation: /\r\n"),
            "{path}: {head}"
        );
    }
    // Signed in, the pages render.
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    for path in [
        "/dashboard/profile",
        "/dashboard/account",
        "/dashboard/organization",
    ] {
        let response = browser.get(&app.url.join(path).unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

/// `GET path` sent exactly as written; the status and the response head.
async fn raw_get(app: &Url, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = format!("{}:{}", app.host_str().unwrap(), app.port().unwrap());
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, head)
}
