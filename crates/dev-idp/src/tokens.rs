//! Minting Scalekit-shaped tokens.

use super::{
    misbehaviour::Misbehaviour,
    store::{new_id, IdpState, Person, Routing},
};
use crate::crypto::access_token_hash;
use serde::Serialize;
use serde_json::json;

/// The token endpoint's success answer.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub id_token: String,
    pub refresh_token: Option<String>,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
}

pub struct Grant<'a> {
    pub person: &'a Person,
    /// A refresh (rather than an authorization-code) grant.
    pub is_refresh: bool,
    pub session_id: &'a str,
    pub nonce: Option<&'a str>,
    pub scope: &'a str,
    pub routing: &'a Routing,
}

/// Signs an access token and an ID token for `grant`, with Scalekit's claims.
pub fn mint(
    state: &IdpState,
    grant: &Grant<'_>,
    now: i64,
) -> Result<(String, String, u64), jsonwebtoken::errors::Error> {
    let ttl = state.settings.access_token_ttl_secs;
    let exp = now + ttl as i64;
    let client_id = &state.settings.client_id;
    let person = grant.person;
    let organization = grant
        .routing
        .organization_id
        .as_deref()
        .unwrap_or(&person.organization_id);
    let access = json!({
        "iss": state.issuer,
        "aud": [client_id],
        "sub": person.id,
        "exp": exp,
        "iat": now,
        "nbf": now,
        "jti": new_id("tkn"),
        "sid": grant.session_id,
        "oid": organization,
        "client_id": client_id,
        "scope": grant.scope,
        "roles": person.roles,
        "permissions": person.permissions,
    });
    let mut id = json!({
        "iss": state.issuer,
        "aud": [client_id],
        "azp": client_id,
        "sub": person.id,
        "oid": organization,
        "sid": grant.session_id,
        "amr": [grant.routing.connection],
        "exp": exp,
        "iat": now,
        "client_id": client_id,
        "email": person.email,
        "email_verified": person.email_verified,
        "name": person.name,
        "given_name": person.given_name,
        "family_name": person.family_name,
    });
    if let Some(nonce) = grant.nonce {
        id["nonce"] = json!(nonce);
    }
    let current = state.current_key();
    let misbehaviour = state.misbehaviour();
    let stranger = || {
        state.stranger_key().map_err(|_| {
            jsonwebtoken::errors::Error::from(jsonwebtoken::errors::ErrorKind::InvalidRsaKey(
                "stranger key".into(),
            ))
        })
    };
    let access_token = match misbehaviour {
        None => current.sign(&access)?,
        Some(Misbehaviour::OpaqueAccessTokens) => new_id("at"),
        Some(misbehaviour) => {
            let mut access = access;
            misbehaviour.alter_claims(&mut access, now, false, grant.is_refresh);
            misbehaviour.sign(&access, &current, stranger()?)?
        }
    };
    // Like Scalekit: the ID token carries the hash of the access token issued with it.
    id["at_hash"] = json!(access_token_hash(&access_token));
    let id_token = match misbehaviour {
        None | Some(Misbehaviour::OpaqueAccessTokens) => current.sign(&id)?,
        Some(misbehaviour) => {
            misbehaviour.alter_claims(&mut id, now, true, grant.is_refresh);
            misbehaviour.sign(&id, &current, stranger()?)?
        }
    };
    Ok((access_token, id_token, ttl))
}
