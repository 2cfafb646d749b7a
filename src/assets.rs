//! Where the built assets are, including cargo-leptos' content hashes (`hash-files`).

use leptos::config::LeptosOptions;
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
