//! RP-initiated logout: the provider URL that ends the provider's session and sends the
//! person back to us.

use url::Url;

/// Builds `end_session_endpoint?id_token_hint=…&post_logout_redirect_uri=…&state=…`.
///
/// The browser must navigate to it (not fetch it) so the provider's own session cookie
/// is sent and cleared. `post_logout_redirect_uri` must be registered with the provider.
pub fn logout_url(
    end_session_endpoint: &Url,
    id_token_hint: Option<&str>,
    post_logout_redirect_uri: &str,
    state: &str,
) -> Url {
    let mut url = end_session_endpoint.clone();
    {
        let mut query = url.query_pairs_mut();
        if let Some(hint) = id_token_hint {
            query.append_pair("id_token_hint", hint);
        }
        query
            .append_pair("post_logout_redirect_uri", post_logout_redirect_uri)
            .append_pair("state", state);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_hint_redirect_and_state() {
        let endpoint = Url::parse("https://acme.scalekit.dev/oidc/logout").unwrap();
        let url = logout_url(&endpoint, Some("eyJ.x.y"), "http://localhost:3000/", "s1");
        let p: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/oidc/logout");
        assert_eq!(p["id_token_hint"], "eyJ.x.y");
        assert_eq!(p["post_logout_redirect_uri"], "http://localhost:3000/");
        assert_eq!(p["state"], "s1");
    }

    #[test]
    fn omits_the_hint_when_there_is_no_id_token() {
        let endpoint = Url::parse("https://idp.example/logout").unwrap();
        let url = logout_url(&endpoint, None, "https://app.example/", "s");
        assert!(!url.as_str().contains("id_token_hint"));
    }
}
