//! No flow depends on one process's memory: two app instances sharing configuration and
//! SESSION_SECRET behind one address serve one person, who starts logging in on one,
//! finishes on the other, and refreshes and logs out wherever the request lands.

use crate::common::*;
use dev_idp::Counters;
use reqwest::StatusCode;
use url::Url;

/// The same URL on another instance (cookies ignore ports, as in a browser).
fn on(instance: &Url, url: &Url) -> Url {
    let mut url = url.clone();
    url.set_port(instance.port()).unwrap();
    url
}

#[tokio::test]
async fn login_refresh_and_logout_hop_between_two_instances() {
    // One provider, as with a real Scalekit environment; each instance uses it.
    let Pair { idp, a, b } = pair(None).await;

    // Start on A; the provider sends the person back to the callback, which lands on B.
    let mut browser = Browser::default();
    let login = a.join("/auth/login").unwrap();
    let response = browser.post_form(&login, &[("intent", "login")]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let authorize = location(&response, &a);
    let callback = continue_as(&mut browser, &authorize, "ada@example.com", None).await;
    let response = browser.get(&on(&b, &callback)).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "B finishes the login A started"
    );

    // Either instance reads the session.
    for instance in [&a, &b] {
        let profile = instance.join("/dashboard/profile").unwrap();
        let response = browser.get(&profile).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.text().await.unwrap().contains("ada@example.com"));
    }

    // Refresh on B, then read on A with the new tokens.
    let token_calls = Counters::get(&idp.counters().token);
    let response = browser.get(&b.join("/auth/refresh").unwrap()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response, &b).path(), "/dashboard/profile");
    assert_eq!(
        Counters::get(&idp.counters().token),
        token_calls + 1,
        "B refreshed at the provider"
    );
    assert_eq!(
        browser
            .get(&a.join("/dashboard/profile").unwrap())
            .await
            .status(),
        StatusCode::OK
    );

    // Log out on A; B no longer knows the person either.
    let response = browser
        .post_form(&a.join("/auth/logout").unwrap(), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response, &a).path(), "/oidc/logout");
    assert_eq!(
        browser
            .get(&b.join("/dashboard/profile").unwrap())
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}
