//! The state of a login in progress, kept in the browser between "Log in" and the
//! callback: `state` (CSRF), `nonce` (ID-token replay), the PKCE verifier and where to
//! go afterwards. It travels in the sealed `sk_login` cookie (see `cookies`), so it
//! survives the cross-site redirect back without any server memory: the login may start
//! on one instance and finish on another.

use crate::{
    oidc::Pkce,
    util::{constant_time_eq, random_token},
};
use serde::{Deserialize, Serialize};

/// One login in progress. Serialized only into the sealed login cookie; reading it back
/// checks it again (every field present, `return_to` a path on this site).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredLoginState")]
pub struct LoginState {
    /// Sent as `state`; the callback must bring it back.
    pub state: String,
    /// Sent as `nonce`; the ID token must carry it.
    pub nonce: String,
    /// The PKCE verifier, sent only to the token endpoint.
    pub code_verifier: String,
    /// A validated same-origin path (see [`safe_return_path`]).
    pub return_to: String,
    /// Seconds since the Unix epoch.
    pub issued_at: i64,
}

/// Why a callback does not belong to the login in progress.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginStateError {
    #[error("no login is in progress in this browser (the login cookie is missing, expired or was already used)")]
    /// No login cookie: missing, expired, or already used.
    Missing,
    #[error("the callback's state does not match the login in progress")]
    /// The callback's `state` is not this browser's.
    StateMismatch,
    #[error("the login took too long")]
    /// Older than the login window (`login_state_ttl_secs`).
    Expired,
}

/// A login state as read from its cookie, before it is checked.
#[derive(Deserialize)]
struct StoredLoginState {
    state: String,
    nonce: String,
    code_verifier: String,
    return_to: String,
    issued_at: i64,
}

impl TryFrom<StoredLoginState> for LoginState {
    type Error = &'static str;

    fn try_from(stored: StoredLoginState) -> Result<Self, Self::Error> {
        if [&stored.state, &stored.nonce, &stored.code_verifier]
            .iter()
            .any(|s| s.is_empty())
        {
            return Err("an empty login secret");
        }
        Ok(LoginState {
            return_to: safe_return_path(&stored.return_to).ok_or("a return path off this site")?,
            state: stored.state,
            nonce: stored.nonce,
            code_verifier: stored.code_verifier,
            issued_at: stored.issued_at,
        })
    }
}

impl LoginState {
    /// A new login with fresh `state`, `nonce` and PKCE verifier.
    pub fn begin(return_to: String, now: i64) -> (Self, Pkce) {
        let pkce = Pkce::generate();
        let state = LoginState {
            state: random_token(),
            nonce: random_token(),
            code_verifier: pkce.verifier.clone(),
            return_to,
            issued_at: now,
        };
        (state, pkce)
    }

    /// Checks that a callback's `state` belongs to this login and that it is recent.
    pub fn verify(
        &self,
        callback_state: &str,
        now: i64,
        ttl_secs: u64,
    ) -> Result<(), LoginStateError> {
        if !constant_time_eq(callback_state.as_bytes(), self.state.as_bytes()) {
            return Err(LoginStateError::StateMismatch);
        }
        if now.saturating_sub(self.issued_at) > ttl_secs as i64 || self.issued_at > now + 60 {
            return Err(LoginStateError::Expired);
        }
        Ok(())
    }
}

/// Accepts `raw` as a place to go after login only if it is a path on this site.
///
/// Every entry point that takes a destination (`/auth/refresh?return_to=`,
/// `/login?return_to=`, the login server function, IdP-initiated `relay_state`) goes
/// through here. The input is screened (absolute URLs, backslashes, control characters,
/// encoded tricks, over 2 KiB), then resolved as a browser would (dot segments removed),
/// and the **output** must pass [`is_local_path`]: `/.//evil.example` resolves to
/// `//evil.example` and is refused. Returns the path with its query, without fragment.
/// The output is held to 2 KiB too: resolving percent-encodes quotes, brackets and
/// non-ASCII (up to three times longer), and the login state cookie must still fit.
pub fn safe_return_path(raw: &str) -> Option<String> {
    if raw.is_empty() || raw.len() > MAX_RETURN_PATH || !raw.starts_with('/') {
        return None;
    }
    if raw
        .chars()
        .any(|c| c.is_control() || c == '\\' || c.is_whitespace())
    {
        return None;
    }
    let decoded: String = percent_decode(raw);
    if decoded.starts_with("//") || decoded.contains('\\') || decoded.chars().any(char::is_control)
    {
        return None;
    }
    let base = url::Url::parse("http://app.invalid/").ok()?;
    let joined = base.join(raw).ok()?;
    if joined.origin() != base.origin() {
        return None;
    }
    let mut path = joined.path().to_string();
    if let Some(query) = joined.query() {
        path.push('?');
        path.push_str(query);
    }
    (path.len() <= MAX_RETURN_PATH
        && is_local_path(&path)
        && !percent_decode(&path).starts_with("//"))
    .then_some(path)
}

