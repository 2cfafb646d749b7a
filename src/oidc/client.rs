//! [`OidcClient`]: one configured relying party talking to one provider.

use super::{
    authorize::{authorization_url, AuthorizationOptions, AuthorizationRequest},
    breaker::{Breaker, BreakerSettings},
    discovery::{discover, ClientAuthMethod, ProviderMetadata},
    jwks::{JwksCache, KeySource},
    logout::logout_url,
    token::{self, ClientAuth, TokenSet},
    userinfo::{fetch_userinfo, UserInfo},
    validate::{self, AccessTokenClaims, Expectations, IdTokenClaims},
    validated_tokens::ValidatedTokens,
    OidcError,
};
use std::{sync::Arc, time::Duration};
use tokio::sync::OnceCell;
use url::Url;

/// The client secret. Its `Debug` never shows it, and it is never `Serialize`.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps the secret.
    pub fn new(secret: impl Into<String>) -> Self {
        ClientSecret(secret.into())
    }
    /// The secret itself, for the token request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(…)")
    }
}

/// How the app is registered with its provider.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `SCALEKIT_ENVIRONMENT_URL`, or any OpenID provider's issuer URL.
    pub environment_url: Url,
    /// `SCALEKIT_CLIENT_ID`.
    pub client_id: String,
    /// `SCALEKIT_CLIENT_SECRET`.
    pub client_secret: ClientSecret,
    /// `APP_URL` + the callback path; must be registered with the provider.
    pub redirect_uri: String,
    /// `APP_URL` + the post-logout path; must be registered with the provider.
    pub post_logout_redirect_uri: String,
    /// Scopes requested at login (`Leptos.toml`).
    pub scopes: Vec<String>,
    /// Clock skew tolerated on `exp`, `nbf`, `iat`.
    pub clock_leeway: Duration,
    /// Longest wait for a connection to the provider.
    pub connect_timeout: Duration,
    /// Longest wait for a whole provider call.
    pub timeout: Duration,
    /// Least time between two key-set refetches caused by unknown `kid`s.
    pub jwks_min_refetch_interval: Duration,
    /// How to authenticate at the token endpoint; `None` follows discovery (see
    /// [`ProviderMetadata::client_auth`]).
    pub client_auth: Option<ClientAuthMethod>,
    /// When to stop calling a failing provider for a while.
    pub breaker: BreakerSettings,
}

/// What we learn about the provider on first use.
struct Provider {
    metadata: ProviderMetadata,
    jwks: JwksCache,
}

/// A relying party for one provider. Discovery happens on first use (so the app starts
/// even while the provider is unreachable) and is then remembered; keys are cached.
pub struct OidcClient {
    config: ClientConfig,
    http: reqwest::Client,
    provider: OnceCell<Arc<Provider>>,
    validated: ValidatedTokens,
    breaker: Arc<Breaker>,
}

impl OidcClient {
    /// How many validated access tokens are cached (the memory report).
    pub fn cached_tokens(&self) -> usize {
        self.validated.len()
    }

