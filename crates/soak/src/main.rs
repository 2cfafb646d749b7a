//! Mixed traffic against a running app and its built-in provider, for a long time, on
//! loopback: many signed-in people viewing pages (refreshing their sessions as their
//! short-lived access tokens expire), logging out and in again, and hostile requests.
//! Every minute it prints the server's resident memory, latency percentiles, error
//! counts, lost sessions and the provider's request count.
//!
//! `scripts/soak.sh` builds the release server, starts it and runs this.
//! Usage: soak --url URL --idp URL --pid PID [--minutes 30] [--people 40] [--workers 8]

use rand::{seq::SliceRandom, Rng, SeedableRng};
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

/// One person's browser: cookies by name (with their path), no automatic redirects.
struct Person {
    email: &'static str,
    jar: BTreeMap<String, (String, String)>,
}

impl Person {
    fn cookie_header(&self, path: &str) -> String {
        self.jar
            .iter()
            .filter(|(_, (_, cookie_path))| path.starts_with(cookie_path.as_str()))
            .map(|(name, (value, _))| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, response: &reqwest::Response) {
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

/// What happened in one minute (or overall).
#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    by_status: BTreeMap<u16, u64>,
    transport_errors: u64,
    lost_sessions: u64,
    logins: u64,
    logouts: u64,
    refreshes: u64,
    hostile: u64,
}

impl Tally {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return 0.0;
        }
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        sorted[rank.min(sorted.len() - 1)]
    }

    fn server_errors(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(status, _)| **status >= 500)
            .map(|(_, n)| n)
            .sum()
    }
}

struct Load {
    http: reqwest::Client,
    app: String,
    tally: Mutex<Tally>,
}

