//! Provider metadata: from `/.well-known/openid-configuration` when the provider serves
//! it, otherwise Scalekit's fixed paths (what Scalekit's own SDKs hard-code).

use super::{validate::ALLOWED_ALGORITHMS, OidcError};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use url::Url;

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body (what Scalekit expects).
    Post,
    /// HTTP Basic with the URL-encoded id and secret.
    Basic,
}

/// The endpoints and issuer the app talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The exact `iss` every token must carry.
    pub issuer: String,
    /// Where people are sent to log in.
    pub authorization_endpoint: Url,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: Url,
    /// The provider's public signing keys.
    pub jwks_uri: Url,
    /// RP-initiated logout, when the provider supports it.
    pub end_session_endpoint: Option<Url>,
    /// Where profile claims are served when the ID token carries only `sub` (OIDC Core
    /// 5.3; what providers following §5.4 strictly do for the code flow).
    pub userinfo_endpoint: Option<Url>,
    /// Token revocation (RFC 7009), when the provider offers it: logout revokes the
    /// refresh token there, so a copied refresh cookie is dead after logout.
    pub revocation_endpoint: Option<Url>,
    /// How we authenticate at the token endpoint.
    pub client_auth: ClientAuthMethod,
    /// Signature algorithms accepted for this provider: our allow-list, narrowed to what
    /// the provider says it signs with.
    pub signing_algorithms: Vec<Algorithm>,
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    end_session_endpoint: Option<String>,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Option<Vec<String>>,
}

/// `client_secret_post` unless the provider lists methods without it but with
/// `client_secret_basic`.
fn client_auth_from(methods: Option<&[String]>) -> ClientAuthMethod {
    match methods {
        Some(m)
            if !m.iter().any(|x| x == "client_secret_post")
                && m.iter().any(|x| x == "client_secret_basic") =>
        {
            ClientAuthMethod::Basic
        }
        _ => ClientAuthMethod::Post,
    }
}

/// The allow-list narrowed to the provider's advertised algorithms (never `none` or
/// HMAC, whatever it advertises). Without a list, the whole allow-list.
fn algorithms_from(advertised: Option<&[String]>) -> Vec<Algorithm> {
    match advertised {
        None => ALLOWED_ALGORITHMS.to_vec(),
        Some(names) => ALLOWED_ALGORITHMS
            .iter()
            .copied()
            .filter(|alg| {
                names
                    .iter()
                    .any(|n| n.parse::<Algorithm>().ok() == Some(*alg))
            })
            .collect(),
    }
}

/// The path of the discovery document below the environment URL.
pub const DISCOVERY_PATH: &str = ".well-known/openid-configuration";

impl ProviderMetadata {
    /// Scalekit's endpoints below an environment URL, with the environment URL as issuer.
    pub fn scalekit_defaults(environment_url: &Url) -> Self {
        let base = with_trailing_slash(environment_url);
        let join = |path: &str| base.join(path).unwrap_or_else(|_| base.clone());
        ProviderMetadata {
            issuer: environment_url.as_str().trim_end_matches('/').to_string(),
            authorization_endpoint: join("oauth/authorize"),
            token_endpoint: join("oauth/token"),
            jwks_uri: join("keys"),
            end_session_endpoint: Some(join("oidc/logout")),
            // Scalekit's ID tokens carry the profile claims themselves.
            userinfo_endpoint: None,
            // Without discovery we do not guess: revocation only where advertised.
            revocation_endpoint: None,
            client_auth: ClientAuthMethod::Post,
            signing_algorithms: vec![Algorithm::RS256],
        }
    }

    /// Parses a discovery document fetched from `environment_url`.
    ///
    /// The document's `issuer` must name the environment it was fetched from (a trailing
    /// slash aside): a document that claims another issuer is refused, so a compromised
    /// or misconfigured URL cannot make us trust someone else's tokens.
    pub fn from_document(environment_url: &Url, body: &[u8]) -> Result<Self, OidcError> {
        let endpoint = discovery_url(environment_url).to_string();
        let malformed = |message: String| OidcError::Malformed {
            endpoint: endpoint.clone(),
            message,
        };
        let doc: DiscoveryDocument =
            serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))?;
        if doc.issuer.trim_end_matches('/') != environment_url.as_str().trim_end_matches('/') {
            return Err(malformed(format!(
                "issuer {:?} does not match {environment_url}",
                doc.issuer
            )));
        }
        let parse = |name: &str, value: &str| {
            Url::parse(value).map_err(|e| malformed(format!("{name} {value:?}: {e}")))
        };
        Ok(ProviderMetadata {
            authorization_endpoint: parse("authorization_endpoint", &doc.authorization_endpoint)?,
            token_endpoint: parse("token_endpoint", &doc.token_endpoint)?,
            jwks_uri: parse("jwks_uri", &doc.jwks_uri)?,
            end_session_endpoint: doc
                .end_session_endpoint
                .as_deref()
                .map(|v| parse("end_session_endpoint", v))
                .transpose()?,
            userinfo_endpoint: doc
                .userinfo_endpoint
                .as_deref()
                .map(|v| parse("userinfo_endpoint", v))
                .transpose()?,
            revocation_endpoint: doc
                .revocation_endpoint
                .as_deref()
                .map(|v| parse("revocation_endpoint", v))
                .transpose()?,
            client_auth: client_auth_from(doc.token_endpoint_auth_methods_supported.as_deref()),
            signing_algorithms: {
                let algs = algorithms_from(doc.id_token_signing_alg_values_supported.as_deref());
                if algs.is_empty() {
                    return Err(malformed(
                        "the provider signs with no algorithm we accept".into(),
                    ));
                }
                algs
            },
            issuer: doc.issuer,
        })
    }
}

