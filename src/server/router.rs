//! The app's routes and the layers around them.

use super::{
    middleware::{
        asset_cache_headers, head_as_get, malformed_arguments_are_client_errors, request_span,
        RequestIds,
    },
    AppState, StartError,
};
use crate::{
    app::{shell, App, SignedInPages},
    auth::server::{
        backchannel, handlers,
        request_site::same_origin_server_functions,
        route_guard::{self, SignedInPaths},
    },
    response_headers::response_headers,
};
use axum::{middleware::from_fn_with_state, Router};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_cookies::CookieManagerLayer;

/// The router for `state`: Leptos' pages and server functions, the auth endpoints, the
/// example API, webhooks, built assets and `/healthz`.
pub fn router(state: AppState) -> Router {
    let hashed_assets = state.leptos.hash_files;
    let pkg_dir = format!("/{}", state.leptos.site_pkg_dir);
    let pkg_files = format!("{}/{}", state.leptos.site_root, state.leptos.site_pkg_dir);
    #[cfg(feature = "bench-floor")]
    let floor_options = leptos::config::LeptosOptions::clone(&state.leptos);
    // Server functions (leptos_axum registers them; with no pages listed, its page
    // renderer is never called) and the pages, rendered by our handler (`render.rs`).
    // Both provide the state itself as context (`expect_context::<AppState>()`): no
    // further context to add.
    let mut router = Router::new()
        .leptos_routes(&state, Vec::new(), || ())
        .leptos_routes_with_handler(route_list(), super::render::render_page)
        .merge(handlers::routes(&state.auth.settings.callback_path))
        .merge(crate::api::routes())
        .merge(backchannel::routes());
    if state.webhooks.is_some() {
        router = router.merge(crate::webhooks::routes());
    }
    let routes = router
        // A bare route: the baseline the benchmarks compare authenticated pages with,
        // and a readiness probe.
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        // Built assets, sent precompressed (.br/.gz written by scripts/build-release.sh)
        // when the browser accepts it; otherwise compressed on the fly below.
        .nest_service(
            &pkg_dir,
            tower_http::services::ServeDir::new(pkg_files)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state.clone());
    // The layers wrap the whole router once, outermost first. `Router::layer` would wrap
    // every route in its own stack, each layer boxed, and axum clones a route's whole
    // stack for every request (PERFORMANCE.md: pages +10 %, `/healthz` +37 %). Each layer
    // is given only the part of the state it reads, which it clones per request.
    let layered = tower::ServiceBuilder::new()
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            RequestIds::default(),
        ))
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .layer(axum::middleware::from_fn(head_as_get))
        // Pages and server functions' answers, compressed as they are sent; so are the
        // built assets, unless scripts/build-release.sh wrote their precompressed copies
        // (at the highest level). Level 1 (brotli and gzip): at tower-http's default
        // (brotli 4) compressing the profile page cost 117 µs of CPU on top of the 52 µs
        // the whole request takes uncompressed; at level 1 it costs 37 µs, for 13 % more
        // bytes. Level 2 cost 16 µs more for 2 % fewer bytes (PERFORMANCE.md).
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Precise(1)),
        )
        .layer(axum::middleware::from_fn(move |request, next| {
            asset_cache_headers(hashed_assets, request, next)
        }))
        .layer(from_fn_with_state(state.headers.clone(), response_headers))
        .layer(CookieManagerLayer::new())
        .layer(from_fn_with_state(
            state.origin.clone(),
            same_origin_server_functions,
        ))
        .layer(axum::middleware::from_fn(
            malformed_arguments_are_client_errors,
        ))
        .layer(from_fn_with_state(
            route_guard::GuardState {
                auth: state.auth.clone(),
                signed_in: state.signed_in.clone(),
                leptos: state.leptos.clone(),
            },
            route_guard::guard,
        ))
        .service(routes);
    let router = Router::new().fallback_service(layered);
    #[cfg(feature = "bench-floor")]
    let router = super::bench_floor::with_floor(router, floor_options);
    router
}

/// The app's routes, generated once per process. Generating them renders the app with
/// resource loading suspended by a process-wide flag, and a page whose resource first
/// polls meanwhile on another thread never finishes (leptos-rs/leptos#4773). One server
/// per process never overlaps the two; tests that start many servers in one process did
/// (a rare hang of a hostile-input request). Generated once, before any router exists,
/// no render can overlap it.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    route_lists().0.clone()
}

/// The pages declared inside `<SignedInRoutes>`: the route guard's list. Fails when one
/// of them is not where the app routes it (`<SignedInRoutes/>` moved under a parent
/// route or a router base), so the guard can never protect other paths than the pages.
pub fn signed_in_paths() -> Result<SignedInPaths, StartError> {
    let (all, signed_in) = route_lists();
    let routed: Vec<&str> = all.iter().map(|listing| listing.path()).collect();
    match signed_in.iter().find(|path| !routed.contains(&path.as_str())) {
        Some(path) => Err(StartError::Routes(format!(
            "the signed-in page {path} is not routed at that path: keep <SignedInRoutes/> directly inside <FlatRoutes> in src/app.rs"
        ))),
        None => Ok(SignedInPaths::new(signed_in.iter().cloned())),
    }
}

/// Every route, and the signed-in ones, generated once per process (see [`route_list`]).
/// The home page is never a signed-in page: it is where the guard sends signed-out people
/// (and leptos_axum lists `/` for a route tree with no routes at all).
fn route_lists() -> &'static (Vec<leptos_axum::AxumRouteListing>, Vec<String>) {
    static ROUTES: std::sync::OnceLock<(Vec<leptos_axum::AxumRouteListing>, Vec<String>)> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| {
        let all = generate_route_list(App);
        let signed_in = generate_route_list(SignedInPages)
            .iter()
            .map(|listing| listing.path().to_string())
            .filter(|path| path != "/")
            .collect();
        (all, signed_in)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages work without JavaScript only when the server sends them whole; the home
    /// page's bare `Suspend` also needs an in-order render (see `pages/home.rs`). The
    /// pages' handler (`render.rs`) renders every page so; a route asking for streaming
    /// would silently not get it.
    #[test]
    fn every_page_renders_whole_before_it_is_sent() {
        for listing in route_list() {
            assert!(
                matches!(listing.mode(), leptos_router::SsrMode::Async),
                "{} renders {:?}",
                listing.path(),
                listing.mode()
            );
        }
    }

    #[test]
    fn the_guard_protects_exactly_the_pages_declared_signed_in() {
        let signed_in = signed_in_paths().expect("every signed-in page is routed");
        for page in [
            "/dashboard/profile",
            "/dashboard/account",
            "/dashboard/organization",
        ] {
            assert!(signed_in.contains(page), "{page}");
        }
        for public in ["/", "/healthz", "/auth/refresh", "/login", "/dashboard"] {
            assert!(!signed_in.contains(public), "{public}");
        }
    }
}
