//! The provider's RS256 signing key, generated at start-up.

use jsonwebtoken::{
    jwk::{Jwk, KeyAlgorithm, PublicKeyUse},
    Algorithm, EncodingKey, Header,
};
use rsa::{
    pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey},
    RsaPrivateKey,
};

fn invalid(message: String) -> std::io::Error {
    std::io::Error::other(format!("cannot create the signing key: {message}"))
}

/// One signing key and its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
    /// The private key, PKCS#1 DER: kept so the development loop can persist it.
    der: Vec<u8>,
}

impl SigningKey {
    /// A fresh 2048-bit RSA key with a Scalekit-style key id (`snk_…`).
    pub fn generate() -> std::io::Result<Self> {
        let private =
            RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| invalid(e.to_string()))?;
        let der = private.to_pkcs1_der().map_err(|e| invalid(e.to_string()))?;
        Self::from_pkcs1_der(der.as_bytes())
    }

    /// The key from its PKCS#1 DER form. The key id is derived from the key, so the same
    /// key always has the same `kid`.
    pub fn from_pkcs1_der(der: &[u8]) -> std::io::Result<Self> {
        use sha2::{Digest, Sha256};
        RsaPrivateKey::from_pkcs1_der(der).map_err(|e| invalid(e.to_string()))?;
        let encoding = EncodingKey::from_rsa_der(der);
        let digest = Sha256::digest(der);
        let kid = format!(
            "snk_{}",
            digest[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
            .map_err(|e| invalid(e.to_string()))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        Ok(SigningKey {
            kid,
            encoding,
            jwk,
            der: der.to_vec(),
        })
    }

    /// The private key as base64 PKCS#1 DER (for the development state file only).
    pub fn to_pkcs1_der_base64(&self) -> String {
        use base64::{engine::general_purpose::STANDARD, Engine};
        STANDARD.encode(&self.der)
    }

    /// Signs claims as an RS256 JWT with this key's `kid`.
    pub fn sign<T: serde::Serialize>(
        &self,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign_typed(claims, "JWT")
    }

    /// Signs claims with an explicit `typ` (e.g. `logout+jwt`).
    pub fn sign_typed<T: serde::Serialize>(
        &self,
        claims: &T,
        typ: &str,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.into());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }
}
