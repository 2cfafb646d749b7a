//! A small OpenID Connect relying-party client: the authorization-code flow with PKCE,
//! as Scalekit (and any standard provider) speaks it.
//!
//! Each step is one function with its own tests:
//! [`discovery`] finds the provider's endpoints, [`authorize`] builds the URL people are
//! sent to, [`token`] exchanges the code and refreshes, [`validate`] checks ID and access
//! tokens (their [`claims`]) against the provider's keys held by [`jwks`], [`userinfo`]
//! fetches the profile from providers whose ID token carries none, and [`logout`] builds
//! the provider's logout URL. [`client::OidcClient`] ties them together for the app.
//!
//! Server-only: nothing here is compiled into the browser bundle.

pub mod authorize;
pub mod breaker;
pub mod claims;
pub mod client;
pub mod discovery;
pub mod error;
pub mod http;
pub mod jwks;
pub mod logout;
pub mod logout_token;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod token;
pub mod userinfo;
pub mod validate;
mod validated_tokens;

pub use authorize::{AuthorizationOptions, Pkce, Prompt};
pub use breaker::{within_budget, Breaker, BreakerSettings};
pub use client::{ClientConfig, ClientSecret, OidcClient};
pub use error::{log_provider_failure, OidcError};
pub use jwks::KeySource;
pub use token::TokenSet;
pub use userinfo::UserInfo;
pub use validate::{AccessTokenClaims, IdTokenClaims, ValidationError};
