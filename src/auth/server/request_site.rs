//! Where a request comes from: this app's own pages, the person (a typed URL or a
//! bookmark), or another site. Cross-site requests may not start, end or switch a
//! session: login CSRF into an attacker's SSO connection, logout CSRF and session
//! clearing all start with a request another site made the browser send.
//!
//! Browsers say it in `Sec-Fetch-Site`; older ones only in `Origin` (on POSTs) or
//! `Referer`. A request that says nothing at all counts as cross-site: the safe default.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::sync::Arc;

/// The origin of a request, as far as the browser tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestSite {
    /// From one of this app's own pages (`Sec-Fetch-Site: same-origin`, or an `Origin`
    /// or `Referer` on `APP_URL`'s origin).
    SameOrigin,
    /// Started by the person: a typed URL, a bookmark (`Sec-Fetch-Site: none`).
    Person,
    /// Anything else: another site (sibling subdomains included), or no indication.
    CrossSite,
}

impl RequestSite {
    /// Classifies `headers` for an app served at `app_origin` (`https://app.example`).
    pub fn of(headers: &HeaderMap, app_origin: &str) -> Self {
        let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(site) = value(header::HeaderName::from_static("sec-fetch-site")) {
            return match site {
                "same-origin" => RequestSite::SameOrigin,
                "none" => RequestSite::Person,
                _ => RequestSite::CrossSite,
            };
        }
        let from = value(header::ORIGIN).or_else(|| value(header::REFERER));
        match from.and_then(|v| url::Url::parse(v).ok()) {
            Some(url) if url.origin().ascii_serialization() == app_origin => {
                RequestSite::SameOrigin
            }
            _ => RequestSite::CrossSite,
        }
    }

    /// True for navigations from the app's own pages only: they may start a login
    /// without asking. A typed URL counts as another site here, because links opened
    /// from desktop mail and chat apps arrive the same way (`Sec-Fetch-Site: none`).
    pub fn may_start_login(self) -> bool {
        self == RequestSite::SameOrigin
    }

    /// True for requests the app's pages or the person made: they may end a session.
    pub fn may_end_session(self) -> bool {
        matches!(self, RequestSite::SameOrigin | RequestSite::Person)
    }

    /// The rule for server functions: `Sec-Fetch-Site: same-origin`, or, from browsers
    /// that do not send it, an `Origin` equal to the app's. `same-site` is not enough: a
    /// sibling subdomain is another party.
    pub fn is_same_origin_call(headers: &HeaderMap, app_origin: &str) -> bool {
        let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
        match value(header::HeaderName::from_static("sec-fetch-site")) {
            Some(site) => site == "same-origin",
            None => value(header::ORIGIN).is_some_and(|origin| origin == app_origin),
        }
    }
}

/// `APP_URL`'s origin (`scheme://host[:port]`), shared with the middleware.
#[derive(Clone, Debug)]
pub struct AppOrigin(pub Arc<str>);

/// Middleware: server functions answer only same-origin calls; anything else gets 403
/// before any server function runs.
pub async fn same_origin_server_functions(
    State(origin): State<AppOrigin>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_server_function =
        leptos::server_fn::axum::server_fn_paths().any(|(route, _)| route == path);
    if is_server_function && !RequestSite::is_same_origin_call(request.headers(), &origin.0) {
        tracing::warn!(
            path,
            origin = ?request.headers().get(header::ORIGIN),
            site = ?request.headers().get("sec-fetch-site"),
            "server function called from another origin: refused"
        );
        return (
            StatusCode::FORBIDDEN,
            "Only this app's own pages may call this.",
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "https://app.example";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        let of = |pairs: &[(&'static str, &str)]| RequestSite::of(&headers(pairs), APP);
        assert_eq!(
            of(&[("sec-fetch-site", "same-origin")]),
            RequestSite::SameOrigin
        );
        assert_eq!(of(&[("sec-fetch-site", "none")]), RequestSite::Person);
        assert_eq!(
            of(&[("sec-fetch-site", "same-site")]),
            RequestSite::CrossSite
        );
        assert_eq!(
            of(&[("sec-fetch-site", "cross-site"), ("origin", APP)]),
            RequestSite::CrossSite,
            "the browser's word wins over a header a page can influence"
        );
    }

    #[test]
    fn origin_then_referer_without_sec_fetch_site() {
        let of = |pairs: &[(&'static str, &str)]| RequestSite::of(&headers(pairs), APP);
        assert_eq!(of(&[("origin", APP)]), RequestSite::SameOrigin);
        assert_eq!(
            of(&[("origin", "https://evil.example")]),
            RequestSite::CrossSite
        );
        assert_eq!(of(&[("origin", "null")]), RequestSite::CrossSite);
        assert_eq!(
            of(&[("referer", "https://app.example/dashboard")]),
            RequestSite::SameOrigin
        );
        assert_eq!(
            of(&[("referer", "https://app.example.evil/")]),
            RequestSite::CrossSite
        );
        assert_eq!(
            of(&[]),
            RequestSite::CrossSite,
            "no indication is not trusted"
        );
    }

    #[test]
    fn server_functions_need_same_origin_not_same_site() {
        let ok =
            |pairs: &[(&'static str, &str)]| RequestSite::is_same_origin_call(&headers(pairs), APP);
        assert!(ok(&[("sec-fetch-site", "same-origin")]));
        assert!(!ok(&[("sec-fetch-site", "same-site")]));
        assert!(!ok(&[("sec-fetch-site", "none")]));
        assert!(ok(&[("origin", APP)]));
        assert!(!ok(&[("origin", "https://sub.app.example")]));
        assert!(!ok(&[]));
    }
}
