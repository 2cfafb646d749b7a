//! A Rust full-stack authentication starter: Leptos (server rendering + islands) on axum, signing
//! people in through Scalekit's hosted login pages (OpenID Connect).
//!
//! Compiled twice: with `ssr` for the server binary and with `hydrate` for the browser
//! (only the `#[island]` components).
//! Modules marked *server only* never reach the WASM bundle.

pub mod app;
#[warn(missing_docs)]
pub mod auth;
pub mod pages;

// Server only: an example API protected by access tokens.
#[cfg(feature = "ssr")]
pub mod api;
// Server only: built asset locations.
#[cfg(feature = "ssr")]
pub mod assets;
// Server only: the configuration (environment, `Leptos.toml`, Leptos' options).
#[cfg(feature = "ssr")]
pub mod config;
// Server only: the OpenID Connect client.
#[cfg(feature = "ssr")]
#[warn(missing_docs)]
pub mod oidc;
// Server only: response headers (Content Security Policy and friends).
#[cfg(feature = "ssr")]
pub mod response_headers;
// Server only: assembling and starting the server.
#[cfg(feature = "ssr")]
pub mod server;
// Server only: what instances share (refresh coordination, ended sessions, seen ids).
#[cfg(feature = "ssr")]
pub mod store;
// Server only: Scalekit webhooks (Standard Webhooks signatures).
#[cfg(feature = "ssr")]
pub mod webhooks;
// Server only: random tokens, constant-time comparison, the clock.
#[cfg(feature = "ssr")]
pub mod util;

/// The browser entry point. The page is server-rendered; only its islands (`#[island]`
/// components) come alive here. Leptos' loader hydrates them right after this returns,
/// so `<body>` is marked `data-hydrated` one task later, for tests (and people) to tell
/// the page is interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    leptos::prelude::set_timeout(
        || {
            if let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
            {
                let _ = body.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}
