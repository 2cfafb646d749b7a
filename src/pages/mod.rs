//! The app's pages, and the list of those only signed-in people may see.

pub mod account;
#[cfg(feature = "ssr")]
pub mod confirm_login;
pub mod errors;
pub mod home;
pub mod organization;
pub mod profile;

use leptos::prelude::*;
use leptos_router::{any_nested_route::AnyNestedRoute, components::Route, path, SsrMode};

/// The pages only signed-in people may see: declare yours here, and nowhere else. The
/// server derives its route guard from this list: a signed-out request for one is sent
/// home before it renders, and an expired session is refreshed first. Wrap the page in
/// `<RequireUser>` (or `<RequirePermission>`) too: it checks again as the page renders,
/// and handles permissions. Keep `<SignedInRoutes/>` directly inside `<FlatRoutes>`
/// (the server refuses to start otherwise); the home page cannot be one of these.
#[component(transparent)]
pub fn SignedInRoutes() -> AnyNestedRoute {
    use leptos_router::any_nested_route::IntoAnyNestedRoute;
    // Each route on its own and the list as one erased route: the router takes one route
    // from a component, also when cargo-leptos erases component types in development
    // builds (which turns a `view!` fragment of routes into a list it cannot match).
    (
        view! { <Route path=path!("/dashboard/profile") view=profile::ProfilePage ssr=SsrMode::Async/> }.into_inner(),
        view! { <Route path=path!("/dashboard/account") view=account::AccountPage ssr=SsrMode::Async/> }.into_inner(),
        view! { <Route path=path!("/dashboard/organization") view=organization::OrganizationPage ssr=SsrMode::Async/> }.into_inner(),
    )
        .into_any_nested_route()
}

/// Phrases a failed server-function call for people: a network failure (the app could
/// not be reached) says so; otherwise the server's own message, which our server
/// functions write for people.
pub fn friendly_error(err: &ServerFnError) -> String {
    match err {
        ServerFnError::Request(_) => {
            "We could not reach the app. Check your connection and try again.".into()
        }
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// The error of an action's last submission as an alert; nothing while there is none
/// (or while it is being retried).
#[component]
pub fn ActionError(
    /// The action's last error, already phrased (see [`friendly_error`]).
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    move || {
        error
            .get()
            .map(|message| view! { <p class="notice error-notice" role="alert" data-testid="action-error">{message}</p> })
    }
}
