//! The provider's hosted pages (rendered with Leptos on the server; every value escaped).

use leptos::prelude::*;
use serde::Deserialize;

/// The parameters of an authorization request, as received.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
    pub domain_hint: Option<String>,
    pub organization_id: Option<String>,
    pub connection_id: Option<String>,
    pub provider: Option<String>,
}

impl AuthorizeParams {
    /// The set parameters as name/value pairs (to carry them through the form).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("login_hint", &self.login_hint),
            ("domain_hint", &self.domain_hint),
            ("organization_id", &self.organization_id),
            ("connection_id", &self.connection_id),
            ("provider", &self.provider),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }

    pub fn is_sign_up(&self) -> bool {
        self.prompt.as_deref() == Some("create")
    }

    /// The same request with another `prompt` (to switch between log-in and sign-up).
    fn with_prompt(&self, prompt: &str) -> String {
        let mut pairs = self.pairs();
        pairs.retain(|(name, _)| *name != "prompt");
        pairs.push(("prompt", prompt.to_string()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("/oauth/authorize?{query}")
    }
}

const STYLE: &str = "
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#0f172a;color:#0f172a;min-height:100vh;display:grid;place-items:center}
main{background:#fff;border-radius:14px;padding:2rem;width:min(24rem,calc(100vw - 2rem));box-shadow:0 20px 50px rgba(0,0,0,.35)}
.badge{display:inline-block;font-size:.75rem;background:#fef3c7;color:#92400e;border-radius:999px;padding:.2rem .6rem;margin-bottom:.75rem}
h1{font-size:1.5rem;margin:.25rem 0}
p{color:#334155}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input{box-sizing:border-box;width:100%;padding:.65rem .75rem;border:1px solid #94a3b8;border-radius:8px;font-size:1rem}
input:focus,button:focus-visible,a:focus-visible{outline:3px solid #6366f1;outline-offset:2px}
button{margin-top:1.25rem;width:100%;padding:.75rem;border:0;border-radius:8px;background:#4f46e5;color:#fff;font-size:1rem;font-weight:600;cursor:pointer}
.error{background:#fee2e2;color:#991b1b;border-radius:8px;padding:.6rem .8rem}
.muted{font-size:.85rem;color:#475569}
a{color:#4338ca}
";

fn document(title: &str, body: String) -> String {
    let head = view! { <title>{title.to_string()}</title> }.to_html();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>{head}\
         <style>{STYLE}</style></head><body>{body}</body></html>"
    )
}

/// The hosted log-in / sign-up page.
pub fn login_page(
    params: &AuthorizeParams,
    error: Option<&str>,
    seeded: &[String],
    email: Option<&str>,
) -> String {
    let sign_up = params.is_sign_up();
    let title = if sign_up {
        "Create your account"
    } else {
        "Log in"
    };
    let hidden: Vec<_> = params
        .pairs()
        .into_iter()
        .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
        .collect();
    let email_value = email
        .map(str::to_string)
        .or_else(|| params.login_hint.clone())
        .unwrap_or_default();
    let switch = if sign_up {
        view! { <p class="muted">"Already have an account? " <a href=params.with_prompt("login")>"Log in"</a></p> }
    } else {
        view! { <p class="muted">"New here? " <a href=params.with_prompt("create")>"Create an account"</a></p> }
    };
    let client = params.client_id.clone().unwrap_or_default();
    let seeded = seeded.join(", ");
    let routing: Vec<_> = [
        ("Organization", &params.organization_id),
        ("Connection", &params.connection_id),
        ("Social provider", &params.provider),
        ("Email domain", &params.domain_hint),
    ]
    .into_iter()
    .filter_map(|(label, value)| value.clone().map(|v| (label, v)))
    .map(|(label, value)| view! { <li>{label} ": " <strong data-routing=label>{value}</strong></li> })
    .collect();
    let routing = (!routing.is_empty()).then(|| {
        view! {
            <p class="muted">"The app asked for:"</p>
            <ul class="routing">{routing}</ul>
        }
    });
    let body = view! {
        <main>
            <span class="badge">"Built-in development identity provider"</span>
            <h1>{title}</h1>
            <p>"to continue to " <strong>{client}</strong></p>
            {routing}
            {error.map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <form method="post" action="/oauth/authorize">
                {hidden}
                {sign_up.then(|| view! {
                    <label for="name">"Name"</label>
                    <input id="name" name="name" type="text" autocomplete="name" required/>
                })}
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="email" required value=email_value/>
                <button type="submit">"Continue"</button>
            </form>
            {switch}
            {(!sign_up && !seeded.is_empty()).then(|| view! {
                <p class="muted">"Seeded accounts: " {seeded}</p>
            })}
        </main>
    }
    .to_html();
    document(title, body)
}

/// A page with a message and no form (errors, "signed out").
pub fn message_page(title: &str, message: &str) -> String {
    let body = view! {
        <main>
            <span class="badge">"Built-in development identity provider"</span>
            <h1>{title.to_string()}</h1>
            <p role="alert">{message.to_string()}</p>
        </main>
    }
    .to_html();
    document(title, body)
}

/// The provider's home: a button that starts an IdP-initiated login into the app.
pub fn home_page(can_initiate: bool, signed_in: Option<String>) -> String {
    let body = view! {
        <main>
            <span class="badge">"Built-in development identity provider"</span>
            <h1>"Your organization's portal"</h1>
            <p>"Apps start logins here with OpenID Connect. An identity provider can also start one itself (IdP-initiated SSO)."</p>
            {can_initiate.then(|| view! {
                <form method="get" action="/idp-initiated">
                    <label for="login_hint">"Email"</label>
                    <input id="login_hint" name="login_hint" type="email" value="ada@example.com"/>
                    <button type="submit">"Open the app (IdP-initiated login)"</button>
                </form>
            })}
            {signed_in.map(|email| view! {
                <form method="post" action="/session/end">
                    <p>"Signed in here as " <strong data-testid="idp-session">{email}</strong></p>
                    <button type="submit">"End this session"</button>
                </form>
            })}
        </main>
    }
    .to_html();
    document("Identity provider", body)
}
