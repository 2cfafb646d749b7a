//! `/dashboard/profile`: who is signed in, and when their access token expires.
//!
//! The server's route guard only renders this page for a valid session (refreshing an
//! expired one first). The profile card is an island: in the browser it refreshes the
//! session shortly before the access token expires, so an open tab stays signed in.

use crate::auth::{guarded_user, Logout, User};
use crate::pages::{friendly_error, ActionError};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Rendered from the session the route guard validated: nothing to wait for, so the
/// page is one synchronous render.
#[component]
pub fn ProfilePage() -> impl IntoView {
    match guarded_user() {
        Some(user) => view! { <Profile user/> }.into_any(),
        None => view! { <Redirect path="/"/> }.into_any(),
    }
}

/// The signed-in person's claims, kept current by the background refresh.
#[island]
pub fn Profile(user: User) -> impl IntoView {
    let user = RwSignal::new(user);
    // Why the last background refresh failed, shown until the next one succeeds.
    let refresh_problem = RwSignal::new(None::<String>);
    keep_session_fresh(user, refresh_problem);
    view! {
        <section class="card profile">
            // One reactive block for the claims: a refresh updates them together, and the
            // server renders them in one pass instead of one reactive node per value.
            {move || user.with(|u| view! {
                <h1>"Hello, " {u.display_name().to_string()}</h1>
                <dl class="claims">
                    <dt>"Name"</dt>
                    <dd data-testid="name">{or_dash(u.name.clone())}</dd>
                    <dt>"Email"</dt>
                    <dd data-testid="email">{or_dash(u.email.clone())}</dd>
                    <dt>"Email verified"</dt>
                    <dd data-testid="email-verified">
                        {or_dash(u.email_verified.map(|v| if v { "Yes" } else { "No" }.to_string()))}
                    </dd>
                    <dt>"User ID"</dt>
                    <dd data-testid="user-id"><code>{u.id.clone()}</code></dd>
                    <dt>"Organization"</dt>
                    <dd data-testid="organization-id"><code>{or_dash(u.organization_id.clone())}</code></dd>
                    <dt>"Session"</dt>
                    <dd data-testid="session-id"><code>{or_dash(u.session_id.clone())}</code></dd>
                    <dt>"Roles"</dt>
                    <dd data-testid="roles">{join_or_dash(&u.roles)}</dd>
                    <dt>"Permissions"</dt>
                    <dd data-testid="permissions">{join_or_dash(&u.permissions)}</dd>
                    <dt>"Access token expires"</dt>
                    <dd data-testid="access-token-expires">
                        <time datetime=u.access_token_expires_at.to_string()>
                            {u.access_token_expires_at_utc.clone()}
                        </time>
                    </dd>
                </dl>
            })}
            <ActionError error=refresh_problem/>
            <div class="auth-actions">
                <a class="button" href="/">"Home"</a>
                <a class="button" href="/dashboard/account">"Account"</a>
                <LogoutButton/>
            </div>
        </section>
    }
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "—".into())
}

fn join_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "—".into()
    } else {
        items.join(", ")
    }
}

/// In the browser: refresh the session a little before the access token expires
/// (a quarter of its remaining life, at most 30 s early), and again after each refresh.
#[cfg(feature = "hydrate")]
fn keep_session_fresh(user: RwSignal<User>, problem: RwSignal<Option<String>>) {
    use crate::auth::{refresh_session, Notice};
    Effect::new(move |_| {
        let expires_at = user.with(|u| u.access_token_expires_at);
        let now = (js_sys::Date::now() / 1000.0) as i64;
        let remaining = (expires_at - now).max(0);
        let delay = (remaining - (remaining / 4).min(30)).max(1) as u64;
        let timer = set_timeout_with_handle(
            move || {
                leptos::task::spawn_local(async move {
                    match refresh_session().await {
                        Ok(Some(fresh)) => {
                            problem.set(None);
                            user.set(fresh);
                        }
                        Ok(None) => {
                            let _ = window()
                                .location()
                                .set_href(&Notice::SessionEnded.home_url());
                        }
                        // The provider is briefly unavailable: say so; the server-side
                        // guard tries again on the next navigation.
                        Err(err) => {
                            leptos::logging::warn!("session refresh failed: {err}");
                            problem.set(Some(format!(
                                "{} Your session stays; we will try again when you open a page.",
                                friendly_error(&err)
                            )));
                        }
                    }
                });
            },
            std::time::Duration::from_secs(delay),
        );
        if let Ok(timer) = timer {
            on_cleanup(move || timer.clear());
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn keep_session_fresh(_user: RwSignal<User>, _problem: RwSignal<Option<String>>) {}

/// "Log out": a form posting to the `logout` server function, which clears the session
/// and sends the browser through the provider's logout URL back to the home page. An
/// island, for its loading and error states.
#[island]
pub fn LogoutButton() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let pending = logout.pending();
    view! {
        <ActionForm action=logout>
            <button type="submit" class="button" disabled=pending>
                {move || if pending.get() { "Signing you out…" } else { "Log out" }}
            </button>
        </ActionForm>
        <ActionError error=Signal::derive(move || {
            if pending.get() {
                return None;
            }
            logout.value().get().and_then(Result::err).map(|err| friendly_error(&err))
        })/>
    }
}
