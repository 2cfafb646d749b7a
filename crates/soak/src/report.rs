//! What the soak measures: latencies and statuses, the server's resident memory, the
//! provider's request count and how many entries every map holds.

use std::{collections::BTreeMap, path::Path};

/// What happened in one minute (or overall).
#[derive(Default)]
pub struct Tally {
    pub latencies_ms: Vec<f64>,
    pub by_status: BTreeMap<u16, u64>,
    pub transport_errors: u64,
    pub lost_sessions: u64,
    pub logins: u64,
    pub logouts: u64,
    pub refreshes: u64,
    pub hostile: u64,
}

impl Tally {
    pub fn percentile(&self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return 0.0;
        }
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        sorted[rank.min(sorted.len() - 1)]
    }

    pub fn server_errors(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(status, _)| **status >= 500)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

/// The built-in provider's `/counters`: its request count and its maps' sizes.
pub async fn provider_counters(http: &reqwest::Client, idp: &str) -> Option<(u64, String)> {
    let counters: serde_json::Value = http
        .get(format!("{idp}/counters"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some((
        counters["requests"].as_u64()?,
        counters["sizes"].to_string(),
    ))
}

/// The app's latest "map sizes" line from its log (`RUST_LOG=memory=debug`), its fields
/// only.
pub fn app_map_sizes(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().rev().find(|l| l.contains("map sizes"))?;
    let fields = line.split("map sizes").nth(1)?.trim();
    Some(strip_ansi(fields))
}

/// The maps in an app "map sizes" line that hold more than their bound allows: each
/// in-process record and cache at most `capacity` (ids seen: two kinds, logout tokens
/// and webhooks, each bounded), the validated-token cache and the unsealed-cookie memo at
/// most 10 000 each. Shared refresh calls are bounded by time (each lives seconds), not
/// by count: not checked here.
pub fn maps_over_bound(fields: &str, capacity: u64) -> Vec<String> {
    fields
        .split_whitespace()
        .filter_map(|field| field.split_once('='))
        .filter_map(|(name, value)| {
            let size: u64 = value.parse().ok()?;
            let bound = match name {
                "refresh_calls" => return None,
                "validated_tokens" | "unsealed_sessions" => 10_000,
                "seen_ids" => 2 * capacity,
                _ => capacity,
            };
            (size > bound).then(|| format!("{name}={size} (bound {bound})"))
        })
        .collect()
}

/// How much the resident memory grew over the second half of the run, in percent of
/// the figure at its midpoint (the warm-up is long over by then).
pub fn late_growth_percent(rss_series: &[u64]) -> Option<f64> {
    let middle = *rss_series.get(rss_series.len() / 2)?;
    let last = *rss_series.last()?;
    (middle > 0).then(|| 100.0 * (last as f64 - middle as f64) / middle as f64)
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
