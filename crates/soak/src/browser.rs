//! One person's browser: a cookie jar that follows `Set-Cookie`, and form fields.

use rand::Rng;
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// One person's browser: cookies by name (with their path), no automatic redirects.
pub struct Person {
    pub email: &'static str,
    pub jar: BTreeMap<String, (String, String)>,
    /// When this person logs out (and back in): sessions last one to four minutes, so
    /// each outlives several 20-second access tokens and goes through refreshes.
    pub leaves_at: Instant,
}

/// How long one session lasts before the person logs out and in again.
pub fn session_length(rng: &mut impl Rng) -> Duration {
    Duration::from_secs(rng.gen_range(60..240))
}

impl Person {
    pub fn cookie_header(&self, path: &str) -> String {
        self.jar
            .iter()
            .filter(|(_, (_, cookie_path))| path.starts_with(cookie_path.as_str()))
            .map(|(name, (value, _))| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn remember(&mut self, response: &reqwest::Response) {
        for header in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let mut path = "/".to_string();
            let mut removed = value.is_empty();
            for attribute in parts {
                let attribute = attribute.trim();
                if let Some(p) = attribute.strip_prefix("Path=") {
                    path = p.to_string();
                }
                if attribute == "Max-Age=0" {
                    removed = true;
                }
            }
            if removed {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), (value.to_string(), path));
            }
        }
    }
}

/// The hidden fields of the forms in `html`, as a browser would submit them.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter(|tag| tag.contains(r#"type="hidden""#))
        .filter_map(|tag| {
            let attr = |name: &str| {
                let start = tag.find(&format!(r#"{name}=""#))? + name.len() + 2;
                let end = tag[start..].find('"')? + start;
                Some(tag[start..end].replace("&amp;", "&"))
            };
            Some((attr("name")?, attr("value").unwrap_or_default()))
        })
        .collect()
}
