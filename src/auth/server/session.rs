//! Reading the session a request carries: the access token validated locally (cached
//! keys, no provider call), the profile from the sealed ID cookie, and whether the
//! provider has ended the session meanwhile.

use super::{
    cookies::{AccessCookie, CookieTooLarge, SessionBinding},
    unsealed::{SealedValues, Unsealed},
    AuthService,
};
use crate::{
    auth::User,
    oidc::{AccessTokenClaims, IdTokenClaims, KeySource, OidcError, TokenSet},
    util::{format_utc, now},
};
use std::sync::Arc;
use tower_cookies::Cookies;

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
    /// An access token that could not be checked: the provider did not hand over its
    /// keys within the budget (right after a restart, say). Nothing is decided or ended;
    /// asking again in a moment may succeed.
    ProviderUnavailable(Arc<OidcError>),
}

impl AuthService {
    /// Reads the session from the request's cookies. Makes no call to the provider
    /// while its keys are cached.
    pub async fn session(&self, jar: &Cookies) -> SessionStatus {
        let Some(cookies) = self.unsealed_cookies(jar) else {
            return self.without_access_token(jar);
        };
        let Unsealed {
            access,
            started_at,
            profile,
        } = &*cookies;
        let token = match access {
            AccessCookie::Opaque { expires_at, .. } => {
                return match profile {
                    Some(profile)
                        if *expires_at > now()
                            && !self
                                .ended_by_provider(
                                    *started_at,
                                    &profile.iss,
                                    profile.sid.as_deref(),
                                    &profile.sub,
                                )
                                .await =>
                    {
                        SessionStatus::Active(Box::new(Session {
                            access: opaque_claims(profile, *expires_at),
                            profile: Some(profile.clone()),
                        }))
                    }
                    _ => self.without_access_token(jar),
                };
            }
            AccessCookie::Jwt { token } => token,
        };
        // Sealed by us, yet presented by the browser: key refetches stay rate-limited (an
        // unknown key makes the session refreshable, and refresh may refetch).
        let access = match self.validate_presented_token(token).await {
            Ok(access) => access,
            Err(err) if err.could_not_check_token() => {
                return SessionStatus::ProviderUnavailable(Arc::new(err));
            }
            Err(err) => {
                tracing::debug!(%err, "access token not accepted");
                return self.without_access_token(jar);
            }
        };
        if profile.as_ref().is_some_and(|p| p.sub != access.sub) {
            tracing::warn!("session cookies name different users; ignoring the session");
            return SessionStatus::Anonymous;
        }
        let sid = access
            .sid
            .as_deref()
            .or(profile.as_ref().and_then(|p| p.sid.as_deref()));
        if self
            .ended_by_provider(*started_at, &access.iss, sid, &access.sub)
            .await
        {
            // The refresh path ends it: revokes the refresh token, clears cookies.
            return self.without_access_token(jar);
        }
        SessionStatus::Active(Box::new(Session {
            access,
            profile: profile.clone(),
        }))
    }

    /// The session cookies, unsealed and decoded, if the access-token cookie unseals:
    /// from the memo when these exact sealed values were unsealed before.
    fn unsealed_cookies(&self, jar: &Cookies) -> Option<Arc<Unsealed>> {
        let names = &self.cookies.names;
        let (access, id, profile) = (
            jar.get(names.access),
            jar.get(names.id),
            jar.get(names.profile),
        );
        let sealed = SealedValues {
            access: access.as_ref().map_or("", |c| c.value()),
            id: id.as_ref().map_or("", |c| c.value()),
            profile: profile.as_ref().map_or("", |c| c.value()),
        };
        if sealed.access.is_empty() {
            return None;
        }
        if let Some(unsealed) = self.unsealed.get(&sealed) {
            return Some(unsealed);
        }
        let access = self.cookies.access_token(jar)?;
        let id = self.cookies.id_cookie(jar);
        let unsealed = Arc::new(Unsealed {
            access,
            started_at: id.as_ref().map_or(0, |id| id.session.started_at()),
            profile: id.and_then(|id| self.profile(jar, &id.id_token)),
        });
        self.unsealed.insert(&sealed, unsealed.clone(), now());
        Some(unsealed)
    }

