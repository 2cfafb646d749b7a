//! The cookie policy: every auth cookie's name, path, lifetime and attributes, in one place.
//!
//! All auth cookies are HttpOnly (JavaScript cannot read them), Secure (per `Leptos.toml`),
//! `SameSite=Lax` by default, and sealed with authenticated encryption (tower-cookies'
//! private jar, AES-256-GCM) under a key derived from `SESSION_SECRET`: the browser can
//! neither read nor forge them. With `secure = true` the names carry the `__Host-` prefix
//! (`__Secure-` for the path-scoped refresh cookie), so the browser refuses them from a
//! plain-http page or a sibling domain.
//!
//! A `__Secure-` cookie can still be *set* by a sibling subdomain (cookie tossing), so the
//! refresh cookie is bound to its session: both it and the `__Host-` ID cookie carry the
//! same random session binding, made at login and kept across refreshes. A refresh
//! cookie without a matching ID cookie is refused (see [`RefreshCookie`]).
//!
//! | cookie | holds | Path | lifetime |
//! |---|---|---|---|
//! | `__Host-sk_access` | access token | `/` | `expires_in - 60` (Scalekit's guidance) |
//! | `__Secure-sk_refresh` | refresh token + session binding | `/auth` (refresh and logout) | browser session |
//! | `__Host-sk_id` | ID token (profile, logout hint) + session binding | `/` | browser session |
//! | `__Host-sk_profile` | UserInfo profile, only for providers whose ID token has none | `/` | browser session |
//! | `__Host-sk_login` | login state (state, nonce, PKCE verifier, return-to) | `/` | 10 minutes |

mod contents;
mod sealing;

pub use contents::{AccessCookie, IdCookie, ProfileCookie, RefreshCookie, SessionBinding};
pub use sealing::{cookie_values, CookieTooLarge, Sealer, MAX_COOKIE_BYTES};

use super::login_state::LoginState;
use crate::config::{CookieSettings, SameSitePolicy};
use axum::http::HeaderMap;
use contents::{decode, encode};
use sealing::derive_key;
use tower_cookies::{
    cookie::{time::Duration, SameSite},
    Cookie, Cookies, Key,
};

/// Why no refresh cookie of this session was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshCookieError {
    /// The request carries no refresh cookie at all.
    Missing,
    /// It carries refresh cookies, none of them sealed by us for this session.
    NotBound,
}

/// The cookie names in use (prefixed when the cookies are `Secure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieNames {
    /// The access-token cookie.
    pub access: &'static str,
    /// The refresh-token cookie (sent only below `/auth/refresh`).
    pub refresh: &'static str,
    /// The ID-token cookie: the profile, the logout hint and the session marker.
    pub id: &'static str,
    /// The UserInfo profile, for providers whose ID token has none.
    pub profile: &'static str,
    /// The login-in-progress cookie.
    pub login: &'static str,
}

impl CookieNames {
    /// The names with `__Host-`/`__Secure-` prefixes (`secure = true`, the default).
    pub const SECURE: CookieNames = CookieNames {
        access: "__Host-sk_access",
        refresh: "__Secure-sk_refresh",
        id: "__Host-sk_id",
        profile: "__Host-sk_profile",
        login: "__Host-sk_login",
    };
    /// Only for `secure = false` (plain-http deployments other than localhost).
    pub const PLAIN: CookieNames = CookieNames {
        access: "sk_access",
        refresh: "sk_refresh",
        id: "sk_id",
        profile: "sk_profile",
        login: "sk_login",
    };
}

/// The path of the refresh cookie: the refresh endpoints and logout (which revokes the
/// refresh token) lie below it; pages do not.
pub const REFRESH_COOKIE_PATH: &str = "/auth";

/// Applies the cookie policy to a request's cookie jar.
#[derive(Clone)]
pub struct CookiePolicy {
    key: Key,
    secure: bool,
    same_site: SameSite,
    access_expiry_margin_secs: u64,
    login_state_ttl_secs: u64,
    /// The cookie names in use.
    pub names: CookieNames,
}

impl CookiePolicy {
    /// A sealer with this policy's key.
    pub fn sealer(&self) -> Sealer {
        Sealer(self.key.clone())
    }

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
            names: if settings.secure {
                CookieNames::SECURE
            } else {
                CookieNames::PLAIN
            },
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

