//! `POST /webhooks/scalekit` over real HTTP: valid, tampered, stale and replayed deliveries.

use crate::common::*;
use reqwest::StatusCode;
use scalekit_leptos_starter::webhooks::{sign, WebhookSecret};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn deliver(
    app: &TestApp,
    id: &str,
    timestamp: i64,
    body: &str,
    signature: Option<String>,
) -> StatusCode {
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let ts = timestamp.to_string();
    let signature =
        signature.unwrap_or_else(|| format!("v1,{}", sign(&secret, id, &ts, body.as_bytes())));
    reqwest::Client::new()
        .post(app.url.join("/webhooks/scalekit").unwrap())
        .header("webhook-id", id)
        .header("webhook-timestamp", ts)
        .header("webhook-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

#[tokio::test]
async fn verified_events_reach_the_handler_once_and_forgeries_never() {
    let app = TestApp::builder()
        .env("SCALEKIT_WEBHOOK_SECRET", SECRET)
        .start()
        .await;
    let events = app.server.webhook_events.clone().expect("webhooks enabled");
    let body = r#"{"id":"evt_1","type":"organization.created","data":{"id":"org_1","display_name":"Acme"}}"#;

    assert_eq!(
        deliver(&app, "msg_1", now(), body, None).await,
        StatusCode::NO_CONTENT
    );
    let received = events.recent();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].event_type, "organization.created");
    assert_eq!(received[0].data["display_name"], "Acme");

    // Replayed (same delivery id): acknowledged, not handled again.
    assert_eq!(
        deliver(&app, "msg_1", now(), body, None).await,
        StatusCode::OK
    );
    assert_eq!(events.recent().len(), 1);

    // Tampered body, stale timestamp, wrong signature, missing signature: refused.
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let ts = now();
    let signed_for_other_body = format!("v1,{}", sign(&secret, "msg_2", &ts.to_string(), b"{}"));
    assert_eq!(
        deliver(&app, "msg_2", ts, body, Some(signed_for_other_body)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        deliver(&app, "msg_3", now() - 600, body, None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        deliver(&app, "msg_4", now(), body, Some("v1,AAAA".into())).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        deliver(&app, "msg_5", now(), "not json", None).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        events.recent().len(),
        1,
        "no forged event reached the handler"
    );
}

#[tokio::test]
async fn without_a_secret_there_is_no_webhook_endpoint() {
    let app = spawn_app(300).await;
    assert!(app.server.webhook_events.is_none());
    let status = deliver(&app, "msg_1", now(), "{}", None).await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
        "{status}"
    );
}
