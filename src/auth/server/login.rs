//! Logging in: [`AuthService::begin_login`] sends the person to the provider's hosted
//! page; [`AuthService::complete_login`] finishes at the callback (state, code exchange,
//! token validation, UserInfo where needed) and stores the session.

use super::{
    cookies::{CookieTooLarge, SessionBinding},
    login_state::{safe_return_path, LoginState, LoginStateError},
    AuthService,
};
use crate::{
    auth::{LoginHints, LoginIntent, Notice},
    oidc::{
        log_provider_failure, userinfo::lacks_profile, AuthorizationOptions, OidcError, Prompt,
    },
    util::now,
};
use tower_cookies::Cookies;
use url::Url;

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
            CallbackError::InvalidTokens(e) => e.could_not_check_token(),
            _ => false,
        }
    }

    /// True when the provider was not called because its circuit breaker is open.
    pub fn is_circuit_open(&self) -> bool {
        matches!(
            self,
            CallbackError::Exchange(e) | CallbackError::UserInfo(e) | CallbackError::InvalidTokens(e)
                if e.is_circuit_open()
        )
    }
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

impl BeginLoginError {
    /// Logs why: a provider failure as one (quietly while the breaker is open, which
    /// logged the outage once); a login state too large for its cookie is our own bug.
    pub fn log(&self) {
        match self {
            BeginLoginError::Provider(err) => {
                log_provider_failure("cannot start a login", err, err.is_circuit_open())
            }
            BeginLoginError::Cookie(err) => tracing::error!(%err, "cannot start a login"),
        }
    }

    /// What the person is told: the provider is down only when it is.
    pub fn notice(&self) -> Notice {
        match self {
            BeginLoginError::Provider(_) => Notice::ProviderUnavailable,
            BeginLoginError::Cookie(_) => Notice::LoginNotStarted,
        }
    }
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
    /// Starts a login: stores the login state cookie and returns the provider URL. While
    /// the provider is failing (the circuit breaker is open), refuses at once rather than
    /// send the person to a page that will not load.
    pub async fn begin_login(
        &self,
        jar: &Cookies,
        intent: LoginIntent,
        hints: &LoginHints,
        return_to: Option<&str>,
    ) -> Result<Url, BeginLoginError> {
        let deadline = self.provider_deadline();
        self.begin_login_by(deadline, jar, intent, hints, return_to)
            .await
    }

    /// [`begin_login`](Self::begin_login) within a request that started waiting for the
    /// provider earlier: its provider calls end by `deadline`.
    pub(crate) async fn begin_login_by(
        &self,
        deadline: tokio::time::Instant,
        jar: &Cookies,
        intent: LoginIntent,
        hints: &LoginHints,
        return_to: Option<&str>,
    ) -> Result<Url, BeginLoginError> {
        self.oidc.check_available()?;
        let flow = self.begin_login_now(jar, intent, hints, return_to);
        self.by_deadline(deadline, flow, BeginLoginError::Provider)
            .await
    }

    async fn begin_login_now(
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
        self.cookies.set_login_state(jar, &login)?;
        Ok(url)
    }

    /// Finishes a login at the callback: checks the login state, exchanges the code,
    /// validates the tokens and stores the session. Returns where to go next. Every
    /// provider call together stays within the provider budget.
    pub async fn complete_login(
        &self,
        jar: &Cookies,
        query: &CallbackQuery,
    ) -> Result<String, CallbackError> {
        let flow = self.complete_login_now(jar, query);
        self.by_deadline(self.provider_deadline(), flow, CallbackError::Exchange)
            .await
    }

    async fn complete_login_now(
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
        self.store_session(jar, &tokens, &access, &SessionBinding::new(now()))?;
        match userinfo {
            Some(info) => self.cookies.set_profile(jar, &info)?,
            None => self.cookies.clear_profile(jar),
        }
        tracing::info!(sub = %profile.sub, "signed in");
        Ok(login.return_to)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_state_too_large_is_not_blamed_on_the_provider() {
        let too_large = BeginLoginError::from(CookieTooLarge {
            cookie: "login",
            bytes: 5000,
        });
        assert_eq!(too_large.notice(), Notice::LoginNotStarted);
        assert_eq!(
            Notice::from_code(too_large.notice().code()),
            Some(Notice::LoginNotStarted),
            "the home page shows it"
        );
        let outage = BeginLoginError::from(OidcError::Timeout("discovery".into()));
        assert_eq!(outage.notice(), Notice::ProviderUnavailable);
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
}
