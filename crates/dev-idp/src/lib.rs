//! The built-in development identity provider.
//!
//! When no `SCALEKIT_*` variables are set, the app's server starts this provider on its
//! own listener (by default `http://127.0.0.1:3100`: another *site* than the app on
//! `localhost`, exactly like a real provider), so a newcomer gets a working login with no
//! account and no network. It speaks the same protocol as Scalekit and as any standard
//! OpenID provider: discovery, a hosted login/sign-up page, the token endpoint
//! (authorization code with PKCE, rotating refresh tokens), an RS256 key set,
//! RP-initiated and back-channel logout, and token revocation. The app talks to it
//! through the same OIDC client it uses for Scalekit and knows nothing else about it:
//! one `cfg` block in the app's `src/server/start.rs` starts it, so deleting this crate
//! (and that block, and its line in `Cargo.toml`) removes it.
//!
//! It has no passwords: anyone can sign in as anyone. [`DevIdp::start_for_local_app`]
//! refuses to run unless the app is local development. Everything lives in memory
//! (or, under `cargo leptos watch`, in `target/dev-state/`). It is not for production.
//!
//! The `testing` feature adds `DevIdp::misbehave`, with which the app's tests make it
//! send broken or hostile answers; without it those switches are compiled out.

mod authorize;
mod backchannel;
mod counters;
mod crypto;
mod keys;
mod local_only;
mod misbehaviour;
mod pages;
pub mod persist;
mod revocation;
mod routes;
pub mod settings;
mod store;
mod token;
mod tokens;

use std::{net::SocketAddr, sync::Arc};
use tokio::net::TcpListener;
use url::Url;

pub use local_only::{LocalApp, NotLocal, StartError};
#[cfg(feature = "testing")]
pub use misbehaviour::Misbehaviour;
pub use settings::{DevIdpSettings, SeededUser};
pub use store::Counters;

/// The client secret the provider made for the app at start-up; never printed.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// The secret itself, for the app's configuration.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(…)")
    }
}

/// The app's registration with the provider: where it may send people back.
#[derive(Clone, Debug, Default)]
pub struct Registration {
    /// Exact redirect URIs allowed at `/oauth/authorize`.
    pub redirect_uris: Vec<String>,
    /// Exact URIs allowed as `post_logout_redirect_uri`.
    pub post_logout_redirect_uris: Vec<String>,
    /// The app's "initiate login URL", for IdP-initiated logins.
    pub initiate_login_uri: Option<String>,
    /// Where logout tokens are posted when a session ends here (back-channel logout).
    pub backchannel_logout_uri: Option<String>,
}

/// A running built-in provider.
pub struct DevIdp {
    /// The issuer, e.g. `http://127.0.0.1:3100` (use as the environment URL).
    pub issuer: Url,
    pub addr: SocketAddr,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Under `cargo leptos watch`: the cookie key the app should use, kept beside the
    /// provider's memory so people stay signed in across restarts.
    pub development_session_secret: Option<String>,
    state: Arc<store::IdpState>,
}

impl DevIdp {
    /// Binds `settings.addr` (port 0 picks a free port) and serves in the background.
    pub async fn start(
        settings: &DevIdpSettings,
        registration: Registration,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(settings.addr).await?;
        Self::serve(listener, settings, registration).await
    }

    /// Serves on an already bound listener.
    pub async fn serve(
        listener: TcpListener,
        settings: &DevIdpSettings,
        registration: Registration,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let issuer = Url::parse(&format!("http://{addr}"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let client_secret = settings
            .client_secret
            .clone()
            .unwrap_or_else(crypto::random_token);
        let state = Arc::new(store::IdpState::new(
            settings,
            registration,
            issuer.as_str().trim_end_matches('/').to_string(),
            client_secret.clone(),
        )?);
        let app = routes::router(state.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(%err, "the built-in identity provider stopped");
            }
        });
        Ok(DevIdp {
            issuer,
            addr,
            client_id: settings.client_id.clone(),
            client_secret: ClientSecret(client_secret),
            development_session_secret: None,
            state,
        })
    }

    #[cfg(feature = "testing")]
    /// Makes the provider misbehave from now on (`None` restores normal behaviour).
    /// [`Misbehaviour::RotateKeys`] rotates the signing key at once and then behaves.
    /// Reachable only from Rust code that holds this value: tests.
    pub fn misbehave(&self, misbehaviour: Option<Misbehaviour>) -> std::io::Result<()> {
        if misbehaviour == Some(Misbehaviour::RotateKeys) {
            self.state.set_misbehaviour(None);
            return self.state.rotate_key();
        }
        self.state.set_misbehaviour(misbehaviour);
        Ok(())
    }

    #[cfg(feature = "testing")]
    /// A logout token with `claims`, signed with the provider's current key (`typ:
    /// logout+jwt`): tests send forged, replayed or malformed ones with it.
    pub fn sign_logout_token(&self, claims: &serde_json::Value) -> Option<String> {
        self.state
            .current_key()
            .sign_typed(claims, "logout+jwt")
            .ok()
    }

    /// How many requests each endpoint has served (for tests and benchmarks).
    pub fn counters(&self) -> &Counters {
        &self.state.counters
    }
}
