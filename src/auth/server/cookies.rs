//! The cookie policy: every auth cookie's name, path, lifetime and attributes, in one place.
//!
//! All auth cookies are HttpOnly (JavaScript cannot read them), Secure (per `Leptos.toml`),
//! `SameSite=Lax` by default, and sealed with authenticated encryption (tower-cookies'
//! private jar, AES-256-GCM) under a key derived from `SESSION_SECRET`: the browser can
//! neither read nor forge them.
//!
//! | cookie | holds | Path | lifetime |
//! |---|---|---|---|
//! | `sk_access` | access token | `/` | `expires_in - 60` (Scalekit's guidance) |
//! | `sk_refresh` | refresh token | `/auth/refresh` | browser session |
//! | `sk_id` | ID token (profile, logout hint) | `/` | browser session |
//! | `sk_login` | login state (state, nonce, PKCE verifier, return-to) | `/` | 10 minutes |

use crate::{
    auth::REFRESH_PATH,
    settings::{CookieSettings, SameSitePolicy},
};
use sha2::{Digest, Sha512};
use tower_cookies::{
    cookie::{time::Duration, SameSite},
    Cookie, Cookies, Key,
};

pub const ACCESS_COOKIE: &str = "sk_access";
pub const REFRESH_COOKIE: &str = "sk_refresh";
pub const ID_COOKIE: &str = "sk_id";
pub const LOGIN_STATE_COOKIE: &str = "sk_login";

/// Applies the cookie policy to a request's cookie jar.
#[derive(Clone)]
pub struct CookiePolicy {
    key: Key,
    secure: bool,
    same_site: SameSite,
    access_expiry_margin_secs: u64,
    login_state_ttl_secs: u64,
}

impl CookiePolicy {
    /// `secret` is `SESSION_SECRET` (at least 32 bytes) or a random development key.
    pub fn new(settings: &CookieSettings, login_state_ttl_secs: u64, secret: &[u8]) -> Self {
        CookiePolicy {
            key: derive_key(secret),
            secure: settings.secure,
            same_site: match settings.same_site {
                SameSitePolicy::Lax => SameSite::Lax,
                SameSitePolicy::Strict => SameSite::Strict,
                SameSitePolicy::None => SameSite::None,
            },
            access_expiry_margin_secs: settings.access_token_expiry_margin_secs,
            login_state_ttl_secs,
        }
    }

    fn build(
        &self,
        name: &'static str,
        value: String,
        path: &'static str,
        max_age: Option<u64>,
    ) -> Cookie<'static> {
        let mut cookie = Cookie::build((name, value))
            .path(path)
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site)
            .build();
        if let Some(secs) = max_age {
            cookie.set_max_age(Duration::seconds(secs.min(i64::MAX as u64) as i64));
        }
        cookie
    }

    fn put(&self, jar: &Cookies, cookie: Cookie<'static>) {
        jar.private(&self.key).add(cookie);
    }

    fn read(&self, jar: &Cookies, name: &str) -> Option<String> {
        // A cookie that does not unseal (tampered, truncated, or sealed with another
        // key) reads as absent.
        jar.private(&self.key)
            .get(name)
            .map(|c| c.value().to_string())
    }

    /// Tells the browser to delete a cookie. An explicit expired cookie is sent even
    /// when the request did not carry it (the refresh cookie is only sent below its
    /// path, so a logout elsewhere never sees it but must still delete it).
    fn clear(&self, jar: &Cookies, name: &'static str, path: &'static str) {
        let mut removal = self.build(name, String::new(), path, None);
        removal.make_removal();
        jar.add(removal);
    }

    /// The access-cookie lifetime: `expires_in - margin`, but never less than half the
    /// token's lifetime (so very short test lifetimes still get a usable cookie).
    pub fn access_cookie_max_age(&self, expires_in: u64) -> u64 {
        expires_in
            .saturating_sub(self.access_expiry_margin_secs)
            .max(expires_in / 2)
    }

    /// Stores a fresh session. The refresh token is kept only when the provider sent one.
    pub fn set_session(
        &self,
        jar: &Cookies,
        access_token: &str,
        expires_in: u64,
        refresh_token: Option<&str>,
        id_token: Option<&str>,
    ) {
        let max_age = self.access_cookie_max_age(expires_in);
        self.put(
            jar,
            self.build(ACCESS_COOKIE, access_token.to_string(), "/", Some(max_age)),
        );
        if let Some(refresh) = refresh_token {
            self.put(
                jar,
                self.build(REFRESH_COOKIE, refresh.to_string(), REFRESH_PATH, None),
            );
        }
        if let Some(id) = id_token {
            self.put(jar, self.build(ID_COOKIE, id.to_string(), "/", None));
        }
    }

    pub fn access_token(&self, jar: &Cookies) -> Option<String> {
        self.read(jar, ACCESS_COOKIE)
    }

    pub fn refresh_token(&self, jar: &Cookies) -> Option<String> {
        self.read(jar, REFRESH_COOKIE)
    }

    pub fn id_token(&self, jar: &Cookies) -> Option<String> {
        self.read(jar, ID_COOKIE)
    }

    /// True when the browser sent a session marker (the ID-token cookie), so a missing or
    /// expired access token is worth a refresh rather than a new login.
    pub fn has_session_marker(&self, jar: &Cookies) -> bool {
        jar.get(ID_COOKIE).is_some_and(|c| !c.value().is_empty())
    }

    /// Removes every session cookie the browser sent.
    pub fn clear_session(&self, jar: &Cookies) {
        self.clear(jar, ACCESS_COOKIE, "/");
        self.clear(jar, ID_COOKIE, "/");
        self.clear(jar, REFRESH_COOKIE, REFRESH_PATH);
    }

    /// Stores the sealed login state for the 10-minute login window.
    pub fn set_login_state(&self, jar: &Cookies, encoded: String) {
        self.put(
            jar,
            self.build(
                LOGIN_STATE_COOKIE,
                encoded,
                "/",
                Some(self.login_state_ttl_secs),
            ),
        );
    }

    /// Reads and deletes the login state: it is single-use.
    pub fn take_login_state(&self, jar: &Cookies) -> Option<String> {
        let value = self.read(jar, LOGIN_STATE_COOKIE);
        if jar
            .get(LOGIN_STATE_COOKIE)
            .is_some_and(|c| !c.value().is_empty())
        {
            self.clear(jar, LOGIN_STATE_COOKIE, "/");
        }
        value
    }
}

