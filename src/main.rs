//! The server binary: everything happens in `server::run`.

/// mimalloc instead of the system allocator: server rendering allocates and frees many
/// small strings per request, and glibc's malloc spent a fifth of the CPU time on them.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    scalekit_leptos_starter::server::run().await
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // The browser build starts in `lib.rs`'s `hydrate`.
}
