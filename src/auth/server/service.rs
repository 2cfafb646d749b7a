//! [`AuthService`]: the app's session logic on top of the OIDC client and the cookie
//! policy. Axum handlers, the route guard and the server functions all go through it.

use super::{
    cookies::{CookiePolicy, CookieTooLarge, RefreshCookieError, SessionBinding},
    login_state::{absolute_location, safe_return_path, LoginState, LoginStateError},
};
use crate::store::SessionStore;
use crate::{
    auth::{LoginHints, LoginIntent, User},
    config::AuthSettings,
    oidc::{
        userinfo::lacks_profile, AccessTokenClaims, AuthorizationOptions, IdTokenClaims, KeySource,
        OidcClient, OidcError, Prompt, TokenSet, UserInfo, ValidationError,
    },
    util::{format_utc, now},
};
use axum::http::HeaderMap;
use std::sync::Arc;
use tower_cookies::Cookies;
use url::Url;

/// Shared handle to the auth service (cheap to clone).
pub type SharedAuth = Arc<AuthService>;

/// Session logic: starting logins, finishing them, reading, refreshing and ending sessions.
pub struct AuthService {
    /// The OpenID Connect client for the configured provider.
    pub oidc: Arc<OidcClient>,
    /// Where and how the session is stored.
    pub cookies: CookiePolicy,
    /// The `[auth]` settings of `Leptos.toml`.
    pub settings: AuthSettings,
    /// `APP_URL`: every redirect to one of our own pages is built on it.
    pub app_url: Url,
    /// What is decided once per session across instances: refreshes, ended sessions.
    pub store: Arc<SessionStore>,
}

/// A valid session, as found on a request.
#[derive(Clone, Debug)]
pub struct Session {
    /// The validated access token's claims (or, for opaque tokens, the ID token's).
    pub access: AccessTokenClaims,
    /// The profile: the ID token's claims, completed from UserInfo when needed.
    pub profile: Option<IdTokenClaims>,
}

impl Session {
    /// The person, as the UI sees it.
    pub fn user(&self) -> User {
        let profile = self.profile.as_ref();
        User {
            id: self.access.sub.clone(),
            email: profile.and_then(|p| p.email.clone()),
            email_verified: profile.and_then(|p| p.email_verified),
            name: profile.and_then(|p| p.name.clone()),
            given_name: profile.and_then(|p| p.given_name.clone()),
            family_name: profile.and_then(|p| p.family_name.clone()),
            picture: profile.and_then(|p| p.picture.clone()),
            organization_id: self
                .access
                .oid
                .clone()
                .or_else(|| profile.and_then(|p| p.oid.clone())),
            session_id: self
                .access
                .sid
                .clone()
                .or_else(|| profile.and_then(|p| p.sid.clone())),
            access_token_expires_at: self.access.exp,
            access_token_expires_at_utc: format_utc(self.access.exp),
            roles: self.access.roles.clone(),
            permissions: self.access.permissions.clone(),
        }
    }
}

/// What a request carries.
#[derive(Clone, Debug)]
pub enum SessionStatus {
    /// A valid access token.
    Active(Box<Session>),
    /// No valid access token, but a session marker: refreshing may restore the session.
    Refreshable,
    /// Not signed in.
    Anonymous,
}

