//! The server: [`start`](mod@start) reads the configuration and serves; [`assemble()`] builds the app
//! from an [`AppConfig`](crate::config::AppConfig) (the tests' entry point too);
//! [`router`] lays out routes and layers; [`middleware`] holds the router's own layers;
//! [`render`] renders the pages.
//!
//! Every handler, middleware and server function reads what it needs from one
//! [`AppState`].

pub mod assemble;
#[cfg(feature = "bench-floor")]
pub mod bench_floor;
pub mod middleware;
pub mod render;
pub mod router;
pub mod start;

pub use assemble::{assemble, Server};
pub use start::run;

use crate::{
    api::ExampleApi,
    auth::server::{request_site::AppOrigin, route_guard::SignedInPaths, SharedAuth},
    response_headers::HeaderPolicy,
    webhooks::Webhooks,
};
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// What every request may need. Handlers take the part they use (`State<SharedAuth>`);
/// pages and server functions read it with `expect_context::<AppState>()`.
///
/// Leptos clones the state several times for every page it renders (its handler, its
/// context), so every field is a cheap handle: an `Arc` or a small copy.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos' options (the site's files, the HTML shell). Shared: a `LeptosOptions`
    /// clone is a handful of reference counts, and cloning them was 6 % of a page's CPU
    /// time (scripts/profile.sh, PERFORMANCE.md).
    pub leptos: Arc<LeptosOptions>,
    /// Sessions: login, refresh, logout, the signed-in user.
    pub auth: SharedAuth,
    /// The response headers' policy (CSP and friends).
    pub headers: Arc<HeaderPolicy>,
    /// The app's own origin, to recognise same-origin requests.
    pub origin: AppOrigin,
    /// The example API, called with the person's access token.
    pub api: ExampleApi,
    /// Scalekit webhooks, when `SCALEKIT_WEBHOOK_SECRET` is set.
    pub webhooks: Option<Webhooks>,
    /// The pages only signed-in people may see (from the route tree).
    pub signed_in: SignedInPaths,
}

/// leptos_axum's handlers (the file and error fallback) take the options by value.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        LeptosOptions::clone(&state.leptos)
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(
        "no identity provider is configured and this build has no built-in one: set {}",
        .0.join(", ")
    )]
    NoProvider(Vec<&'static str>),
    /// The built-in development provider refused or failed to start (its own error,
    /// boxed so that removing the provider's crate leaves this type untouched).
    #[error(transparent)]
    BuiltInProvider(Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot create the OpenID Connect client: {0}")]
    Oidc(#[from] crate::oidc::OidcError),
    #[error("{0}")]
    Routes(String),
}
