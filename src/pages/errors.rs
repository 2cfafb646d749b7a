//! Friendly error pages: the in-app 404, and (server only) the standalone page shown
//! when a login fails at the callback.

use leptos::prelude::*;

/// The 404 page. Sets the status during server rendering.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <p><a class="button" href="/">"Go to the home page"</a></p>
        </section>
    }
}

/// The content of a standalone error page.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
    /// The provider's `error` and `error_description`, shown escaped.
    pub provider_error: Option<(String, Option<String>)>,
    /// A button label and where it goes.
    pub retry: Option<(String, String)>,
}

/// A complete HTML document for an error that happens outside the app's routes
/// (the login callback). Leptos escapes every value, so provider text cannot inject markup.
#[cfg(feature = "ssr")]
pub fn error_document(
    options: &leptos::config::LeptosOptions,
    status: u16,
    page: &ErrorPage,
) -> String {
    let ErrorPage {
        title,
        message,
        provider_error,
        retry,
    } = page.clone();
    let heading = title.clone();
    let body = view! {
        <main>
            <section class="card error" role="alert" data-status=status.to_string()>
                <h1>{heading}</h1>
                <p>{message}</p>
                {provider_error.map(|(code, description)| view! {
                    <dl class="provider-error">
                        <dt>"Error"</dt>
                        <dd><code class="error-code">{code}</code></dd>
                        {description.map(|d| view! {
                            <dt>"Details"</dt>
                            <dd class="error-description">{d}</dd>
                        })}
                    </dl>
                })}
                <p class="actions">
                    {retry.map(|(label, href)| view! { <a class="button" href=href>{label}</a> })}
                    <a href="/">"Back to the home page"</a>
                </p>
            </section>
        </main>
    }
    .to_html();
    standalone_document(options, title, body)
}

/// A complete HTML document around `body` (already rendered): the app's stylesheet, no
/// script. For the pages the auth endpoints answer with outside the app's routes.
#[cfg(feature = "ssr")]
pub fn standalone_document(
    options: &leptos::config::LeptosOptions,
    title: String,
    body: String,
) -> String {
    let stylesheet = crate::assets::stylesheet_href(options);
    let head = view! {
        <title>{title}</title>
        <link rel="stylesheet" href=stylesheet/>
    }
    .to_html();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>{head}</head>\
         <body>{body}</body></html>"
    )
}
