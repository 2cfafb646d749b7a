//! `POST /webhooks/scalekit`: Scalekit's events (user and organization changes), verified
//! with the Standard Webhooks scheme Scalekit uses, then handed to [`WebhookHandler`].
//!
//! Verification: headers `webhook-id`, `webhook-timestamp`, `webhook-signature`; the
//! signature is base64 HMAC-SHA256, keyed with the base64-decoded part of the
//! `whsec_…` secret, over `"{id}.{timestamp}.{raw body}"`; the header holds
//! space-separated `v1,<signature>` entries; compared in constant time; the timestamp
//! must be within five minutes. A delivery id seen before (a retry or a replay) is
//! acknowledged without being handled twice.
//!
//! The endpoint exists only when `SCALEKIT_WEBHOOK_SECRET` is set.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

/// How far a delivery's timestamp may be from our clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// The signing secret (`whsec_<base64>`), decoded. Never printed.
#[derive(Clone)]
pub struct WebhookSecret(Arc<[u8]>);

impl WebhookSecret {
    /// Parses `whsec_<base64>` (the prefix is optional).
    pub fn parse(raw: &str) -> Option<Self> {
        let encoded = raw.strip_prefix("whsec_").unwrap_or(raw);
        STANDARD
            .decode(encoded)
            .ok()
            .filter(|k| !k.is_empty())
            .map(|k| WebhookSecret(k.into()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// Why a delivery was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("the timestamp is not a number")]
    BadTimestamp,
    #[error("the timestamp is more than five minutes away from now")]
    Stale,
    #[error("no signature matches")]
    BadSignature,
    #[error("the body is not an event: {0}")]
    BadBody(String),
}

/// Checks a delivery's signature and freshness.
pub fn verify(
    secret: &WebhookSecret,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(WebhookError::MissingHeader(name))
    };
    let id = header("webhook-id")?;
    let timestamp = header("webhook-timestamp")?;
    let signatures = header("webhook-signature")?;
    let sent_at: i64 = timestamp.parse().map_err(|_| WebhookError::BadTimestamp)?;
    // `abs_diff` cannot overflow: a timestamp of i64::MIN is merely very stale.
    if now.abs_diff(sent_at) > TOLERANCE_SECS.unsigned_abs() {
        return Err(WebhookError::Stale);
    }
    let expected = sign(secret, id, timestamp, body);
    let matches = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .any(|candidate| crate::util::constant_time_eq(candidate.as_bytes(), expected.as_bytes()));
    if matches {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// `base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}"))`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&secret.0)
        .expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// One event, as Scalekit sends it. `data` is the event's object (a user, an
/// organization, …), kept as JSON so new event types reach your handler too.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct WebhookEvent {
    #[serde(default)]
    pub id: Option<String>,
    /// e.g. `organization.created`, `user.signup`.
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

/// What your app does with an event. Replace [`RecentEvents`] with your own in
/// `src/server/assemble.rs` (e.g. to create the organization in your database).
pub trait WebhookHandler: Send + Sync {
    fn handle(&self, event: WebhookEvent);
}

/// The starter's handler: logs each event and keeps the last 50 in memory.
#[derive(Default)]
pub struct RecentEvents(Mutex<VecDeque<WebhookEvent>>);

impl RecentEvents {
    pub fn recent(&self) -> Vec<WebhookEvent> {
        self.0
            .lock()
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl WebhookHandler for RecentEvents {
    fn handle(&self, event: WebhookEvent) {
        tracing::info!(event_type = ?event.event_type, "webhook event received");
        if let Ok(mut queue) = self.0.lock() {
            if queue.len() == 50 {
                queue.pop_front();
            }
            queue.push_back(event);
        }
    }
}

/// The receiver's state: secret, handler, and the store that remembers delivery ids
/// (shared by every instance when `SESSION_STORE_URL` is set).
#[derive(Clone)]
pub struct Webhooks {
    secret: WebhookSecret,
    pub handler: Arc<dyn WebhookHandler>,
    store: Arc<crate::store::SessionStore>,
}

impl Webhooks {
    pub fn new(
        secret: WebhookSecret,
        handler: Arc<dyn WebhookHandler>,
        store: Arc<crate::store::SessionStore>,
    ) -> Self {
        Webhooks {
            secret,
            handler,
            store,
        }
    }

    /// True the first time a delivery id is seen within twice the tolerance window
    /// (after that its timestamp is stale anyway).
    async fn first_delivery(&self, id: &str) -> bool {
        let window = std::time::Duration::from_secs(2 * TOLERANCE_SECS.unsigned_abs());
        self.store.first_time("webhook", id, window).await
    }
}

/// `POST /webhooks/scalekit`, for the app's router (only when a secret is configured).
pub fn routes() -> Router<crate::server::AppState> {
    Router::new().route("/webhooks/scalekit", post(receive))
}

async fn receive(
    State(webhooks): State<Option<Webhooks>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(webhooks) = webhooks else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let now = crate::util::now();
    if let Err(err) = verify(&webhooks.secret, &headers, &body, now) {
        tracing::warn!(%err, "webhook refused");
        return (StatusCode::UNAUTHORIZED, err.to_string()).into_response();
    }
    let event: WebhookEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(err) => {
            let err = WebhookError::BadBody(err.to_string());
            tracing::warn!(%err, "webhook refused");
            return (StatusCode::BAD_REQUEST, err.to_string()).into_response();
        }
    };
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !webhooks.first_delivery(id).await {
        tracing::info!(webhook_id = ?id, "webhook delivered again; already handled");
        return StatusCode::OK.into_response();
    }
    webhooks.handler.handle(event);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> WebhookSecret {
        WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
    }

    fn headers(id: &str, ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", id.parse().unwrap());
        h.insert("webhook-timestamp", ts.parse().unwrap());
        h.insert("webhook-signature", sig.parse().unwrap());
        h
    }

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // From the Standard Webhooks specification's example.
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(
            &secret(),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            body,
        );
        assert_eq!(sig, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let h = headers(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            &format!("v1,bogus v1,{sig}"),
        );
        assert_eq!(verify(&secret(), &h, body, 1614265330 + 10), Ok(()));
    }

    #[test]
    fn refuses_tampered_stale_and_incomplete_deliveries() {
        let body = br#"{"type":"user.signup","data":{}}"#;
        let sig = sign(&secret(), "msg_1", "1000", body);
        let ok = headers("msg_1", "1000", &format!("v1,{sig}"));
        assert_eq!(
            verify(&secret(), &ok, b"{\"type\":\"evil\"}", 1000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(&secret(), &ok, body, 1000 + 301),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            verify(&secret(), &ok, body, 1000 - 301),
            Err(WebhookError::Stale)
        );
        let v2 = headers("msg_1", "1000", &format!("v2,{sig}"));
        assert_eq!(
            verify(&secret(), &v2, body, 1000),
            Err(WebhookError::BadSignature)
        );
        let wrong_key = WebhookSecret::parse("whsec_c2VjcmV0").unwrap();
        assert_eq!(
            verify(&wrong_key, &ok, body, 1000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(&secret(), &HeaderMap::new(), body, 1000),
            Err(WebhookError::MissingHeader("webhook-id"))
        );
        for extreme in [i64::MIN, i64::MAX] {
            let ts = extreme.to_string();
            let h = headers("msg_1", &ts, &format!("v1,{sig}"));
            assert_eq!(
                verify(&secret(), &h, body, 1000),
                Err(WebhookError::Stale),
                "{ts}: no overflow, just stale"
            );
        }
        let bad_ts = headers("msg_1", "soon", &format!("v1,{sig}"));
        assert_eq!(
            verify(&secret(), &bad_ts, body, 1000),
            Err(WebhookError::BadTimestamp)
        );
    }

    #[test]
    fn secrets_parse_with_or_without_prefix() {
        assert!(WebhookSecret::parse("whsec_c2VjcmV0").is_some());
        assert!(WebhookSecret::parse("c2VjcmV0").is_some());
        assert!(WebhookSecret::parse("whsec_not base64!").is_none());
        assert!(!format!("{:?}", secret()).contains("MfKQ"));
    }
}
