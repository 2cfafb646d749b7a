//! `GET /auth/callback`: the provider sends people back here with a code (or an error).

use super::{page, parse_query, see_other};
use crate::{
    auth::server::login::{CallbackError, CallbackQuery},
    oidc::{log_provider_failure, OidcError},
    pages::errors::ErrorPage,
    server::AppState,
};
use axum::{
    extract::{RawQuery, State},
    response::Response,
};
use tower_cookies::Cookies;

pub(super) async fn callback(
    State(state): State<AppState>,
    jar: Cookies,
    RawQuery(raw): RawQuery,
) -> Response {
    let query: CallbackQuery = parse_query(raw);
    match state.auth.complete_login(&jar, &query).await {
        Ok(destination) => see_other(&state.auth.location(&destination)),
        Err(err) => {
            log_provider_failure("login failed at the callback", &err, err.is_circuit_open());
            let status = callback_status(&err);
            page(&state.leptos, status, callback_error_page(err))
        }
    }
}

pub(super) fn callback_error_page(err: CallbackError) -> ErrorPage {
    if let CallbackError::Exchange(OidcError::Refused { error, .. }) = &err {
        if error == "invalid_client" {
            return ErrorPage {
                title: "The sign-in service did not recognise this app".into(),
                message: "The identity provider refused the app's client credentials, so you were not signed in. The site's administrator needs to check SCALEKIT_CLIENT_ID, SCALEKIT_CLIENT_SECRET and token_endpoint_auth_method in Leptos.toml.".into(),
                provider_error: None,
                retry: Some(("Back to the home page".into(), "/".into())),
            };
        }
    }
    if err.is_provider_outage() {
        return ErrorPage {
            title: "The sign-in service is not answering".into(),
            message: "We could not complete your sign-in with the identity provider. Please try again in a moment.".into(),
            provider_error: None,
            retry: Some(("Try again".into(), "/".into())),
        };
    }
    match err {
        CallbackError::UnsolicitedError => ErrorPage {
            title: "Sign-in was not completed".into(),
            message: "This sign-in link does not belong to a sign-in started in this browser.".into(),
            provider_error: None,
            retry: Some(("Log in".into(), "/".into())),
        },
        CallbackError::Provider { error, description } => ErrorPage {
            title: "Sign-in was not completed".into(),
            message: "The identity provider reported a problem with this sign-in.".into(),
            provider_error: Some((error, description)),
            retry: Some(("Try again".into(), "/".into())),
        },
        CallbackError::LoginState(reason) => ErrorPage {
            title: "This sign-in has expired".into(),
            message: format!("We could not finish this sign-in: {reason}. Please start again."),
            provider_error: None,
            retry: Some(("Log in again".into(), "/".into())),
        },
        CallbackError::MissingCode => ErrorPage {
            title: "Sign-in was not completed".into(),
            message: "The identity provider sent you back without a sign-in code.".into(),
            provider_error: None,
            retry: Some(("Try again".into(), "/".into())),
        },
        // Outages were handled above: what is left is the provider refusing the code.
        CallbackError::Exchange(_) => ErrorPage {
            title: "This sign-in link was already used".into(),
            message: "Sign-in codes work once and expire after a few minutes. Please log in again.".into(),
            provider_error: None,
            retry: Some(("Log in again".into(), "/".into())),
        },
        CallbackError::TokensTooLarge(_) => ErrorPage {
            title: "Sign-in could not be stored".into(),
            message: "The identity provider's tokens are too large to keep in a browser cookie, so you were not signed in. The site's administrator needs to trim the tokens' claims.".into(),
            provider_error: None,
            retry: Some(("Back to the home page".into(), "/".into())),
        },
        // `UserInfo` failures are outages, handled above.
        CallbackError::NoIdToken
        | CallbackError::InvalidTokens(_)
        | CallbackError::UserInfo(_)
        | CallbackError::IssuerMismatch(_) => ErrorPage {
            title: "Sign-in could not be verified".into(),
            message: "The identity provider's answer did not pass our security checks, so you were not signed in.".into(),
            provider_error: None,
            retry: Some(("Try again".into(), "/".into())),
        },
    }
}

/// The HTTP status of the callback's error page.
pub(super) fn callback_status(err: &CallbackError) -> u16 {
    match err {
        CallbackError::Provider { .. } => 401,
        CallbackError::LoginState(_)
        | CallbackError::MissingCode
        | CallbackError::UnsolicitedError => 400,
        CallbackError::IssuerMismatch(_) => 401,
        CallbackError::Exchange(OidcError::Timeout(_))
        | CallbackError::UserInfo(OidcError::Timeout(_))
        | CallbackError::InvalidTokens(OidcError::Timeout(_)) => 504,
        _ if err.is_provider_outage() => 502,
        CallbackError::Exchange(_) => 400,
        CallbackError::NoIdToken | CallbackError::InvalidTokens(_) => 401,
        CallbackError::TokensTooLarge(_) | CallbackError::UserInfo(_) => 502,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::server::login_state::LoginStateError;

    #[test]
    fn callback_errors_map_to_statuses() {
        let provider = CallbackError::Provider {
            error: "access_denied".into(),
            description: None,
        };
        assert_eq!(callback_status(&provider), 401);
        assert_eq!(
            callback_status(&CallbackError::from(LoginStateError::StateMismatch)),
            400
        );
        assert_eq!(
            callback_status(&CallbackError::Exchange(OidcError::Timeout("t".into()))),
            504
        );
        assert_eq!(
            callback_status(&CallbackError::Exchange(OidcError::Unreachable("x".into()))),
            502
        );
        let replayed = OidcError::Refused {
            error: "invalid_grant".into(),
            description: None,
        };
        assert_eq!(callback_status(&CallbackError::Exchange(replayed)), 400);
    }
}
