//! The file's part of the configuration: `Leptos.toml`, the app's own settings (scopes,
//! paths, timeouts, cookie policy).
//!
//! cargo-leptos only reads `[package.metadata.leptos]` in `Cargo.toml`, so `Leptos.toml`
//! is free to hold what the app itself needs. The shipped file is compiled in, so a
//! deployment needs no copy of it; a `Leptos.toml` in the working directory (or the file
//! `APP_SETTINGS_FILE` names) replaces it as a whole.

use serde::Deserialize;
use std::{path::Path, time::Duration};

/// The shipped `Leptos.toml`, compiled in.
pub const SHIPPED: &str = include_str!("../../Leptos.toml");

/// Environment variable naming another settings file (default `Leptos.toml`).
pub const SETTINGS_FILE_VAR: &str = "APP_SETTINGS_FILE";

/// Everything in `Leptos.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub auth: AuthSettings,
    pub cookies: CookieSettings,
}

/// `[auth]`: how the app speaks OpenID Connect.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub scopes: Vec<String>,
    pub callback_path: String,
    pub post_login_path: String,
    pub post_logout_path: String,
    pub login_state_ttl_secs: u64,
    pub clock_leeway_secs: u64,
    pub http_connect_timeout_secs: u64,
    pub http_timeout_secs: u64,
    /// How long a person may wait, at most, for anything that needs the provider.
    pub provider_budget_ms: u64,
    /// Failures in a row that open the circuit breaker.
    pub breaker_failures: u32,
    /// Its first pause.
    pub breaker_open_secs: u64,
    /// Its longest pause.
    pub breaker_max_open_secs: u64,
    pub jwks_refetch_min_interval_secs: u64,
    pub refresh_reuse_grace_secs: u64,
    /// How long a session can live (its refresh tokens' life at the provider): how long
    /// a back-channel logout is remembered. Default 30 days.
    #[serde(default = "thirty_days")]
    pub session_max_lifetime_secs: u64,
    /// Most entries in each of the server's in-process maps (ended sessions, ids already
    /// seen); past it the oldest tenth is forgotten. Default 100 000.
    #[serde(default = "hundred_thousand")]
    pub memory_map_capacity: usize,
    /// Social login buttons on the home page (`provider=` values Scalekit knows).
    #[serde(default)]
    pub social_providers: Vec<String>,
    /// How the app authenticates at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_method: TokenEndpointAuthSetting,
}

/// `token_endpoint_auth_method`: what the client is registered for at the provider.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthSetting {
    /// `client_secret_post` when the provider advertises it (Scalekit), else
    /// `client_secret_basic`.
    #[default]
    Auto,
    /// The secret in the form body.
    ClientSecretPost,
    /// The secret in an HTTP Basic header (the OAuth 2.0 default; e.g. Okta's).
    ClientSecretBasic,
}

impl AuthSettings {
    pub fn http_connect_timeout(&self) -> Duration {
        Duration::from_secs(self.http_connect_timeout_secs)
    }
    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs(self.http_timeout_secs)
    }
    /// The whole wait for the provider in one page or action.
    pub fn provider_budget(&self) -> Duration {
        Duration::from_millis(self.provider_budget_ms)
    }
}

/// `[cookies]`: the session cookie policy (applied in `auth::server::cookies`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookieSettings {
    pub secure: bool,
    pub same_site: SameSitePolicy,
    pub access_token_expiry_margin_secs: u64,
}

/// The `SameSite` attribute of the auth cookies.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum SameSitePolicy {
    Lax,
    Strict,
    None,
}

fn hundred_thousand() -> usize {
    100_000
}

fn thirty_days() -> u64 {
    30 * 24 * 3600
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("settings file {path} is invalid: {message}")]
    Parse { path: String, message: String },
}

