//! Back-channel logout, the provider's side: when a session ends here (its logout, or
//! "End this session" on its home page) the app is sent a signed logout token, so every
//! instance of the app ends that session too.

use super::store::{new_id, BrowserSession, Counters, IdpState};
use serde_json::json;

use std::time::Duration;

/// The `events` member that makes a JWT a logout token (OpenID Back-Channel Logout 1.0 §2.4).
const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Posts a logout token for `session` to the app's back-channel logout URL (waits at
/// most 3 seconds; a failure is logged, the session ends here anyway).
pub async fn notify(state: &IdpState, session: &BrowserSession) {
    let Some(uri) = state.registration.backchannel_logout_uri.clone() else {
        return;
    };
    let Some(person) = state.person(&session.email) else {
        return;
    };
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let claims = json!({
        "iss": state.issuer,
        "aud": [state.settings.client_id],
        "iat": now,
        "exp": now + 120,
        "jti": new_id("ltk"),
        "sid": session.id,
        "sub": person.id,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    let token = match state.current_key().sign_typed(&claims, "logout+jwt") {
        Ok(token) => token,
        Err(err) => {
            tracing::error!(%err, "built-in provider could not sign a logout token");
            return;
        }
    };
    Counters::bump(&state.counters.backchannel_logouts);
    let sent = reqwest::Client::new()
        .post(&uri)
        .timeout(Duration::from_secs(3))
        .form(&[("logout_token", token)])
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => {
            tracing::warn!(status = %response.status(), "the app refused a logout token")
        }
        Err(err) => tracing::warn!(%err, "could not deliver a logout token"),
    }
}