    /// Validates an access token a client presents (a session cookie's, a bearer token).
    /// No provider call while its key is cached; otherwise the wait for the provider's
    /// discovery document and key set together is bounded by `provider_budget_ms`.
    pub async fn validate_presented_token(
        &self,
        token: &str,
    ) -> Result<AccessTokenClaims, OidcError> {
        let validation = self.oidc.validate_access_token(token, KeySource::Untrusted);
        self.by_deadline(self.provider_deadline(), validation, |timeout| timeout)
            .await
    }

    /// True when the provider ended this session (started at `started_at`) by back-channel
    /// logout (checked only once any session was ended, or when instances share a store).
    pub(super) async fn ended_by_provider(
        &self,
        started_at: i64,
        issuer: &str,
        sid: Option<&str>,
        sub: &str,
    ) -> bool {
        self.store.tracks_ended_sessions()
            && self.store.is_ended(issuer, sid, sub, started_at).await
    }

    /// The access token as the server may use it (e.g. as a bearer token for your API).
    pub fn access_token(&self, jar: &Cookies) -> Option<String> {
        self.cookies
            .access_token(jar)
            .map(|stored| stored.token().to_string())
    }

    /// Stores a session's tokens in the cookies, bound to `session`.
    pub(super) fn store_session(
        &self,
        jar: &Cookies,
        tokens: &TokenSet,
        access: &AccessTokenClaims,
        session: &SessionBinding,
    ) -> Result<(), CookieTooLarge> {
        let expires_in = tokens
            .expires_in
            .unwrap_or_else(|| u64::try_from(access.exp.saturating_sub(now())).unwrap_or(0));
        let stored = if is_jwt(&tokens.access_token) {
            AccessCookie::Jwt {
                token: tokens.access_token.clone(),
            }
        } else {
            AccessCookie::Opaque {
                token: tokens.access_token.clone(),
                expires_at: access.exp,
            }
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

    /// The access token's claims: validated when it is a JWT; for an opaque token (some
    /// providers issue them), what the validated ID token says, valid for `expires_in`.
    pub(super) async fn access_claims(
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
        let lifetime = i64::try_from(tokens.expires_in.unwrap_or(300).min(86_400)).unwrap_or(300);
        Ok(opaque_claims(profile, now().saturating_add(lifetime)))
    }

    fn without_access_token(&self, jar: &Cookies) -> SessionStatus {
        if self.cookies.has_session_marker(jar) {
            SessionStatus::Refreshable
        } else {
            SessionStatus::Anonymous
        }
    }

    /// The profile claims of `id_token`, the ID token stored at login or refresh,
    /// completed from the UserInfo profile cookie where the provider needed it.
    ///
    /// The ID token was fully validated (signature, issuer, audience, nonce) before we
    /// sealed it into the cookie, and the seal is authenticated encryption under our key,
    /// so reading its claims back needs no second signature check, and keeps working after
    /// the ID token's own short `exp`.
    pub(super) fn profile(&self, jar: &Cookies, id_token: &str) -> Option<IdTokenClaims> {
        let mut claims =
            jsonwebtoken::dangerous::insecure_decode_claims::<IdTokenClaims>(id_token).ok()?;
        self.fill_from_userinfo(jar, &mut claims);
        Some(claims)
    }

    /// Completes ID-token claims with the profile fetched from the UserInfo endpoint at
    /// login, for providers whose ID tokens carry none (sealed cookie, same user only).
    pub(super) fn fill_from_userinfo(&self, jar: &Cookies, claims: &mut IdTokenClaims) {
        if let Some(info) = self.cookies.profile(jar) {
            info.fill_in(claims);
        }
    }
}

/// True for a JWS compact token (`header.payload.signature`, the header a JSON object):
/// how the token endpoint's answer tells a JWT from an opaque token.
fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("eyJ")
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
