//! `/dashboard/organization`: a page only for people whose access token grants
//! `organization:manage`. `<RequirePermission>` decides what the browser shows; the
//! server function behind it checks again with `require_permission`, because the data
//! must never depend on a check the browser could skip.

use crate::{auth::guard::RequirePermission, pages::account::organization_report};
use leptos::prelude::*;

/// The permission this page needs.
pub const MANAGE_ORGANIZATION: &str = "organization:manage";

/// [`MANAGE_ORGANIZATION`] as a type, for the `RequirePermission` extractor.
#[cfg(feature = "ssr")]
pub struct ManageOrganization;

#[cfg(feature = "ssr")]
impl crate::auth::server::extract::Permission for ManageOrganization {
    const NAME: &'static str = MANAGE_ORGANIZATION;
}

#[component]
pub fn OrganizationPage() -> impl IntoView {
    view! {
        <RequirePermission permission=MANAGE_ORGANIZATION>
            <OrganizationReport/>
        </RequirePermission>
    }
}

#[component]
fn OrganizationReport() -> impl IntoView {
    let report = Resource::new(|| (), |_| organization_report());
    view! {
        <section class="card">
            <h1>"Organization"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading the organization…"</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(text) => view! { <p data-testid="organization-page-report">{text}</p> }.into_any(),
                        Err(err) => view! { <p class="notice" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <div class="auth-actions">
                <a class="button" href="/dashboard/account">"Account"</a>
            </div>
        </section>
    }
}
