//! No open redirect, by construction: every entry point that takes a destination is fed
//! a table of hostile values over real HTTP, and whatever it finally puts in `Location`
//! must be on the app's own origin. A property test checks the rule for any input.

use crate::common::*;
use proptest::prelude::*;
use reqwest::StatusCode;
use scalekit_leptos_starter::auth::server::login_state::{
    absolute_location, is_local_path, safe_return_path,
};
use url::Url;

/// Destinations an attacker would try. Query-encoded by the tests, so `\t`, `\r`, `\n`
/// and `\\` reach the app as the raw characters.
const HOSTILE: &[&str] = &[
    "/.//evil.example",
    "/..//evil.example",
    "/%2e%2e//evil.example",
    "/%2E%2E/%2Fevil.example",
    "/./%2e/..//evil.example",
    "/a/../..//evil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "/%2F/evil.example",
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "http:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "/\tevil",
    "/\t/evil.example",
    "/%09/evil.example",
    "/\r\nLocation: https://evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    "/ /evil.example",
    "evil.example",
];

/// The rule for what a redirect may carry: an absolute URL on the app's origin, or a
/// path with one leading `/` not followed by `/` or `\`; no control characters.
fn assert_stays_home(location: &str, app: &Url, what: &str) {
    assert!(
        !location.chars().any(char::is_control),
        "{what}: control characters in {location:?}"
    );
    if location.starts_with('/') {
        assert!(is_local_path(location), "{what}: {location:?}");
    }
    let resolved = app.join(location).unwrap();
    assert_eq!(
        resolved.origin(),
        app.origin(),
        "{what}: {location:?} leaves the app"
    );
}

fn location_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {}", response.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// Finishes a login started at `authorize`; returns the callback's `Location`.
async fn finish(browser: &mut Browser, app: &TestApp, authorize: &Url) -> String {
    let callback = continue_as(browser, authorize, "ada@example.com", None).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = location_of(&response);
    assert_stays_home(&location, &app.url, "callback");
    location
}

#[tokio::test]
async fn refresh_return_to_never_leaves_the_app() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();
    log_in(&mut browser, &app, "ada@example.com").await;
    for hostile in HOSTILE {
        let mut url = app.url.join("/auth/refresh").unwrap();
        url.query_pairs_mut().append_pair("return_to", hostile);
        let response = browser.get_with(&url, &[("sec-fetch-site", "none")]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{hostile:?}");
        assert_stays_home(&location_of(&response), &app.url, hostile);
    }
    // A good value still works, and Location is built on APP_URL.
    let mut url = app.url.join("/auth/refresh").unwrap();
    url.query_pairs_mut()
        .append_pair("return_to", "/dashboard/account?tab=a");
    let response = browser.get_with(&url, &[("sec-fetch-site", "none")]).await;
    assert_eq!(
        location_of(&response),
        app.url.join("/dashboard/account?tab=a").unwrap().as_str()
    );
}

#[tokio::test]
async fn login_link_and_login_function_return_to_never_leave_the_app() {
    let app = spawn_app(300).await;
    for hostile in HOSTILE {
        // GET /login?return_to=…
        let mut browser = Browser::default();
        let mut url = app.url.join("/login").unwrap();
        url.query_pairs_mut().append_pair("return_to", hostile);
        let response = continue_to_sign_in(&mut browser, &app.url, &url, "none").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{hostile:?}");
        let authorize = location(&response, &app.url);
        finish(&mut browser, &app, &authorize).await;

        // The same link from the app's own pages (no confirmation).
        let mut browser = Browser::default();
        let response = browser
            .get_with(&url, &[("sec-fetch-site", "same-origin")])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{hostile:?}");
        let authorize = location(&response, &app.url);
        finish(&mut browser, &app, &authorize).await;

        // The login server function's return_to.
        let mut browser = Browser::default();
        let response = browser
            .post_form(
                &app.url.join("/auth/login").unwrap(),
                &[("intent", "login"), ("return_to", hostile)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{hostile:?}");
        let authorize = location(&response, &app.url);
        finish(&mut browser, &app, &authorize).await;
    }
}

#[tokio::test]
async fn a_return_to_that_grows_when_normalised_still_logs_in() {
    // Within the 2048-byte limit as sent, about 6 KB once its quotes are percent-encoded:
    // more than the login cookie can hold. The login starts anyway, landing on the
    // default page, rather than failing the same way at every try.
    let app = spawn_app(300).await;
    let long = format!("/dashboard/account?q={}", "\"".repeat(2000));
    let mut browser = Browser::default();
    let response = browser
        .post_form(
            &app.url.join("/auth/login").unwrap(),
            &[("intent", "login"), ("return_to", long.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let authorize = location(&response, &app.url);
    assert!(
        authorize.as_str().starts_with(app.idp().issuer.as_str()),
        "sent to the provider, not {authorize}"
    );
    let landed = finish(&mut browser, &app, &authorize).await;
    assert!(landed.ends_with("/dashboard/profile"), "{landed}");
}

#[tokio::test]
async fn idp_initiated_relay_state_never_leaves_the_app() {
    let app = spawn_app(300).await;
    let idp = app.idp();
    for hostile in HOSTILE {
        let mut browser = Browser::default();
        let mut start = idp.issuer.join("/idp-initiated").unwrap();
        start.query_pairs_mut().append_pair("relay_state", hostile);
        let initiate = location(&browser.get(&start).await, &idp.issuer);
        let response = continue_to_sign_in(&mut browser, &app.url, &initiate, "none").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{hostile:?}");
        let authorize = location(&response, &app.url);
        let landed = finish(&mut browser, &app, &authorize).await;
        assert!(
            landed.ends_with("/dashboard/profile"),
            "{hostile:?}: {landed}"
        );
    }
}

fn path_pieces() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/"),
        Just("//"),
        Just("."),
        Just(".."),
        Just("%2e"),
        Just("%2E%2e"),
        Just("%2f"),
        Just("%2F"),
        Just("%252F"),
        Just("\\"),
        Just("%5c"),
        Just("\t"),
        Just("%09"),
        Just("\n"),
        Just("%0a"),
        Just("@"),
        Just(":"),
        Just("?"),
        Just("#"),
        Just("http:"),
        Just("evil.example"),
        Just("a"),
        Just(" "),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// For any input: the checked path obeys the output rule, and the Location built
    /// from it stays on APP_URL's origin.
    #[test]
    fn any_accepted_destination_stays_on_the_app(raw in prop_oneof![path_pieces(), ".{0,40}"]) {
        let app = Url::parse("https://app.example:8443/").unwrap();
        if let Some(path) = safe_return_path(&raw) {
            prop_assert!(is_local_path(&path), "{raw:?} -> {path:?}");
            let location = absolute_location(&app, &path);
            let resolved = Url::parse(&location).unwrap();
            prop_assert_eq!(resolved.origin(), app.origin(), "{:?} -> {:?}", raw, location);
            prop_assert!(!location.chars().any(char::is_control));
        }
        let fallback = absolute_location(&app, &raw);
        prop_assert_eq!(Url::parse(&fallback).unwrap().origin(), app.origin());
    }
}
