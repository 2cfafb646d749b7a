//! The built-in provider never runs in production by accident: the real server binary,
//! started as a deployment whose `SCALEKIT_*` secrets failed to mount, stops at once and
//! says why; started as a development machine, it serves.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The server binary with a clean provider configuration (empty values count as unset,
/// and `.env` never overrides what is set).
fn server(app_url: &str, site_addr: &str, idp_addr: SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_scalekit-leptos-starter"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("APP_URL", app_url)
        .env("LEPTOS_SITE_ADDR", site_addr)
        .env("DEV_IDP_ADDR", idp_addr.to_string())
        .env("RUST_LOG", "warn")
        .env_remove("LEPTOS_WATCH")
        .envs(
            [
                "SCALEKIT_ENVIRONMENT_URL",
                "SCALEKIT_CLIENT_ID",
                "SCALEKIT_CLIENT_SECRET",
                "SESSION_SECRET",
            ]
            .map(|name| (name, "")),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the process to exit (at most 30 s); returns its exit status and stderr.
fn exit_of(mut child: Child) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return (status, stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn refuses_connections(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err()
}

#[test]
fn a_production_url_without_provider_settings_stops_the_server() {
    let site = free_addr();
    let idp = free_addr();
    let child = server("https://app.example.com", &site.to_string(), idp);
    let (status, stderr) = exit_of(child);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("refusing to start the built-in identity provider")
            && stderr.contains("APP_URL is https://app.example.com")
            && stderr.contains("SCALEKIT_ENVIRONMENT_URL"),
        "one line says why and what to set: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(refuses_connections(idp), "no provider answers");
    assert!(refuses_connections(site), "no app answers");
}

#[test]
fn listening_beyond_loopback_stops_the_server() {
    let port = free_addr().port();
    let idp = free_addr();
    let child = server("http://localhost:3000", &format!("0.0.0.0:{port}"), idp);
    let (status, stderr) = exit_of(child);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(&format!("0.0.0.0:{port}")), "{stderr}");
    assert!(refuses_connections(idp));
}

#[test]
fn a_development_machine_gets_the_built_in_provider() {
    // The positive control: the same binary, the same empty provider settings, on
    // localhost, serves the app and its provider.
    let site = free_addr();
    let idp = free_addr();
    let mut child = server("http://localhost:3000", &site.to_string(), idp);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut serving = false;
    while Instant::now() < deadline && !serving {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server stopped: {status}");
        }
        serving = !refuses_connections(site) && !refuses_connections(idp);
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(serving, "the app and the built-in provider answer");
}
