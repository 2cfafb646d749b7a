//! The UserInfo endpoint (OIDC Core 5.3): profile claims for providers whose ID token
//! carries only `sub` in the code flow (OIDC Core 5.4 puts scope-requested claims in
//! UserInfo unless the ID token is the only token issued; `oidc-provider` does exactly
//! that). Scalekit's ID tokens carry the profile, so this is only called when the
//! validated ID token has none and the provider advertises the endpoint.

use super::{IdTokenClaims, OidcError};
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// The profile claims we use from a UserInfo response. Not secret (it is what the profile
/// page shows), so it may be `Serialize` — it is stored sealed in a cookie all the same.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct UserInfo {
    /// Whose profile this is: must equal the ID token's `sub`.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Email address.
    pub email: Option<String>,
    /// Some providers send `"true"` as a string; both forms are read.
    #[serde(
        default,
        deserialize_with = "bool_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Full name.
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Given (first) name.
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Family (last) name.
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Profile picture URL.
    pub picture: Option<String>,
}

impl UserInfo {
    /// Fills the claims the ID token lacks from this profile, if both name the same user.
    pub fn fill_in(&self, claims: &mut IdTokenClaims) {
        if self.sub != claims.sub {
            return;
        }
        fn fill<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
            if slot.is_none() {
                slot.clone_from(value);
            }
        }
        fill(&mut claims.email, &self.email);
        fill(&mut claims.email_verified, &self.email_verified);
        fill(&mut claims.name, &self.name);
        fill(&mut claims.given_name, &self.given_name);
        fill(&mut claims.family_name, &self.family_name);
        fill(&mut claims.picture, &self.picture);
    }
}

/// True when an ID token lacks the profile the app shows, so the UserInfo endpoint (if
/// the provider has one) is worth one call at login.
pub fn lacks_profile(claims: &IdTokenClaims) -> bool {
    claims.email.is_none() || claims.name.is_none()
}

fn bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Flag>::deserialize(d)? {
        Some(Flag::Bool(b)) => Some(b),
        Some(Flag::Text(t)) => t.parse().ok(),
        None => None,
    })
}

/// Parses a UserInfo response body and checks it is about `expected_sub`.
///
/// OIDC Core 5.3.2: the `sub` in the UserInfo response MUST be verified to exactly match
/// the `sub` of the ID token; if not, the response MUST NOT be used (token substitution).
pub fn parse_userinfo(
    endpoint: &str,
    body: &[u8],
    expected_sub: &str,
) -> Result<UserInfo, OidcError> {
    let malformed = |message: String| OidcError::Malformed {
        endpoint: endpoint.to_string(),
        message,
    };
    let info: UserInfo = serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))?;
    if info.sub != expected_sub {
        return Err(OidcError::SubjectMismatch {
            endpoint: endpoint.to_string(),
        });
    }
    Ok(info)
}

/// Calls the UserInfo endpoint with the access token as a bearer token (RFC 6750) and
/// returns the profile of `expected_sub`. Signed or encrypted UserInfo responses
/// (`application/jwt`, only sent to clients registered for them) are not supported.
pub async fn fetch_userinfo(
    http: &reqwest::Client,
    endpoint: &Url,
    access_token: &str,
    expected_sub: &str,
) -> Result<UserInfo, OidcError> {
    let name = endpoint.to_string();
    let response = http
        .get(endpoint.clone())
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| OidcError::from_http(&name, e))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(OidcError::UnexpectedStatus {
            endpoint: name,
            status,
        });
    }
    let is_jwt = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/jwt"));
    if is_jwt {
        return Err(OidcError::Malformed {
            endpoint: name,
            message: "signed UserInfo responses are not supported; register the client for JSON"
                .into(),
        });
    }
    let body = super::http::read_body(response, &name).await?;
    parse_userinfo(&name, &body, expected_sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_profile_claims_and_ignores_the_rest() {
        let body = br#"{"sub":"u1","email":"a@b.example","email_verified":true,"name":"A",
            "locale":"en","address":{"country":"NZ"}}"#;
        let info = parse_userinfo("https://idp/me", body, "u1").unwrap();
        assert_eq!(info.email.as_deref(), Some("a@b.example"));
        assert_eq!(info.email_verified, Some(true));
        assert_eq!(info.name.as_deref(), Some("A"));
        assert_eq!(info.picture, None);
    }

    #[test]
    fn email_verified_may_be_a_string() {
        let info = parse_userinfo("e", br#"{"sub":"u1","email_verified":"false"}"#, "u1").unwrap();
        assert_eq!(info.email_verified, Some(false));
        let info = parse_userinfo("e", br#"{"sub":"u1","email_verified":"yes"}"#, "u1").unwrap();
        assert_eq!(info.email_verified, None, "an unreadable flag is no claim");
    }

    #[test]
    fn a_response_about_someone_else_or_garbage_is_refused() {
        let err = parse_userinfo("e", br#"{"sub":"u2","email":"x@y"}"#, "u1").unwrap_err();
        assert!(matches!(err, OidcError::SubjectMismatch { .. }), "{err}");
        assert!(
            parse_userinfo("e", br#"{"email":"x@y"}"#, "u1").is_err(),
            "no sub"
        );
        assert!(parse_userinfo("e", b"<html>", "u1").is_err());
    }

    #[test]
    fn round_trips_through_its_stored_form() {
        let info = UserInfo {
            sub: "u1".into(),
            email: Some("a@b.example".into()),
            email_verified: Some(true),
            ..UserInfo::default()
        };
        let stored = serde_json::to_string(&info).unwrap();
        assert_eq!(
            stored,
            r#"{"sub":"u1","email":"a@b.example","email_verified":true}"#
        );
        assert_eq!(parse_userinfo("e", stored.as_bytes(), "u1").unwrap(), info);
    }
}
