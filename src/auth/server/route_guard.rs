//! The route guard: pages declared inside `<SignedInRoutes>` (`src/pages/mod.rs`) render
//! only for a valid session. The server learns which paths those are from the route tree
//! itself ([`SignedInPaths`]), so a protected page is declared once.
//!
//! A request path is compared in every spelling the app's router might resolve to the
//! same page: as sent, percent-decoded, and normalised the way the URL parser behind
//! Leptos' router normalises it (`.` and `..` segments removed, `\` read as `/`).

use super::{
    handlers::{no_store, not_answering, refresh_url, see_other},
    login_state::percent_decode,
    SessionStatus, SharedAuth,
};
use crate::oidc::log_provider_failure;
use axum::{
    extract::{FromRef, Request, State},
    middleware::Next,
    response::Response,
};
use leptos::config::LeptosOptions;
use std::sync::Arc;
use tower_cookies::Cookies;

/// The paths of the signed-in pages, as the router lists them (`/dashboard/profile`,
/// `/reports/{id}`, `/files/{*rest}`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignedInPaths(Arc<[String]>);

impl SignedInPaths {
    /// The paths of these route listings.
    pub fn new(paths: impl IntoIterator<Item = String>) -> Self {
        SignedInPaths(paths.into_iter().collect())
    }

    /// True when `path` is one of the signed-in pages, however it is spelled (erring
    /// towards protecting).
    pub fn contains(&self, path: &str) -> bool {
        let spellings = spellings(path);
        self.0
            .iter()
            .any(|pattern| spellings.iter().any(|path| matches(pattern, path)))
    }
}

/// `path` as sent, percent-decoded, and each normalised as a URL parser does.
fn spellings(path: &str) -> Vec<String> {
    // Letters, digits, `/`, `-` and `_` alone decode and normalise to themselves: most
    // requests need no second spelling.
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'));
    if plain {
        return vec![path.to_string()];
    }
    let decoded = percent_decode(path);
    let normalised = |p: &str| {
        url::Url::parse(&format!("http://app.invalid/{}", p.trim_start_matches('/')))
            .map(|url| url.path().to_string())
            .ok()
    };
    let mut all = vec![path.to_string()];
    all.extend(normalised(path));
    all.extend(normalised(&decoded));
    all.push(decoded);
    all
}

/// Matches a request path against a route pattern: `{name}` stands for one segment,
/// `{*name}` for the rest; empty segments do not count.
fn matches(pattern: &str, path: &str) -> bool {
    let mut wanted = pattern.split('/').filter(|s| !s.is_empty());
    let mut given = path.split('/').filter(|s| !s.is_empty());
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), _) if w.starts_with("{*") => return true,
            (Some(w), Some(_)) if w.starts_with('{') && w.ends_with('}') => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// What the guard reads: its layer clones its state for every request, so it is given
/// these handles rather than the whole `AppState`.
#[derive(Clone, FromRef)]
pub struct GuardState {
    /// Reads the session.
    pub auth: SharedAuth,
    /// The pages it guards.
    pub signed_in: SignedInPaths,
    /// For the page it shows while the provider is not answering.
    pub leptos: Arc<LeptosOptions>,
}

/// Renders a signed-in page only for a valid session (left in the request for
/// `CurrentUser`), sends an expired one through `/auth/refresh` first, and everyone else
/// to the home page. A session it cannot check in time because the provider is not
/// answering gets a retry page, and stays as it is. Signed-in pages are never cached.
pub async fn guard(
    State(auth): State<SharedAuth>,
    State(signed_in): State<SignedInPaths>,
    State(leptos): State<Arc<LeptosOptions>>,
    jar: Cookies,
    mut request: Request,
    next: Next,
) -> Response {
    if !signed_in.contains(request.uri().path()) {
        return next.run(request).await;
    }
    let status = auth.session(&jar).await;
    let here = || {
        request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".into())
    };
    match status {
        SessionStatus::Active(session) => {
            request.extensions_mut().insert(*session);
            no_store(next.run(request).await)
        }
        SessionStatus::Refreshable => see_other(&refresh_url(&here())),
        SessionStatus::ProviderUnavailable(err) => {
            log_provider_failure(
                "cannot check a session; the provider is unavailable",
                &err,
                err.is_circuit_open(),
            );
            not_answering(
                &leptos,
                "We could not check your session just now. You are still signed in; please try again in a moment.",
                here(),
            )
        }
        SessionStatus::Anonymous => see_other("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_whole_segments_and_parameters() {
        let paths = SignedInPaths::new(
            ["/dashboard/profile", "/reports/{id}", "/files/{*rest}"].map(String::from),
        );
        for yes in [
            "/dashboard/profile",
            "/dashboard/profile/",
            "//dashboard//profile",
            "/dashboard/%70rofile",
            "/%2564ashboard/profile",
            "/dashboard/profile/.",
            "/dashboard/x/../profile",
            "/dashboard/%2e/profile",
            "/dashboard/%2E%2E/dashboard/profile",
            "/dashboard\\profile",
            "/dashboard/profile\\",
            "/x/../dashboard/profile",
            "/reports/7",
            "/files/a/b/c",
        ] {
            assert!(paths.contains(yes), "{yes}");
        }
        for no in [
            "/",
            "/dashboard",
            "/dashboard/profiles",
            "/dashboard/profile/x",
            "/reports",
            "/reports//",
            "/reportsx/7",
        ] {
            assert!(!paths.contains(no), "{no}");
        }
    }
}
