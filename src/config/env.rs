//! The environment's part of the configuration (and `.env`'s): which provider, where the
//! app lives, and the keys that seal cookies and verify webhooks. Mistakes stop the server at start-up with one line
//! naming the variable, what is wrong and an example of a good value.

use url::Url;

/// Credentials of a real Scalekit environment (or any OpenID provider).
#[derive(Clone, Debug)]
pub struct ProviderCredentials {
    pub environment_url: Url,
    pub client_id: String,
    pub client_secret: crate::oidc::ClientSecret,
}

/// Everything the server reads from its environment.
#[derive(Clone, Debug)]
pub struct EnvConfig {
    /// `APP_URL`: the origin people browse the app at (default `http://localhost:3000`).
    pub app_url: Url,
    /// `SCALEKIT_*`; `None` means "use the built-in development identity provider".
    pub provider: Option<ProviderCredentials>,
    /// `SESSION_SECRET`: the key material that seals cookies.
    pub session_secret: Option<SessionSecret>,
    /// `SCALEKIT_WEBHOOK_SECRET` (`whsec_…`): enables `POST /webhooks/scalekit`.
    pub webhook_secret: Option<crate::webhooks::WebhookSecret>,
    /// `SESSION_STORE_URL` (`redis://…`): the store several instances share. Unset: this
    /// process's memory, right for one instance.
    pub session_store_url: Option<String>,
}

/// The secret that seals cookies; never printed.
#[derive(Clone)]
pub struct SessionSecret(String);

impl SessionSecret {
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// A secret someone else made, such as the built-in provider's development-loop key;
    /// shorter than [`MIN_SESSION_SECRET_LEN`] is refused.
    pub fn new(secret: String) -> Option<Self> {
        (secret.len() >= MIN_SESSION_SECRET_LEN).then_some(SessionSecret(secret))
    }
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(…)")
    }
}

/// The minimum length of `SESSION_SECRET`.
pub const MIN_SESSION_SECRET_LEN: usize = 32;

/// A configuration mistake, phrased for the person starting the server.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var} {problem} (for example {example})")]
pub struct EnvError {
    pub var: &'static str,
    pub problem: String,
    pub example: &'static str,
}

const PROVIDER_VARS: [(&str, &str); 3] = [
    ("SCALEKIT_ENVIRONMENT_URL", "https://your-env.scalekit.dev"),
    ("SCALEKIT_CLIENT_ID", "skc_12345678901234567"),
    ("SCALEKIT_CLIENT_SECRET", "test_abcdefghijklmnopqrstuvwxyz"),
];

impl EnvConfig {
    /// Reads variables through `get`; empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let app_url = match get("APP_URL") {
            None => Url::parse("http://localhost:3000").expect("the default APP_URL is valid"),
            Some(raw) => parse_app_url(&raw)?,
        };

        let values: Vec<Option<String>> = PROVIDER_VARS.iter().map(|(name, _)| get(name)).collect();
        let provider = if values.iter().all(Option::is_none) {
            None
        } else {
            if let Some(((var, example), _)) =
                PROVIDER_VARS.iter().zip(&values).find(|(_, v)| v.is_none())
            {
                return Err(EnvError {
                    var,
                    problem: "is not set, but the other SCALEKIT_* variables are: set all three, or none to use the built-in provider".into(),
                    example,
                });
            }
            let [url, id, secret] =
                [&values[0], &values[1], &values[2]].map(|v| v.clone().unwrap_or_default());
            Some(ProviderCredentials {
                environment_url: parse_environment_url(&url)?,
                client_id: id,
                client_secret: crate::oidc::ClientSecret::new(secret),
            })
        };

        let session_secret =
            match get("SESSION_SECRET") {
                Some(secret) if secret.len() < MIN_SESSION_SECRET_LEN => {
                    return Err(EnvError {
                        var: "SESSION_SECRET",
                        problem: format!(
                            "is {} characters long; it needs at least {MIN_SESSION_SECRET_LEN}",
                            secret.len()
                        ),
                        example: "the output of `openssl rand -base64 48`",
                    })
                }
                Some(secret) => Some(SessionSecret(secret)),
                None if provider.is_some() => return Err(EnvError {
                    var: "SESSION_SECRET",
                    problem:
                        "is required with a real identity provider (it seals the session cookies)"
                            .into(),
                    example: "the output of `openssl rand -base64 48`",
                }),
                None => None,
            };

        let webhook_secret = match get("SCALEKIT_WEBHOOK_SECRET") {
            None => None,
            Some(raw) => Some(crate::webhooks::WebhookSecret::parse(&raw).ok_or(EnvError {
                var: "SCALEKIT_WEBHOOK_SECRET",
                problem: "is not a whsec_ secret with a base64 key".into(),
                example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            })?),
        };

        let session_store_url = match get("SESSION_STORE_URL") {
            None => None,
            Some(url) if url.starts_with("redis://") => Some(url),
            // Not echoed: the URL may carry a password.
            Some(_) => {
                return Err(EnvError {
                    var: "SESSION_STORE_URL",
                    problem: "must be a redis:// URL (TLS is not built in: reach Redis over a private network or a TLS tunnel)".into(),
                    example: "redis://127.0.0.1:6379/0",
                })
            }
        };

        Ok(EnvConfig {
            app_url,
            provider,
            session_secret,
            webhook_secret,
            session_store_url,
        })
    }
}

fn parse_app_url(raw: &str) -> Result<Url, EnvError> {
    let bad = |problem: String| EnvError {
        var: "APP_URL",
        problem,
        example: "http://localhost:3000",
    };
    let url = Url::parse(raw).map_err(|e| bad(format!("{raw:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad(format!("{raw:?} must be an http(s) URL with a host")));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(format!(
            "{raw:?} must be an origin only, without path, query or fragment"
        )));
    }
    Ok(url)
}

