//! The pages' handler: renders a page whole, then sends it with its length.
//!
//! Every page renders whole before it is sent (`SsrMode::Async`, held by a test in
//! `router.rs`), so pages work without JavaScript. leptos_axum's handler for such pages
//! also waits for the whole page, then sends it as a stream anyway: boxed streams, the
//! chunks joined and split again, the reactive owner dropped by a last empty chunk, the
//! body in chunked encoding. This handler renders the same way, with the contexts
//! leptos_axum provides, and answers with one body and its `Content-Length` (which the
//! compression layer then streams compressed to clients that accept it): pages +8 %
//! uncompressed (PERFORMANCE.md, "A seventh look"). leptos_axum still routes the pages
//! (`leptos_routes_with_handler`), serves the server functions and the fallback.
//!
//! Not provided, because this app does not use them: Leptos' `#[lazy]` preloading and the
//! islands router. A fork that turns either on goes back to `.leptos_routes(…)`.

use super::AppState;
use crate::app::shell;
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, Method},
    response::{IntoResponse, Response},
};
use futures::{stream, StreamExt};
use hydration_context::{SharedContext, SsrSharedContext};
use leptos::{
    nonce::{provide_nonce, use_nonce},
    prelude::*,
    reactive::owner::Sandboxed,
};
use leptos_axum::ResponseOptions;
use leptos_meta::ServerMetaContext;
use leptos_router::{components::provide_server_redirect, location::RequestUrl};
use std::{
    fmt::Write as _,
    sync::{Arc, PoisonError},
};

/// Renders the app's page for `request`.
pub async fn render_page(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    // leptos_router reads the request's URL against a placeholder origin, as in
    // leptos_axum.
    let url = format!(
        "http://leptos.dev{}",
        parts.uri.path_and_query().map_or("/", |path| path.as_str())
    );
    let method = route_method(&parts.method);
    let response_options = ResponseOptions::default();
    let (meta, meta_output) = ServerMetaContext::new();
    let shared: Arc<dyn SharedContext + Send + Sync> = Arc::new(SsrSharedContext::new());
    let owner = Owner::new_root(Some(Arc::clone(&shared)));
    // `new_root` also makes the page's owner this thread's current one, where the next
    // request polled on this thread (a server function) would become its child: the page
    // sets it only while it renders (`with`, `Sandboxed`).
    owner.clone().unset();
    let owner = RenderOwner(Some(owner));

    let (html, nonce) = owner.with({
        let response_options = response_options.clone();
        move || {
            provide_context(RequestUrl::new(&url));
            provide_context(meta);
            provide_context(parts);
            provide_context(response_options);
            provide_context(method);
            provide_context(state.clone());
            provide_server_redirect(leptos_axum::redirect);
            provide_nonce();
            let nonce = use_nonce();
            let html = shell(LeptosOptions::clone(&state.leptos)).to_html_stream_in_order();
            (html, nonce)
        }
    });
    let mut page = Sandboxed::new(html.collect::<String>()).await;
    while let Some(pending) = shared.await_deferred() {
        pending.await;
    }
    // The resources resolved while rendering, for the islands, after the document (as
    // leptos_axum sends them).
    if let Some(data) = shared.pending_data() {
        let nonce = nonce
            .map(|nonce| format!(" nonce=\"{nonce}\""))
            .unwrap_or_default();
        for script in Sandboxed::new(data.collect::<Vec<String>>()).await {
            // Writing to a `String` cannot fail.
            let _ = write!(page, "<script{nonce}>{script}</script>");
        }
    }
    // The `<title>` and other `leptos_meta` tags the components asked for, into `<head>`.
    let page = Sandboxed::new(async move {
        meta_output
            .inject_meta_context(stream::iter([page]))
            .await
            .collect::<String>()
            .await
    })
    .await;
    drop(owner);

    let mut response = Body::from(page).into_response();
    let mut options = response_options
        .0
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(status) = options.status {
        *response.status_mut() = status;
    }
    let headers = response.headers_mut();
    headers.extend(std::mem::take(&mut options.headers));
    headers
        .entry(header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// The page's reactive owner, cleaned up (its cleanups run, its reactive nodes are
/// dropped) when the page is rendered or when the request is dropped part way (the person
/// closed the tab), as leptos_axum's last chunk does for a stream sent whole.
struct RenderOwner(Option<Owner>);

impl RenderOwner {
    fn with<T>(&self, run: impl FnOnce() -> T) -> T {
        match &self.0 {
            Some(owner) => owner.with(run),
            None => run(),
        }
    }
}

impl Drop for RenderOwner {
    fn drop(&mut self) {
        if let Some(owner) = self.0.take() {
            owner.unset_with_forced_cleanup();
        }
    }
}

/// The route's method as leptos_router names it (leptos_axum provides it to the page).
fn route_method(method: &Method) -> leptos_router::Method {
    match *method {
        Method::POST => leptos_router::Method::Post,
        Method::PUT => leptos_router::Method::Put,
        Method::DELETE => leptos_router::Method::Delete,
        Method::PATCH => leptos_router::Method::Patch,
        _ => leptos_router::Method::Get,
    }
}