/// `<environment>/.well-known/openid-configuration`.
pub fn discovery_url(environment_url: &Url) -> Url {
    let base = with_trailing_slash(environment_url);
    base.join(DISCOVERY_PATH).unwrap_or(base)
}

fn with_trailing_slash(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// Fetches the provider's metadata: the discovery document when the environment serves
/// one (HTTP 200), Scalekit's fixed paths when it answers 404. Any other answer is an
/// error, so a passing outage is retried later instead of being remembered.
pub async fn discover(
    http: &reqwest::Client,
    environment_url: &Url,
) -> Result<ProviderMetadata, OidcError> {
    let url = discovery_url(environment_url);
    let endpoint = url.to_string();
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| OidcError::from_http(&endpoint, e))?;
    match response.status().as_u16() {
        200 => {
            let body = super::http::read_body(response, &endpoint).await?;
            ProviderMetadata::from_document(environment_url, &body)
        }
        404 => Ok(ProviderMetadata::scalekit_defaults(environment_url)),
        status => Err(OidcError::UnexpectedStatus { endpoint, status }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalekit_defaults_use_the_sdk_paths() {
        let env = Url::parse("https://acme.scalekit.dev").unwrap();
        let m = ProviderMetadata::scalekit_defaults(&env);
        assert_eq!(m.issuer, "https://acme.scalekit.dev");
        assert_eq!(
            m.authorization_endpoint.as_str(),
            "https://acme.scalekit.dev/oauth/authorize"
        );
        assert_eq!(
            m.token_endpoint.as_str(),
            "https://acme.scalekit.dev/oauth/token"
        );
        assert_eq!(m.jwks_uri.as_str(), "https://acme.scalekit.dev/keys");
        assert_eq!(
            m.end_session_endpoint.unwrap().as_str(),
            "https://acme.scalekit.dev/oidc/logout"
        );
    }

    #[test]
    fn discovery_document_endpoints_win() {
        let env = Url::parse("https://idp.example/tenant").unwrap();
        assert_eq!(
            discovery_url(&env).as_str(),
            "https://idp.example/tenant/.well-known/openid-configuration"
        );
        let doc = br#"{"issuer":"https://idp.example/tenant","authorization_endpoint":"https://idp.example/a",
            "token_endpoint":"https://idp.example/t","jwks_uri":"https://idp.example/k","extra":1}"#;
        let m = ProviderMetadata::from_document(&env, doc).unwrap();
        assert_eq!(m.issuer, "https://idp.example/tenant");
        assert_eq!(m.token_endpoint.as_str(), "https://idp.example/t");
        assert_eq!(m.end_session_endpoint, None);
        assert_eq!(m.userinfo_endpoint, None);
        let with_userinfo = br#"{"issuer":"https://idp.example/tenant","authorization_endpoint":"https://idp.example/a",
            "token_endpoint":"https://idp.example/t","jwks_uri":"https://idp.example/k",
            "userinfo_endpoint":"https://idp.example/me"}"#;
        let m = ProviderMetadata::from_document(&env, with_userinfo).unwrap();
        assert_eq!(
            m.userinfo_endpoint.unwrap().as_str(),
            "https://idp.example/me"
        );
    }

    #[test]
    fn discovery_chooses_client_authentication_and_narrows_algorithms() {
        let env = Url::parse("https://idp.example").unwrap();
        let doc = |extra: &str| {
            format!(
                r#"{{"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/a",
                "token_endpoint":"https://idp.example/t","jwks_uri":"https://idp.example/k"{extra}}}"#
            )
        };
        let m = ProviderMetadata::from_document(&env, doc("").as_bytes()).unwrap();
        assert_eq!(m.client_auth, ClientAuthMethod::Post);
        assert_eq!(m.signing_algorithms, ALLOWED_ALGORITHMS);
        let basic = doc(
            r#","token_endpoint_auth_methods_supported":["client_secret_basic","private_key_jwt"]"#,
        );
        let m = ProviderMetadata::from_document(&env, basic.as_bytes()).unwrap();
        assert_eq!(m.client_auth, ClientAuthMethod::Basic);
        let both = doc(
            r#","token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"]"#,
        );
        assert_eq!(
            ProviderMetadata::from_document(&env, both.as_bytes())
                .unwrap()
                .client_auth,
            ClientAuthMethod::Post
        );
        let algs = doc(r#","id_token_signing_alg_values_supported":["ES256","HS256","none"]"#);
        let m = ProviderMetadata::from_document(&env, algs.as_bytes()).unwrap();
        assert_eq!(
            m.signing_algorithms,
            vec![Algorithm::ES256],
            "HS256 and none are never accepted"
        );
        let only_hmac = doc(r#","id_token_signing_alg_values_supported":["HS256"]"#);
        assert!(ProviderMetadata::from_document(&env, only_hmac.as_bytes()).is_err());
    }

    #[test]
    fn discovery_document_naming_another_issuer_is_refused() {
        let env = Url::parse("https://idp.example").unwrap();
        let doc =
            br#"{"issuer":"https://evil.example","authorization_endpoint":"https://idp.example/a",
            "token_endpoint":"https://idp.example/t","jwks_uri":"https://idp.example/k"}"#;
        let err = ProviderMetadata::from_document(&env, doc).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        assert!(ProviderMetadata::from_document(&env, b"<html>").is_err());
    }
}
