//! Cross-site requests cannot start, end or switch a session: routed login links and
//! IdP-initiated logins from other sites ask first, a cross-site refresh never clears a
//! session, server functions answer only their own origin, and a refresh cookie tossed in
//! from a sibling domain is refused.

use crate::common::*;
use dev_idp::Counters;
use reqwest::StatusCode;

const CROSS_SITE: &[(&str, &str)] = &[("sec-fetch-site", "cross-site")];

/// Ends the provider-side grant of the refresh token in `browser`'s cookies (logout
/// revokes it), then puts the cookies back: the next refresh gets `invalid_grant`.
async fn with_a_dead_refresh_token(app: &TestApp, browser: &mut Browser) {
    let names = ["__Host-sk_access", "__Host-sk_id", "__Secure-sk_refresh"];
    let saved: Vec<(String, Option<String>)> = names
        .iter()
        .map(|n| (n.to_string(), browser.cookie(&app.url, n)))
        .collect();
    browser
        .post_form(&app.url.join("/auth/logout").unwrap(), &[])
        .await;
    for (name, value) in saved {
        let path = if name.contains("refresh") {
            "/auth"
        } else {
            "/"
        };
        browser.set_cookie(&app.url, &name, &value.unwrap(), path);
    }
}

fn clears_the_session(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("__Host-sk_id=;"))
}

#[tokio::test]
async fn a_routed_login_from_another_site_is_confirmed_first() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    let link = app
        .url
        .join(
            "/login?organization_id=org_evil&connection_id=conn_evil&return_to=/dashboard/account",
        )
        .unwrap();
    let response = browser.get_with(&link, CROSS_SITE).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "no redirect to the provider"
    );
    assert!(
        browser.cookie(&app.url, "__Host-sk_login").is_none(),
        "no login started"
    );
    let page = response.text().await.unwrap();
    let provider_host = app.idp().issuer.host_str().unwrap().to_string();
    assert!(
        page.contains("Continue to sign in?")
            && page.contains(&provider_host)
            && page.contains("org_evil")
            && page.contains("conn_evil"),
        "the page names where the person would sign in: {page}"
    );
    let fields = hidden_fields(&page);
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    // The button: a same-origin POST, which starts the routed login.
    let confirm = app.url.join("/login").unwrap();
    let response = browser.post_form(&confirm, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let authorize = location(&response, &app.url);
    assert_eq!(query(&authorize)["organization_id"], "org_evil");
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let landed = location(&browser.get(&callback).await, &app.url);
    assert_eq!(
        landed.path(),
        "/dashboard/account",
        "return_to carried through"
    );

    // The button's POST from another site is refused.
    let mut other = Browser::default();
    let response = other
        .post_form_with(
            &confirm,
            &form,
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(other.cookie(&app.url, "__Host-sk_login").is_none());

    // From the app's own pages: straight to the provider. Opened from outside any page
    // (a typed URL, or a link in a mail or chat app, which browsers report alike): asked.
    for (site, expected) in [
        ("same-origin", StatusCode::SEE_OTHER),
        ("none", StatusCode::OK),
    ] {
        let response = Browser::default()
            .get_with(&link, &[("sec-fetch-site", site)])
            .await;
        assert_eq!(response.status(), expected, "{site}");
    }
    // Browsers without Sec-Fetch-Site: the Referer decides; nothing at all is not trusted.
    let own_page = app.url.join("/").unwrap().to_string();
    let response = Browser::default()
        .get_with(&link, &[("referer", own_page.as_str())])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = Browser::default()
        .get_with(&link, &[("referer", "https://evil.example/")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let silent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(
        silent.get(link.clone()).send().await.unwrap().status(),
        StatusCode::OK,
        "a request that says nothing about where it comes from is not trusted"
    );
    // A plain login link from another site is confirmed too, and cannot replace a login
    // in progress: the person's own login still completes afterwards.
    let mut person = Browser::default();
    let authorize = start_login(&mut person, &app, "login").await;
    let plain = app.url.join("/login").unwrap();
    let response = person.get_with(&plain, CROSS_SITE).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("set-cookie").is_none());
    let callback = continue_as(&mut person, &authorize, "ada@example.com", None).await;
    assert_eq!(person.get(&callback).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_idp_initiated_login_is_confirmed_then_completes() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    let mut browser = Browser::default();
    let start = idp
        .issuer
        .join("/idp-initiated?login_hint=ada@example.com")
        .unwrap();
    let initiate = location(&browser.get(&start).await, &idp.issuer);
    let response = browser.get_with(&initiate, CROSS_SITE).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("conn_dev_saml") && page.contains("ada@example.com"),
        "{page}"
    );
    let fields = hidden_fields(&page);
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = browser
        .post_form(&app.url.join("/login").unwrap(), &form)
        .await;
    let authorize = location(&response, &app.url);
    assert_eq!(query(&authorize)["connection_id"], "conn_dev_saml");
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    assert_eq!(
        location(&browser.get(&callback).await, &app.url).path(),
        "/dashboard/profile"
    );
}

#[tokio::test]
async fn a_cross_site_refresh_never_ends_a_session() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    with_a_dead_refresh_token(&app, &mut browser).await;
    let refresh = app.url.join("/auth/refresh").unwrap();

    let response = browser.get_with(&refresh, CROSS_SITE).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        !clears_the_session(&response),
        "cross-site: nothing cleared"
    );
    assert!(browser.cookie(&app.url, "__Host-sk_id").is_some());

    // The same failure reached from the app itself ends the session.
    let response = browser
        .get_with(&refresh, &[("sec-fetch-site", "same-origin")])
        .await;
    assert!(clears_the_session(&response));
}

