//! The app's configuration, read once at start-up into one [`AppConfig`]:
//!
//! - [`env`](mod@env): the environment (and `.env`): the provider's credentials, `APP_URL`, the
//!   secrets, the shared store. Mistakes stop the server with one line naming the
//!   variable.
//! - [`file`](mod@file): `Leptos.toml`, the app's behaviour (scopes, paths, timeouts, cookie
//!   policy); compiled in, so optional in production.
//! - [`leptos_options`]: Leptos' own options from `LEPTOS_*` variables or the values
//!   cargo-leptos compiled in; `Cargo.toml` is never read at run time.

pub mod env;
pub mod file;
pub mod leptos_options;

pub use env::{
    missing_provider_variables, EnvConfig, EnvError, ProviderCredentials, SessionSecret,
};
pub use file::{AuthSettings, CookieSettings, SameSitePolicy, Settings, SettingsError};
use leptos::config::LeptosOptions;

/// Everything the server is configured with.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// From the environment: who the provider is, where the app lives, the secrets.
    pub env: EnvConfig,
    /// From `Leptos.toml`: how the app behaves.
    pub settings: Settings,
    /// Leptos' options: where the built site is and where to listen.
    pub leptos: LeptosOptions,
    /// Running under `cargo leptos watch` (`LEPTOS_WATCH`): pages may open the live-reload
    /// websocket.
    pub watching: bool,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    File(#[from] SettingsError),
}

/// The URLs a provider must know about this app: register them in the Scalekit dashboard
/// (the built-in provider is told them at start-up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientUrls {
    /// Where the provider sends people back with the authorization code.
    pub redirect_uri: String,
    /// Where the provider sends people after logout.
    pub post_logout_redirect_uri: String,
    /// Where the provider starts IdP-initiated logins.
    pub initiate_login_uri: String,
    /// Where the provider posts logout tokens (back-channel logout).
    pub backchannel_logout_uri: String,
}

impl AppConfig {
    /// Reads the process environment (after loading `.env`, if there is one), the
    /// settings file and Leptos' options.
    pub fn load() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is reported by the variables it lacks.
        let _ = dotenvy::dotenv();
        let get = |name: &str| std::env::var(name).ok();
        Ok(AppConfig {
            env: EnvConfig::from_lookup(get)?,
            settings: Settings::load(get)?,
            leptos: leptos_options::from_lookup(get)?,
            watching: get("LEPTOS_WATCH").is_some(),
        })
    }

    /// The configuration for variables read through `get` and the shipped settings:
    /// what tests and embedders start from.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(AppConfig {
            env: EnvConfig::from_lookup(&get)?,
            settings: Settings::shipped(),
            leptos: leptos_options::from_lookup(&get)?,
            watching: get("LEPTOS_WATCH").is_some(),
        })
    }

    /// The absolute URL of a path of this app.
    pub fn app_url_for(&self, path: &str) -> String {
        self.env.app_url_for(path)
    }

    /// The URLs the provider must know (see [`ClientUrls`]).
    pub fn client_urls(&self) -> ClientUrls {
        ClientUrls {
            redirect_uri: self.app_url_for(&self.settings.auth.callback_path),
            post_logout_redirect_uri: self.app_url_for(&self.settings.auth.post_logout_path),
            initiate_login_uri: self.app_url_for(crate::auth::server::IDP_INITIATED_PATH),
            backchannel_logout_uri: self.app_url_for(crate::auth::server::BACKCHANNEL_LOGOUT_PATH),
        }
    }
}
