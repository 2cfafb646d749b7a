//! Starting the server: configuration, the built-in provider when no real one is
//! configured, the listener, graceful shutdown.

use super::{assemble, StartError};
use crate::config::AppConfig;
use axum::serve::ListenerExt;
use std::process::ExitCode;

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
    let mut config = AppConfig::load()?;
    let addr = config.leptos.site_addr;
    if let Some(provider) = &config.env.provider {
        tracing::info!(environment = %provider.environment_url, "using the configured identity provider");
    }

    #[cfg(feature = "dev-idp")]
    // No SCALEKIT_*: the built-in development provider (crates/dev-idp), which refuses to
    // run anywhere but on this machine. To remove it, delete this block, the crate and
    // the lines marked `# built-in provider` in Cargo.toml.
    if config.env.provider.is_none() {
        let urls = config.client_urls();
        let idp = dev_idp::DevIdp::start_for_local_app(dev_idp::LocalApp {
            url: config.env.app_url.clone(),
            listen_addr: Some(addr),
            registration: dev_idp::Registration {
                redirect_uris: vec![urls.redirect_uri],
                post_logout_redirect_uris: vec![urls.post_logout_redirect_uri],
                initiate_login_uri: Some(urls.initiate_login_uri),
                backchannel_logout_uri: Some(urls.backchannel_logout_uri),
            },
            state_dir: dev_idp::persist::development_state_dir(&config.leptos.site_root),
        })
        .await
        .map_err(|err| StartError::BuiltInProvider(Box::new(err)))?;
        config.env.use_built_in_provider(
            idp.issuer.clone(),
            idp.client_id.clone(),
            idp.client_secret.expose(),
            idp.development_session_secret.clone(),
        );
        tracing::info!(
            "built-in identity provider at {} (no Scalekit account needed). To use Scalekit, set \
             SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID, SCALEKIT_CLIENT_SECRET and SESSION_SECRET.",
            idp.issuer
        );
    }

    // Without SCALEKIT_* (and without the built-in provider), nothing may run: a
    // production deployment whose secrets failed to mount stops here and says what to set.
    if config.env.provider.is_none() {
        return Err(StartError::NoProvider(
            crate::config::missing_provider_variables(|name| std::env::var(name).ok()),
        ));
    }
    if config.env.session_secret.is_none() {
        tracing::info!("SESSION_SECRET is not set: sessions last until the server restarts");
    }

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.to_string(),
            source,
        })?;
    let server = assemble(&config)?;
    tracing::info!("app at {} (listening on http://{addr})", config.env.app_url);

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
