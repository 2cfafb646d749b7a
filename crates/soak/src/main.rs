//! Mixed traffic against a running app and its built-in provider, for a long time, on
//! loopback: many signed-in people viewing pages (refreshing their sessions as their
//! short-lived access tokens expire), logging out and in again, and hostile requests.
//! Every minute it prints the server's resident memory, latency percentiles, error
//! counts, lost sessions, the provider's request count and every map's size.
//!
//! `scripts/soak.sh` builds the release server, starts it and runs this.
//! Fails (exit 1) on any 5xx, transport error or lost session, on any map over its
//! bound (or no map sizes to check), on a missing memory reading, and when the resident
//! memory grew by more than 10 % over the second half of a run of 10 minutes or more.
//!
//! Usage: soak --url URL --idp URL --pid PID [--server-log FILE] [--map-capacity N]
//!   [--minutes 30] [--people 200] [--workers 8]

mod browser;
mod report;
mod traffic;

use browser::{session_length, Person};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use report::{
    app_map_sizes, late_growth_percent, maps_over_bound, provider_counters, rss_kib, Tally,
};
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use traffic::Load;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let app = arg("--url").unwrap_or_else(|| "http://127.0.0.1:3500".into());
    let idp = arg("--idp").unwrap_or_else(|| "http://127.0.0.1:3501".into());
    let pid: u32 = arg("--pid").and_then(|p| p.parse().ok()).unwrap_or(0);
    let minutes: u64 = arg("--minutes").and_then(|m| m.parse().ok()).unwrap_or(30);
    let people: usize = arg("--people").and_then(|n| n.parse().ok()).unwrap_or(200);
    let workers: usize = arg("--workers").and_then(|n| n.parse().ok()).unwrap_or(8);
    // The app's `memory_map_capacity` (Leptos.toml's default unless the settings say).
    let map_capacity: u64 = arg("--map-capacity")
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
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
                    leaves_at: Instant::now(),
                })
                .collect();
            for person in crowd.iter_mut() {
                load.log_in(person).await;
                person.leaves_at = Instant::now() + session_length(&mut rng);
            }
            while !stop.load(Ordering::Relaxed) {
                let Some(person) = crowd.choose_mut(&mut rng) else {
                    break;
                };
                if person.leaves_at <= Instant::now() {
                    load.log_out(person).await;
                    load.log_in(person).await;
                    person.leaves_at = Instant::now() + session_length(&mut rng);
                    continue;
                }
                match rng.gen_range(0..100) {
                    0..=84 => {
                        if !load.view_profile(person).await {
                            lost.fetch_add(1, Ordering::Relaxed);
                            load.tally
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .lost_sessions += 1;
                            load.log_in(person).await;
                        }
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
    let server_log = arg("--server-log").map(std::path::PathBuf::from);
    let mut first_provider = provider_counters(&http, &idp)
        .await
        .map(|(requests, _)| requests)
        .unwrap_or(0);
    let mut rss_series = Vec::new();
    // Whatever makes the run fail besides 5xx and lost sessions.
    let mut problems = Vec::new();
    for minute in 1..=minutes {
        tokio::time::sleep_until((started + Duration::from_secs(60 * minute)).into()).await;
        let tally = std::mem::take(&mut *load.tally.lock().unwrap_or_else(|e| e.into_inner()));
        let rss = rss_kib(pid).unwrap_or(0);
        if rss == 0 {
            problems.push(format!(
                "minute {minute}: no resident memory reading (did the server exit?)"
            ));
        }
        rss_series.push(rss);
        let (provider, provider_maps) = provider_counters(&http, &idp)
            .await
            .unwrap_or((first_provider, "?".into()));
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
        // Every map's size beside the memory: how the report shows them bounded.
        let app_maps = server_log.as_deref().and_then(app_map_sizes);
        println!(
            "        maps: app {}; provider {provider_maps}",
            app_maps.as_deref().unwrap_or("?")
        );
        match app_maps {
            Some(maps) => {
                for map in maps_over_bound(&maps, map_capacity) {
                    println!("        over its bound: {map}");
                    problems.push(format!("minute {minute}: {map} over its bound"));
                }
            }
            // The app logs its map sizes once a minute, from its start.
            None if server_log.is_some() && minute > 1 => {
                problems.push(format!("minute {minute}: no map sizes in the server's log"));
            }
            None => {}
        }
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
    let growth = late_growth_percent(&rss_series).unwrap_or(0.0);
    println!(
        "RSS growth over the second half: {growth:.1}% (limit 10% for runs of 10 minutes or more)"
    );
    if minutes >= 10 && growth > 10.0 {
        problems.push(format!("memory grew by {growth:.1}% over the second half"));
    }
    if overall.transport_errors > 0 {
        problems.push(format!("{} transport errors", overall.transport_errors));
    }
    for problem in &problems {
        println!("problem: {problem}");
    }
    if overall.server_errors() > 0 || overall.lost_sessions > 0 || !problems.is_empty() {
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