/// Why the callback could not sign the person in. Each maps to a status and a message.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    // Request values are Debug-formatted in messages: quoted and escaped, so a newline in
    // them cannot start a forged log line.
    #[error("the identity provider reported an error: {error:?}")]
    /// The provider sent `error` to the callback (e.g. the person cancelled).
    Provider {
        /// The OAuth 2.0 `error` code.
        error: String,
        /// The provider's `error_description`, shown escaped.
        description: Option<String>,
    },
    #[error("the callback reported an error, but not for a login in progress in this browser")]
    /// An `error` without this browser's `state`: not the provider's word about our login
    /// (anyone can send a link with `?error=`), so its text is not shown.
    UnsolicitedError,
    #[error(transparent)]
    /// The callback does not belong to a login in progress here.
    LoginState(#[from] LoginStateError),
    #[error("the callback has no authorization code")]
    /// No `code` in the callback.
    MissingCode,
    #[error("the callback names issuer {0:?}, not the provider this login started with")]
    /// RFC 9207: the callback's `iss` is not our provider.
    IssuerMismatch(String),
    #[error("the code exchange failed: {0}")]
    /// The code exchange failed (refused code, or the provider failed).
    Exchange(OidcError),
    #[error("the provider returned no ID token (is `openid` in the scopes?)")]
    /// The token response has no ID token.
    NoIdToken,
    #[error("the provider's tokens were rejected: {0}")]
    /// A token failed validation.
    InvalidTokens(OidcError),
    #[error("the profile could not be fetched from the UserInfo endpoint: {0}")]
    /// The UserInfo endpoint failed.
    UserInfo(OidcError),
    #[error(transparent)]
    /// The tokens do not fit in cookies.
    TokensTooLarge(#[from] CookieTooLarge),
}

impl CallbackError {
    /// True when the provider failed us (unreachable, slow, erroring, talking nonsense,
    /// or its key set unavailable) rather than refusing the code or sending bad tokens.
    pub fn is_provider_outage(&self) -> bool {
        match self {
            CallbackError::Exchange(e) => !e.is_invalid_grant(),
            CallbackError::UserInfo(_) => true,
            CallbackError::InvalidTokens(OidcError::InvalidToken(
                crate::oidc::ValidationError::KeySetUnavailable(_),
            )) => true,
            _ => false,
        }
    }

    /// The HTTP status of the error page.
    pub fn status(&self) -> u16 {
        match self {
            CallbackError::Provider { .. } => 401,
            CallbackError::LoginState(_)
            | CallbackError::MissingCode
            | CallbackError::UnsolicitedError => 400,
            CallbackError::IssuerMismatch(_) => 401,
            CallbackError::Exchange(OidcError::Timeout(_))
            | CallbackError::UserInfo(OidcError::Timeout(_)) => 504,
            _ if self.is_provider_outage() => 502,
            CallbackError::Exchange(_) => 400,
            CallbackError::NoIdToken | CallbackError::InvalidTokens(_) => 401,
            CallbackError::TokensTooLarge(_) | CallbackError::UserInfo(_) => 502,
        }
    }
}

/// Why a refresh did not produce a session.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("there is no refresh token")]
    /// The request carries no refresh token.
    NoRefreshToken,
    #[error("the provider ended this session (back-channel logout)")]
    /// The provider ended the session by back-channel logout; its refresh token was
    /// revoked (where the provider offers revocation).
    EndedByProvider,
    #[error("the refresh cookie does not belong to this browser's session")]
    /// The refresh cookie's session binding does not match the ID cookie's (or there is
    /// no ID cookie): a cookie tossed in from a sibling domain. Nothing is touched.
    NotBound,
    #[error("the session has ended: {0}")]
    /// The provider says the grant is dead (`invalid_grant`): the session is over.
    Ended(Arc<OidcError>),
    #[error("the refreshed tokens were rejected: {0}")]
    /// A refreshed token failed validation.
    InvalidTokens(OidcError),
    #[error("the refreshed ID token names another user or issuer")]
    /// The refreshed ID token names another person or issuer (OIDC Core 12.2).
    IdentityChanged,
    #[error("the identity provider is unavailable: {0}")]
    /// The provider failed; the session and refresh token are kept for a retry.
    Unavailable(Arc<OidcError>),
    #[error(transparent)]
    /// The refreshed tokens do not fit in cookies.
    TokensTooLarge(#[from] CookieTooLarge),
}

/// Why a login could not be started.
#[derive(Debug, thiserror::Error)]
pub enum BeginLoginError {
    #[error(transparent)]
    /// Discovery failed (the provider is down or misconfigured).
    Provider(#[from] OidcError),
    #[error(transparent)]
    /// The login state does not fit in a cookie.
    Cookie(#[from] CookieTooLarge),
}

/// The query of `GET /auth/callback`.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// Our `state`, echoed back.
    pub state: Option<String>,
    /// An OAuth 2.0 error instead of a code.
    pub error: Option<String>,
    /// The error's description.
    pub error_description: Option<String>,
    /// RFC 9207: the issuer that sent the person back, from providers that say so.
    pub iss: Option<String>,
}

impl AuthService {
    /// The service for one provider, cookie policy and settings, for the app at
    /// `app_url`, coordinating through `store`.
    pub fn new(
        oidc: OidcClient,
        cookies: CookiePolicy,
        settings: AuthSettings,
        app_url: Url,
        store: Arc<SessionStore>,
    ) -> Self {
        AuthService {
            oidc: Arc::new(oidc),
            cookies,
            settings,
            app_url,
            store,
        }
    }

    /// The absolute `Location` of one of our pages: `APP_URL` plus a path that passed
    /// [`safe_return_path`] (anything else gives the app's root).
    pub fn location(&self, path: &str) -> String {
        absolute_location(&self.app_url, path)
    }

    /// Starts a login: stores the login state cookie and returns the provider URL.
    pub async fn begin_login(
        &self,
        jar: &Cookies,
        intent: LoginIntent,
        hints: &LoginHints,
        return_to: Option<&str>,
    ) -> Result<Url, BeginLoginError> {
        let return_to = return_to
            .and_then(safe_return_path)
            .unwrap_or_else(|| self.settings.post_login_path.clone());
        let (login, pkce) = LoginState::begin(return_to, now());
        let options = authorization_options(intent, hints, &self.settings.social_providers);
        let url = self
            .oidc
            .authorization_url(&login.state, &login.nonce, &pkce.challenge, &options)
            .await?;
        self.cookies.set_login_state(jar, login.encode())?;
        Ok(url)
    }

    /// Finishes a login at the callback: checks the login state, exchanges the code,
    /// validates the tokens and stores the session. Returns where to go next.
    pub async fn complete_login(
        &self,
        jar: &Cookies,
        query: &CallbackQuery,
    ) -> Result<String, CallbackError> {
        // A callback that does not carry this browser's `state` is not about its login:
        // it is refused without consuming the login in progress (so a forged link cannot
        // cancel it), and an `error` it carries is not shown. Once the state matches, the
        // login is consumed whatever happens next: it is single-use.
        let unsolicited = |err: LoginStateError| match query.error {
            Some(_) => CallbackError::UnsolicitedError,
            None => CallbackError::LoginState(err),
        };
        let login = self
            .cookies
            .login_state(jar)
            .and_then(|v| LoginState::decode(&v))
            .ok_or_else(|| unsolicited(LoginStateError::Missing))?;
        match login.verify(
            query.state.as_deref().unwrap_or(""),
            now(),
            self.settings.login_state_ttl_secs,
        ) {
            Err(LoginStateError::StateMismatch) => {
                return Err(unsolicited(LoginStateError::StateMismatch))
            }
            result => {
                self.cookies.clear_login_state(jar);
                result?;
            }
        }
        if let Some(error) = &query.error {
            return Err(CallbackError::Provider {
                error: error.clone(),
                description: query.error_description.clone(),
            });
        }
        let code = query
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(CallbackError::MissingCode)?;
        // RFC 9207 (mix-up defence): a provider that names itself in the callback must
        // name the one we sent the person to. Providers that don't are not penalised.
        if let Some(iss) = &query.iss {
            let expected = self
                .oidc
                .metadata()
                .await
                .map_err(CallbackError::Exchange)?;
            if *iss != expected.issuer {
                return Err(CallbackError::IssuerMismatch(iss.clone()));
            }
        }

        let tokens = self
            .oidc
            .exchange_code(code, &login.code_verifier)
            .await
            .map_err(CallbackError::Exchange)?;
        let id_token = tokens.id_token.as_deref().ok_or(CallbackError::NoIdToken)?;
        let profile = self
            .oidc
            .validate_id_token(id_token, Some(&login.nonce), &tokens.access_token)
            .await
            .map_err(CallbackError::InvalidTokens)?;
        let access = self
            .access_claims(&tokens, Some(&profile))
            .await
            .map_err(CallbackError::InvalidTokens)?;
        if access.sub != profile.sub {
            return Err(CallbackError::InvalidTokens(OidcError::Malformed {
                endpoint: "token".into(),
                message: "the access token and the ID token name different users".into(),
            }));
        }
        let userinfo = if lacks_profile(&profile) {
            self.oidc
                .userinfo(&tokens.access_token, &profile.sub)
                .await
                .map_err(|err| match err {
                    OidcError::SubjectMismatch { .. } => CallbackError::InvalidTokens(err),
                    err => CallbackError::UserInfo(err),
                })?
        } else {
            None
        };
        self.store(jar, &tokens, &access, &SessionBinding::new(now()))?;
        match userinfo {
            Some(info) => {
                let json = serde_json::to_string(&info).unwrap_or_default();
                self.cookies.set_profile(jar, json)?;
            }
            None => self.cookies.clear_profile(jar),
        }
        tracing::info!(sub = %profile.sub, "signed in");
        Ok(login.return_to)
    }

    fn store(
        &self,
        jar: &Cookies,
        tokens: &TokenSet,
        access: &AccessTokenClaims,
        session: &SessionBinding,
    ) -> Result<(), CookieTooLarge> {
        let expires_in = tokens
            .expires_in
            .unwrap_or_else(|| access.exp.saturating_sub(now()).max(0) as u64);
        let stored = if is_jwt(&tokens.access_token) {
            tokens.access_token.clone()
        } else {
            format!("{OPAQUE_PREFIX}{}.{}", access.exp, tokens.access_token)
        };
        self.cookies.set_session(
            jar,
            &stored,
            expires_in,
            tokens.refresh_token.as_deref(),
            tokens.id_token.as_deref(),
            session,
        )
    }

    /// Reads the session from the request's cookies. Makes no call to the provider
    /// while its keys are cached.
    pub async fn session(&self, jar: &Cookies) -> SessionStatus {
        let Some(token) = self.cookies.access_token(jar) else {
            return self.without_access_token(jar);
        };
        if let Some((expires_at, _)) = parse_opaque(&token) {
            return match self.profile(jar) {
                Some(profile)
                    if expires_at > now()
                        && !self
                            .ended_by_provider(
                                jar,
                                &profile.iss,
                                profile.sid.as_deref(),
                                &profile.sub,
                            )
                            .await =>
                {
                    SessionStatus::Active(Box::new(Session {
                        access: opaque_claims(&profile, expires_at),
                        profile: Some(profile),
                    }))
                }
                _ => self.without_access_token(jar),
            };
        }
        // Sealed by us, yet presented by the browser: key refetches stay rate-limited (an
        // unknown key makes the session refreshable, and refresh may refetch).
        match self
            .oidc
            .validate_access_token(&token, KeySource::Untrusted)
            .await
        {
            Ok(access) => {
                let profile = self.profile(jar);
                if profile.as_ref().is_some_and(|p| p.sub != access.sub) {
                    tracing::warn!("session cookies name different users; ignoring the session");
                    return SessionStatus::Anonymous;
                }
                let sid = access
                    .sid
                    .as_deref()
                    .or(profile.as_ref().and_then(|p| p.sid.as_deref()));
                if self
                    .ended_by_provider(jar, &access.iss, sid, &access.sub)
                    .await
                {
                    // The refresh path ends it: revokes the refresh token, clears cookies.
                    return self.without_access_token(jar);
                }
                SessionStatus::Active(Box::new(Session { access, profile }))
            }
            Err(err) => {
                tracing::debug!(%err, "access token not accepted");
                self.without_access_token(jar)
            }
        }
    }

    /// True when the provider ended this session by back-channel logout (checked only
    /// once any session was ended, or when instances share a store).
    async fn ended_by_provider(
        &self,
        jar: &Cookies,
        issuer: &str,
        sid: Option<&str>,
        sub: &str,
    ) -> bool {
        if !self.store.tracks_ended_sessions() {
            return false;
        }
        let started_at = self
            .cookies
            .session_binding(jar)
            .map(|s| s.started_at())
            .unwrap_or(0);
        self.store.is_ended(issuer, sid, sub, started_at).await
    }

    /// The access token as the server may use it (e.g. as a bearer token for your API).
    pub fn access_token(&self, jar: &Cookies) -> Option<String> {
        let stored = self.cookies.access_token(jar)?;
        Some(match parse_opaque(&stored) {
            Some((_, token)) => token.to_string(),
            None => stored,
        })
    }

    /// The access token's claims: validated when it is a JWT; for an opaque token (some
    /// providers issue them), what the validated ID token says, valid for `expires_in`.
    async fn access_claims(
        &self,
        tokens: &TokenSet,
        profile: Option<&IdTokenClaims>,
    ) -> Result<AccessTokenClaims, OidcError> {
        if is_jwt(&tokens.access_token) {
            return self
                .oidc
                .validate_access_token(&tokens.access_token, KeySource::TokenEndpoint)
                .await;
        }
        let profile = profile.ok_or_else(|| OidcError::Malformed {
            endpoint: "token".into(),
            message: "an opaque access token needs an ID token to say whose it is".into(),
        })?;
        let lifetime = tokens.expires_in.unwrap_or(300).min(86_400) as i64;
        Ok(opaque_claims(profile, now() + lifetime))
    }

    fn without_access_token(&self, jar: &Cookies) -> SessionStatus {
        if self.cookies.has_session_marker(jar) {
            SessionStatus::Refreshable
        } else {
            SessionStatus::Anonymous
        }
    }

    /// The profile claims of the ID token stored at login or refresh.
    ///
    /// The ID token was fully validated (signature, issuer, audience, nonce) before we
    /// sealed it into the cookie, and the seal is authenticated encryption under our key,
    /// so reading its claims back needs no second signature check, and keeps working after
    /// the ID token's own short `exp`.
    fn profile(&self, jar: &Cookies) -> Option<IdTokenClaims> {
        let token = self.cookies.id_token(jar)?;
        let mut claims =
            jsonwebtoken::dangerous::insecure_decode_claims::<IdTokenClaims>(&token).ok()?;
        self.fill_from_userinfo(jar, &mut claims);
        Some(claims)
    }

    /// Completes ID-token claims with the profile fetched from the UserInfo endpoint at
    /// login, for providers whose ID tokens carry none (sealed cookie, same user only).
    fn fill_from_userinfo(&self, jar: &Cookies, claims: &mut IdTokenClaims) {
        if let Some(info) = self
            .cookies
            .profile(jar)
            .and_then(|json| serde_json::from_str::<UserInfo>(&json).ok())
        {
            info.fill_in(claims);
        }
    }

    /// Refreshes the session with the refresh token cookie (only sent below `/auth`),
    /// stores the rotated tokens and returns the new session. The refresh cookie must be
    /// bound to this browser's ID cookie, or nothing is touched. When the provider says
    /// the grant is dead the session cookies are cleared, if `may_end_session` (a request
    /// from another site may refresh, never end a session).
    pub async fn refresh(
        &self,
        jar: &Cookies,
        headers: &HeaderMap,
        may_end_session: bool,
    ) -> Result<Session, RefreshError> {
        let session = self.cookies.session_binding(jar);
        let stored = match &session {
            Some(session) => self.cookies.bound_refresh_token(headers, session),
            None if self.cookies.has_refresh_cookie(headers) => Err(RefreshCookieError::NotBound),
            None => Err(RefreshCookieError::Missing),
        }
        .map_err(|err| match err {
            RefreshCookieError::Missing => RefreshError::NoRefreshToken,
            RefreshCookieError::NotBound => RefreshError::NotBound,
        })?;
        let session = stored.session.clone();
        let end_session = |jar: &Cookies| {
            if may_end_session {
                self.cookies.clear_session(jar);
            }
        };
        let refresh_token = stored.refresh_token;
        let previous = self.profile(jar);
        if let Some(previous) = &previous {
            if self
                .ended_by_provider(jar, &previous.iss, previous.sid.as_deref(), &previous.sub)
                .await
            {
                if let Err(err) = self.oidc.revoke_refresh_token(&refresh_token).await {
                    tracing::warn!(%err, "the provider did not revoke the ended session's refresh token");
                }
                end_session(jar);
                return Err(RefreshError::EndedByProvider);
            }
        }
        let result = self
            .store
            .refresh_once(&refresh_token, {
                let oidc = Arc::clone(&self.oidc);
                let token = refresh_token.clone();
                move || async move { oidc.refresh(&token).await }
            })
            .await;
        let tokens = match result {
            Ok(tokens) => tokens,
            Err(err) if err.is_invalid_grant() => {
                end_session(jar);
                return Err(RefreshError::Ended(err));
            }
            Err(err) => return Err(RefreshError::Unavailable(err)),
        };
        let profile = match tokens.id_token.as_deref() {
            Some(id_token) => {
                let mut claims = self
                    .oidc
                    .validate_id_token(id_token, None, &tokens.access_token)
                    .await
                    .map_err(refreshed_token_error)?;
                // OIDC Core 12.2: a refreshed ID token must name the same person and issuer.
                if let Some(previous) = &previous {
                    if previous.sub != claims.sub || previous.iss != claims.iss {
                        end_session(jar);
                        return Err(RefreshError::IdentityChanged);
                    }
                }
                self.fill_from_userinfo(jar, &mut claims);
                Some(claims)
            }
            None => previous,
        };
        let access = self
            .access_claims(&tokens, profile.as_ref())
            .await
            .map_err(refreshed_token_error)?;
        if profile.as_ref().is_some_and(|p| p.sub != access.sub) {
            end_session(jar);
            return Err(RefreshError::IdentityChanged);
        }
        self.store(jar, &tokens, &access, &session)?;
        tracing::info!(sub = %access.sub, "session refreshed");
        Ok(Session { access, profile })
    }

    /// Ends the session here and returns where to send the browser: the provider's
    /// logout URL, or our own post-logout page if the provider cannot be reached (the
    /// local session is gone either way).
    pub async fn logout(&self, jar: &Cookies, headers: &HeaderMap) -> String {
        let id_token = self.cookies.id_token(jar);
        let refresh = self
            .cookies
            .session_binding(jar)
            .and_then(|session| self.cookies.bound_refresh_token(headers, &session).ok());
        self.cookies.clear_session(jar);
        // RFC 7009: the refresh token dies with the session, so a copy of the cookie
        // (or a browser that never reaches the provider's logout page) cannot revive it.
        if let Some(refresh) = refresh {
            match self.oidc.revoke_refresh_token(&refresh.refresh_token).await {
                Ok(true) => tracing::info!("refresh token revoked at the provider"),
                Ok(false) => {}
                Err(err) => tracing::warn!(%err, "the provider did not revoke the refresh token"),
            }
        }
        let state = crate::util::random_token();
        match self.oidc.logout_url(id_token.as_deref(), &state).await {
            Ok(url) => url.to_string(),
            Err(err) => {
                tracing::warn!(%err, "provider logout URL unavailable; logging out locally");
                self.settings.post_logout_path.clone()
            }
        }
    }
}

/// A refreshed token that fails validation ends the session, except when the key set
/// could not be fetched: that is an outage (session and refresh token kept, retry page).
fn refreshed_token_error(err: OidcError) -> RefreshError {
    match err {
        OidcError::InvalidToken(ValidationError::KeySetUnavailable(_)) => {
            RefreshError::Unavailable(Arc::new(err))
        }
        err => RefreshError::InvalidTokens(err),
    }
}

/// The authorization options for a login: `prompt=create` for sign-up, and each hint
/// that is well-formed (an email for `login_hint`, whose domain becomes `domain_hint`;
/// ids of letters, digits, `_` and `-`; a social provider from the configured list).
pub fn authorization_options(
    intent: LoginIntent,
    hints: &LoginHints,
    social_providers: &[String],
) -> AuthorizationOptions {
    fn id(value: &Option<String>) -> Option<String> {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 64)
            .filter(|v| {
                v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
            .map(str::to_string)
    }
    let login_hint = hints
        .login_hint
        .as_deref()
        .map(str::trim)
        .filter(|v| v.len() <= 254 && !v.chars().any(char::is_whitespace))
        .and_then(|v| {
            let (local, domain) = v.rsplit_once('@')?;
            (!local.is_empty() && domain.contains('.'))
                .then(|| (v.to_string(), domain.to_lowercase()))
        });
    AuthorizationOptions {
        prompt: match intent {
            LoginIntent::Login => None,
            LoginIntent::Signup => Some(Prompt::Create),
        },
        domain_hint: login_hint.as_ref().map(|(_, domain)| domain.clone()),
        login_hint: login_hint.map(|(email, _)| email),
        organization_id: id(&hints.organization_id),
        connection_id: id(&hints.connection_id),
        provider: hints
            .provider
            .clone()
            .filter(|p| social_providers.iter().any(|allowed| allowed == p)),
    }
}

/// Opaque access tokens are stored as `opaque.<expires_at>.<token>` (inside the sealed
/// cookie), so the server knows when they expire without asking the provider.
const OPAQUE_PREFIX: &str = "opaque.";

/// True for a JWS compact token (`header.payload.signature`).
fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("eyJ")
}

fn parse_opaque(stored: &str) -> Option<(i64, &str)> {
    let rest = stored.strip_prefix(OPAQUE_PREFIX)?;
    let (expires_at, token) = rest.split_once('.')?;
    Some((expires_at.parse().ok()?, token))
}

/// Session claims for an opaque access token, from the validated ID token.
fn opaque_claims(profile: &IdTokenClaims, expires_at: i64) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: profile.iss.clone(),
        sub: profile.sub.clone(),
        aud: profile.aud.clone(),
        exp: expires_at,
        iat: None,
        nbf: None,
        sid: profile.sid.clone(),
        oid: profile.oid.clone(),
        jti: None,
        roles: vec![],
        permissions: vec![],
        scope: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_774_800), "2026-11-27 10:20:00 UTC");
    }

    #[test]
    fn login_hints_become_authorization_options_when_well_formed() {
        let social = vec!["google".to_string()];
        let hints = LoginHints {
            login_hint: Some("ada@Example.COM".into()),
            organization_id: Some("org_123".into()),
            connection_id: Some("conn_9".into()),
            provider: Some("google".into()),
        };
        let o = authorization_options(LoginIntent::Login, &hints, &social);
        assert_eq!(o.login_hint.as_deref(), Some("ada@Example.COM"));
        assert_eq!(o.domain_hint.as_deref(), Some("example.com"));
        assert_eq!(o.organization_id.as_deref(), Some("org_123"));
        assert_eq!(o.connection_id.as_deref(), Some("conn_9"));
        assert_eq!(o.provider.as_deref(), Some("google"));
        assert_eq!(o.prompt, None);

        let bad = LoginHints {
            login_hint: Some("not an email".into()),
            organization_id: Some("org_1\"><script>".into()),
            connection_id: Some("x".repeat(65)),
            provider: Some("myspace".into()),
        };
        let o = authorization_options(LoginIntent::Signup, &bad, &social);
        assert_eq!(
            o,
            AuthorizationOptions {
                prompt: Some(Prompt::Create),
                ..Default::default()
            }
        );
    }

    #[test]
    fn callback_errors_map_to_statuses() {
        let provider = CallbackError::Provider {
            error: "access_denied".into(),
            description: None,
        };
        assert_eq!(provider.status(), 401);
        assert_eq!(
            CallbackError::from(LoginStateError::StateMismatch).status(),
            400
        );
        assert_eq!(
            CallbackError::Exchange(OidcError::Timeout("t".into())).status(),
            504
        );
        assert_eq!(
            CallbackError::Exchange(OidcError::Unreachable("x".into())).status(),
            502
        );
        let replayed = OidcError::Refused {
            error: "invalid_grant".into(),
            description: None,
        };
        assert_eq!(CallbackError::Exchange(replayed).status(), 400);
    }
}
