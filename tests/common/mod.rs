//! Test harness: the real app router and the built-in identity provider, in-process, on
//! ephemeral loopback ports, driven over real HTTP by a small cookie-keeping client.

#![allow(dead_code)]

use dev_idp::{DevIdp, DevIdpSettings, Registration};
use reqwest::{header, redirect::Policy, Response, StatusCode};
use scalekit_leptos_starter::{
    config::AppConfig,
    server::{assemble, Server},
};
use std::{collections::BTreeMap, net::SocketAddr};
use tower_cookies::{Cookie, Cookies};
use url::Url;

/// A running app and, unless it was pointed at another provider, its built-in one.
pub struct TestApp {
    pub url: Url,
    pub server: Server,
    config: AppConfig,
    idp: Option<DevIdp>,
}

impl TestApp {
    /// A builder for an app with its own built-in provider, on ephemeral ports.
    pub fn builder() -> AppBuilder {
        AppBuilder {
            token_ttl: 300,
            provider: None,
            env: Vec::new(),
            configure: Box::new(|_| {}),
            idp_settings: Box::new(|_| {}),
            addr: "127.0.0.1:0".parse().unwrap(),
        }
    }

    /// The app's built-in provider.
    pub fn idp(&self) -> &DevIdp {
        self.idp
            .as_ref()
            .expect("this app runs against another provider")
    }

    /// Starts another instance of this app, as after a restart or behind a load
    /// balancer: the same configuration (`APP_URL`, `SESSION_SECRET`, provider), none of
    /// this one's memory (discovery, keys, caches). Returns its address; cookies ignore
    /// ports, so a [`Browser`] carries its session there when both share a
    /// `SESSION_SECRET` (set one with [`AppBuilder::env`]: without it each instance makes
    /// its own).
    pub async fn another_instance(&self) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let router = assemble(&self.config).unwrap().router;
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        url
    }
}

/// Starts the app (and its built-in provider) with `ttl` seconds of access-token life.
pub async fn spawn_app(ttl: u64) -> TestApp {
    TestApp::builder().token_ttl(ttl).start().await
}

/// How to start a [`TestApp`]: every option in one place.
pub struct AppBuilder {
    token_ttl: u64,
    provider: Option<Url>,
    env: Vec<(&'static str, String)>,
    configure: Box<dyn FnOnce(&mut AppConfig)>,
    idp_settings: Box<dyn FnOnce(&mut DevIdpSettings)>,
    addr: SocketAddr,
}

impl AppBuilder {
    /// The built-in provider's access-token lifetime (default 300 s).
    pub fn token_ttl(mut self, secs: u64) -> Self {
        self.token_ttl = secs;
        self
    }

    /// Configures the app for another provider, through the `SCALEKIT_*` variables.
    pub fn against(mut self, provider: &Url) -> Self {
        self.provider = Some(provider.clone());
        self
    }

    /// An environment variable, read as the server would read it.
    pub fn env(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.push((name, value.into()));
        self
    }

    /// Adjusts the configuration (`Leptos.toml`'s settings) before the app is assembled.
    pub fn configure(mut self, adjust: impl FnOnce(&mut AppConfig) + 'static) -> Self {
        self.configure = Box::new(adjust);
        self
    }

    /// Adjusts the built-in provider's settings before it starts.
    pub fn idp_settings(mut self, adjust: impl FnOnce(&mut DevIdpSettings) + 'static) -> Self {
        self.idp_settings = Box::new(adjust);
        self
    }

