//! The server binary: everything happens in `server::run`.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    scalekit_leptos_starter::server::run().await
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // The browser build starts in `lib.rs`'s `hydrate`.
}
