//! Test helpers for the OIDC client: real RSA keys, real signed JWTs, and a key-set
//! endpoint served over loopback HTTP that counts its requests and can change its keys.

use jsonwebtoken::{
    jwk::{Jwk, KeyAlgorithm, PublicKeyUse},
    Algorithm, EncodingKey, Header,
};
use rsa::{pkcs1::EncodeRsaPrivateKey, RsaPrivateKey};
use serde_json::{json, Value};
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Mutex,
};
use url::Url;

/// An RSA signing key with its public JWK.
pub struct TestKey {
    /// The key id put in token headers and the JWK.
    pub kid: String,
    /// The private key, for signing.
    pub encoding: EncodingKey,
    /// The public key as published in a key set.
    pub jwk: Jwk,
}

impl TestKey {
    /// A fresh 2048-bit RSA key named `kid`.
    pub fn new(kid: &str) -> Self {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("rsa key");
        let der = private.to_pkcs1_der().expect("der");
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).expect("jwk");
        jwk.common.key_id = Some(kid.to_string());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        TestKey {
            kid: kid.to_string(),
            encoding,
            jwk,
        }
    }

    /// Signs `claims` as RS256 with this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }

    /// Signs with an explicit header (for `kid`-less or other-algorithm tokens).
    pub fn sign_with(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

/// A JWKS endpoint on 127.0.0.1 that serves whatever key set it currently holds.
pub struct JwksServer {
    /// The key-set URL.
    pub url: Url,
    /// How many times the key set was fetched.
    pub hits: Arc<AtomicU64>,
    keys: Arc<Mutex<Value>>,
}

impl JwksServer {
    /// Serves `keys` on an ephemeral loopback port.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let hits = Arc::new(AtomicU64::new(0));
        let set = Arc::new(Mutex::new(key_set(keys)));
        let (h, s) = (hits.clone(), set.clone());
        let app = axum::Router::new().route(
            "/keys",
            axum::routing::get(move || {
                let (h, s) = (h.clone(), s.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    let body = s.lock().map(|v| v.clone()).unwrap_or(Value::Null);
                    axum::Json(body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        JwksServer {
            url: Url::parse(&format!("http://{addr}/keys")).expect("url"),
            hits,
            keys: set,
        }
    }

    /// How many times the key set was fetched so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }

    /// Replaces the served key set (a key rotation at the provider).
    pub fn serve_keys(&self, keys: &[&TestKey]) {
        if let Ok(mut set) = self.keys.lock() {
            *set = key_set(keys);
        }
    }
}

fn key_set(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| &k.jwk).collect::<Vec<_>>() })
}
