//! Errors of the OpenID Connect client.

use super::validate::ValidationError;

/// Why a call to the identity provider, or a token it gave, was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider did not answer within the configured timeout.
    #[error("the identity provider did not answer in time ({0})")]
    Timeout(String),
    /// The provider could not be reached (connection refused, DNS, TLS, ...).
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider answered with an HTTP status we did not expect.
    #[error("the identity provider answered {status} at {endpoint}")]
    UnexpectedStatus {
        /// The URL called.
        endpoint: String,
        /// The HTTP status it answered.
        status: u16,
    },
    /// The provider's answer could not be understood.
    #[error("the identity provider's answer from {endpoint} is malformed: {message}")]
    Malformed {
        /// The URL called.
        endpoint: String,
        /// What was wrong with the answer.
        message: String,
    },
    /// The provider refused the request with an OAuth 2.0 error (RFC 6749 §5.2).
    // Debug-formatted: a provider echoing request values cannot put a newline in a log line.
    #[error("the identity provider refused the request: {error:?}{}", description.as_deref().map(|d| format!(" ({d:?})")).unwrap_or_default())]
    Refused {
        /// The OAuth 2.0 `error` code (e.g. `invalid_grant`).
        error: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The provider's UserInfo answer is about another user than the ID token
    /// (OIDC Core 5.3.2: it must not be used).
    #[error(
        "the identity provider's answer from {endpoint} is about another user than the ID token"
    )]
    SubjectMismatch {
        /// The URL called.
        endpoint: String,
    },
    /// A token failed validation.
    #[error("token rejected: {0}")]
    InvalidToken(#[from] ValidationError),
    /// The provider has been failing: it is not called again for a while (the circuit
    /// breaker is open), so nobody waits on it.
    #[error("the identity provider has been failing; not calling it for another {0:?}")]
    CircuitOpen(std::time::Duration),
}

impl OidcError {
    /// True when the provider failed to answer (no connection, no answer in time, a 5xx,
    /// or it is being left alone after such failures), as opposed to answering "no".
    pub fn is_outage(&self) -> bool {
        match self {
            OidcError::Timeout(_) | OidcError::Unreachable(_) | OidcError::CircuitOpen(_) => true,
            OidcError::UnexpectedStatus { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// True when a token could be neither accepted nor refused because the provider did
    /// not answer (its discovery document or its key set): asking again later may succeed,
    /// so nothing about the session should be decided on it.
    pub fn could_not_check_token(&self) -> bool {
        self.is_outage() || matches!(self, OidcError::InvalidToken(e) if e.is_key_set_unavailable())
    }

    /// True when the call was not made because the circuit breaker is open, including a
    /// token left unchecked because the breaker stopped the fetch of the key set.
    pub fn is_circuit_open(&self) -> bool {
        match self {
            OidcError::CircuitOpen(_) => true,
            OidcError::InvalidToken(e) => e.is_circuit_open(),
            _ => false,
        }
    }

    /// True when the provider said the grant (code or refresh token) is no longer valid,
    /// so retrying with it is pointless and the session has ended.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, OidcError::Refused { error, .. } if error == "invalid_grant")
    }

    pub(crate) fn from_http(endpoint: &str, err: reqwest::Error) -> Self {
        if err.is_timeout() {
            OidcError::Timeout(endpoint.to_string())
        } else if err.is_decode() {
            OidcError::Malformed {
                endpoint: endpoint.to_string(),
                message: err.to_string(),
            }
        } else {
            OidcError::Unreachable(format!("{endpoint}: {err}"))
        }
    }
}

/// Logs a request that failed on the provider: a warning, except while the circuit breaker
/// is open. The breaker logs one line when it opens and one when it closes; an outage must
/// not also write a warning for every person turned away meanwhile.
pub fn log_provider_failure(
    context: &'static str,
    err: &dyn std::fmt::Display,
    circuit_open: bool,
) {
    if circuit_open {
        tracing::debug!(%err, "{context}");
    } else {
        tracing::warn!(%err, "{context}");
    }
}
