//! `<RequireUser>`: a component that shows its children only to a signed-in person.
//!
//! The server already refuses protected paths (`protected_prefixes` in `Leptos.toml`);
//! this guard covers navigation inside the browser, and any page outside those prefixes.

use super::current_user;
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Renders `children` for a signed-in person; sends anyone else to the home page.
#[component]
pub fn RequireUser(children: ChildrenFn) -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(_)) => children.with_value(|c| c()).into_any(),
                    _ => view! { <Redirect path="/"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
