//! The provider's settings: `dev-idp.toml`, compiled in, with two environment overrides.

use serde::Deserialize;
use std::net::SocketAddr;

/// The shipped settings file.
const SHIPPED: &str = include_str!("../dev-idp.toml");

/// How the provider runs and whom it knows.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevIdpSettings {
    /// Where it listens (port 0 picks a free port).
    pub addr: SocketAddr,
    /// The one client it knows: the app.
    pub client_id: String,
    pub access_token_ttl_secs: u64,
    pub authorization_code_ttl_secs: u64,
    /// People who can log in straight away.
    #[serde(default)]
    pub users: Vec<SeededUser>,
    /// The app's client secret; `None` makes a random one at start-up. Never read from
    /// the file: tests that restart the provider under the same app set it.
    #[serde(skip)]
    pub client_secret: Option<String>,
    /// Where the provider keeps its memory across restarts (the development loop; see
    /// [`crate::persist`]). Never read from the file.
    #[serde(skip)]
    pub state_file: Option<std::path::PathBuf>,
}

/// A person the provider knows from the start.
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

fn yes() -> bool {
    true
}

/// A setting the environment got wrong, phrased for the person starting the server.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var} is invalid: {message} (for example {example})")]
pub struct SettingsError {
    pub var: &'static str,
    pub message: String,
    pub example: &'static str,
}

impl Default for DevIdpSettings {
    /// The shipped `dev-idp.toml`.
    fn default() -> Self {
        toml::from_str(SHIPPED).expect("the shipped dev-idp.toml is valid (a unit test checks)")
    }
}

impl DevIdpSettings {
    /// The shipped settings with `DEV_IDP_ADDR` and `DEV_IDP_ACCESS_TOKEN_TTL_SECS` from
    /// the environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        let mut settings = Self::default();
        settings.apply_env(|name| std::env::var(name).ok())?;
        Ok(settings)
    }

    /// Applies the environment overrides, reading variables through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), SettingsError> {
        if let Some(addr) = get("DEV_IDP_ADDR") {
            self.addr = addr.parse().map_err(|e| SettingsError {
                var: "DEV_IDP_ADDR",
                message: format!("{e}"),
                example: "127.0.0.1:3100",
            })?;
        }
        if let Some(ttl) = get("DEV_IDP_ACCESS_TOKEN_TTL_SECS") {
            self.access_token_ttl_secs = match ttl.parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(SettingsError {
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

    #[test]
    fn the_shipped_file_is_valid_and_seeds_people() {
        let settings: DevIdpSettings = toml::from_str(SHIPPED).unwrap();
        assert!(settings.access_token_ttl_secs > 0);
        assert!(settings.users.iter().any(|u| u.email == "ada@example.com"));
    }

    #[test]
    fn env_overrides_apply_and_bad_values_name_the_variable() {
        let mut settings = DevIdpSettings::default();
        settings
            .apply_env(|name| match name {
                "DEV_IDP_ACCESS_TOKEN_TTL_SECS" => Some("7".into()),
                "DEV_IDP_ADDR" => Some("127.0.0.1:0".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(settings.access_token_ttl_secs, 7);
        assert_eq!(settings.addr.port(), 0);

        for bad in ["soon", "0"] {
            let err = settings
                .apply_env(|name| (name == "DEV_IDP_ACCESS_TOKEN_TTL_SECS").then(|| bad.into()))
                .unwrap_err();
            assert_eq!(err.var, "DEV_IDP_ACCESS_TOKEN_TTL_SECS");
        }
    }
}