impl Load {
    /// One request as `person`: records its latency and status; returns status, Location
    /// and body (bodies only for pages we read).
    async fn send(
        &self,
        person: &mut Person,
        method: reqwest::Method,
        url: &str,
        form: Option<&[(String, String)]>,
    ) -> Option<(u16, Option<String>, String)> {
        let path = url::Url::parse(url)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        let mut request = self
            .http
            .request(method.clone(), url)
            .header("cookie", person.cookie_header(&path))
            // A browser navigating: server functions answer forms with redirects.
            .header("accept", "text/html,application/xhtml+xml");
        if url.starts_with(&self.app) {
            // The app's own pages: same-origin, as a browser sends.
            request = request.header("sec-fetch-site", "same-origin");
            if method == reqwest::Method::POST {
                request = request.header("origin", &self.app);
            }
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let started = Instant::now();
        let result = request.send().await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                {
                    let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
                    tally.latencies_ms.push(elapsed);
                    *tally.by_status.entry(status).or_default() += 1;
                }
                person.remember(&response);
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = response.text().await.unwrap_or_default();
                Some((status, location, body))
            }
            Err(_) => {
                self.tally
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .transport_errors += 1;
                None
            }
        }
    }

    fn absolute(&self, location: &str) -> String {
        url::Url::parse(&self.app)
            .and_then(|base| base.join(location))
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The whole login through the built-in provider's hosted page.
    async fn log_in(&self, person: &mut Person) -> bool {
        person.jar.clear();
        let form = [("intent".to_string(), "login".to_string())];
        let Some((302, Some(authorize), _)) = self
            .send(
                person,
                reqwest::Method::POST,
                &format!("{}/auth/login", self.app),
                Some(&form),
            )
            .await
        else {
            return false;
        };
        let Some((200, _, page)) = self
            .send(person, reqwest::Method::GET, &authorize, None)
            .await
        else {
            return false;
        };
        let mut fields = hidden_fields(&page);
        fields.push(("email".into(), person.email.into()));
        let submit = url::Url::parse(&authorize)
            .and_then(|u| u.join("/oauth/authorize"))
            .map(|u| u.to_string())
            .unwrap_or_default();
        let Some((302, Some(callback), _)) = self
            .send(person, reqwest::Method::POST, &submit, Some(&fields))
            .await
        else {
            return false;
        };
        let signed_in = matches!(
            self.send(person, reqwest::Method::GET, &callback, None)
                .await,
            Some((303, _, _))
        );
        if signed_in {
            self.tally.lock().unwrap_or_else(|e| e.into_inner()).logins += 1;
        }
        signed_in
    }

    /// A page view of a signed-in person, through a refresh when the access token has
    /// expired. False when the person turned out to be signed out: a lost session.
    async fn view_profile(&self, person: &mut Person) -> bool {
        let profile = format!("{}/dashboard/profile", self.app);
        match self
            .send(person, reqwest::Method::GET, &profile, None)
            .await
        {
            Some((200, _, _)) => true,
            Some((303, Some(location), _)) if location.starts_with("/auth/refresh") => {
                self.tally
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .refreshes += 1;
                let refresh = self.absolute(&location);
                match self
                    .send(person, reqwest::Method::GET, &refresh, None)
                    .await
                {
                    Some((303, Some(next), _)) if next.contains("/dashboard/profile") => matches!(
                        self.send(person, reqwest::Method::GET, &profile, None)
                            .await,
                        Some((200, _, _))
                    ),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    async fn log_out(&self, person: &mut Person) {
        // The app's logout, then the provider's (which ends its own session, as a browser
        // following the redirect would).
        let logout = self
            .send(
                person,
                reqwest::Method::POST,
                &format!("{}/auth/logout", self.app),
                Some(&[]),
            )
            .await;
        if let Some((302, Some(provider_logout), _)) = logout {
            if !provider_logout.starts_with('/') {
                let _ = self
                    .send(person, reqwest::Method::GET, &provider_logout, None)
                    .await;
            }
        }
        person.jar.clear();
        self.tally.lock().unwrap_or_else(|e| e.into_inner()).logouts += 1;
    }

    async fn hostile(&self, rng: &mut impl Rng) {
        let paths = [
            "/auth/callback?code=x&state=y",
            "/auth/refresh?return_to=https://evil.example",
            "/login?organization_id=%00%ff&return_to=//evil",
            "/dashboard/profile/..;/x",
            "/auth/initiate?idp_initiated_login=eyJ.garbage",
            "/no/such/page",
        ];
        let mut stranger = Person {
            email: "",
            jar: BTreeMap::new(),
        };
        stranger.jar.insert(
            "__Host-sk_access".into(),
            ("A".repeat(rng.gen_range(0..3000)), "/".into()),
        );
        let path = paths.choose(rng).copied().unwrap_or("/");
        let _ = self
            .send(
                &mut stranger,
                reqwest::Method::GET,
                &format!("{}{path}", self.app),
                None,
            )
            .await;
        self.tally.lock().unwrap_or_else(|e| e.into_inner()).hostile += 1;
    }
}

fn hidden_fields(html: &str) -> Vec<(String, String)> {
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

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
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

async fn provider_requests(http: &reqwest::Client, idp: &str) -> Option<u64> {
    let counters: serde_json::Value = http
        .get(format!("{idp}/counters"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    counters["requests"].as_u64()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let app = arg("--url").unwrap_or_else(|| "http://127.0.0.1:3500".into());
    let idp = arg("--idp").unwrap_or_else(|| "http://127.0.0.1:3501".into());
    let pid: u32 = arg("--pid").and_then(|p| p.parse().ok()).unwrap_or(0);
    let minutes: u64 = arg("--minutes").and_then(|m| m.parse().ok()).unwrap_or(30);
    let people: usize = arg("--people").and_then(|n| n.parse().ok()).unwrap_or(40);
    let workers: usize = arg("--workers").and_then(|n| n.parse().ok()).unwrap_or(8);
    for base in [&app, &idp] {
        let loopback = url::Url::parse(base)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h == "localhost" || h.starts_with("127."))
            })
            .unwrap_or(false);
        if !loopback {
            eprintln!("refusing to load {base}: loopback addresses only");
            return std::process::ExitCode::FAILURE;
        }
    }
    let http = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(http) => http,
        Err(err) => {
            eprintln!("cannot build the HTTP client: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let load = Arc::new(Load {
        http: http.clone(),
        app: app.clone(),
        tally: Mutex::new(Tally::default()),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let total_lost = Arc::new(AtomicU64::new(0));

    let mut handles = Vec::new();
    for worker in 0..workers {
        let load = load.clone();
        let stop = stop.clone();
        let lost = total_lost.clone();
        let mine = (worker..people).step_by(workers).count();
        handles.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(worker as u64);
            let mut crowd: Vec<Person> = (0..mine)
                .map(|i| Person {
                    email: if i % 2 == 0 {
                        "ada@example.com"
                    } else {
                        "grace@example.com"
                    },
                    jar: BTreeMap::new(),
                })
                .collect();
            for person in crowd.iter_mut() {
                load.log_in(person).await;
            }
            while !stop.load(Ordering::Relaxed) {
                let Some(person) = crowd.choose_mut(&mut rng) else {
                    break;
                };
                match rng.gen_range(0..100) {
                    0..=79 => {
                        if !load.view_profile(person).await {
                            lost.fetch_add(1, Ordering::Relaxed);
                            load.tally
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .lost_sessions += 1;
                            load.log_in(person).await;
                        }
                    }
                    80..=84 => {
                        load.log_out(person).await;
                        load.log_in(person).await;
                    }
                    _ => load.hostile(&mut rng).await,
                }
                // People pause between clicks.
                tokio::time::sleep(Duration::from_millis(rng.gen_range(5..50))).await;
            }
        }));
    }

    println!("minute  rss_kib  requests  p50_ms  p95_ms  p99_ms  5xx  transport_err  lost  logins  logouts  refreshes  hostile  provider_requests");
    let started = Instant::now();
    let mut overall = Tally::default();
    let mut first_provider = provider_requests(&http, &idp).await.unwrap_or(0);
    let mut rss_series = Vec::new();
    for minute in 1..=minutes {
        tokio::time::sleep_until((started + Duration::from_secs(60 * minute)).into()).await;
        let tally = std::mem::take(&mut *load.tally.lock().unwrap_or_else(|e| e.into_inner()));
        let rss = rss_kib(pid).unwrap_or(0);
        rss_series.push(rss);
        let provider = provider_requests(&http, &idp)
            .await
            .unwrap_or(first_provider);
        println!(
            "{minute:>6}  {rss:>7}  {:>8}  {:>6.1}  {:>6.1}  {:>6.1}  {:>3}  {:>13}  {:>4}  {:>6}  {:>7}  {:>9}  {:>7}  {:>17}",
            tally.latencies_ms.len(),
            tally.percentile(50.0),
            tally.percentile(95.0),
            tally.percentile(99.0),
            tally.server_errors(),
            tally.transport_errors,
            tally.lost_sessions,
            tally.logins,
            tally.logouts,
            tally.refreshes,
            tally.hostile,
            provider.saturating_sub(first_provider),
        );
        first_provider = provider;
        overall.latencies_ms.extend(tally.latencies_ms);
        for (status, n) in tally.by_status {
            *overall.by_status.entry(status).or_default() += n;
        }
        overall.transport_errors += tally.transport_errors;
        overall.lost_sessions += tally.lost_sessions;
    }
    stop.store(true, Ordering::Relaxed);
    for handle in handles {
        let _ = handle.await;
    }
    let warm = rss_series.get(1).copied().unwrap_or(0);
    let last = rss_series.last().copied().unwrap_or(0);
    println!(
        "total: {} requests, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, 5xx {}, transport errors {}, lost sessions {}, statuses {:?}; RSS after minute 2: {} KiB, at the end: {} KiB, peak {} KiB",
        overall.latencies_ms.len(),
        overall.percentile(50.0),
        overall.percentile(95.0),
        overall.percentile(99.0),
        overall.server_errors(),
        overall.transport_errors,
        overall.lost_sessions,
        overall.by_status,
        warm,
        last,
        rss_series.iter().max().copied().unwrap_or(0),
    );
    if overall.server_errors() > 0 || overall.lost_sessions > 0 {
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
