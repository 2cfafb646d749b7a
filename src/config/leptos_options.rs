//! Leptos' own options (where the site's files are, where to listen) without reading
//! `Cargo.toml` at run time, so a deployment needs only the binary, `site/` and
//! environment variables.
//!
//! Each value comes from its `LEPTOS_*` environment variable, else from the value
//! cargo-leptos compiled in (it builds the server with the same variables set from
//! `[package.metadata.leptos]`), else from start-axum's defaults.

use super::EnvError;
use leptos::config::{Env, LeptosOptions, ReloadWSProtocol};
use std::sync::Arc;

/// A `LEPTOS_*` value: from the environment, else compiled in by cargo-leptos, else
/// `default`.
fn value(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    compiled_in: Option<&'static str>,
    default: &'static str,
) -> String {
    get(name)
        .or_else(|| compiled_in.map(str::to_string))
        .unwrap_or_else(|| default.to_string())
}

/// Leptos' options, reading variables through `get`.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<LeptosOptions, EnvError> {
    let site_addr = value(
        &get,
        "LEPTOS_SITE_ADDR",
        option_env!("LEPTOS_SITE_ADDR"),
        "127.0.0.1:3000",
    );
    let reload_port = value(
        &get,
        "LEPTOS_RELOAD_PORT",
        option_env!("LEPTOS_RELOAD_PORT"),
        "3001",
    );
    let hash_file = value(
        &get,
        "LEPTOS_HASH_FILE_NAME",
        option_env!("LEPTOS_HASH_FILE_NAME"),
        "hash.txt",
    );
    let hash_files =
        match get("LEPTOS_HASH_FILES").or(option_env!("LEPTOS_HASH_FILES").map(String::from)) {
            Some(value) => matches!(value.trim(), "true" | "1"),
            // Built without cargo-leptos (a plain `cargo build`): hashed names when the last
            // cargo-leptos build left its hash file beside the binary.
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.join(&hash_file)))
                .is_some_and(|file| file.is_file()),
        };
    let reload_external_port = match get("LEPTOS_RELOAD_EXTERNAL_PORT") {
        None => None,
        Some(port) => Some(port.parse::<u32>().map_err(|_| EnvError {
            var: "LEPTOS_RELOAD_EXTERNAL_PORT",
            problem: format!("{port:?} is not a port"),
            example: "443",
        })?),
    };
    Ok(LeptosOptions::builder()
        .output_name(value(
            &get,
            "LEPTOS_OUTPUT_NAME",
            option_env!("LEPTOS_OUTPUT_NAME"),
            env!("CARGO_PKG_NAME"),
        ))
        .site_root(value(
            &get,
            "LEPTOS_SITE_ROOT",
            option_env!("LEPTOS_SITE_ROOT"),
            "target/site",
        ))
        .site_pkg_dir(value(
            &get,
            "LEPTOS_SITE_PKG_DIR",
            option_env!("LEPTOS_SITE_PKG_DIR"),
            "pkg",
        ))
        .site_addr(
            site_addr
                .parse::<std::net::SocketAddr>()
                .map_err(|e| EnvError {
                    var: "LEPTOS_SITE_ADDR",
                    problem: format!("{site_addr:?} is not an address and port ({e})"),
                    example: "127.0.0.1:3000",
                })?,
        )
        .reload_port(reload_port.parse::<u32>().map_err(|_| EnvError {
            var: "LEPTOS_RELOAD_PORT",
            problem: format!("{reload_port:?} is not a port"),
            example: "3001",
        })?)
        .hash_files(hash_files)
        .hash_file(Arc::<str>::from(hash_file))
        .env(match get("LEPTOS_ENV").as_deref().map(str::trim) {
            Some("PROD" | "prod" | "production") => Env::PROD,
            _ => Env::DEV,
        })
        .reload_external_port(reload_external_port)
        .reload_ws_protocol(match get("LEPTOS_RELOAD_WS_PROTOCOL").as_deref() {
            Some("wss" | "WSS") => ReloadWSProtocol::WSS,
            _ => ReloadWSProtocol::WS,
        })
        .not_found_path(Arc::<str>::from(
            get("LEPTOS_NOT_FOUND_PATH").unwrap_or_else(|| "/404".into()),
        ))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_and_bad_addresses_name_their_variable() {
        let options = from_lookup(|name| match name {
            "LEPTOS_SITE_ADDR" => Some("0.0.0.0:8080".into()),
            "LEPTOS_SITE_ROOT" => Some("site".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(options.site_addr.port(), 8080);
        assert_eq!(&*options.site_root, "site");
        assert!(!options.output_name.is_empty());

        let hashed = from_lookup(|name| (name == "LEPTOS_HASH_FILES").then(|| "1".into())).unwrap();
        assert!(hashed.hash_files, "1 reads as true");
        let plain =
            from_lookup(|name| (name == "LEPTOS_HASH_FILES").then(|| "false".into())).unwrap();
        assert!(!plain.hash_files);

        let err = from_lookup(|name| (name == "LEPTOS_SITE_ADDR").then(|| "localhost".into()))
            .unwrap_err();
        assert_eq!(err.var, "LEPTOS_SITE_ADDR");
    }
}
