//! Builds the app from its configuration: the OIDC client, the session store, the auth
//! service, the [`AppState`] and the router. Nothing here listens or reads the process
//! environment, so tests and embedders call [`assemble`] with a configuration they made.

use super::{router::router, AppState, StartError};
use crate::{
    auth::server::{cookies::CookiePolicy, request_site::AppOrigin, AuthService, SharedAuth},
    config::{file::TokenEndpointAuthSetting, AppConfig},
    oidc::{discovery::ClientAuthMethod, BreakerSettings, ClientConfig, OidcClient},
    response_headers::HeaderPolicy,
    store::{SessionStore, StoreSettings},
    webhooks::{RecentEvents, Webhooks},
};
use axum::Router;
use std::{sync::Arc, time::Duration};

/// The assembled app.
pub struct Server {
    pub router: Router,
    pub auth: SharedAuth,
    /// The webhook events received, when `SCALEKIT_WEBHOOK_SECRET` is set.
    pub webhook_events: Option<Arc<RecentEvents>>,
}

/// Builds the app for `config`, whose provider must be set (`SCALEKIT_*`, or the built-in
/// provider's credentials filled in by [`start`](super::start)).
pub fn assemble(config: &AppConfig) -> Result<Server, StartError> {
    let env = &config.env;
    let auth_settings = &config.settings.auth;
    let credentials = env.provider.clone().ok_or_else(|| {
        StartError::NoProvider(crate::config::missing_provider_variables(|_| None))
    })?;
    let urls = config.client_urls();
    let oidc = OidcClient::new(ClientConfig {
        environment_url: credentials.environment_url,
        client_id: credentials.client_id,
        client_secret: credentials.client_secret,
        redirect_uri: urls.redirect_uri,
        post_logout_redirect_uri: urls.post_logout_redirect_uri,
        scopes: auth_settings.scopes.clone(),
        clock_leeway: Duration::from_secs(auth_settings.clock_leeway_secs),
        connect_timeout: auth_settings.http_connect_timeout(),
        timeout: auth_settings.http_timeout(),
        jwks_min_refetch_interval: Duration::from_secs(
            auth_settings.jwks_refetch_min_interval_secs,
        ),
        client_auth: match auth_settings.token_endpoint_auth_method {
            TokenEndpointAuthSetting::Auto => None,
            TokenEndpointAuthSetting::ClientSecretPost => Some(ClientAuthMethod::Post),
            TokenEndpointAuthSetting::ClientSecretBasic => Some(ClientAuthMethod::Basic),
        },
        breaker: BreakerSettings {
            failures: auth_settings.breaker_failures,
            open_for: Duration::from_secs(auth_settings.breaker_open_secs),
            max_open_for: Duration::from_secs(auth_settings.breaker_max_open_secs),
        },
    })?;

    // Without SESSION_SECRET (development only: a real provider requires it), a key made
    // now: sessions last until the server restarts.
    let secret = match &env.session_secret {
        Some(secret) => secret.expose().to_vec(),
        None => crate::util::random_token().into_bytes(),
    };
    let cookies = CookiePolicy::new(
        &config.settings.cookies,
        auth_settings.login_state_ttl_secs,
        &secret,
    );
    let session_cookies = vec![cookies.names.access, cookies.names.id];
    let store = Arc::new(SessionStore::new(
        env.session_store_url.as_deref(),
        cookies.sealer(),
        StoreSettings {
            // The lock outlives the provider call it covers: discovery and the token call,
            // each bounded by the HTTP timeout, and a margin.
            refresh_lock_ttl: auth_settings.http_timeout() * 2 + Duration::from_secs(5),
            refresh_grace: Duration::from_secs(auth_settings.refresh_reuse_grace_secs),
            ended_retention: Duration::from_secs(auth_settings.session_max_lifetime_secs),
            redis_timeout: Duration::from_millis(250),
            memory_capacity: auth_settings.memory_map_capacity,
        },
    )?);
    if store.is_shared() {
        tracing::info!("sessions coordinated through the shared store (SESSION_STORE_URL)");
        let warming = store.clone();
        tokio::spawn(async move { warming.warm_up().await });
    }
    let auth: SharedAuth = Arc::new(AuthService::new(
        oidc,
        cookies,
        auth_settings.clone(),
        env.app_url.clone(),
        store.clone(),
    ));
    if tracing::enabled!(target: crate::auth::server::MEMORY_LOG_TARGET, tracing::Level::DEBUG) {
        tokio::spawn(auth.clone().report_map_sizes());
    }

    let headers = Arc::new(HeaderPolicy {
        provider_origin: auth
            .oidc
            .config()
            .environment_url
            .origin()
            .ascii_serialization(),
        reload_port: config.watching.then_some(config.leptos.reload_port),
        hsts: env.app_url.scheme() == "https",
        session_cookies,
    });
    let api = crate::api::ExampleApi::new(&env.app_url, auth_settings.http_timeout())?;
    let webhook_events = env
        .webhook_secret
        .as_ref()
        .map(|_| Arc::new(RecentEvents::default()));
    let webhooks = env
        .webhook_secret
        .clone()
        .zip(webhook_events.clone())
        .map(|(secret, events)| Webhooks::new(secret, events, store.clone()));
    let state = AppState {
        leptos: Arc::new(config.leptos.clone()),
        auth: auth.clone(),
        headers,
        origin: AppOrigin(env.app_url.origin().ascii_serialization().into()),
        api,
        webhooks,
        signed_in: super::router::signed_in_paths()?,
    };
    Ok(Server {
        router: router(state),
        auth,
        webhook_events,
    })
}
