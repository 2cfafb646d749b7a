//! A bounded load of malformed requests against a running app (loopback only).
//!
//! Sends `--count` requests (default 10 000) with hostile query strings, cookies, bodies
//! and methods across every route, `--concurrency` at a time, and stops after
//! `--seconds` (default 120) whatever happens. Prints the count per status class and, given
//! `--pid`, the server's resident memory before and after. Exits 1 if any answer was 5xx.
//!
//! Run it with `scripts/hostile-load.sh`, which starts and stops the server.

use rand::{seq::SliceRandom, Rng, SeedableRng};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/auth/callback"),
    ("GET", "/auth/refresh"),
    ("GET", "/dashboard/profile"),
    ("POST", "/auth/login"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/me"),
    ("POST", "/auth/refresh/session"),
    ("GET", "/pkg/scalekit-leptos-starter.js"),
    ("GET", "/no/such/page"),
    ("PUT", "/auth/callback"),
    ("DELETE", "/"),
];

fn garbage(rng: &mut impl Rng, max: usize) -> String {
    let len = rng.gen_range(0..max);
    let alphabet: &[u8] = b"abcXYZ019%&=?/\\<>\"'.;:-_~+!*()[]{}| ";
    (0..len)
        .map(|_| *alphabet.choose(rng).unwrap_or(&b'x') as char)
        .collect()
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn hostile_request(rng: &mut impl Rng, base: &str) -> (reqwest::Method, String, String, String) {
    let (method, path) = ROUTES.choose(rng).copied().unwrap_or(("GET", "/"));
    let names = [
        "code",
        "state",
        "error",
        "error_description",
        "return_to",
        "intent",
        "x",
    ];
    let query: Vec<String> = (0..rng.gen_range(0..5))
        .map(|_| {
            let name = names.choose(rng).copied().unwrap_or("x");
            let value = match rng.gen_range(0..4) {
                0 => "https://evil.example".to_string(),
                1 => "A".repeat(rng.gen_range(0..8000)),
                2 => "<script>alert(1)</script>".to_string(),
                _ => garbage(rng, 200),
            };
            format!("{name}={}", encode(&value))
        })
        .collect();
    let cookies = ["sk_access", "sk_refresh", "sk_id", "sk_login"];
    let cookie: Vec<String> = (0..rng.gen_range(0..4))
        .map(|_| {
            format!(
                "{}={}",
                cookies.choose(rng).copied().unwrap_or("x"),
                encode(&garbage(rng, 600))
            )
        })
        .collect();
    let body = if method == "POST" {
        garbage(rng, 500)
    } else {
        String::new()
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    (
        method,
        format!("{base}{path}?{}", query.join("&")),
        cookie.join("; "),
        body,
    )
}

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let base = arg("--url").unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let host = url::Url::parse(&base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    if !(host == "localhost" || host.starts_with("127.") || host == "[::1]") {
        eprintln!("refusing to load {base}: loopback addresses only");
        return std::process::ExitCode::FAILURE;
    }
    let count: usize = arg("--count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000);
    let concurrency: usize = arg("--concurrency")
        .and_then(|c| c.parse().ok())
        .unwrap_or(32);
    let deadline =
        Duration::from_secs(arg("--seconds").and_then(|c| c.parse().ok()).unwrap_or(120));
    let pid: Option<u32> = arg("--pid").and_then(|p| p.parse().ok());

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let rss_before = rss_kib(pid);
    let started = Instant::now();
    let tally: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, base, tally, next) = (http.clone(), base.clone(), tally.clone(), next.clone());
        workers.spawn(async move {
            let mut rng = rand::rngs::StdRng::from_entropy();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count
                && started.elapsed() < deadline
            {
                let (method, url, cookie, body) = hostile_request(&mut rng, &base);
                let shown = format!("{method} {}", url.chars().take(160).collect::<String>());
                let outcome = match http
                    .request(method, &url)
                    .header("cookie", cookie)
                    .body(body)
                    .send()
                    .await
                {
                    Ok(response) if response.status().is_server_error() => {
                        let status = response.status();
                        let text = response.text().await.unwrap_or_default();
                        eprintln!(
                            "5xx example: {shown} -> {status} {}",
                            text.chars().take(200).collect::<String>()
                        );
                        "5xx".into()
                    }
                    Ok(response) => format!("{}xx", response.status().as_u16() / 100),
                    Err(err) if err.is_timeout() => "timeout".into(),
                    Err(_) => "transport error".into(),
                };
                *tally
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(outcome)
                    .or_default() += 1;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let tally = tally.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let sent: usize = tally.values().sum();
    println!(
        "hostile load against {base}: {sent} requests in {:.1} s ({:.0} req/s)",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    for (outcome, n) in &tally {
        println!("  {outcome:>16}: {n}");
    }
    let server_errors = tally.get("5xx").copied().unwrap_or(0);
    println!("  5xx answers: {server_errors}");
    if let (Some(before), Some(after)) = (rss_before, rss_kib(pid)) {
        println!(
            "  server resident memory: {:.1} MiB before, {:.1} MiB after",
            before as f64 / 1024.0,
            after as f64 / 1024.0
        );
    }
    if server_errors == 0 && sent >= count.min(1) {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