fn parse_environment_url(raw: &str) -> Result<Url, EnvError> {
    let bad = |problem: String| EnvError {
        var: "SCALEKIT_ENVIRONMENT_URL",
        problem,
        example: "https://your-env.scalekit.dev",
    };
    let url = Url::parse(raw).map_err(|e| bad(format!("{raw:?} is not a URL ({e})")))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(bad(format!("{raw:?} must use https")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(format!("{raw:?} must not have a query or fragment")));
    }
    Ok(url)
}

/// The provider variables and `SESSION_SECRET` a build without the built-in provider needs,
/// and which of them `config` lacks: the start-up error names them all at once.
pub fn missing_provider_variables(get: impl Fn(&str) -> Option<String>) -> Vec<&'static str> {
    PROVIDER_VARS
        .iter()
        .map(|(name, _)| *name)
        .chain(["SESSION_SECRET"])
        .filter(|name| get(name).is_none_or(|v| v.trim().is_empty()))
        .collect()
}

impl EnvConfig {
    /// Uses a provider the server started itself (the built-in development provider):
    /// its credentials, and its development-loop cookie key unless `SESSION_SECRET` is set.
    pub fn use_built_in_provider(
        &mut self,
        issuer: Url,
        client_id: String,
        client_secret: &str,
        session_secret: Option<String>,
    ) {
        self.provider = Some(ProviderCredentials {
            environment_url: issuer,
            client_id,
            client_secret: crate::oidc::ClientSecret::new(client_secret.to_string()),
        });
        if self.session_secret.is_none() {
            self.session_secret = session_secret.and_then(SessionSecret::new);
        }
    }

    /// The absolute URL of a path of this app, e.g. the OAuth redirect URI.
    pub fn app_url_for(&self, path: &str) -> String {
        format!("{}{}", self.app_url.as_str().trim_end_matches('/'), path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> Result<EnvConfig, EnvError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EnvConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_set_means_built_in_provider_on_localhost() {
        let config = lookup(&[]).unwrap();
        assert!(config.provider.is_none());
        assert_eq!(config.app_url.as_str(), "http://localhost:3000/");
        assert_eq!(
            config.app_url_for("/auth/callback"),
            "http://localhost:3000/auth/callback"
        );
    }

    #[test]
    fn all_three_scalekit_variables_select_the_real_provider() {
        let config = lookup(&[
            ("SCALEKIT_ENVIRONMENT_URL", "https://acme.scalekit.dev"),
            ("SCALEKIT_CLIENT_ID", "skc_1"),
            ("SCALEKIT_CLIENT_SECRET", "s3cret"),
            ("SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
            ("APP_URL", "https://app.example"),
        ])
        .unwrap();
        let provider = config.provider.clone().unwrap();
        assert_eq!(provider.client_id, "skc_1");
        assert!(!format!("{provider:?}").contains("s3cret"));
        assert_eq!(config.app_url_for("/"), "https://app.example/");
    }

    #[test]
    fn partial_configuration_names_the_missing_variable() {
        let err = lookup(&[
            ("SCALEKIT_ENVIRONMENT_URL", "https://acme.scalekit.dev"),
            ("SCALEKIT_CLIENT_ID", "skc_1"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "SCALEKIT_CLIENT_SECRET");
        assert!(err
            .to_string()
            .starts_with("SCALEKIT_CLIENT_SECRET is not set"));
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let full = |url: &'static str| {
            lookup(&[
                ("SCALEKIT_ENVIRONMENT_URL", url),
                ("SCALEKIT_CLIENT_ID", "skc_1"),
                ("SCALEKIT_CLIENT_SECRET", "s"),
                ("SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
            ])
        };
        assert_eq!(
            full("not a url").unwrap_err().var,
            "SCALEKIT_ENVIRONMENT_URL"
        );
        assert_eq!(
            full("http://acme.scalekit.dev").unwrap_err().var,
            "SCALEKIT_ENVIRONMENT_URL"
        );
        assert!(
            full("http://127.0.0.1:9000").is_ok(),
            "plain http is fine on loopback"
        );
        assert_eq!(
            lookup(&[("APP_URL", "localhost:3000")]).unwrap_err().var,
            "APP_URL"
        );
        assert_eq!(
            lookup(&[("APP_URL", "http://x.example/app")])
                .unwrap_err()
                .var,
            "APP_URL"
        );
    }

    #[test]
    fn missing_provider_variables_are_named_together() {
        assert_eq!(
            missing_provider_variables(|_| None),
            [
                "SCALEKIT_ENVIRONMENT_URL",
                "SCALEKIT_CLIENT_ID",
                "SCALEKIT_CLIENT_SECRET",
                "SESSION_SECRET"
            ]
        );
        let set = |name: &str| (name == "SCALEKIT_CLIENT_ID").then(|| "skc_1".to_string());
        assert!(!missing_provider_variables(set).contains(&"SCALEKIT_CLIENT_ID"));
    }

    #[test]
    fn session_secret_rules() {
        assert_eq!(
            lookup(&[("SESSION_SECRET", "short")]).unwrap_err().var,
            "SESSION_SECRET"
        );
        let err = lookup(&[
            ("SCALEKIT_ENVIRONMENT_URL", "https://acme.scalekit.dev"),
            ("SCALEKIT_CLIENT_ID", "skc_1"),
            ("SCALEKIT_CLIENT_SECRET", "s"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "SESSION_SECRET");
        let config = lookup(&[("SESSION_SECRET", "0123456789abcdef0123456789abcdef")]).unwrap();
        assert!(!format!("{config:?}").contains("0123456789abcdef"));
    }
}
