//! The provider's RS256 signing key, generated at start-up.

use jsonwebtoken::{
    jwk::{Jwk, KeyAlgorithm, PublicKeyUse},
    Algorithm, EncodingKey, Header,
};
use rsa::{pkcs1::EncodeRsaPrivateKey, RsaPrivateKey};

/// One signing key and its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
}

impl SigningKey {
    /// A fresh 2048-bit RSA key with a Scalekit-style key id (`snk_…`).
    pub fn generate() -> std::io::Result<Self> {
        let invalid =
            |e: String| std::io::Error::other(format!("cannot create the signing key: {e}"));
        let private =
            RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| invalid(e.to_string()))?;
        let der = private.to_pkcs1_der().map_err(|e| invalid(e.to_string()))?;
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let kid = format!("snk_{}", &crate::oidc::authorize::random_token()[..16]);
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
            .map_err(|e| invalid(e.to_string()))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        Ok(SigningKey { kid, encoding, jwk })
    }

    /// Signs claims as an RS256 JWT with this key's `kid`.
    pub fn sign<T: serde::Serialize>(
        &self,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }
}
