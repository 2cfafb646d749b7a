//! The authorization request: the URL that sends a person to the provider's hosted page.

use crate::util::random_token;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};
use url::Url;

/// What the hosted page should do (`prompt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// Ask for credentials even if the provider remembers the person.
    Login,
    /// Open the sign-up form.
    Create,
    /// Let the person choose among their organizations.
    SelectAccount,
    /// Do not show any page: answer at once, or fail with `login_required`.
    None,
}

impl Prompt {
    /// The parameter value (`login`, `create`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Prompt::Login => "login",
            Prompt::Create => "create",
            Prompt::SelectAccount => "select_account",
            Prompt::None => "none",
        }
    }
}

/// The optional parameters of an authorization request; each is sent only when set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationOptions {
    /// `prompt`: show the sign-up page, force a login, or ask to pick an account.
    pub prompt: Option<Prompt>,
    /// Prefills the email and lets the provider route to the right SSO connection.
    pub login_hint: Option<String>,
    /// The organization's domain, for SSO routing.
    pub domain_hint: Option<String>,
    /// `organization_id`: log in through this organization's SSO.
    pub organization_id: Option<String>,
    /// `connection_id`: log in through this SSO connection.
    pub connection_id: Option<String>,
    /// A social provider to go straight to (`google`, `microsoft`, `github`, ...).
    pub provider: Option<String>,
}

/// Everything that goes into one authorization URL.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest<'a> {
    /// Our client id.
    pub client_id: &'a str,
    /// Where the provider sends the person back (`APP_URL/auth/callback`).
    pub redirect_uri: &'a str,
    /// Requested scopes (`openid profile email offline_access`).
    pub scopes: &'a [String],
    /// Random, single-use: ties the callback to this browser's login (CSRF).
    pub state: &'a str,
    /// Random, single-use: must come back in the ID token (replay protection).
    pub nonce: &'a str,
    /// PKCE S256 challenge of the verifier kept in the login state.
    pub code_challenge: &'a str,
    /// Optional routing and prompt parameters.
    pub options: &'a AuthorizationOptions,
}

/// Builds the authorization URL: `response_type=code`, the client, the scopes, `state`,
/// `nonce` and an S256 PKCE challenge always, then each option that is set.
pub fn authorization_url(endpoint: &Url, request: &AuthorizationRequest<'_>) -> Url {
    let mut url = endpoint.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", request.client_id)
            .append_pair("redirect_uri", request.redirect_uri)
            .append_pair("scope", &request.scopes.join(" "))
            .append_pair("state", request.state)
            .append_pair("nonce", request.nonce)
            .append_pair("code_challenge", request.code_challenge)
            .append_pair("code_challenge_method", "S256");
        let options = request.options;
        let optional = [
            ("prompt", options.prompt.map(Prompt::as_str)),
            ("login_hint", options.login_hint.as_deref()),
            ("domain_hint", options.domain_hint.as_deref()),
            ("organization_id", options.organization_id.as_deref()),
            ("connection_id", options.connection_id.as_deref()),
            ("provider", options.provider.as_deref()),
        ];
        for (name, value) in optional {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
    }
    url
}

/// A PKCE (RFC 7636) verifier and its S256 challenge.
#[derive(Clone)]
pub struct Pkce {
    /// The secret verifier, kept server-side until the code exchange.
    pub verifier: String,
    /// `BASE64URL(SHA-256(verifier))`, sent in the authorization URL.
    pub challenge: String,
}

impl Pkce {
    /// A new verifier (43 characters) and its challenge.
    pub fn generate() -> Self {
        let verifier = random_token();
        let challenge = Self::challenge_for(&verifier);
        Pkce {
            verifier,
            challenge,
        }
    }

    /// `BASE64URL(SHA256(verifier))`, the S256 method.
    pub fn challenge_for(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn params(url: &Url) -> HashMap<String, String> {
        url.query_pairs().into_owned().collect()
    }

    fn scopes() -> Vec<String> {
        ["openid", "profile", "email", "offline_access"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn always_sends_the_required_parameters() {
        let endpoint = Url::parse("https://acme.scalekit.dev/oauth/authorize").unwrap();
        let scopes = scopes();
        let options = AuthorizationOptions::default();
        let url = authorization_url(
            &endpoint,
            &AuthorizationRequest {
                client_id: "skc_1",
                redirect_uri: "http://localhost:3000/auth/callback",
                scopes: &scopes,
                state: "st",
                nonce: "no",
                code_challenge: "ch",
                options: &options,
            },
        );
        assert_eq!(url.path(), "/oauth/authorize");
        let p = params(&url);
        assert_eq!(p["response_type"], "code");
        assert_eq!(p["client_id"], "skc_1");
        assert_eq!(p["redirect_uri"], "http://localhost:3000/auth/callback");
        assert_eq!(p["scope"], "openid profile email offline_access");
        assert_eq!(p["state"], "st");
        assert_eq!(p["nonce"], "no");
        assert_eq!(p["code_challenge"], "ch");
        assert_eq!(p["code_challenge_method"], "S256");
        for absent in [
            "prompt",
            "login_hint",
            "domain_hint",
            "organization_id",
            "connection_id",
            "provider",
        ] {
            assert!(
                !p.contains_key(absent),
                "{absent} must only be sent when set"
            );
        }
        // Spaces in the scope are encoded, not left raw.
        assert!(url
            .as_str()
            .contains("scope=openid+profile+email+offline_access"));
    }

    #[test]
    fn sends_each_option_that_is_set() {
        let endpoint = Url::parse("https://idp.example/authorize?tenant=x").unwrap();
        let scopes = scopes();
        let options = AuthorizationOptions {
            prompt: Some(Prompt::Create),
            login_hint: Some("ada@example.com".into()),
            domain_hint: Some("example.com".into()),
            organization_id: Some("org_1".into()),
            connection_id: Some("conn_1".into()),
            provider: Some("google".into()),
        };
        let url = authorization_url(
            &endpoint,
            &AuthorizationRequest {
                client_id: "c",
                redirect_uri: "r",
                scopes: &scopes,
                state: "s",
                nonce: "n",
                code_challenge: "x",
                options: &options,
            },
        );
        let p = params(&url);
        assert_eq!(p["tenant"], "x", "existing query parameters are kept");
        assert_eq!(p["prompt"], "create");
        assert_eq!(p["login_hint"], "ada@example.com");
        assert_eq!(p["domain_hint"], "example.com");
        assert_eq!(p["organization_id"], "org_1");
        assert_eq!(p["connection_id"], "conn_1");
        assert_eq!(p["provider"], "google");
    }

    #[test]
    fn pkce_challenge_matches_rfc7636_example() {
        // RFC 7636, Appendix B.
        assert_eq!(
            Pkce::challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let pkce = Pkce::generate();
        assert_eq!(pkce.verifier.len(), 43);
        assert_eq!(pkce.challenge, Pkce::challenge_for(&pkce.verifier));
    }
}