    /// A client with an HTTP client that has connect and total timeouts and never
    /// follows redirects (a token endpoint that redirects is misconfigured or hostile).
    pub fn new(config: ClientConfig) -> Result<Self, OidcError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| OidcError::Unreachable(format!("cannot build the HTTP client: {e}")))?;
        Ok(OidcClient {
            breaker: Arc::new(Breaker::new(config.breaker)),
            config,
            http,
            provider: OnceCell::new(),
            validated: ValidatedTokens::default(),
        })
    }

    /// How this client is registered.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// `Err` while the provider is being left alone after failures (see [`Breaker`]):
    /// sending a person to its login page now would leave them waiting.
    pub fn check_available(&self) -> Result<(), OidcError> {
        self.breaker.check()
    }

    async fn provider(&self) -> Result<&Arc<Provider>, OidcError> {
        self.provider
            .get_or_try_init(|| async {
                let metadata = self
                    .breaker
                    .call(discover(&self.http, &self.config.environment_url))
                    .await?;
                tracing::info!(issuer = %metadata.issuer, "identity provider discovered");
                let jwks = JwksCache::new(
                    self.http.clone(),
                    metadata.jwks_uri.clone(),
                    self.config.jwks_min_refetch_interval,
                )
                .guarded_by(self.breaker.clone());
                Ok(Arc::new(Provider { metadata, jwks }))
            })
            .await
    }

    /// The provider's metadata (discovering it if needed).
    pub async fn metadata(&self) -> Result<ProviderMetadata, OidcError> {
        Ok(self.provider().await?.metadata.clone())
    }

    /// How many times the key set has been fetched (0 before discovery).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.provider
            .get()
            .map(|p| p.jwks.fetch_count())
            .unwrap_or(0)
    }

    fn expectations(&self, metadata: &ProviderMetadata) -> Expectations {
        Expectations {
            issuer: metadata.issuer.clone(),
            client_id: self.config.client_id.clone(),
            leeway_secs: self.config.clock_leeway.as_secs(),
            algorithms: metadata.signing_algorithms.clone(),
        }
    }

    fn client_auth(&self, metadata: &ProviderMetadata) -> ClientAuth<'_> {
        ClientAuth {
            client_id: &self.config.client_id,
            client_secret: self.config.client_secret.expose(),
            method: self.config.client_auth.unwrap_or(metadata.client_auth),
        }
    }

    /// The URL to send a person to, to log in or sign up.
    pub async fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
        code_challenge: &str,
        options: &AuthorizationOptions,
    ) -> Result<Url, OidcError> {
        let provider = self.provider().await?;
        Ok(authorization_url(
            &provider.metadata.authorization_endpoint,
            &AuthorizationRequest {
                client_id: &self.config.client_id,
                redirect_uri: &self.config.redirect_uri,
                scopes: &self.config.scopes,
                state,
                nonce,
                code_challenge,
                options,
            },
        ))
    }

    /// Exchanges the code from the callback for tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
    ) -> Result<TokenSet, OidcError> {
        let provider = self.provider().await?;
        self.breaker
            .call(token::exchange_code(
                &self.http,
                &provider.metadata.token_endpoint,
                &self.client_auth(&provider.metadata),
                code,
                &self.config.redirect_uri,
                code_verifier,
            ))
            .await
    }

    /// Refreshes tokens with a (rotating) refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, OidcError> {
        let provider = self.provider().await?;
        self.breaker
            .call(token::refresh(
                &self.http,
                &provider.metadata.token_endpoint,
                &self.client_auth(&provider.metadata),
                refresh_token,
            ))
            .await
    }

    /// Validates an ID token and binds it to the access token issued with it (`at_hash`,
    /// when present); `nonce` is required at login, `None` on refresh.
    pub async fn validate_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
        access_token: &str,
    ) -> Result<IdTokenClaims, OidcError> {
        let provider = self.provider().await?;
        let expect = self.expectations(&provider.metadata);
        let claims = validate::validate_id_token(&provider.jwks, token, &expect, nonce).await?;
        validate::check_access_token_hash(token, claims.at_hash.as_deref(), access_token)?;
        Ok(claims)
    }

    /// Validates the token of an IdP-initiated login (`?idp_initiated_login=`).
    pub async fn validate_idp_initiated(
        &self,
        token: &str,
    ) -> Result<validate::IdpInitiatedClaims, OidcError> {
        let provider = self.provider().await?;
        let expect = self.expectations(&provider.metadata);
        Ok(validate::validate_idp_initiated(&provider.jwks, token, &expect).await?)
    }

    /// Validates an access token; makes no call to the provider while the key is cached,
    /// and verifies a given token's signature once (see `ValidatedTokens`). `source`:
    /// [`KeySource::TokenEndpoint`] for a token just received at login or refresh,
    /// [`KeySource::Untrusted`] for one a client presents.
    pub async fn validate_access_token(
        &self,
        token: &str,
        source: KeySource,
    ) -> Result<AccessTokenClaims, OidcError> {
        let now = crate::util::now();
        let leeway = self.config.clock_leeway.as_secs() as i64;
        if let Some(claims) = self.validated.get(token, now, leeway) {
            return Ok(claims);
        }
        let provider = self.provider().await?;
        let expect = self.expectations(&provider.metadata);
        let claims =
            validate::validate_access_token(&provider.jwks, token, &expect, source).await?;
        self.validated.insert(token, &claims, now);
        Ok(claims)
    }

    /// The person's profile from the UserInfo endpoint, checked to be about
    /// `expected_sub`; `None` when the provider has no such endpoint.
    pub async fn userinfo(
        &self,
        access_token: &str,
        expected_sub: &str,
    ) -> Result<Option<UserInfo>, OidcError> {
        let provider = self.provider().await?;
        match &provider.metadata.userinfo_endpoint {
            Some(endpoint) => self
                .breaker
                .call(fetch_userinfo(
                    &self.http,
                    endpoint,
                    access_token,
                    expected_sub,
                ))
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// Validates a back-channel logout token (its `jti` uniqueness is the caller's).
    pub async fn validate_logout_token(
        &self,
        token: &str,
    ) -> Result<super::logout_token::LogoutTokenClaims, super::logout_token::LogoutTokenError> {
        let provider = self
            .provider()
            .await
            .map_err(|e| super::ValidationError::key_set_unavailable(&e))?;
        let expect = self.expectations(&provider.metadata);
        super::logout_token::validate_logout_token(&provider.jwks, token, &expect).await
    }

    /// Revokes a refresh token at the provider's revocation endpoint (RFC 7009). Returns
    /// `Ok(false)` when the provider advertises none.
    pub async fn revoke_refresh_token(&self, refresh_token: &str) -> Result<bool, OidcError> {
        let provider = self.provider().await?;
        let Some(endpoint) = &provider.metadata.revocation_endpoint else {
            return Ok(false);
        };
        self.breaker
            .call(token::revoke(
                &self.http,
                endpoint,
                &self.client_auth(&provider.metadata),
                refresh_token,
            ))
            .await
            .map(|()| true)
    }

    /// The provider's logout URL for this session.
    pub async fn logout_url(
        &self,
        id_token_hint: Option<&str>,
        state: &str,
    ) -> Result<Url, OidcError> {
        let provider = self.provider().await?;
        let endpoint = provider
            .metadata
            .end_session_endpoint
            .clone()
            .ok_or_else(|| OidcError::Malformed {
                endpoint: self.config.environment_url.to_string(),
                message: "the provider has no end_session_endpoint".into(),
            })?;
        Ok(logout_url(
            &endpoint,
            id_token_hint,
            &self.config.post_logout_redirect_uri,
            state,
        ))
    }
}