/// Derives the 64-byte cookie key (encryption + signing halves) from the secret.
fn derive_key(secret: &[u8]) -> Key {
    let mut hasher = Sha512::new();
    hasher.update(b"scalekit-leptos-starter/cookie-key/v1\0");
    hasher.update(secret);
    Key::from(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn policy() -> CookiePolicy {
        let settings = Settings::from_toml(include_str!("../../../Leptos.toml")).unwrap();
        CookiePolicy::new(&settings.cookies, 600, b"0123456789abcdef0123456789abcdef")
    }

    fn set_cookie_headers(jar: &Cookies) -> Vec<Cookie<'static>> {
        jar.list().into_iter().map(|c| c.into_owned()).collect()
    }

    #[test]
    fn session_cookies_have_the_documented_attributes() {
        let policy = policy();
        let jar = Cookies::default();
        policy.set_session(&jar, "ACCESS", 299, Some("REFRESH"), Some("ID"));
        let cookies = set_cookie_headers(&jar);
        let find = |name: &str| cookies.iter().find(|c| c.name() == name).cloned().unwrap();

        let access = find(ACCESS_COOKIE);
        assert_eq!(access.path(), Some("/"));
        assert_eq!(access.max_age(), Some(Duration::seconds(239)));
        let refresh = find(REFRESH_COOKIE);
        assert_eq!(refresh.path(), Some("/auth/refresh"));
        assert_eq!(refresh.max_age(), None);
        let id = find(ID_COOKIE);
        for c in [&access, &refresh, &id] {
            assert_eq!(c.http_only(), Some(true), "{}", c.name());
            assert_eq!(c.secure(), Some(true), "{}", c.name());
            assert_eq!(c.same_site(), Some(SameSite::Lax), "{}", c.name());
            // Sealed: the browser never sees the token itself.
            for token in ["ACCESS", "REFRESH", "ID"] {
                assert!(!c.value().contains(token), "{} leaks its value", c.name());
            }
        }
        assert_eq!(policy.access_token(&jar).as_deref(), Some("ACCESS"));
        assert_eq!(policy.refresh_token(&jar).as_deref(), Some("REFRESH"));
        assert_eq!(policy.id_token(&jar).as_deref(), Some("ID"));
    }

    #[test]
    fn access_cookie_lifetime_follows_scalekit_guidance_with_a_floor() {
        let policy = policy();
        assert_eq!(policy.access_cookie_max_age(299), 239);
        assert_eq!(policy.access_cookie_max_age(3600), 3540);
        assert_eq!(policy.access_cookie_max_age(10), 5);
        assert_eq!(policy.access_cookie_max_age(0), 0);
    }

    #[test]
    fn tampered_or_foreign_cookies_read_as_absent() {
        let policy = policy();
        let jar = Cookies::default();
        jar.add(Cookie::new(ACCESS_COOKIE, "forged-token"));
        assert_eq!(policy.access_token(&jar), None);

        let other = CookiePolicy::new(
            &Settings::from_toml(include_str!("../../../Leptos.toml"))
                .unwrap()
                .cookies,
            600,
            b"another secret, another key, 32+",
        );
        let sealed_elsewhere = Cookies::default();
        other.set_session(&sealed_elsewhere, "A", 60, None, None);
        let value = sealed_elsewhere
            .get(ACCESS_COOKIE)
            .unwrap()
            .value()
            .to_string();
        let jar = Cookies::default();
        jar.add(Cookie::new(ACCESS_COOKIE, value));
        assert_eq!(policy.access_token(&jar), None);
    }

    #[test]
    fn login_state_is_single_use() {
        let policy = policy();
        let jar = Cookies::default();
        policy.set_login_state(&jar, "state-blob".into());
        let set = set_cookie_headers(&jar);
        assert_eq!(set[0].max_age(), Some(Duration::seconds(600)));
        assert_eq!(policy.take_login_state(&jar).as_deref(), Some("state-blob"));
        assert_eq!(policy.take_login_state(&jar), None);
    }
}
