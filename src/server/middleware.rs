//! The router's own middleware: request ids and the request span, HEAD answered as GET,
//! asset caching, and server-function argument errors answered as client errors.

use std::sync::Arc;

/// Numbers requests (`x-request-id`, unless the client sent one) so log lines of one
/// request can be found together.
#[derive(Clone, Default)]
pub struct RequestIds(Arc<std::sync::atomic::AtomicU64>);

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(
        &mut self,
        _: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        axum::http::HeaderValue::from_str(&format!("req-{n}"))
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The span every log line of a request is recorded in: method, path and request id.
/// Deliberately not the query string: the callback's carries the authorization code.
pub fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// Answers HEAD as GET without the body, as axum does for each route, but outside the
/// layers: the router answers HEAD with the body already dropped, so the compression
/// layer would not see it, and HEAD would lack GET's `Content-Encoding` and `Vary`.
pub async fn head_as_get(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let head = request.method() == Method::HEAD;
    if head {
        *request.method_mut() = Method::GET;
    }
    let response = next.run(request).await;
    if !head {
        return response;
    }
    // GET's length, as axum's own HEAD handling keeps it, before the body goes.
    let (mut parts, body) = response.into_parts();
    if let Some(length) = axum::body::HttpBody::size_hint(&body).exact() {
        parts
            .headers
            .entry(axum::http::header::CONTENT_LENGTH)
            .or_insert_with(|| length.into());
    }
    axum::response::Response::from_parts(parts, axum::body::Body::empty())
}

/// Files under `/pkg/` carry a content hash in their names when `hash-files` is on: let
/// browsers keep them for a year. Without hashing, make browsers revalidate.
pub async fn asset_cache_headers(
    hashed: bool,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let is_asset = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    if is_asset && response.status().is_success() {
        let policy = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Server functions answer every error with 500, including arguments the client sent
/// malformed (a bad form body or query). Those are the client's fault: answer 400, so
/// hostile input never shows up as a server error.
pub async fn malformed_arguments_are_client_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::{body::Body, http::StatusCode};
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The body is rebuilt below: a length declared for the old one must not survive.
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        parts.status = StatusCode::BAD_REQUEST;
        return axum::response::Response::from_parts(parts, Body::empty());
    };
    const CLIENT_FAULTS: [&[u8]; 3] = [b"Args|", b"MissingArg|", b"Deserialization|"];
    if CLIENT_FAULTS.iter().any(|prefix| bytes.starts_with(prefix)) {
        tracing::debug!("malformed server function arguments answered with 400");
        parts.status = StatusCode::BAD_REQUEST;
    }
    axum::response::Response::from_parts(parts, Body::from(bytes))
}
