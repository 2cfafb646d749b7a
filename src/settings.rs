//! The app's own settings, read once at start-up from `Leptos.toml`.
//!
//! cargo-leptos only reads `[package.metadata.leptos]` in `Cargo.toml`, so `Leptos.toml`
//! is free to hold what the app itself needs: scopes, paths, cookie policy and the
//! built-in identity provider's lifetimes and seeded people. A few values may be
//! overridden from the environment so tests and deployments need no second file.

use serde::Deserialize;
use std::{net::SocketAddr, path::Path, time::Duration};

/// Environment variable naming another settings file (default `Leptos.toml`).
pub const SETTINGS_FILE_VAR: &str = "APP_SETTINGS_FILE";

/// Everything in `Leptos.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub auth: AuthSettings,
    pub cookies: CookieSettings,
    pub dev_idp: DevIdpSettings,
}

/// `[auth]`: how the app speaks OpenID Connect.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub scopes: Vec<String>,
    pub callback_path: String,
    pub post_login_path: String,
    pub post_logout_path: String,
    pub protected_prefixes: Vec<String>,
    pub login_state_ttl_secs: u64,
    pub clock_leeway_secs: u64,
    pub http_connect_timeout_secs: u64,
    pub http_timeout_secs: u64,
    pub jwks_refetch_min_interval_secs: u64,
    pub refresh_reuse_grace_secs: u64,
    /// How long a session can live (its refresh tokens' life at the provider): how long
    /// a back-channel logout is remembered. Default 30 days.
    #[serde(default = "thirty_days")]
    pub session_max_lifetime_secs: u64,
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

    /// True when `path` may only be seen by signed-in people.
    pub fn is_protected(&self, path: &str) -> bool {
        self.protected_prefixes.iter().any(|prefix| {
            path.strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
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

/// `[dev_idp]`: the built-in development identity provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevIdpSettings {
    pub addr: SocketAddr,
    pub client_id: String,
    pub access_token_ttl_secs: u64,
    pub authorization_code_ttl_secs: u64,
    #[serde(default)]
    pub users: Vec<SeededUser>,
    /// Where the provider keeps its memory across restarts. Not read from `Leptos.toml`:
    /// `server::run` sets it under `cargo leptos watch` (see `dev_idp::persist`).
    #[serde(skip)]
    pub state_file: Option<std::path::PathBuf>,
}

/// A person the built-in provider knows from the start.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeededUser {
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default = "yes")]
    pub email_verified: bool,
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Roles and `resource:action` permissions put in the person's access tokens.
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

fn thirty_days() -> u64 {
    30 * 24 * 3600
}

fn yes() -> bool {
    true
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
    #[error("{var} is invalid: {message} (for example {example})")]
    Env {
        var: &'static str,
        message: String,
        example: &'static str,
    },
}

impl Settings {
    /// Loads the file named by `APP_SETTINGS_FILE` (default `Leptos.toml`), then applies
    /// the environment overrides `DEV_IDP_ADDR` and `DEV_IDP_ACCESS_TOKEN_TTL_SECS`.
    pub fn load() -> Result<Self, SettingsError> {
        let path = std::env::var(SETTINGS_FILE_VAR).unwrap_or_else(|_| "Leptos.toml".into());
        let mut settings = Self::from_file(Path::new(&path))?;
        settings.apply_env(|name| std::env::var(name).ok())?;
        Ok(settings)
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
        if auth.clock_leeway_secs > 60 {
            return Err("auth.clock_leeway_secs must be at most 60".into());
        }
        if auth.http_timeout_secs == 0 || auth.http_connect_timeout_secs == 0 {
            return Err("auth.http_*timeout_secs must be at least 1".into());
        }
        if self.dev_idp.access_token_ttl_secs == 0 {
            return Err("dev_idp.access_token_ttl_secs must be at least 1".into());
        }
        Ok(())
    }

    /// Applies environment overrides, reading variables through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), SettingsError> {
        if let Some(addr) = get("DEV_IDP_ADDR") {
            self.dev_idp.addr = addr.parse().map_err(|e| SettingsError::Env {
                var: "DEV_IDP_ADDR",
                message: format!("{e}"),
                example: "127.0.0.1:3100",
            })?;
        }
        if let Some(ttl) = get("DEV_IDP_ACCESS_TOKEN_TTL_SECS") {
            self.dev_idp.access_token_ttl_secs = match ttl.parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(SettingsError::Env {
                        var: "DEV_IDP_ACCESS_TOKEN_TTL_SECS",
                        message: format!("{ttl:?} is not a whole number of seconds above 0"),
                        example: "300",
                    })
                }
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Settings {
        Settings::from_file(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/Leptos.toml"
        )))
        .expect("the shipped Leptos.toml is valid")
    }

    #[test]
    fn shipped_settings_request_offline_access() {
        let settings = shipped();
        assert_eq!(
            settings.auth.scopes,
            ["openid", "profile", "email", "offline_access"]
        );
        assert_eq!(settings.cookies.same_site, SameSitePolicy::Lax);
        assert!(!settings.dev_idp.users.is_empty());
    }

    #[test]
    fn rejects_scopes_without_openid() {
        let text = include_str!("../Leptos.toml").replace(
            r#"scopes = ["openid", "profile", "email", "offline_access"]"#,
            r#"scopes = ["profile"]"#,
        );
        let err = Settings::from_toml(&text).unwrap_err();
        assert!(err.contains("openid"), "{err}");
    }

    #[test]
    fn protected_prefixes_match_whole_segments() {
        let settings = shipped();
        assert!(settings.auth.is_protected("/dashboard"));
        assert!(settings.auth.is_protected("/dashboard/profile"));
        assert!(!settings.auth.is_protected("/dashboards"));
        assert!(!settings.auth.is_protected("/"));
    }

    #[test]
    fn rejects_unknown_keys() {
        let text = format!("{}\n[extra]\nx = 1\n", include_str!("../Leptos.toml"));
        assert!(Settings::from_toml(&text).is_err());
    }

    #[test]
    fn env_overrides_apply_and_bad_values_name_the_variable() {
        let mut settings = shipped();
        settings
            .apply_env(|name| match name {
                "DEV_IDP_ACCESS_TOKEN_TTL_SECS" => Some("7".into()),
                "DEV_IDP_ADDR" => Some("127.0.0.1:0".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(settings.dev_idp.access_token_ttl_secs, 7);
        assert_eq!(settings.dev_idp.addr.port(), 0);

        let err = settings
            .apply_env(|name| (name == "DEV_IDP_ACCESS_TOKEN_TTL_SECS").then(|| "soon".into()))
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("DEV_IDP_ACCESS_TOKEN_TTL_SECS is invalid"));
    }
}
