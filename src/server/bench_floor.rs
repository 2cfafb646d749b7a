//! Benchmark only (cargo feature `bench-floor`, never in a product build): the framework's
//! floor. A minimal Leptos page shaped like the start-axum template's hello world (shell,
//! meta, router, one route with a counter), served by this binary outside every layer of
//! ours, so `scripts/bench.sh` can show what our middleware and pages cost above Leptos.

use axum::{routing::get, Router};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router as LeptosRouter, Routes},
    path,
};

/// Where the floor page is served.
pub const FLOOR_PATH: &str = "/__bench/floor";

/// `router` plus the floor page, added after (so outside) every layer of `router`.
pub fn with_floor(router: Router, options: LeptosOptions) -> Router {
    router.route(
        FLOOR_PATH,
        get(leptos_axum::render_app_to_stream(move || {
            floor_shell(options.clone())
        })),
    )
}

fn floor_shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <FloorApp/>
            </body>
        </html>
    }
}

#[component]
fn FloorApp() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Welcome to Leptos"/>
        <LeptosRouter>
            <main>
                <Routes fallback=|| "Page not found.">
                    <Route path=path!("/__bench/floor") view=FloorPage/>
                </Routes>
            </main>
        </LeptosRouter>
    }
}

#[component]
fn FloorPage() -> impl IntoView {
    let count = RwSignal::new(0);
    view! {
        <h1>"Welcome to Leptos!"</h1>
        <button on:click=move |_| *count.write() += 1>"Click Me: " {count}</button>
    }
}