#[tokio::test]
async fn server_functions_answer_only_their_own_origin() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    let me = app.url.join("/auth/me").unwrap();
    let origin = app.url.origin().ascii_serialization();
    let refused: &[&[(&str, &str)]] = &[
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "none")],
        &[("sec-fetch-site", "same-site"), ("origin", origin.as_str())],
        &[
            ("sec-fetch-site", "omitted"),
            ("origin", "https://sub.example"),
        ],
    ];
    for headers in refused {
        let response = browser.post_form_with(&me, &[], headers).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
    }
    // No Sec-Fetch-Site (older browsers): the Origin must be the app's.
    let bare = reqwest::Client::new();
    let cookie = browser.cookie_header(&me);
    for (origin_header, expected) in [
        (Some(origin.as_str()), StatusCode::OK),
        (Some("https://evil.example"), StatusCode::FORBIDDEN),
        (None, StatusCode::FORBIDDEN),
    ] {
        let mut request = bare.post(me.clone()).header("cookie", &cookie);
        if let Some(value) = origin_header {
            request = request.header("origin", value);
        }
        let status = request.send().await.unwrap().status();
        assert_eq!(status, expected, "{origin_header:?}");
    }
    let response = bare
        .post(me.clone())
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("ada@example.com"));
}

#[tokio::test]
async fn a_refresh_cookie_from_another_session_is_refused() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    let mut victim = Browser::default();
    log_in(&mut victim, &app, "ada@example.com").await;
    let mut attacker = Browser::default();
    log_in(&mut attacker, &app, "grace@example.com").await;

    // Cookie tossing: a sibling subdomain sets the attacker's refresh cookie (sealed by
    // this app for the attacker's session) in the victim's browser.
    let own = victim.cookie(&app.url, "__Secure-sk_refresh").unwrap();
    let tossed = attacker.cookie(&app.url, "__Secure-sk_refresh").unwrap();
    victim.set_cookie(&app.url, "__Secure-sk_refresh", &tossed, "/auth");
    let token_calls = Counters::get(&idp.counters().token);
    let refresh = app.url.join("/auth/refresh").unwrap();
    let response = victim
        .get_with(&refresh, &[("sec-fetch-site", "none")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "the victim's session is untouched"
    );
    assert_eq!(
        Counters::get(&idp.counters().token),
        token_calls,
        "the tossed refresh token never reached the provider"
    );
    let profile = victim
        .get(&app.url.join("/dashboard/profile").unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(profile.contains("ada@example.com") && !profile.contains("grace@example.com"));

    // Tossed cookies sent beside the real one (a browser orders a tossed `Path=/` cookie
    // after it) neither hide it nor end the session: the one bound to it is used.
    victim.set_cookie(&app.url, "__Secure-sk_refresh", &own, "/auth");
    let real = victim.cookie_header(&refresh);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for extra in ["garbage", tossed.as_str()] {
        let response = http
            .get(refresh.clone())
            .header("cookie", format!("{real}; __Secure-sk_refresh={extra}"))
            .header("sec-fetch-site", "none")
            .send()
            .await
            .unwrap();
        assert_eq!(
            location(&response, &app.url).path(),
            "/dashboard/profile",
            "the real refresh cookie is found and used"
        );
    }

    // A refresh cookie without its ID cookie is refused too.
    let token_calls = Counters::get(&idp.counters().token);
    let mut lone = Browser::default();
    lone.set_cookie(&app.url, "__Secure-sk_refresh", &tossed, "/auth");
    let response = lone.get_with(&refresh, &[("sec-fetch-site", "none")]).await;
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(Counters::get(&idp.counters().token), token_calls);

    // Its own refresh cookie still works.
    let response = attacker
        .get_with(&refresh, &[("sec-fetch-site", "none")])
        .await;
    assert_eq!(location(&response, &app.url).path(), "/dashboard/profile");
}
