//! `/dashboard/account`: the recipes in one page. It is guarded (on the server by being
//! in `<SignedInRoutes>`, again as it renders by `<RequireUser>`), and its server function reads
//! the signed-in person and calls *your own API* with their access token, which never
//! leaves the server.

use crate::auth::guard::RequireUser;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the account page shows. No token in here: it is sent to the browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub name: String,
    /// The subject your API saw in the access token it was called with.
    pub api_subject: String,
}

/// Reads the person and asks the example API who the access token belongs to.
#[server(prefix = "/api", endpoint = "account_overview")]
pub async fn account_overview() -> Result<AccountSummary, ServerFnError> {
    use crate::auth::server::{access_token, require_user};
    let user = require_user().await?;
    let token = access_token().await?;
    let api = expect_context::<crate::server::AppState>().api;
    let api_subject = api
        .whoami(&token)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    Ok(AccountSummary {
        name: user.display_name().to_string(),
        api_subject,
    })
}

/// Only for people whose access token grants `organization:manage`.
#[server(prefix = "/api", endpoint = "organization_report")]
pub async fn organization_report() -> Result<String, ServerFnError> {
    use crate::auth::server::{extract::extract, RequirePermission};
    use crate::pages::organization::ManageOrganization;
    let RequirePermission(user, ..) = extract::<RequirePermission<ManageOrganization>>().await?;
    Ok(format!(
        "Organization {} is managed by {}.",
        user.organization_id.as_deref().unwrap_or("—"),
        user.display_name()
    ))
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| account_overview());
    let report = Resource::new(|| (), |_| organization_report());
    view! {
        <RequireUser>
            <section class="card">
                <h1>"Account"</h1>
                <Suspense fallback=|| view! { <p class="muted">"Asking your API…"</p> }>
                    {move || Suspend::new(async move {
                        match overview.await {
                            Ok(o) => view! {
                                <p>"Signed in as " <strong>{o.name}</strong> "."</p>
                                <p>"Your API, called from the server with your access token, says you are "
                                    <code data-testid="api-subject">{o.api_subject}</code> "."</p>
                            }.into_any(),
                            Err(err) => view! { <p class="notice" role="alert">{err.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                <h2>"Organization"</h2>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match report.await {
                            Ok(text) => view! { <p data-testid="organization-report">{text}</p> }.into_any(),
                            Err(err) => view! {
                                <p class="notice" role="alert" data-testid="organization-report">{err.to_string()}</p>
                            }.into_any(),
                        }
                    })}
                </Suspense>
                <div class="auth-actions">
                    <a class="button" href="/dashboard/profile">"Profile"</a>
                    <a class="button" href="/dashboard/organization">"Organization page"</a>
                </div>
            </section>
        </RequireUser>
    }
}
