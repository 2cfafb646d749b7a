//! The home page: "Log in" and "Sign up" for visitors, a greeting for signed-in people.
//! Rendered on the server; only the login forms ([`LoginForms`]) and the logout button
//! ([`LogoutButton`]) are islands.

use crate::auth::{current_user, social_providers, Notice, StartLogin, User};
use crate::pages::{friendly_error, profile::LogoutButton, ActionError};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn HomePage() -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        query
            .read()
            .get(Notice::QUERY_KEY)
            .and_then(|code| Notice::from_code(&code))
    };
    view! {
        <section class="card hero">
            <h1>"Rust full-stack authentication"</h1>
            <p class="lead">
                "A Leptos + axum starter that signs people up, logs them in and keeps their session through Scalekit's hosted login pages (OpenID Connect)."
            </p>
            {move || notice().map(|n| view! { <p class="notice" role="alert">{n.message()}</p> })}
            // The session is read as the page renders (`SsrMode::Async`: the page is sent
            // once it is known). A bare `Suspend`, not a `Resource` in a `<Suspense>`:
            // this page renders only on the server (its islands take what they need as
            // props), so nothing has to be serialized for the browser or shown meanwhile,
            // and the page renders in well under half the time (PERFORMANCE.md). Keep the
            // route `Async` (or `InOrder`): streamed out of order, Leptos 0.8 swaps a bare
            // `Suspend` in with a script that carries no CSP nonce, which the page's CSP
            // blocks. And one bare `Suspend` per component: a second one replaces the
            // first's notifier. For more async values, use a `Resource` in `<Suspense>`.
            {Suspend::new(async move {
                // Asked only for people signed out: nobody else sees the buttons.
                let signed_out = || async move {
                    let providers = social_providers().await.unwrap_or_default();
                    view! { <LoginForms providers/> }.into_any()
                };
                match current_user().await {
                    Ok(Some(user)) => view! { <SignedIn user/> }.into_any(),
                    Ok(None) => signed_out().await,
                    Err(err) => {
                        leptos::logging::error!("cannot read the session: {err}");
                        signed_out().await
                    }
                }
            })}
        </section>
    }
}

/// "Log in" and "Sign up": forms posting to the `start_login` server function, so they
/// work without JavaScript; with it (an island), the same forms submit in the background
/// and show their loading and error states. The `intent` values are
/// [`LoginIntent`](crate::auth::LoginIntent)'s serde names. `providers`: the social
/// login buttons to offer.
#[island]
pub fn LoginForms(providers: Vec<String>) -> impl IntoView {
    let start = ServerAction::<StartLogin>::new();
    let pending = start.pending();
    view! {
        <div class="auth-actions" aria-busy=move || pending.get().to_string()>
            <ActionForm action=start>
                <input type="hidden" name="intent" value="login"/>
                <button type="submit" class="button primary" disabled=pending>"Log in"</button>
            </ActionForm>
            <ActionForm action=start>
                <input type="hidden" name="intent" value="signup"/>
                <button type="submit" class="button" disabled=pending>"Sign up"</button>
            </ActionForm>
        </div>
        <p class="muted" aria-live="polite">
            {move || if pending.get() { "Taking you to the sign-in page…" } else { "" }}
        </p>
        <ActionError error=Signal::derive(move || {
            if pending.get() {
                return None;
            }
            start.value().get().and_then(Result::err).map(|err| friendly_error(&err))
        })/>
        <SsoAndSocial start providers/>
    }
}

/// "Sign in with SSO" (the work email routes to the organization's identity provider
/// through `login_hint` and `domain_hint`) and one button per configured social provider.
#[component]
fn SsoAndSocial(start: ServerAction<StartLogin>, providers: Vec<String>) -> impl IntoView {
    let pending = start.pending();
    view! {
        <div class="more-options">
            <ActionForm action=start>
                <input type="hidden" name="intent" value="login"/>
                <label for="sso-email">"Work email"</label>
                <div class="inline">
                    <input id="sso-email" name="login_hint" type="email" autocomplete="email" required/>
                    <button type="submit" class="button" disabled=pending>"Sign in with SSO"</button>
                </div>
            </ActionForm>
            <div class="auth-actions">
                {providers.into_iter().map(|provider| view! {
                    <ActionForm action=start>
                        <input type="hidden" name="intent" value="login"/>
                        <input type="hidden" name="provider" value=provider.clone()/>
                        <button type="submit" class="button" disabled=pending>
                            {format!("Continue with {}", display_name(&provider))}
                        </button>
                    </ActionForm>
                }).collect_view()}
            </div>
        </div>
    }
}

fn display_name(provider: &str) -> String {
    match provider {
        "github" => "GitHub".into(),
        "gitlab" => "GitLab".into(),
        "linkedin" => "LinkedIn".into(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

#[component]
fn SignedIn(user: User) -> impl IntoView {
    view! {
        <p class="greeting">"You are signed in as " <strong>{user.display_name().to_string()}</strong> "."</p>
        <div class="auth-actions">
            <a class="button primary" href="/dashboard/profile">"Your profile"</a>
            <LogoutButton/>
        </div>
    }
}
