//! The HTML shell and the router.

use crate::pages::{errors::NotFound, home::HomePage, SignedInRoutes};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{FlatRoutes, Route, Router, A},
    path, SsrMode,
};

/// The document around the app (server-rendered only).
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use crate::assets::{stylesheet_href, IslandScripts};
    use leptos_meta::MetaTags;

    crate::response_headers::set_page_csp();
    let stylesheet = stylesheet_href(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <IslandScripts options/>
                <link id="leptos" rel="stylesheet" href=stylesheet/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: header and routes. Every route renders fully on the server before the
/// response is sent (`SsrMode::Async`), so pages work without JavaScript. The routes are
/// flat (`<FlatRoutes>`: no `<ParentRoute>` layouts with an `<Outlet>`), which renders a
/// page about a tenth faster than nested `<Routes>` (PERFORMANCE.md); a fork that needs
/// nested layouts can switch back.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Scalekit + Leptos starter"/>
        <Router>
            <header class="site-header">
                <A href="/" attr:class="brand">"Scalekit + Leptos"</A>
            </header>
            <main>
                <FlatRoutes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <SignedInRoutes/>
                </FlatRoutes>
            </main>
        </Router>
    }
}

/// The signed-in pages alone, for the server to list their paths (its route guard).
#[component]
pub fn SignedInPages() -> impl IntoView {
    view! {
        <Router>
            <FlatRoutes fallback=|| ()>
                <SignedInRoutes/>
            </FlatRoutes>
        </Router>
    }
}