    /// Where the app listens (default: an ephemeral loopback port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    pub async fn start(self) -> TestApp {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let app_url = url.as_str().trim_end_matches('/').to_string();
        let env = self.env;
        let lookup = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        let provider = self
            .provider
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_string());
        let mut config = AppConfig::from_lookup(|name| {
            lookup(name).or_else(|| match name {
                "APP_URL" => Some(app_url.clone()),
                "SCALEKIT_ENVIRONMENT_URL" => provider.clone(),
                "SCALEKIT_CLIENT_ID" => provider.as_ref().map(|_| "skc_test".to_string()),
                "SCALEKIT_CLIENT_SECRET" => provider.as_ref().map(|_| "test_secret".to_string()),
                "SESSION_SECRET" => provider
                    .as_ref()
                    .map(|_| "a-test-session-secret-of-32-bytes!!".to_string()),
                _ => None,
            })
        })
        .unwrap();
        (self.configure)(&mut config);
        let idp = if config.env.provider.is_none() {
            let mut settings = DevIdpSettings {
                addr: "127.0.0.1:0".parse().unwrap(),
                access_token_ttl_secs: self.token_ttl,
                ..DevIdpSettings::default()
            };
            (self.idp_settings)(&mut settings);
            let idp = DevIdp::start(&settings, registration(&config))
                .await
                .unwrap();
            config.env.use_built_in_provider(
                idp.issuer.clone(),
                idp.client_id.clone(),
                idp.client_secret.expose(),
                None,
            );
            Some(idp)
        } else {
            None
        };
        let server = assemble(&config).unwrap();
        let router = server.router.clone();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        TestApp {
            url,
            server,
            config,
            idp,
        }
    }
}

/// `browser`'s session cookies, as a jar the app's own cookie policy unseals.
pub fn jar_of(app: &TestApp, browser: &Browser) -> Cookies {
    let jar = Cookies::default();
    for name in ["__Host-sk_access", "__Host-sk_id"] {
        if let Some(value) = browser.cookie(&app.url, name) {
            jar.add(Cookie::new(name, value));
        }
    }
    jar
}

/// The app's registration at the built-in provider, as `server::start` makes it.
pub fn registration(config: &AppConfig) -> Registration {
    let urls = config.client_urls();
    Registration {
        redirect_uris: vec![urls.redirect_uri],
        post_logout_redirect_uris: vec![urls.post_logout_redirect_uri],
        initiate_login_uri: Some(urls.initiate_login_uri),
        backchannel_logout_uri: Some(urls.backchannel_logout_uri),
    }
}

#[derive(Clone, Debug)]
struct StoredCookie {
    value: String,
    path: String,
}

/// A browser-ish HTTP client: keeps cookies per host (with `Path` scoping and
/// `Max-Age=0` deletion), never follows redirects by itself.
pub struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<(String, String), StoredCookie>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
        }
    }
}

impl Browser {
    /// A new client (e.g. for another runtime) carrying this one's cookies.
    pub fn with_same_cookies(&self) -> Browser {
        Browser {
            jar: self.jar.clone(),
            ..Browser::default()
        }
    }

    fn host(url: &Url) -> String {
        url.host_str().unwrap_or_default().to_string()
    }