/// The longest destination kept, before and after resolving.
const MAX_RETURN_PATH: usize = 2048;

/// The rule for any destination we redirect to: exactly one `/`, then neither `/` nor
/// `\\` (browsers read both `//host` and `/\\host` as another site), and no control
/// characters or white space anywhere.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !matches!(path.as_bytes().get(1), Some(b'/' | b'\\'))
        && !path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

/// The absolute URL of a checked local path on `app_url`'s origin: what goes in
/// `Location`. A path that does not stay on that origin gives the app's root.
pub fn absolute_location(app_url: &url::Url, path: &str) -> String {
    match app_url.join(path) {
        Ok(url) if is_local_path(path) && url.origin() == app_url.origin() => url.to_string(),
        _ => app_url.to_string(),
    }
}

pub(crate) fn percent_decode(raw: &str) -> String {
    // Decode repeatedly so double-encoded tricks (%252F) are seen too.
    let mut current = raw.to_string();
    for _ in 0..3 {
        let next: String =
            url::form_urlencoded::parse(format!("x={}", current.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_that_grows_past_the_limit_when_resolved_is_refused() {
        let quotes = format!("/a?q={}", "\"".repeat(1000));
        assert!(quotes.len() <= MAX_RETURN_PATH);
        assert_eq!(safe_return_path(&quotes), None, "3 KB once encoded");
        let fits = format!("/a?q={}", "\"".repeat(600));
        assert_eq!(
            safe_return_path(&fits).map(|p| p.len()),
            Some(5 + 3 * 600),
            "encoded, within the limit"
        );
    }

    #[test]
    fn round_trips_through_its_encoding() {
        let (state, pkce) = LoginState::begin("/dashboard/profile?tab=a%20b".into(), 1_000);
        assert_eq!(state.code_verifier, pkce.verifier);
        let json = serde_json::to_string(&state).unwrap();
        let decoded: LoginState = serde_json::from_str(&json).unwrap();
        assert_eq!(decoded.return_to, "/dashboard/profile?tab=a%20b");
        assert_eq!(decoded.state, state.state);
        assert_eq!(decoded.nonce, state.nonce);
        assert_eq!(decoded.issued_at, 1_000);
    }

    #[test]
    fn garbage_does_not_decode() {
        let fields = |state: &str, issued_at: &str, return_to: &str| {
            format!(
                r#"{{"state":"{state}","nonce":"n","code_verifier":"v","return_to":"{return_to}","issued_at":{issued_at}}}"#
            )
        };
        for value in [
            String::new(),
            "v1 a b c 1 %2F".to_string(),
            r#"{"state":"s"}"#.to_string(),
            fields("", "1", "/"),
            fields("s", "\"soon\"", "/"),
            fields("s", "1", "https://evil.example"),
            fields("s", "1", "//evil.example"),
        ] {
            assert!(
                serde_json::from_str::<LoginState>(&value).is_err(),
                "{value:?}"
            );
        }
        assert!(serde_json::from_str::<LoginState>(&fields("s", "1", "/dashboard")).is_ok());
    }

    #[test]
    fn state_must_match_and_be_recent() {
        let (state, _) = LoginState::begin("/".into(), 1_000);
        assert_eq!(state.verify(&state.state, 1_100, 600), Ok(()));
        assert_eq!(
            state.verify("forged", 1_100, 600),
            Err(LoginStateError::StateMismatch)
        );
        assert_eq!(
            state.verify("", 1_100, 600),
            Err(LoginStateError::StateMismatch)
        );
        assert_eq!(
            state.verify(&state.state, 1_601, 600),
            Err(LoginStateError::Expired)
        );
    }

    #[test]
    fn return_paths_stay_on_this_site() {
        for good in ["/", "/dashboard/profile", "/a?b=c", "/caf%C3%A9"] {
            assert!(safe_return_path(good).is_some(), "{good}");
        }
        assert_eq!(safe_return_path("/a?b=c#frag").as_deref(), Some("/a?b=c"));
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "%2F%2Fevil.example",
            "/%2F/evil.example",
            "/%252F%252Fevil.example",
            "/%5Cevil.example",
            "/.//evil.example",
            "/%2F.%2F%2Fevil.example",
            "/..//evil.example",
            "/%2e%2e//evil.example",
            "/%2E%2E//evil.example",
            "/a/../..//evil.example",
            "/./%2e/..//evil.example",
            "http:evil.example",
            "/%09/evil.example",
            "javascript:alert(1)",
            "/\tevil",
            "/a\nb",
            "",
            "dashboard",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad}");
        }
        assert_eq!(safe_return_path(&format!("/{}", "a".repeat(3000))), None);
    }
}
