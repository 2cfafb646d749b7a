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
    let text = std::fs::read_to_string(hash_file(options)?).ok()?;
    text.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .find(|(kind, _)| *kind == "css")
        .map(|(_, hash)| hash.trim().to_string())
}

/// Where cargo-leptos writes the hashes: beside the server binary, where Leptos reads them.
fn hash_file(options: &LeptosOptions) -> Option<std::path::PathBuf> {
    Some(
        std::env::current_exe()
            .ok()?
            .parent()?
            .join(options.hash_file.as_ref()),
    )
}

/// Leptos' `<HydrationScripts islands=true>` (the islands' loader and the preload hints
/// for the hashed JS and WASM files), rendered once per process.
///
/// Leptos 0.8's component reads cargo-leptos' hash file on every page it renders (a
/// `readlink`, two `statx`, an `openat` and two `read`s; Leptos 0.9 remembers it): about a
/// seventh of a page's server time here (PERFORMANCE.md, "A seventh look"). Its HTML
/// depends only on the options, the hash file and the page's CSP nonce, so the component
/// is rendered once with a placeholder nonce, and each page fills in its own. Unit tests
/// hold the result to Leptos' own HTML, with and without hashes.
///
/// Renders Leptos' component as is (and reads the file) when the options differ from the
/// first page's (tests that start several servers in one process), while the hash file is
/// missing, or when the nonce is not one Leptos made. Not for an app that splits its WASM
/// (`#[lazy]`): Leptos' component also provides the split manifest for preloading, which
/// this does not.
#[component]
pub fn IslandScripts(options: LeptosOptions) -> impl IntoView {
    use leptos::either::Either;
    use leptos::nonce::use_nonce;
    use leptos::tachys::html::InertElement;

    static TEMPLATE: OnceLock<ScriptsTemplate> = OnceLock::new();
    let template = TEMPLATE.get().or_else(|| {
        ScriptsTemplate::render(&options).map(|template| TEMPLATE.get_or_init(|| template))
    });
    match (template, use_nonce()) {
        (Some(template), Some(nonce)) if template.renders(&options) && is_leptos_nonce(&nonce) => {
            // What Leptos' component does besides rendering: the islands are hydrated
            // on their own, not as part of the page.
            if let Some(shared) = Owner::current_shared_context() {
                shared.set_is_hydrating(false);
            }
            Either::Left(InertElement::new(template.fill(&nonce)))
        }
        _ => Either::Right(view! { <HydrationScripts options islands=true/> }),
    }
}

/// Leptos' scripts, split where the nonce goes.
struct ScriptsTemplate {
    options: LeptosOptions,
    pieces: Vec<String>,
}

/// Cannot occur in Leptos' script (Leptos' nonces never contain `~`); a template is not
/// made for options that contain it.
const NONCE_PLACEHOLDER: &str = "~nonce~";

impl ScriptsTemplate {
    /// Leptos' HTML for `options`, or `None` when it would not be the same for every page.
    fn render(options: &LeptosOptions) -> Option<Self> {
        let missing_hashes =
            options.hash_files && !hash_file(options).is_some_and(|file| file.is_file());
        let names = [
            &options.output_name,
            &options.site_pkg_dir,
            &options.site_root,
        ];
        if missing_hashes || names.iter().any(|name| name.contains(NONCE_PLACEHOLDER)) {
            return None;
        }
        let html = Owner::new().with(|| {
            provide_context(leptos::nonce::Nonce::from_value(NONCE_PLACEHOLDER));
            let options = options.clone();
            view! { <HydrationScripts options islands=true/> }.to_html()
        });
        let pieces: Vec<String> = html.split(NONCE_PLACEHOLDER).map(String::from).collect();
        (pieces.len() > 1).then(|| Self {
            options: options.clone(),
            pieces,
        })
    }

    fn fill(&self, nonce: &str) -> String {
        self.pieces.join(nonce)
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

    const NONCES: [&str; 2] = ["Zm9vYmFyYmF6cXV4", "a-b_c0123456789xyzXYZ"];

    fn render_with_nonce(nonce: &str, view: impl FnOnce() -> AnyView) -> String {
        Owner::new().with(|| {
            provide_context(Nonce::from_value(nonce));
            view().to_html()
        })
    }

    fn leptos_scripts(options: &LeptosOptions, nonce: &str) -> String {
        let options = options.clone();
        render_with_nonce(nonce, || {
            view! { <HydrationScripts options islands=true/> }.into_any()
        })
    }

    fn options(hash_file: Option<&str>) -> LeptosOptions {
        let builder = LeptosOptions::builder()
            .output_name("starter")
            .site_pkg_dir("pkg");
        match hash_file {
            Some(file) => builder.hash_files(true).hash_file(file.into()).build(),
            None => builder.build(),
        }
    }

    #[test]
    fn island_scripts_are_leptos_hydration_scripts_with_each_pages_nonce() {
        let options = options(None);
        for nonce in NONCES {
            let leptos = leptos_scripts(&options, nonce);
            let ours = render_with_nonce(nonce, || {
                let options = options.clone();
                view! { <IslandScripts options/> }.into_any()
            });
            assert!(leptos.contains(nonce), "{leptos}");
            assert_eq!(ours, leptos);
        }
    }

    #[test]
    fn the_template_names_the_hashed_files_as_leptos_does() {
        let name = format!("island-scripts-test-{}.txt", std::process::id());
        let hashed = options(Some(&name));
        assert!(
            ScriptsTemplate::render(&hashed).is_none(),
            "no template while the hash file is missing"
        );
        let file = hash_file(&hashed).expect("the test binary's directory");
        std::fs::write(&file, "js: jsHash123\nwasm: wasmHash456\ncss: cssHash789\n").unwrap();
        let template = ScriptsTemplate::render(&hashed);
        let leptos = leptos_scripts(&hashed, NONCES[0]);
        std::fs::remove_file(&file).unwrap();
        assert!(leptos.contains("starter.jsHash123.js"), "{leptos}");
        assert!(leptos.contains("starter.wasmHash456.wasm"), "{leptos}");
        assert_eq!(template.expect("a template").fill(NONCES[0]), leptos);
    }
}
