//! Starting the provider for an app on this machine, and refusing anywhere else.
//!
//! The provider has no passwords: anyone can sign in as anyone. A production deployment
//! whose `SCALEKIT_*` secrets failed to mount must stop, not fall back to it, so the
//! provider checks that the app it serves is local development before it listens.

use crate::{persist, DevIdp, DevIdpSettings, Registration};
use std::{net::SocketAddr, path::PathBuf};
use url::Url;

/// The app the provider is started for.
#[derive(Clone, Debug)]
pub struct LocalApp {
    /// Where people browse the app (`APP_URL`).
    pub url: Url,
    /// Where the app listens, when known (`None` where the caller binds its own listener).
    pub listen_addr: Option<SocketAddr>,
    /// Where the provider may send people back, and where it posts logout tokens.
    pub registration: Registration,
    /// Under `cargo leptos watch`, where the provider keeps its memory and the app's cookie
    /// key across restarts (see [`persist::development_state_dir`]); `None` keeps nothing.
    pub state_dir: Option<PathBuf>,
}

/// Why the provider may not run here.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "refusing to start the built-in identity provider: {reason}. It has no passwords (anyone can \
     sign in as anyone), so it runs only for local development: APP_URL http://localhost… or \
     http://127.0.0.1… and loopback listen addresses. In production set SCALEKIT_ENVIRONMENT_URL, \
     SCALEKIT_CLIENT_ID, SCALEKIT_CLIENT_SECRET and SESSION_SECRET"
)]
pub struct NotLocal {
    /// What makes this deployment look like more than local development.
    pub reason: String,
}

/// Why the provider did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    NotLocal(#[from] NotLocal),
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error("cannot start the built-in identity provider on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot keep the development state in {path}: {source}")]
    State {
        path: String,
        source: std::io::Error,
    },
}

impl LocalApp {
    /// Checks that this is local development: `APP_URL` is plain http on `localhost` or
    /// `127.0.0.1`, and the app and the provider listen on loopback addresses only.
    pub fn check(&self, provider_addr: SocketAddr) -> Result<(), NotLocal> {
        let refuse = |reason: String| Err(NotLocal { reason });
        let local_host = matches!(self.url.host_str(), Some("localhost" | "127.0.0.1"));
        if self.url.scheme() != "http" || !local_host {
            return refuse(format!(
                "APP_URL is {}",
                self.url.as_str().trim_end_matches('/')
            ));
        }
        if let Some(app_addr) = self.listen_addr.filter(|addr| !addr.ip().is_loopback()) {
            return refuse(format!(
                "the app listens on {app_addr} (not a loopback address)"
            ));
        }
        if !provider_addr.ip().is_loopback() {
            return refuse(format!(
                "the built-in provider would listen on {provider_addr} (not a loopback address)"
            ));
        }
        Ok(())
    }
}

impl DevIdp {
    /// Starts the provider for `app` with the shipped settings (and `DEV_IDP_*`
    /// overrides), after checking that `app` is local development.
    pub async fn start_for_local_app(app: LocalApp) -> Result<DevIdp, StartError> {
        let mut settings = DevIdpSettings::from_env()?;
        app.check(settings.addr)?;
        let mut session_secret = None;
        if let Some(dir) = &app.state_dir {
            settings.state_file = Some(dir.join("dev-idp.json"));
            session_secret =
                Some(
                    persist::session_secret(dir).map_err(|source| StartError::State {
                        path: dir.display().to_string(),
                        source,
                    })?,
                );
            tracing::info!(dir = %dir.display(), "development loop: sessions survive restarts");
        }
        let mut idp = DevIdp::start(&settings, app.registration)
            .await
            .map_err(|source| StartError::Listen {
                addr: settings.addr,
                source,
            })?;
        idp.development_session_secret = session_secret;
        Ok(idp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(url: &str, listen_addr: Option<&str>) -> LocalApp {
        LocalApp {
            url: Url::parse(url).unwrap(),
            listen_addr: listen_addr.map(|a| a.parse().unwrap()),
            registration: Registration::default(),
            state_dir: None,
        }
    }

    #[test]
    fn runs_only_for_local_development() {
        let idp: SocketAddr = "127.0.0.1:3100".parse().unwrap();
        for url in ["http://localhost:3000", "http://127.0.0.1:8080"] {
            assert!(app(url, Some("127.0.0.1:3000")).check(idp).is_ok(), "{url}");
            assert!(app(url, Some("[::1]:3000")).check(idp).is_ok(), "{url}");
            assert!(app(url, None).check(idp).is_ok(), "{url}");
        }
        for url in [
            "https://localhost:3000",
            "https://app.example.com",
            "http://app.example.com",
            "http://10.0.0.5:3000",
        ] {
            let err = app(url, None).check(idp).unwrap_err();
            assert!(err.to_string().contains("APP_URL is"), "{url}: {err}");
        }
        let err = app("http://localhost:3000", Some("0.0.0.0:3000"))
            .check(idp)
            .unwrap_err();
        assert!(err.reason.contains("0.0.0.0:3000"), "{err}");
        let err = app("http://localhost:3000", None)
            .check("0.0.0.0:3100".parse().unwrap())
            .unwrap_err();
        assert!(err.reason.contains("built-in provider"), "{err}");
        assert!(err.to_string().contains("SCALEKIT_ENVIRONMENT_URL"));
    }
}
