//! (Server only.) "Continue to sign in?": shown instead of starting a routed login when
//! the link came from another site. Without it, any page could send a visitor into an
//! SSO connection of the attacker's choosing and sign them in to the attacker's account
//! (login CSRF). The button posts the same routing back to `/login` from this origin.

use leptos::prelude::*;

/// What the confirmation page names and carries.
#[derive(Clone, Debug)]
pub struct ConfirmLogin {
    /// The identity provider's host, e.g. `acme.scalekit.dev`.
    pub provider_host: String,
    /// How the login is routed, for people: `("Organization", "org_acme")`, ….
    pub routing: Vec<(&'static str, String)>,
    /// The form fields posted back to `/login`.
    pub fields: Vec<(&'static str, String)>,
}

/// The path the confirmation form posts to.
pub const CONFIRM_LOGIN_PATH: &str = "/login";

/// The complete HTML document. Leptos escapes every value.
pub fn confirm_login_document(
    options: &leptos::config::LeptosOptions,
    page: &ConfirmLogin,
) -> String {
    let ConfirmLogin {
        provider_host,
        routing,
        fields,
    } = page.clone();
    let title = "Continue to sign in?";
    let body = view! {
        <main>
            <section class="card" data-testid="confirm-login">
                <h1>{title}</h1>
                <p>
                    "A link from outside this app wants to sign you in at "
                    <strong data-testid="confirm-provider">{provider_host}</strong>
                    ". Continue only if you meant to sign in to this app."
                </p>
                {(!routing.is_empty()).then(|| view! {
                    <dl class="provider-error">
                        {routing.into_iter().map(|(label, value)| view! {
                            <dt>{label}</dt>
                            <dd><code data-confirm=label>{value}</code></dd>
                        }).collect_view()}
                    </dl>
                })}
                <form method="post" action=CONFIRM_LOGIN_PATH>
                    {fields.into_iter().map(|(name, value)| view! {
                        <input type="hidden" name=name value=value/>
                    }).collect_view()}
                    <p class="actions">
                        <button class="button" type="submit">"Continue to sign in"</button>
                        <a href="/">"Cancel"</a>
                    </p>
                </form>
            </section>
        </main>
    }
    .to_html();
    super::errors::standalone_document(options, title.to_string(), body)
}