impl Settings {
    /// The file named by `APP_SETTINGS_FILE`, else `Leptos.toml` in the working
    /// directory, else the shipped settings compiled into the binary. Says which at
    /// start-up: instances behind one balancer must use the same.
    pub fn load(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let file = get(SETTINGS_FILE_VAR).or_else(|| {
            Path::new("Leptos.toml")
                .is_file()
                .then(|| "Leptos.toml".into())
        });
        match file {
            Some(path) => {
                tracing::info!(%path, "settings from this file");
                Self::from_file(Path::new(&path))
            }
            None => {
                tracing::info!("settings compiled in (no Leptos.toml in the working directory)");
                Ok(Self::shipped())
            }
        }
    }

    /// The shipped settings, compiled in.
    pub fn shipped() -> Self {
        Self::from_toml(SHIPPED).expect("the shipped Leptos.toml is valid (a unit test checks)")
    }

    /// Parses a settings file without applying environment overrides.
    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| SettingsError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses settings from TOML text and checks the values that have limits.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let settings: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), String> {
        let auth = &self.auth;
        if !auth.scopes.iter().any(|s| s == "openid") {
            return Err("auth.scopes must contain \"openid\"".into());
        }
        for (name, path) in [
            ("auth.callback_path", &auth.callback_path),
            ("auth.post_login_path", &auth.post_login_path),
            ("auth.post_logout_path", &auth.post_logout_path),
        ] {
            if !path.starts_with('/') || path.starts_with("//") {
                return Err(format!("{name} must be a path starting with one '/'"));
            }
        }
        if auth.memory_map_capacity < 100 {
            return Err("auth.memory_map_capacity must be at least 100".into());
        }
        if auth.clock_leeway_secs > 60 {
            return Err("auth.clock_leeway_secs must be at most 60".into());
        }
        if auth.http_timeout_secs == 0 || auth.http_connect_timeout_secs == 0 {
            return Err("auth.http_*timeout_secs must be at least 1".into());
        }
        if auth.provider_budget_ms < 1000 {
            return Err("auth.provider_budget_ms must be at least 1000".into());
        }
        // A call that may outlast the budget is cut off unfinished; one that runs in a
        // task of its own (a refresh) would hold the breaker back until it times out.
        if auth.http_timeout_secs.saturating_mul(1000) >= auth.provider_budget_ms {
            return Err(format!(
                "auth.http_timeout_secs ({} s) must be below auth.provider_budget_ms ({} ms): a provider call must be able to fail within a request's budget",
                auth.http_timeout_secs, auth.provider_budget_ms
            ));
        }
        if auth.breaker_failures == 0
            || auth.breaker_open_secs == 0
            || auth.breaker_max_open_secs < auth.breaker_open_secs
        {
            return Err("auth.breaker_failures and auth.breaker_open_secs must be at least 1, and auth.breaker_max_open_secs at least breaker_open_secs".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Settings {
        Settings::from_toml(SHIPPED).expect("the shipped Leptos.toml is valid")
    }

    #[test]
    fn shipped_settings_request_offline_access() {
        let settings = shipped();
        assert_eq!(
            settings.auth.scopes,
            ["openid", "profile", "email", "offline_access"]
        );
        assert_eq!(settings.cookies.same_site, SameSitePolicy::Lax);
    }

    #[test]
    fn rejects_scopes_without_openid() {
        let text = SHIPPED.replace(
            r#"scopes = ["openid", "profile", "email", "offline_access"]"#,
            r#"scopes = ["profile"]"#,
        );
        let err = Settings::from_toml(&text).unwrap_err();
        assert!(err.contains("openid"), "{err}");
    }

    #[test]
    fn rejects_an_http_timeout_that_outlasts_the_budget() {
        let text = SHIPPED.replace("http_timeout_secs = 4", "http_timeout_secs = 30");
        assert_ne!(text, SHIPPED);
        let err = Settings::from_toml(&text).unwrap_err();
        assert!(err.contains("provider_budget_ms"), "{err}");
    }

    #[test]
    fn rejects_unknown_keys() {
        let text = format!("{}\n[extra]\nx = 1\n", SHIPPED);
        assert!(Settings::from_toml(&text).is_err());
    }
}
