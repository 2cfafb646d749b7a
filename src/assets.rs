//! Where the built assets are, including cargo-leptos' content hashes (`hash-files`).

use leptos::prelude::*;
use std::sync::OnceLock;

/// The stylesheet's URL, e.g. `/pkg/scalekit-leptos-starter.4VUMyz4D….css`.
///
/// cargo-leptos writes the hashes into a file beside the server binary; it is read once
/// per process, not on every page view.
pub fn stylesheet_href(options: &LeptosOptions) -> &'static str {
    static HREF: OnceLock<String> = OnceLock::new();
    HREF.get_or_init(|| {
        let hash = options
            .hash_files
            .then(|| css_hash(options))
            .flatten()
            .map(|h| format!(".{h}"))
            .unwrap_or_default();
        format!(
            "/{}/{}{hash}.css",
            options.site_pkg_dir, options.output_name
        )
    })
}

fn css_hash(options: &LeptosOptions) -> Option<String> {
    let path = std::env::current_exe()
        .ok()?
        .parent()?
        .join(options.hash_file.as_ref());
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .find(|(kind, _)| *kind == "css")
        .map(|(_, hash)| hash.trim().to_string())
}

/// Leptos' `<HydrationScripts islands=true>` (the islands' loader and the preload hints
/// for the hashed JS and WASM files), rendered once per process.
///
/// Leptos 0.8's component reads cargo-leptos' hash file on every page it renders (a
/// `readlink`, two `statx`, an `openat` and two `read`s; Leptos 0.9 remembers it): about a
/// seventh of a page's server time here (PERFORMANCE.md). Its HTML depends only on the
/// options and the page's CSP nonce, so the component is rendered once with a
/// placeholder nonce, and each page fills in its own. A unit test holds the result to
/// Leptos' own HTML. Renders Leptos' component as is when the options differ from the
/// first page's (tests that start several servers in one process) or the nonce is not one
/// Leptos made. Not for an app that splits its WASM (`#[lazy]`): Leptos' component also
/// provides the split manifest for preloading, which this does not.
#[component]
pub fn IslandScripts(options: LeptosOptions) -> impl IntoView {
    use leptos::either::Either;
    use leptos::nonce::use_nonce;
    use leptos::tachys::html::InertElement;

    static TEMPLATE: OnceLock<ScriptsTemplate> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| ScriptsTemplate::render(&options));
    match use_nonce() {
        Some(nonce) if template.renders(&options) && is_leptos_nonce(&nonce) => {
            // What Leptos' component does besides rendering: the islands are hydrated
            // on their own, not as part of the page.
            if let Some(shared) = Owner::current_shared_context() {
                shared.set_is_hydrating(false);
            }
            Either::Left(InertElement::new(template.pieces.join(&*nonce)))
        }
        _ => Either::Right(view! { <HydrationScripts options islands=true/> }),
    }
}

/// Leptos' scripts, split where the nonce goes.
struct ScriptsTemplate {
    options: LeptosOptions,
    pieces: Vec<String>,
}

/// Cannot occur in Leptos' script or in a file name (Leptos' nonces never contain `~`).
const NONCE_PLACEHOLDER: &str = "~nonce~";

impl ScriptsTemplate {
    fn render(options: &LeptosOptions) -> Self {
        let owner = Owner::new();
        let html = owner.with(|| {
            provide_context(leptos::nonce::Nonce::from_value(NONCE_PLACEHOLDER));
            let options = options.clone();
            view! { <HydrationScripts options islands=true/> }.to_html()
        });
        Self {
            options: options.clone(),
            pieces: html.split(NONCE_PLACEHOLDER).map(String::from).collect(),
        }
    }

    /// Whether the template is Leptos' output for `options`: only the fields the
    /// component reads.
    fn renders(&self, options: &LeptosOptions) -> bool {
        let ours = &self.options;
        ours.output_name == options.output_name
            && ours.site_pkg_dir == options.site_pkg_dir
            && ours.site_root == options.site_root
            && ours.hash_files == options.hash_files
            && ours.hash_file == options.hash_file
    }
}

/// Leptos' nonces are URL-safe base64, which needs no escaping in an attribute.
fn is_leptos_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::nonce::Nonce;

    fn render_page_head(nonce: &str, view: impl FnOnce() -> AnyView) -> String {
        Owner::new().with(|| {
            provide_context(Nonce::from_value(nonce));
            view().to_html()
        })
    }

    #[test]
    fn island_scripts_are_leptos_hydration_scripts_with_each_pages_nonce() {
        let options = LeptosOptions::builder()
            .output_name("starter")
            .site_pkg_dir("pkg")
            .build();
        for nonce in ["Zm9vYmFyYmF6cXV4", "a-b_c0123456789xyzXYZ"] {
            let leptos = render_page_head(nonce, || {
                let options = options.clone();
                view! { <HydrationScripts options islands=true/> }.into_any()
            });
            let ours = render_page_head(nonce, || {
                let options = options.clone();
                view! { <IslandScripts options/> }.into_any()
            });
            assert!(leptos.contains(nonce), "{leptos}");
            assert_eq!(ours, leptos);
        }
    }
}
