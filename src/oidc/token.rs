//! The token endpoint: exchanging an authorization code, and refreshing.
//!
//! Both are form POSTs authenticated with the client secret in the body
//! (`client_secret_post`, what Scalekit expects).

use super::{discovery::ClientAuthMethod, OidcError};
use serde::Deserialize;
use url::Url;

/// Tokens from the provider. Deliberately not `Serialize`: tokens only ever leave the
/// server inside sealed HttpOnly cookies (see `auth::server::cookies`).
#[derive(Clone, Deserialize)]
pub struct TokenSet {
    /// The access token (a JWT at Scalekit, opaque at some providers).
    pub access_token: String,
    #[serde(default)]
    /// The ID token (always at login with `openid`; optional on refresh).
    pub id_token: Option<String>,
    #[serde(default)]
    /// A new refresh token (Scalekit rotates them; some providers send none).
    pub refresh_token: Option<String>,
    /// Lifetime of the access token in seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    /// `Bearer`.
    pub token_type: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("has_id_token", &self.id_token.is_some())
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// The OAuth 2.0 error body (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The client's credentials at the token endpoint.
pub struct ClientAuth<'a> {
    /// Our client id.
    pub client_id: &'a str,
    /// Our client secret.
    pub client_secret: &'a str,
    /// Body (`client_secret_post`) or Basic header (`client_secret_basic`).
    pub method: ClientAuthMethod,
}

impl ClientAuth<'_> {
    /// The form fields and the `Authorization` header for this method
    /// (RFC 6749 §2.3.1: Basic credentials are form-URL-encoded first).
    fn apply<'f>(&'f self, form: &mut Vec<(&'f str, &'f str)>) -> Option<String> {
        match self.method {
            ClientAuthMethod::Post => {
                form.push(("client_id", self.client_id));
                form.push(("client_secret", self.client_secret));
                None
            }
            ClientAuthMethod::Basic => {
                use base64::{engine::general_purpose::STANDARD, Engine};
                let encode = |v: &str| {
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                };
                form.push(("client_id", self.client_id));
                let pair = format!("{}:{}", encode(self.client_id), encode(self.client_secret));
                Some(format!("Basic {}", STANDARD.encode(pair)))
            }
        }
    }
}

/// Exchanges an authorization code (with its PKCE verifier) for tokens.
pub async fn exchange_code(
    http: &reqwest::Client,
    token_endpoint: &Url,
    client: &ClientAuth<'_>,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
) -> Result<TokenSet, OidcError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", code_verifier),
    ];
    let authorization = client.apply(&mut form);
    post_form(http, token_endpoint, &form, authorization).await
}

/// Trades a refresh token for new tokens. Scalekit rotates refresh tokens: the answer
/// carries a new one and the old one is dead from now on.
pub async fn refresh(
    http: &reqwest::Client,
    token_endpoint: &Url,
    client: &ClientAuth<'_>,
    refresh_token: &str,
) -> Result<TokenSet, OidcError> {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let authorization = client.apply(&mut form);
    post_form(http, token_endpoint, &form, authorization).await
}

/// Revokes a refresh token (RFC 7009), authenticated like the token requests. The
/// provider answers 200 whether or not it knew the token; an error is only logged by
/// the caller: the local session ends either way.
pub async fn revoke(
    http: &reqwest::Client,
    revocation_endpoint: &Url,
    client: &ClientAuth<'_>,
    refresh_token: &str,
) -> Result<(), OidcError> {
    let mut form = vec![
        ("token", refresh_token),
        ("token_type_hint", "refresh_token"),
    ];
    let authorization = client.apply(&mut form);
    let name = revocation_endpoint.to_string();
    let (status, bytes) = send_form(http, revocation_endpoint, &form, authorization).await?;
    if status == 200 {
        return Ok(());
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(err) if (400..500).contains(&status) => Err(OidcError::Refused {
            error: err.error,
            description: err.error_description,
        }),
        _ => Err(OidcError::UnexpectedStatus {
            endpoint: name,
            status,
        }),
    }
}

