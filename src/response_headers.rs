//! Response headers that harden every page: a nonce-based Content Security Policy for
//! the app's pages, a strict default policy for everything else, no sniffing, no
//! framing, no referrer to other sites (the callback URL carries a code), no caching of
//! anything under `/auth/` nor of any page rendered for a signed-in person (`private,
//! no-store`: no shared cache may keep one person's page for another), and HSTS when the
//! app is served over https.

use axum::{
    extract::{Request, State},
    http::{header, HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use std::sync::Arc;

/// What the headers need to know about this deployment.
#[derive(Clone, Debug)]
pub struct HeaderPolicy {
    /// The identity provider's origin: login and logout forms redirect there, and CSP's
    /// `form-action` also governs where a form submission may be redirected.
    pub provider_origin: String,
    /// cargo-leptos' live-reload websocket port, when running under `cargo leptos watch`.
    pub reload_port: Option<u32>,
    /// `APP_URL` is https: browsers are told to use nothing else (`Strict-Transport-Security`).
    pub hsts: bool,
    /// The cookies whose presence means the request is a signed-in person's.
    pub session_cookies: Vec<&'static str>,
}

/// One year, without `includeSubDomains`: sibling hosts may not all be on https yet.
const HSTS: &str = "max-age=31536000";

impl HeaderPolicy {
    /// The CSP of a server-rendered app page whose inline scripts carry `nonce`.
    pub fn page_csp(&self, nonce: &str) -> String {
        let reload = self
            .reload_port
            .map(|port| format!(" ws://localhost:{port} ws://127.0.0.1:{port}"))
            .unwrap_or_default();
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
             form-action 'self' {}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
            self.provider_origin
        )
    }

    /// The CSP of every other response (error documents, redirects, files): no scripts.
    pub fn default_csp(&self) -> String {
        format!(
            "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; \
             form-action 'self' {}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
            self.provider_origin
        )
    }
}

/// Sets the page CSP during server rendering (called from the HTML shell, where the
/// per-response nonce is known).
pub fn set_page_csp() {
    let (Some(policy), Some(nonce), Some(response)) = (
        leptos::prelude::use_context::<crate::server::AppState>().map(|state| state.headers),
        leptos::nonce::use_nonce(),
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&policy.page_csp(&nonce)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Middleware: adds the security headers to every response.
pub async fn response_headers(
    State(policy): State<Arc<HeaderPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let is_auth = request.uri().path().starts_with("/auth/");
    let is_asset = request.uri().path().starts_with("/pkg/");
    let signed_in = carries_any_cookie(request.headers(), &policy.session_cookies);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(value) = HeaderValue::from_str(&policy.default_csp()) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if signed_in && !is_asset {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    } else if is_auth {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if policy.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

/// True when the request's `Cookie` headers name one of `names`.
fn carries_any_cookie(headers: &axum::http::HeaderMap, names: &[&str]) -> bool {
    names
        .iter()
        .any(|name| !crate::auth::server::cookies::cookie_values(headers, name).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HeaderPolicy {
        HeaderPolicy {
            provider_origin: "https://acme.scalekit.dev".into(),
            reload_port: None,
            hsts: false,
            session_cookies: vec!["__Host-sk_access", "__Host-sk_id"],
        }
    }

    #[test]
    fn page_policy_allows_only_nonced_inline_scripts() {
        let csp = policy().page_csp("abc123");
        assert!(csp.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("form-action 'self' https://acme.scalekit.dev"));
        assert!(!csp.contains("ws://"));
        let watching = HeaderPolicy {
            reload_port: Some(3001),
            ..policy()
        };
        assert!(watching.page_csp("n").contains("ws://localhost:3001"));
    }

    #[test]
    fn session_cookies_are_recognised_by_name_only() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; __Host-sk_id=xyz".parse().unwrap());
        assert!(carries_any_cookie(&headers, &policy().session_cookies));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(header::COOKIE, "x=__Host-sk_id".parse().unwrap());
        assert!(!carries_any_cookie(&headers, &policy().session_cookies));
    }

    #[test]
    fn default_policy_allows_no_script() {
        let csp = policy().default_csp();
        assert!(csp.contains("script-src 'none'"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
