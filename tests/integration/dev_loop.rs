//! The development loop: `cargo leptos watch` restarts the server on every edit, and the
//! person stays signed in because the built-in provider keeps its state file and the
//! cookie key stays the same (`server::run` sets both up under `cargo leptos watch`).
//! Each server here runs in a runtime of its own; dropping the runtime stops it the way
//! a restart does.

use crate::common::*;
use reqwest::StatusCode;
use std::{net::SocketAddr, path::Path};

const SECRET: &str = "the-development-loop-secret-0123456789";

fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Starts the app and its built-in provider on fixed ports, in `runtime`.
fn start(
    runtime: &tokio::runtime::Runtime,
    app: SocketAddr,
    idp: SocketAddr,
    state_file: Option<&Path>,
) -> TestApp {
    let state_file = state_file.map(Path::to_path_buf);
    runtime.block_on(
        TestApp::builder()
            .listen(app)
            .env("SESSION_SECRET", SECRET)
            .idp_settings(move |settings| {
                settings.addr = idp;
                settings.state_file = state_file;
            })
            .start(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_restart_keeps_the_person_signed_in_when_the_provider_keeps_its_state() {
    let dir = std::env::temp_dir().join(format!(
        "dev-loop-{}",
        std::process::id() as u64 * 1_000 + rand_suffix()
    ));
    let state_file = dir.join("dev-idp.json");
    let (app_addr, idp_addr) = (free_addr(), free_addr());

    // Before the edit: log in.
    let before = runtime();
    let app = start(&before, app_addr, idp_addr, Some(&state_file));
    let mut browser = Browser::default();
    let profile = app.url.join("/dashboard/profile").unwrap();
    before.block_on(async {
        log_in(&mut browser, &app, "ada@example.com").await;
        assert_eq!(browser.get(&profile).await.status(), StatusCode::OK);
    });
    drop(app);
    drop(before);
    assert!(state_file.exists(), "the provider wrote its state");

    // After the restart: the same cookies still open a session, and the refresh token
    // issued before the restart still refreshes it.
    let after = runtime();
    let app = start(&after, app_addr, idp_addr, Some(&state_file));
    let mut browser = browser.with_same_cookies();
    after.block_on(async {
        let page = browser.get(&profile).await;
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "still signed in after a restart"
        );
        assert!(page.text().await.unwrap().contains("ada@example.com"));
        let refresh = browser.get(&app.url.join("/auth/refresh").unwrap()).await;
        assert_eq!(
            location(&refresh, &app.url).path(),
            "/dashboard/profile",
            "the pre-restart refresh token works"
        );
        assert_eq!(browser.get(&profile).await.status(), StatusCode::OK);
    });
    drop(app);
    drop(after);

    // Without the state file (what tests and production do), a restart forgets: the
    // provider has a new key and no refresh tokens, and the session ends.
    let forgetful = runtime();
    let app = start(&forgetful, app_addr, idp_addr, None);
    let mut browser = browser.with_same_cookies();
    forgetful.block_on(async {
        let page = browser.get(&profile).await;
        assert_eq!(page.status(), StatusCode::SEE_OTHER);
        let refresh = browser.get(&location(&page, &app.url)).await;
        assert_ne!(
            location(&refresh, &app.url).path(),
            "/dashboard/profile",
            "a forgetful provider cannot refresh the old session"
        );
    });
    drop(app);
    drop(forgetful);
    std::fs::remove_dir_all(dir).unwrap();
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}