async fn post_form(
    http: &reqwest::Client,
    endpoint: &Url,
    form: &[(&str, &str)],
    authorization: Option<String>,
) -> Result<TokenSet, OidcError> {
    let (status, bytes) = send_form(http, endpoint, form, authorization).await?;
    parse_token_response(endpoint.as_str(), status, &bytes)
}

/// POSTs `form` (client-authenticated by `authorization` when given) and reads the
/// answer with the size cap: its status and body.
async fn send_form(
    http: &reqwest::Client,
    endpoint: &Url,
    form: &[(&str, &str)],
    authorization: Option<String>,
) -> Result<(u16, Vec<u8>), OidcError> {
    let name = endpoint.to_string();
    let body = serde_urlencoded::to_string(form).map_err(|e| OidcError::Malformed {
        endpoint: name.clone(),
        message: e.to_string(),
    })?;
    let mut request = http
        .post(endpoint.clone())
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(value) = authorization {
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|e| OidcError::from_http(&name, e))?;
    let status = response.status().as_u16();
    Ok((status, super::http::read_body(response, &name).await?))
}

/// Interprets a token endpoint answer: tokens on 200, the OAuth error on 4xx,
/// anything else an error naming the status.
pub fn parse_token_response(
    endpoint: &str,
    status: u16,
    body: &[u8],
) -> Result<TokenSet, OidcError> {
    if status == 200 {
        let tokens: TokenSet = serde_json::from_slice(body).map_err(|e| OidcError::Malformed {
            endpoint: endpoint.to_string(),
            message: e.to_string(),
        })?;
        if let Some(kind) = tokens.token_type.as_deref() {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(OidcError::Malformed {
                    endpoint: endpoint.to_string(),
                    message: format!("token_type {kind:?} is not Bearer"),
                });
            }
        }
        return Ok(tokens);
    }
    if (400..500).contains(&status) {
        if let Ok(err) = serde_json::from_slice::<ErrorBody>(body) {
            return Err(OidcError::Refused {
                error: err.error,
                description: err.error_description,
            });
        }
    }
    Err(OidcError::UnexpectedStatus {
        endpoint: endpoint.to_string(),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_scalekit_token_response() {
        let body = br#"{"access_token":"a","id_token":"i","refresh_token":"r","expires_in":299,"token_type":"Bearer"}"#;
        let t = parse_token_response("t", 200, body).unwrap();
        assert_eq!(t.access_token, "a");
        assert_eq!(t.id_token.as_deref(), Some("i"));
        assert_eq!(t.refresh_token.as_deref(), Some("r"));
        assert_eq!(t.expires_in, Some(299));
        // Debug output never shows a token.
        let debug = format!("{t:?}");
        assert!(
            !debug.contains("\"a\"") && !debug.contains("\"r\""),
            "{debug}"
        );
    }

    #[test]
    fn refresh_answers_may_omit_fields() {
        let t = parse_token_response("t", 200, br#"{"access_token":"a"}"#).unwrap();
        assert!(t.id_token.is_none() && t.refresh_token.is_none() && t.expires_in.is_none());
    }

    #[test]
    fn oauth_errors_are_reported_with_their_code() {
        let err = parse_token_response(
            "t",
            400,
            br#"{"error":"invalid_grant","error_description":"code already used"}"#,
        )
        .unwrap_err();
        assert!(err.is_invalid_grant());
        assert!(err.to_string().contains("code already used"));
    }

    #[test]
    fn garbage_and_server_errors_are_errors_not_panics() {
        assert!(matches!(
            parse_token_response("t", 200, b"<html>oops</html>"),
            Err(OidcError::Malformed { .. })
        ));
        assert!(matches!(
            parse_token_response("t", 500, b"{}"),
            Err(OidcError::UnexpectedStatus { status: 500, .. })
        ));
        assert!(matches!(
            parse_token_response("t", 200, br#"{"access_token":"a","token_type":"MAC"}"#),
            Err(OidcError::Malformed { .. })
        ));
    }
}
