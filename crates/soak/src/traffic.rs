//! The traffic: logins through the provider's hosted page, page views that refresh
//! expired sessions, logouts, and hostile requests.

use crate::{
    browser::{hidden_fields, Person},
    report::Tally,
};
use rand::{seq::SliceRandom, Rng};
use std::{collections::BTreeMap, sync::Mutex, time::Instant};

pub struct Load {
    pub http: reqwest::Client,
    pub app: String,
    pub tally: Mutex<Tally>,
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
    pub async fn log_in(&self, person: &mut Person) -> bool {
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
    pub async fn view_profile(&self, person: &mut Person) -> bool {
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

    pub async fn log_out(&self, person: &mut Person) {
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

    pub async fn hostile(&self, rng: &mut impl Rng) {
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
            leaves_at: Instant::now(),
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
