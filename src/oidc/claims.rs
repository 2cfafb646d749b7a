//! The claims we read from the provider's JWTs: ID tokens, access tokens and Scalekit's
//! IdP-initiated login tokens. Checking them is [`validate`](super::validate)'s job.

use serde::{Deserialize, Deserializer};

/// Claims of an ID token (Scalekit's and the standard ones we show).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The person's user id at the provider.
    pub sub: String,
    #[serde(deserialize_with = "string_or_list")]
    /// Audiences: a string or an array in the token, always a list here.
    pub aud: Vec<String>,
    #[serde(default)]
    /// Authorized party: the client the token was issued to.
    pub azp: Option<String>,
    /// Expiry (Unix seconds).
    pub exp: i64,
    #[serde(default)]
    /// Issued at (Unix seconds).
    pub iat: Option<i64>,
    #[serde(default)]
    /// Echo of the login's `nonce` (replay protection).
    pub nonce: Option<String>,
    #[serde(default)]
    /// Email address.
    pub email: Option<String>,
    #[serde(default)]
    /// Whether the provider verified the email address.
    pub email_verified: Option<bool>,
    #[serde(default)]
    /// Full name.
    pub name: Option<String>,
    #[serde(default)]
    /// Given (first) name.
    pub given_name: Option<String>,
    #[serde(default)]
    /// Family (last) name.
    pub family_name: Option<String>,
    #[serde(default)]
    /// Profile picture URL.
    pub picture: Option<String>,
    /// Scalekit: the organization.
    #[serde(default)]
    pub oid: Option<String>,
    /// Scalekit: the provider's session.
    #[serde(default)]
    pub sid: Option<String>,
    /// Hash of the access token issued with this ID token (see [`check_access_token_hash`](super::validate::check_access_token_hash)).
    #[serde(default)]
    pub at_hash: Option<String>,
}

/// Claims of an access token.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The person's user id at the provider.
    pub sub: String,
    #[serde(deserialize_with = "string_or_list")]
    /// Audiences: a string or an array in the token, always a list here.
    pub aud: Vec<String>,
    /// Expiry (Unix seconds).
    pub exp: i64,
    #[serde(default)]
    /// Issued at (Unix seconds).
    pub iat: Option<i64>,
    #[serde(default)]
    /// Not before (Unix seconds).
    pub nbf: Option<i64>,
    #[serde(default)]
    /// Scalekit: the provider's session id.
    pub sid: Option<String>,
    #[serde(default)]
    /// Scalekit: the organization id.
    pub oid: Option<String>,
    #[serde(default)]
    /// The token's unique id.
    pub jti: Option<String>,
    /// Scalekit: the person's roles in the organization.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Scalekit: permissions as `resource:action`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Space-separated scopes (`scope`), when the provider sends them.
    #[serde(default)]
    pub scope: Option<String>,
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// The claims of Scalekit's IdP-initiated login token (`?idp_initiated_login=`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct IdpInitiatedClaims {
    /// Issuer.
    pub iss: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
    #[serde(default)]
    /// Issued at (Unix seconds).
    pub iat: Option<i64>,
    #[serde(default)]
    /// The SSO connection to log in through.
    pub connection_id: Option<String>,
    #[serde(default)]
    /// The organization the login is for.
    pub organization_id: Option<String>,
    #[serde(default)]
    /// The person's email, to prefill.
    pub login_hint: Option<String>,
    #[serde(default)]
    /// Opaque state to carry through the login (becomes our `state`).
    pub relay_state: Option<String>,
}

impl HasIssuedAt for IdpInitiatedClaims {
    fn issued_at(&self) -> Option<i64> {
        self.iat
    }
}

/// The `iat` claim, which every token kind carries optionally: checked against the clock.
pub(super) trait HasIssuedAt {
    fn issued_at(&self) -> Option<i64>;
}
impl HasIssuedAt for IdTokenClaims {
    fn issued_at(&self) -> Option<i64> {
        self.iat
    }
}
impl HasIssuedAt for AccessTokenClaims {
    fn issued_at(&self) -> Option<i64> {
        self.iat
    }
}
