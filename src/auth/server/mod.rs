//! Server-only authentication: the session logic ([`service`]), the cookie policy
//! ([`cookies`]), the login state ([`login_state`]), where a request comes from
//! ([`request_site`]), the HTTP endpoints and route guard ([`handlers`]) and the bodies of
//! the server functions ([`functions`]).

pub mod backchannel;
pub mod cookies;
pub mod functions;
pub mod handlers;
pub mod login_state;
pub mod request_site;
pub mod service;

pub use backchannel::BACKCHANNEL_LOGOUT_PATH;
pub use functions::{access_token, require_permission, require_user};
pub use handlers::IDP_INITIATED_PATH;
pub use service::{AuthService, SharedAuth};
