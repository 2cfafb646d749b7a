//! Route guards: `<RequireUser>` shows its children only to a signed-in person,
//! `<RequirePermission>` only to one whose access token grants a permission.
//!
//! The server already refuses the pages declared in `<SignedInRoutes>` to anyone signed
//! out; these guards check again as the page renders (every navigation is a server
//! render: only islands run in the browser), and handle permissions. They decide what is *shown*: the data behind a page
//! must still come from server functions that check (`require_user`,
//! `require_permission`), because anything in the browser can be bypassed.
//!
//! # Not inside an `#[island]`
//! Both guards are server-rendered components. Inside an island they would also run in
//! the browser, where [`guarded_user`] is always `None` (the session stays on the
//! server): the browser would take the slow path the server skipped, and hydration would
//! not match. Put the guard around the island, never in it.

use super::{current_user, guarded_user, User};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Renders `children` for a signed-in person; sends anyone else to the home page.
#[component]
pub fn RequireUser(children: ChildrenFn) -> impl IntoView {
    view! { <Guard allows=|_| true forbidden=|| ().into_any() children/> }
}

/// Renders `children` for a signed-in person whose access token grants `permission`
/// (e.g. `"organization:manage"`). Signed out: sent to the home page. Signed in without
/// it: a "no access" notice instead, and HTTP 403 when rendered on the server.
#[component]
pub fn RequirePermission(
    /// The permission (Scalekit's `resource:action`) the page needs.
    #[prop(into)]
    permission: String,
    children: ChildrenFn,
) -> impl IntoView {
    let needed = permission.clone();
    view! {
        <Guard
            allows=move |user: &User| user.has_permission(&needed)
            forbidden=move || view! { <NoAccess permission=permission.clone()/> }.into_any()
            children
        />
    }
}

/// The guard both components share: children, the forbidden view or a redirect home.
/// On a page in `<SignedInRoutes>` it decides at once, from the session the server's
/// route guard validated; elsewhere it asks `current_user` and waits for the answer.
#[component]
fn Guard(
    allows: impl Fn(&User) -> bool + Send + Sync + 'static,
    forbidden: impl Fn() -> AnyView + Send + Sync + 'static,
    children: ChildrenFn,
) -> impl IntoView {
    if let Some(user) = guarded_user() {
        return if allows(&user) {
            children().into_any()
        } else {
            forbidden()
        };
    }
    let user = Resource::new(|| (), |_| current_user());
    let children = StoredValue::new(children);
    let allows = StoredValue::new(allows);
    let forbidden = StoredValue::new(forbidden);
    view! {
        <Suspense fallback=|| view! { <p class="muted" aria-live="polite">"Checking your session…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) if allows.with_value(|allows| allows(&user)) => {
                        children.with_value(|c| c()).into_any()
                    }
                    Ok(Some(_)) => forbidden.with_value(|f| f()),
                    _ => view! { <Redirect path="/"/> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// What a signed-in person without the permission sees.
#[component]
fn NoAccess(permission: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::FORBIDDEN);
        }
    }
    view! {
        <section class="card" role="alert" data-testid="no-access">
            <h1>"You don't have access to this page"</h1>
            <p>"You need the " <code>{permission}</code> " permission. Ask an administrator of your organization."</p>
            <p><a class="button" href="/dashboard/profile">"Back to your profile"</a></p>
        </section>
    }
}