    /// Seals and stores a cookie, unless the browser would drop it for its size.
    fn put(&self, jar: &Cookies, cookie: Cookie<'static>) -> Result<(), CookieTooLarge> {
        let name = cookie.name().to_string();
        let path = cookie.path().unwrap_or("/").to_string();
        jar.private(&self.key).add(cookie);
        let bytes = jar
            .get(&name)
            .map(|c| c.encoded().to_string().len())
            .unwrap_or(0);
        if bytes > MAX_COOKIE_BYTES {
            let cookie = [
                self.names.access,
                self.names.refresh,
                self.names.id,
                self.names.profile,
                self.names.login,
            ]
            .into_iter()
            .find(|n| *n == name)
            .unwrap_or("auth");
            let path: &'static str = if path == REFRESH_COOKIE_PATH {
                REFRESH_COOKIE_PATH
            } else {
                "/"
            };
            self.clear(jar, cookie, path);
            return Err(CookieTooLarge { cookie, bytes });
        }
        Ok(())
    }

    /// A typed cookie value. A cookie that does not unseal (tampered, truncated, or
    /// sealed with another key) or does not decode (an older format) reads as absent.
    fn read<T: serde::de::DeserializeOwned>(&self, jar: &Cookies, name: &str) -> Option<T> {
        decode(jar.private(&self.key).get(name)?.value())
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

    /// Stores a fresh session. The refresh token is kept only when the provider sent one;
    /// the ID and refresh cookies carry `session`, the binding between them.
    /// A token too large for a cookie is an error (and nothing of the session is kept),
    /// rather than a cookie the browser would silently drop.
    pub fn set_session(
        &self,
        jar: &Cookies,
        access: &AccessCookie,
        expires_in: u64,
        refresh_token: Option<&str>,
        id_token: Option<&str>,
        session: &SessionBinding,
    ) -> Result<(), CookieTooLarge> {
        let max_age = self.access_cookie_max_age(expires_in);
        let names = self.names;
        let result = (|| {
            self.put(
                jar,
                self.build(names.access, encode(access), "/", Some(max_age)),
            )?;
            if let Some(refresh_token) = refresh_token {
                let value = encode(&RefreshCookie {
                    refresh_token: refresh_token.to_string(),
                    session: session.clone(),
                });
                self.put(
                    jar,
                    self.build(names.refresh, value, REFRESH_COOKIE_PATH, None),
                )?;
            }
            if let Some(id_token) = id_token {
                let value = encode(&IdCookie {
                    id_token: id_token.to_string(),
                    session: session.clone(),
                });
                self.put(jar, self.build(names.id, value, "/", None))?;
            }
            Ok(())
        })();
        if result.is_err() {
            self.clear_session(jar);
        }
        result
    }

    /// The stored access token, if the cookie unseals.
    pub fn access_token(&self, jar: &Cookies) -> Option<AccessCookie> {
        self.read(jar, self.names.access)
    }

    /// The refresh cookie bound to `session`, among every refresh cookie the request's
    /// `Cookie` headers carry (only requests below [`REFRESH_COOKIE_PATH`] carry any).
    ///
    /// A sibling domain can add cookies of the same name (cookie tossing), and the browser
    /// sends them all; the cookie jar would keep just one of them. So each value is
    /// unsealed here, and only the one bound to this session counts: a tossed cookie can
    /// neither stand in for the real one nor hide it.
    pub fn bound_refresh_token(
        &self,
        headers: &HeaderMap,
        session: &SessionBinding,
    ) -> Result<RefreshCookie, RefreshCookieError> {
        let values = cookie_values(headers, self.names.refresh);
        if values.is_empty() {
            return Err(RefreshCookieError::Missing);
        }
        values
            .into_iter()
            .filter_map(|value| {
                let mut raw = tower_cookies::cookie::CookieJar::new();
                raw.add_original(Cookie::new(self.names.refresh, value.to_string()));
                let unsealed = raw.private(&self.key).get(self.names.refresh)?;
                decode::<RefreshCookie>(unsealed.value())
            })
            .find(|cookie| cookie.session == *session)
            .ok_or(RefreshCookieError::NotBound)
    }

    /// True when the request carries any refresh cookie (sealed for us or not).
    pub fn has_refresh_cookie(&self, headers: &HeaderMap) -> bool {
        !cookie_values(headers, self.names.refresh).is_empty()
    }

    /// The ID cookie (ID token and session binding), if it unseals. Read it once per
    /// request: each read decrypts.
    pub fn id_cookie(&self, jar: &Cookies) -> Option<IdCookie> {
        self.read(jar, self.names.id)
    }

    /// Stores the profile fetched from the UserInfo endpoint at login.
    pub fn set_profile(
        &self,
        jar: &Cookies,
        profile: &ProfileCookie,
    ) -> Result<(), CookieTooLarge> {
        let result = self.put(
            jar,
            self.build(self.names.profile, encode(profile), "/", None),
        );
        if result.is_err() {
            self.clear_session(jar);
        }
        result
    }

    /// The stored UserInfo profile, if any.
    pub fn profile(&self, jar: &Cookies) -> Option<ProfileCookie> {
        self.read(jar, self.names.profile)
    }

    /// Deletes a profile cookie left by an earlier login (a provider or person change).
    pub fn clear_profile(&self, jar: &Cookies) {
        if jar.get(self.names.profile).is_some() {
            self.clear(jar, self.names.profile, "/");
        }
    }

    /// True when the browser sent a session marker (the ID-token cookie), so a missing or
    /// expired access token is worth a refresh rather than a new login.
    pub fn has_session_marker(&self, jar: &Cookies) -> bool {
        jar.get(self.names.id)
            .is_some_and(|c| !c.value().is_empty())
    }

    /// Removes every session cookie, whether or not this request carried it.
    pub fn clear_session(&self, jar: &Cookies) {
        self.clear(jar, self.names.access, "/");
        self.clear(jar, self.names.id, "/");
        self.clear(jar, self.names.profile, "/");
        self.clear(jar, self.names.refresh, REFRESH_COOKIE_PATH);
    }

    /// Stores the sealed login state for the 10-minute login window.
    pub fn set_login_state(&self, jar: &Cookies, login: &LoginState) -> Result<(), CookieTooLarge> {
        self.put(
            jar,
            self.build(
                self.names.login,
                encode(login),
                "/",
                Some(self.login_state_ttl_secs),
            ),
        )
    }

    /// The login state, if the cookie unseals. Left in place until the callback proves
    /// it belongs to it ([`clear_login_state`](Self::clear_login_state)).
    pub fn login_state(&self, jar: &Cookies) -> Option<LoginState> {
        self.read(jar, self.names.login)
    }

    /// Deletes the login state: it is single-use.
    pub fn clear_login_state(&self, jar: &Cookies) {
        if jar
            .get(self.names.login)
            .is_some_and(|c| !c.value().is_empty())
        {
            self.clear(jar, self.names.login, "/");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn policy() -> CookiePolicy {
        let settings = Settings::shipped();
        CookiePolicy::new(&settings.cookies, 600, b"0123456789abcdef0123456789abcdef")
    }

    fn jwt(token: &str) -> AccessCookie {
        AccessCookie::Jwt {
            token: token.into(),
        }
    }

    fn access_token(policy: &CookiePolicy, jar: &Cookies) -> Option<String> {
        policy.access_token(jar).map(|a| a.token().to_string())
    }

    fn id_token(policy: &CookiePolicy, jar: &Cookies) -> Option<String> {
        policy.id_cookie(jar).map(|c| c.id_token)
    }

    fn set_cookie_headers(jar: &Cookies) -> Vec<Cookie<'static>> {
        jar.list().into_iter().map(|c| c.into_owned()).collect()
    }

    #[test]
    fn session_cookies_have_the_documented_attributes() {
        let policy = policy();
        let jar = Cookies::default();
        policy
            .set_session(
                &jar,
                &jwt("access-token-value"),
                299,
                Some("refresh-token-value"),
                Some("id-token-value"),
                &SessionBinding::new(0),
            )
            .unwrap();
        let cookies = set_cookie_headers(&jar);
        let find = |name: &str| cookies.iter().find(|c| c.name() == name).cloned().unwrap();

        let access = find(CookieNames::SECURE.access);
        assert_eq!(access.path(), Some("/"));
        assert_eq!(access.max_age(), Some(Duration::seconds(239)));
        let refresh = find(CookieNames::SECURE.refresh);
        assert_eq!(refresh.path(), Some("/auth"));
        assert_eq!(refresh.max_age(), None);
        let id = find(CookieNames::SECURE.id);
        for c in [&access, &refresh, &id] {
            assert_eq!(c.http_only(), Some(true), "{}", c.name());
            assert_eq!(c.secure(), Some(true), "{}", c.name());
            assert_eq!(c.same_site(), Some(SameSite::Lax), "{}", c.name());
            // Sealed: the browser never sees the token itself. (Distinctive values: a
            // two-letter one turns up in random ciphertext a few runs in a hundred.)
            for token in [
                "access-token-value",
                "refresh-token-value",
                "id-token-value",
            ] {
                assert!(!c.value().contains(token), "{} leaks its value", c.name());
            }
        }
        assert_eq!(
            access_token(&policy, &jar).as_deref(),
            Some("access-token-value")
        );
        let binding = policy.id_cookie(&jar).unwrap().session;
        let sealed_refresh = jar
            .get(CookieNames::SECURE.refresh)
            .unwrap()
            .value()
            .to_string();
        let mut headers = HeaderMap::new();
        // A tossed cookie of the same name first, as a browser may send it.
        headers.append(
            axum::http::header::COOKIE,
            format!("__Secure-sk_refresh=garbage; __Secure-sk_refresh={sealed_refresh}")
                .parse()
                .unwrap(),
        );
        let refresh = policy.bound_refresh_token(&headers, &binding).unwrap();
        assert_eq!(refresh.refresh_token, "refresh-token-value");
        assert_eq!(
            policy
                .bound_refresh_token(&headers, &SessionBinding::new(0))
                .err(),
            Some(RefreshCookieError::NotBound),
            "bound to the ID cookie's session only"
        );
        assert_eq!(
            policy
                .bound_refresh_token(&HeaderMap::new(), &binding)
                .err(),
            Some(RefreshCookieError::Missing)
        );
        assert_eq!(id_token(&policy, &jar).as_deref(), Some("id-token-value"));
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
        jar.add(Cookie::new(CookieNames::SECURE.access, "forged-token"));
        assert_eq!(access_token(&policy, &jar), None);

        let other = CookiePolicy::new(
            &Settings::shipped().cookies,
            600,
            b"another secret, another key, 32+",
        );
        let sealed_elsewhere = Cookies::default();
        other
            .set_session(
                &sealed_elsewhere,
                &jwt("A"),
                60,
                None,
                None,
                &SessionBinding::new(0),
            )
            .unwrap();
        let value = sealed_elsewhere
            .get(CookieNames::SECURE.access)
            .unwrap()
            .value()
            .to_string();
        let jar = Cookies::default();
        jar.add(Cookie::new(CookieNames::SECURE.access, value));
        assert_eq!(access_token(&policy, &jar), None);
    }

    #[test]
    fn a_sealed_value_moved_to_another_cookie_name_does_not_unseal() {
        let policy = policy();
        let jar = Cookies::default();
        policy
            .set_session(
                &jar,
                &jwt("ACCESS"),
                300,
                None,
                Some("ID"),
                &SessionBinding::new(0),
            )
            .unwrap();
        let sealed_id = jar.get(CookieNames::SECURE.id).unwrap().value().to_string();
        let swapped = Cookies::default();
        swapped.add(Cookie::new(CookieNames::SECURE.access, sealed_id.clone()));
        assert_eq!(access_token(&policy, &swapped), None);
        // Truncated: the same.
        let truncated = Cookies::default();
        truncated.add(Cookie::new(
            CookieNames::SECURE.id,
            sealed_id[..sealed_id.len() / 2].to_string(),
        ));
        assert_eq!(id_token(&policy, &truncated), None);
    }

    #[test]
    fn login_state_is_single_use() {
        let policy = policy();
        let jar = Cookies::default();
        let (login, _) = LoginState::begin("/dashboard".into(), 0);
        policy.set_login_state(&jar, &login).unwrap();
        let set = set_cookie_headers(&jar);
        assert_eq!(set[0].max_age(), Some(Duration::seconds(600)));
        assert_eq!(
            policy.login_state(&jar).map(|l| l.state),
            Some(login.state.clone())
        );
        policy.clear_login_state(&jar);
        assert!(policy.login_state(&jar).is_none());
    }

    #[test]
    fn tokens_too_large_for_a_cookie_are_an_error_not_a_silent_drop() {
        let policy = policy();
        let jar = Cookies::default();
        let huge = "x".repeat(3500);
        let err = policy
            .set_session(
                &jar,
                &jwt(&huge),
                300,
                Some("r"),
                Some("i"),
                &SessionBinding::new(0),
            )
            .unwrap_err();
        assert_eq!(err.cookie, CookieNames::SECURE.access);
        assert!(err.bytes > MAX_COOKIE_BYTES);
        assert_eq!(
            access_token(&policy, &jar),
            None,
            "nothing of the session is kept"
        );
        // A large but acceptable token fits.
        let jar = Cookies::default();
        policy
            .set_session(
                &jar,
                &jwt(&"x".repeat(2500)),
                300,
                None,
                None,
                &SessionBinding::new(0),
            )
            .unwrap();
        assert!(access_token(&policy, &jar).is_some());
    }

    #[test]
    fn names_are_prefixed_only_when_secure() {
        assert_eq!(policy().names, CookieNames::SECURE);
        let mut settings = Settings::shipped();
        settings.cookies.secure = false;
        let plain = CookiePolicy::new(&settings.cookies, 600, b"0123456789abcdef0123456789abcdef");
        assert_eq!(plain.names, CookieNames::PLAIN);
    }
}