    pub fn cookie_header(&self, url: &Url) -> String {
        let host = Self::host(url);
        self.jar
            .iter()
            .filter(|((h, _), c)| {
                *h == host
                    && (url.path() == c.path
                        || url
                            .path()
                            .starts_with(&format!("{}/", c.path.trim_end_matches('/')))
                        || c.path == "/")
            })
            .map(|((_, name), c)| format!("{name}={}", c.value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn cookie(&self, url: &Url, name: &str) -> Option<String> {
        self.jar
            .get(&(Self::host(url), name.to_string()))
            .map(|c| c.value.clone())
    }

    pub fn set_cookie(&mut self, url: &Url, name: &str, value: &str, path: &str) {
        self.jar.insert(
            (Self::host(url), name.into()),
            StoredCookie {
                value: value.into(),
                path: path.into(),
            },
        );
    }

    pub fn remove_cookie(&mut self, url: &Url, name: &str) {
        self.jar.remove(&(Self::host(url), name.to_string()));
    }

    /// Keeps the cookies a response sets, as a browser would.
    pub fn remember(&mut self, url: &Url, response: &Response) {
        self.store(url, response);
    }

    fn store(&mut self, url: &Url, response: &Response) {
        for header in response.headers().get_all(header::SET_COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let mut path = "/".to_string();
            let mut delete = false;
            for attr in parts {
                let attr = attr.trim();
                if let Some(p) = attr.strip_prefix("Path=") {
                    path = p.to_string();
                }
                if attr == "Max-Age=0" || attr.starts_with("Max-Age=-") || attr.contains("1970") {
                    delete = true;
                }
            }
            let key = (Self::host(url), name.to_string());
            if delete {
                self.jar.remove(&key);
            } else {
                self.jar.insert(
                    key,
                    StoredCookie {
                        value: value.to_string(),
                        path,
                    },
                );
            }
        }
    }

    pub async fn get(&mut self, url: &Url) -> Response {
        self.get_with(url, &[]).await
    }

    /// A GET with extra request headers. Like a browser navigating to a typed URL it says
    /// `Sec-Fetch-Site: none`, unless `headers` name `Sec-Fetch-Site` (another site, say)
    /// or a `Referer` (an older browser, which sends no `Sec-Fetch-Site`).
    pub async fn get_with(&mut self, url: &Url, headers: &[(&str, &str)]) -> Response {
        let mut request = self.http.get(url.clone());
        if !headers.iter().any(|(name, _)| {
            name.eq_ignore_ascii_case("sec-fetch-site") || name.eq_ignore_ascii_case("referer")
        }) {
            request = request.header("sec-fetch-site", "none");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .header(header::COOKIE, self.cookie_header(url))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        self.store(url, &response);
        response
    }

    pub async fn post_form(&mut self, url: &Url, form: &[(&str, &str)]) -> Response {
        self.post_form_with(url, form, &[]).await
    }

    /// A form POST with extra request headers. Like a browser submitting a form of the
    /// page it shows, it says `Sec-Fetch-Site: same-origin` with the target's `Origin`,
    /// unless `headers` says otherwise.
    pub async fn post_form_with(
        &mut self,
        url: &Url,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self.http.post(url.clone());
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("sec-fetch-site"))
        {
            request = request
                .header("sec-fetch-site", "same-origin")
                .header(header::ORIGIN, url.origin().ascii_serialization());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .header(header::COOKIE, self.cookie_header(url))
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap();
        self.store(url, &response);
        response
    }
}

pub fn location(response: &Response, base: &Url) -> Url {
    let value = response
        .headers()
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("no Location on a {} response", response.status()))
        .to_str()
        .unwrap();
    base.join(value).unwrap()
}

pub fn query(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// The hidden fields of the provider's hosted-page form.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter(|tag| tag.contains(r#"type="hidden""#))
        .filter_map(|tag| {
            let attr = |name: &str| {
                let start = tag.find(&format!(r#"{name}=""#))? + name.len() + 2;
                let end = tag[start..].find('"')? + start;
                Some(
                    tag[start..end]
                        .replace("&amp;", "&")
                        .replace("&quot;", "\""),
                )
            };
            Some((attr("name")?, attr("value")?))
        })
        .collect()
}

/// Clicks "Log in" (or "Sign up") and returns the provider's hosted page URL.
pub async fn start_login(browser: &mut Browser, app: &TestApp, intent: &str) -> Url {
    let login = app.url.join("/auth/login").unwrap();
    let response = browser.post_form(&login, &[("intent", intent)]).await;
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "login start redirects to the provider"
    );
    location(&response, &app.url)
}

/// On the hosted page at `authorize`, continues as `email`; returns the callback URL.
pub async fn continue_as(
    browser: &mut Browser,
    authorize: &Url,
    email: &str,
    name: Option<&str>,
) -> Url {
    let page = browser.get(authorize).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"type="email""#),
        "the hosted page asks for an email"
    );
    let mut form = hidden_fields(&html);
    form.push(("email".into(), email.into()));
    if let Some(name) = name {
        form.push(("name".into(), name.into()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let submit = authorize.join("/oauth/authorize").unwrap();
    let response = browser.post_form(&submit, &form).await;
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "the provider redirects back with a code"
    );
    location(&response, authorize)
}

/// The whole login: returns the callback response's redirect target.
pub async fn log_in(browser: &mut Browser, app: &TestApp, email: &str) -> Url {
    let authorize = start_login(browser, app, "login").await;
    let callback = continue_as(browser, &authorize, email, None).await;
    let response = browser.get(&callback).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap_or_default()
    );
    location(&response, &app.url)
}

/// A real Redis (Debian's `redis-server`, installed by `scripts/setup.sh --test`) of the
/// test's own: a free port, a temporary folder, no persistence; stopped when dropped.
pub struct RedisServer {
    pub url: String,
    port: u16,
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl RedisServer {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("redis-test-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer {
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
            dir,
            child: None,
        };
        server.resume();
        server
    }

    /// Starts (again) on the same port, and waits until it answers.
    pub fn resume(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/setup.sh --test installs it)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            use std::io::{Read, Write};
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let mut answer = [0u8; 7];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut answer).is_ok()
                    && &answer == b"+PONG\r\n"
                {
                    return;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Stops it (the data goes with it: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The webhook secret both instances of a [`Pair`] share.
pub const PAIR_WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Two instances (A and B) of the app sharing `SESSION_SECRET`, `APP_URL` (A's address)
/// and, when given, a session store; and their provider, as with one real Scalekit
/// environment.
pub struct Pair {
    pub idp: DevIdp,
    pub a: Url,
    pub b: Url,
}

pub async fn pair(store_url: Option<&str>) -> Pair {
    let listener_a = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener_b = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = Url::parse(&format!("http://{}", listener_a.local_addr().unwrap())).unwrap();
    let b = Url::parse(&format!("http://{}", listener_b.local_addr().unwrap())).unwrap();
    let app_url = a.as_str().trim_end_matches('/').to_string();
    let store_url = store_url.map(str::to_string);
    let mut config = AppConfig::from_lookup(|name| {
        Some(match name {
            "APP_URL" => app_url.clone(),
            "SESSION_SECRET" => "shared-session-secret-for-both-instances".to_string(),
            "SCALEKIT_WEBHOOK_SECRET" => PAIR_WEBHOOK_SECRET.to_string(),
            "SESSION_STORE_URL" => store_url.clone()?,
            _ => return None,
        })
    })
    .unwrap();
    let settings = DevIdpSettings {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..DevIdpSettings::default()
    };
    let idp = DevIdp::start(&settings, registration(&config))
        .await
        .unwrap();
    config.env.use_built_in_provider(
        idp.issuer.clone(),
        idp.client_id.clone(),
        idp.client_secret.expose(),
        None,
    );
    for listener in [listener_a, listener_b] {
        let server = assemble(&config).unwrap();
        tokio::spawn(async move { axum::serve(listener, server.router).await.unwrap() });
    }
    Pair { idp, a, b }
}

/// Opens `link` as a browser arriving with `Sec-Fetch-Site: site` (`cross-site`, or
/// `none` for a link opened from a mail app), where the app asks "Continue to sign in?",
/// and presses its button; returns the button's response.
pub async fn continue_to_sign_in(
    browser: &mut Browser,
    app: &Url,
    link: &Url,
    site: &str,
) -> Response {
    let page = browser.get_with(link, &[("sec-fetch-site", site)]).await;
    assert_eq!(page.status(), StatusCode::OK, "the confirmation page");
    let fields = hidden_fields(&page.text().await.unwrap());
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser.post_form(&app.join("/login").unwrap(), &form).await
}

/// Log lines written by the app, captured for assertions.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// The app's log at `info`, captured on this thread until the guard is dropped (a
    /// current-thread test runtime runs the app's tasks on it too).
    pub fn app_log_on_this_thread() -> (Captured, tracing::subscriber::DefaultGuard) {
        let logs = Captured::default();
        let guard = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_env_filter("scalekit_leptos_starter=info")
                .with_writer(logs.clone())
                .with_ansi(false)
                .finish(),
        );
        (logs, guard)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A back-channel logout token for the provider's person `sub`, signed with its current key.
pub fn logout_token(idp: &DevIdp, jti: &str, sub: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    idp.sign_logout_token(&serde_json::json!({
        "iss": idp.issuer.as_str().trim_end_matches('/'),
        "aud": [idp.client_id], "iat": now, "exp": now + 120,
        "jti": jti, "sub": sub,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    }))
    .unwrap()
}

/// Posts `token` to the back-channel logout endpoint of the instance at `base`.
pub async fn post_logout_token(base: &Url, token: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(base.join("/auth/backchannel-logout").unwrap())
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}
