//! Assembling the server: configuration, the identity provider (real or built-in), the
//! router and its layers.

use crate::{
    app::{shell, App},
    auth::server::{
        cookies::CookiePolicy,
        handlers::{self, AuthHandlerState},
        request_site::{same_origin_server_functions, AppOrigin},
        AuthService, SharedAuth,
    },
    config::{ConfigError, EnvConfig},
    oidc::{discovery::ClientAuthMethod, ClientConfig, OidcClient},
    security::{security_headers, SecurityPolicy},
    settings::{Settings, SettingsError, TokenEndpointAuthSetting},
};
use axum::{serve::ListenerExt, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{process::ExitCode, sync::Arc, time::Duration};
use tower_cookies::CookieManagerLayer;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("cannot read the Leptos build settings from Cargo.toml: {0}")]
    Leptos(String),
    #[error(transparent)]
    BuiltInProviderRefused(#[from] crate::config::BuiltInProviderRefused),
    #[error(
        "no identity provider is configured and this build has no built-in one: set {}",
        .0.join(", ")
    )]
    NoProvider(Vec<&'static str>),
    #[error("cannot start the built-in identity provider on {addr}: {source}")]
    DevIdp {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot keep the development state in {path}: {source}")]
    DevState {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot create the OpenID Connect client: {0}")]
    Oidc(#[from] crate::oidc::OidcError),
}

/// The assembled app.
pub struct Server {
    pub router: Router,
    pub auth: SharedAuth,
    /// The webhook events received, when `SCALEKIT_WEBHOOK_SECRET` is set.
    pub webhook_events: Option<Arc<crate::webhooks::RecentEvents>>,
    /// The built-in provider, when no real one is configured.
    #[cfg(feature = "dev-idp")]
    pub dev_idp: Option<crate::dev_idp::DevIdp>,
}

/// Builds the router for `env` and `settings`; starts the built-in provider when no
/// real provider is configured.
pub async fn assemble(
    env: &EnvConfig,
    settings: &Settings,
    options: LeptosOptions,
) -> Result<Server, StartError> {
    let redirect_uri = env.app_url_for(&settings.auth.callback_path);
    let post_logout_redirect_uri = env.app_url_for(&settings.auth.post_logout_path);

    #[cfg(feature = "dev-idp")]
    let mut dev_idp = None;
    let credentials = match &env.provider {
        Some(provider) => provider.clone(),
        #[cfg(feature = "dev-idp")]
        None => {
            // Checked here too, for forks that bind their own listener around `assemble`.
            crate::config::built_in_provider_allowed(&env.app_url, None, settings.dev_idp.addr)?;
            let idp = start_dev_idp(
                settings,
                crate::dev_idp::Registration {
                    redirect_uris: vec![redirect_uri.clone()],
                    post_logout_redirect_uris: vec![post_logout_redirect_uri.clone()],
                    initiate_login_uri: Some(env.app_url_for(handlers::IDP_INITIATED_PATH)),
                    backchannel_logout_uri: Some(
                        env.app_url_for(crate::auth::server::backchannel::BACKCHANNEL_LOGOUT_PATH),
                    ),
                },
            )
            .await?;
            let credentials = crate::config::ProviderCredentials {
                environment_url: idp.issuer.clone(),
                client_id: idp.client_id.clone(),
                client_secret: idp.client_secret.clone(),
            };
            dev_idp = Some(idp);
            credentials
        }
        #[cfg(not(feature = "dev-idp"))]
        None => {
            return Err(StartError::NoProvider(
                crate::config::missing_provider_variables(|_| None),
            ))
        }
    };

    let auth_settings = &settings.auth;
    let oidc = OidcClient::new(ClientConfig {
        environment_url: credentials.environment_url,
        client_id: credentials.client_id,
        client_secret: credentials.client_secret,
        redirect_uri,
        post_logout_redirect_uri,
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
    })?;

    let secret = match &env.session_secret {
        Some(secret) => secret.expose().to_vec(),
        None => crate::oidc::authorize::random_token().into_bytes(),
    };
    let cookies = CookiePolicy::new(
        &settings.cookies,
        auth_settings.login_state_ttl_secs,
        &secret,
    );
    let session_cookies = vec![cookies.names.access, cookies.names.id];
    let store = Arc::new(crate::store::SessionStore::new(
        env.session_store_url.as_deref(),
        cookies.sealer(),
        crate::store::StoreSettings {
            // The lock outlives the provider call it covers.
            // Discovery and the token call, each bounded by the HTTP timeout, and a margin.
            refresh_lock_ttl: auth_settings.http_timeout() * 2 + Duration::from_secs(5),
            refresh_grace: Duration::from_secs(auth_settings.refresh_reuse_grace_secs),
            ended_retention: Duration::from_secs(auth_settings.session_max_lifetime_secs),
            redis_timeout: Duration::from_millis(250),
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

    let policy = Arc::new(SecurityPolicy {
        provider_origin: auth
            .oidc
            .config()
            .environment_url
            .origin()
            .ascii_serialization(),
        reload_port: std::env::var_os("LEPTOS_WATCH").map(|_| options.reload_port),
        hsts: env.app_url.scheme() == "https",
        session_cookies,
    });
    let api = crate::api::ExampleApi {
        base_url: env.app_url.as_str().trim_end_matches('/').to_string(),
        http: reqwest::Client::builder()
            .timeout(auth_settings.http_timeout())
            .build()
            .map_err(|e| {
                crate::oidc::OidcError::Unreachable(format!("cannot build the HTTP client: {e}"))
            })?,
    };
    let webhook_events = env
        .webhook_secret
        .as_ref()
        .map(|_| Arc::new(crate::webhooks::RecentEvents::default()));
    let webhooks = env
        .webhook_secret
        .clone()
        .zip(webhook_events.clone())
        .map(|(secret, events)| crate::webhooks::Webhooks::new(secret, events, store.clone()));
    let app_origin = AppOrigin(env.app_url.origin().ascii_serialization().into());
    let router = router(auth.clone(), policy, app_origin, api, webhooks, options);
    Ok(Server {
        router,
        auth,
        webhook_events,
        #[cfg(feature = "dev-idp")]
        dev_idp,
    })
}

/// Starts the built-in identity provider with this app registered as its client.
#[cfg(feature = "dev-idp")]
async fn start_dev_idp(
    settings: &Settings,
    registration: crate::dev_idp::Registration,
) -> Result<crate::dev_idp::DevIdp, StartError> {
    crate::dev_idp::DevIdp::start(&settings.dev_idp, registration)
        .await
        .map_err(|source| StartError::DevIdp {
            addr: settings.dev_idp.addr.to_string(),
            source,
        })
}

/// The app's routes and layers.
fn router(
    auth: SharedAuth,
    policy: Arc<SecurityPolicy>,
    app_origin: AppOrigin,
    api: crate::api::ExampleApi,
    webhooks: Option<crate::webhooks::Webhooks>,
    options: LeptosOptions,
) -> Router {
    let routes = route_list();
    let hashed_assets = options.hash_files;
    let context_auth = auth.clone();
    let context_policy = policy.clone();
    let handler_state = AuthHandlerState {
        auth: auth.clone(),
        options: options.clone(),
    };
    Router::new()
        .leptos_routes_with_context(
            &options,
            routes,
            move || {
                provide_context(context_auth.clone());
                provide_context(context_policy.clone());
                provide_context(api.clone());
            },
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .merge(handlers::routes(handler_state))
        .merge(crate::api::routes(auth.clone()))
        .merge(crate::auth::server::backchannel::routes(auth.clone()))
        .merge(webhooks.map(crate::webhooks::routes).unwrap_or_default())
        // A bare route: the baseline the benchmarks compare authenticated pages with,
        // and a readiness probe.
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        // Built assets, sent precompressed (.br/.gz written by scripts/build-release.sh)
        // when the browser accepts it; otherwise compressed on the fly below.
        .nest_service(
            &format!("/{}", options.site_pkg_dir),
            tower_http::services::ServeDir::new(format!(
                "{}/{}",
                options.site_root, options.site_pkg_dir
            ))
            .precompressed_br()
            .precompressed_gzip(),
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(axum::middleware::from_fn_with_state(auth, handlers::guard))
        .layer(axum::middleware::from_fn(
            malformed_arguments_are_client_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app_origin,
            same_origin_server_functions,
        ))
        .layer(CookieManagerLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            policy,
            security_headers,
        ))
        .layer(axum::middleware::from_fn(move |request, next| {
            asset_cache_headers(hashed_assets, request, next)
        }))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            RequestIds::default(),
        ))
        .with_state(options)
}

/// Numbers requests (`x-request-id`, unless the client sent one) so log lines of one
/// request can be found together.
#[derive(Clone, Default)]
struct RequestIds(Arc<std::sync::atomic::AtomicU64>);

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(
        &mut self,
        _: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        axum::http::HeaderValue::from_str(&format!("req-{n}"))
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The span every log line of a request is recorded in: method, path and request id.
/// Deliberately not the query string: the callback's carries the authorization code.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// Files under `/pkg/` carry a content hash in their names when `hash-files` is on: let
/// browsers keep them for a year. Without hashing, make browsers revalidate.
async fn asset_cache_headers(
    hashed: bool,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let is_asset = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    if is_asset && response.status().is_success() {
        let policy = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Server functions answer every error with 500, including arguments the client sent
/// malformed (a bad form body or query). Those are the client's fault: answer 400, so
/// hostile input never shows up as a server error.
async fn malformed_arguments_are_client_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::{body::Body, http::StatusCode};
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        parts.status = StatusCode::BAD_REQUEST;
        return axum::response::Response::from_parts(parts, Body::empty());
    };
    const CLIENT_FAULTS: [&[u8]; 3] = [b"Args|", b"MissingArg|", b"Deserialization|"];
    if CLIENT_FAULTS.iter().any(|prefix| bytes.starts_with(prefix)) {
        tracing::debug!("malformed server function arguments answered with 400");
        parts.status = StatusCode::BAD_REQUEST;
    }
    axum::response::Response::from_parts(parts, Body::from(bytes))
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,scalekit_leptos_starter=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

async fn start() -> Result<(), StartError> {
    #[allow(unused_mut)]
    let mut env = EnvConfig::from_process_env()?;
    #[allow(unused_mut)]
    let mut settings = Settings::load()?;
    let conf =
        get_configuration(Some("Cargo.toml")).map_err(|e| StartError::Leptos(e.to_string()))?;
    let options = conf.leptos_options;
    let addr = options.site_addr;

    // Without SCALEKIT_*, only a development machine may run: a production deployment
    // whose secrets failed to mount stops here instead of letting anyone in.
    if env.provider.is_none() {
        #[cfg(feature = "dev-idp")]
        crate::config::built_in_provider_allowed(&env.app_url, Some(addr), settings.dev_idp.addr)?;
        #[cfg(not(feature = "dev-idp"))]
        return Err(StartError::NoProvider(
            crate::config::missing_provider_variables(|name| std::env::var(name).ok()),
        ));
    }

    // Under `cargo leptos watch`, every edit restarts this process: keep the built-in
    // provider's memory and the cookie key in target/dev-state/ so people stay signed in.
    #[cfg(feature = "dev-idp")]
    if let Some(dir) = development_state_dir(&options) {
        if env.provider.is_none() {
            settings.dev_idp.state_file = Some(dir.join("dev-idp.json"));
            if env.session_secret.is_none() {
                env.session_secret = Some(
                    crate::config::SessionSecret::development(&dir).map_err(|source| {
                        StartError::DevState {
                            path: dir.display().to_string(),
                            source,
                        }
                    })?,
                );
            }
            tracing::info!(dir = %dir.display(), "development loop: sessions survive restarts");
        }
    }

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.to_string(),
            source,
        })?;
    let server = assemble(&env, &settings, options).await?;

    #[cfg(feature = "dev-idp")]
    if let Some(idp) = &server.dev_idp {
        tracing::info!(
            "built-in identity provider at {} (no Scalekit account needed). To use Scalekit, set \
             SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID, SCALEKIT_CLIENT_SECRET and SESSION_SECRET.",
            idp.issuer
        );
    }
    if env.provider.is_some() {
        tracing::info!(
            environment = %server.auth.oidc.config().environment_url,
            "using the configured identity provider"
        );
    }
    if env.session_secret.is_none() {
        tracing::info!("SESSION_SECRET is not set: sessions last until the server restarts");
    }
    tracing::info!("app at {} (listening on http://{addr})", env.app_url);

    // TCP_NODELAY: small responses written in two parts (headers, then a file body)
    // otherwise wait ~40 ms on Nagle's algorithm and delayed ACKs.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, server.router.into_make_service())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.to_string(),
            source,
        })
}

/// The app's routes, generated once per process. Generating them renders the app with
/// resource loading suspended by a process-wide flag, and a page whose resource first
/// polls meanwhile on another thread never finishes (leptos-rs/leptos#4773). One server
/// per process never overlaps the two; tests that start many servers in one process did
/// (a rare hang of a hostile-input request). Generated once, before any router exists,
/// no render can overlap it.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// `target/dev-state` (beside the site root) when running under `cargo leptos watch`,
/// which sets `LEPTOS_WATCH`; `None` otherwise, so tests and production never keep state.
#[cfg(feature = "dev-idp")]
fn development_state_dir(options: &LeptosOptions) -> Option<std::path::PathBuf> {
    std::env::var_os("LEPTOS_WATCH")?;
    let site_root = std::path::Path::new(options.site_root.as_ref());
    let target = site_root.parent().unwrap_or(std::path::Path::new("."));
    Some(target.join("dev-state"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// Starts the server; on a configuration mistake prints one line and exits with 1.
pub async fn run() -> ExitCode {
    init_tracing();
    match start().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
