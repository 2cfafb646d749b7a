//! Only the parts that need a browser ship to it: each page is server-rendered HTML, and
//! the interactive parts (the login forms, the profile card with its background refresh,
//! the logout button) are Leptos islands, with their props in the page.

use crate::common::*;
use reqwest::StatusCode;

/// The `data-component` names of the islands in `html`, without their hash suffix.
fn islands(html: &str) -> Vec<String> {
    html.split("<leptos-island data-component=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|name| name.rsplit_once('_').map_or(name, |(n, _)| n).to_string())
        .collect()
}

#[tokio::test]
async fn each_page_ships_only_its_interactive_parts_as_islands() {
    let app = spawn_app(300).await;
    let mut browser = Browser::default();

    let home = browser.get(&app.url).await;
    let html = home.text().await.unwrap();
    assert_eq!(islands(&html), ["LoginForms"], "{html}");
    assert!(
        html.contains("data-props=\"{&quot;providers&quot;:["),
        "the social providers travel as the island's props: {html}"
    );

    log_in(&mut browser, &app, "ada@example.com").await;
    let profile = browser
        .get(&app.url.join("/dashboard/profile").unwrap())
        .await;
    assert_eq!(profile.status(), StatusCode::OK);
    let html = profile.text().await.unwrap();
    // The logout button inside the profile card hydrates as part of it.
    assert_eq!(islands(&html), ["Profile"], "{html}");
    assert!(!html.contains("eyJ"), "no token in the island's props");
    let profile_url = app.url.join("/dashboard/profile").unwrap();
    let refresh_url = app.url.join("/auth/refresh").unwrap();
    let cookies = format!(
        "{}; {}",
        browser.cookie_header(&profile_url),
        browser.cookie_header(&refresh_url)
    );
    let sealed: Vec<&str> = cookies
        .split("; ")
        .filter_map(|pair| pair.split_once('=').map(|(_, value)| value))
        .filter(|value| value.len() > 16)
        .collect();
    assert!(
        sealed.len() >= 2,
        "signed in with sealed cookies: {cookies}"
    );
    for value in sealed {
        assert!(!html.contains(value), "a cookie's value is in the page");
    }

    let html = browser.get(&app.url).await.text().await.unwrap();
    assert_eq!(islands(&html), ["LogoutButton"], "signed in, home: {html}");

    // A page with nothing interactive ships no island at all.
    let account = browser
        .get(&app.url.join("/dashboard/account").unwrap())
        .await;
    assert_eq!(account.status(), StatusCode::OK);
    let html = account.text().await.unwrap();
    assert!(islands(&html).is_empty(), "{html}");
}
