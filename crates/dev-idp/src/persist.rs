//! The built-in provider's memory on disk, for the development loop only.
//!
//! `cargo leptos watch` rebuilds and restarts the server on every edit. Without this, each
//! restart would forget the provider's signing key, the people who signed up and the live
//! refresh tokens, and sign everybody out. With a state file (set by [`crate::DevIdp::start_for_local_app`] under
//! `cargo leptos watch`, in `target/dev-state/`), the provider picks up where it stopped.
//! Authorization codes are not kept: they live for seconds.
//!
//! The file holds a development signing key and development refresh tokens, nothing of
//! a real provider; it is written with owner-only permissions all the same.

use super::{
    keys::SigningKey,
    store::{BrowserSession, Person, RefreshGrant},
};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    io,
    path::{Path, PathBuf},
};

/// What survives a restart.
#[derive(Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// The signing key, PKCS#1 DER, base64.
    pub signing_key: Option<String>,
    /// People who signed up (the seeded ones come from `dev-idp.toml` every time).
    pub people: Vec<Person>,
    /// The provider's browser sessions, by cookie value.
    pub sessions: HashMap<String, BrowserSession>,
    /// Live refresh tokens.
    pub refresh_tokens: HashMap<String, RefreshGrant>,
}

impl Snapshot {
    /// The signing key this snapshot holds, if it is readable.
    pub fn key(&self) -> Option<SigningKey> {
        use base64::{engine::general_purpose::STANDARD, Engine};
        let der = STANDARD.decode(self.signing_key.as_deref()?).ok()?;
        SigningKey::from_pkcs1_der(&der).ok()
    }
}

/// Where the provider keeps its snapshot.
#[derive(Clone, Debug)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last snapshot; an empty one when there is none yet or it cannot be read (a
    /// development convenience must never stop the server).
    pub fn load(&self) -> Snapshot {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                tracing::warn!(path = %self.path.display(), %err, "ignoring the built-in provider's unreadable state file");
                Snapshot::default()
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Snapshot::default(),
            Err(err) => {
                tracing::warn!(path = %self.path.display(), %err, "cannot read the built-in provider's state file");
                Snapshot::default()
            }
        }
    }

    /// Writes the snapshot atomically (a temporary file renamed over the old one), so a
    /// restart in the middle of a write finds the previous snapshot, not half of one.
    pub fn save(&self, snapshot: &Snapshot) -> io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_vec(snapshot).map_err(io::Error::other)?;
        let temporary = self.path.with_extension("tmp");
        crate::crypto::write_private(&temporary, &json)?;
        std::fs::rename(&temporary, &self.path)
    }
}

/// `target/dev-state` (beside the site root) when running under `cargo leptos watch`,
/// which sets `LEPTOS_WATCH`; `None` otherwise, so tests and production never keep state.
pub fn development_state_dir(site_root: &str) -> Option<PathBuf> {
    std::env::var_os("LEPTOS_WATCH")?;
    let target = Path::new(site_root).parent().unwrap_or(Path::new("."));
    Some(target.join("dev-state"))
}

/// The development loop's cookie key: kept in `dir/session-secret` (owner-only), made on
/// first use, so cookies sealed before a restart still open after it.
pub fn session_secret(dir: &Path) -> io::Result<String> {
    const MIN_LEN: usize = 32;
    let path = dir.join("session-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) if secret.trim().len() >= MIN_LEN => return Ok(secret.trim().to_string()),
        Ok(_) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    std::fs::create_dir_all(dir)?;
    let secret = crate::crypto::random_token();
    crate::crypto::write_private(&path, secret.as_bytes())?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Routing;

    #[test]
    fn a_snapshot_round_trips_through_its_file() {
        let dir =
            std::env::temp_dir().join(format!("dev-idp-persist-{}", crate::crypto::random_token()));
        let file = StateFile::new(dir.join("dev-idp.json"));
        assert!(file.load().people.is_empty(), "no file yet: empty");

        let key = SigningKey::generate().unwrap();
        let mut snapshot = Snapshot {
            signing_key: Some(key.to_pkcs1_der_base64()),
            ..Snapshot::default()
        };
        snapshot.refresh_tokens.insert(
            "rt_1".into(),
            RefreshGrant {
                email: "a@b.example".into(),
                session_id: "ses_1".into(),
                scope: "openid".into(),
                routing: Routing::default(),
            },
        );
        file.save(&snapshot).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner-only");
        }

        let loaded = file.load();
        assert_eq!(
            loaded.key().unwrap().kid,
            key.kid,
            "the same key comes back"
        );
        assert_eq!(loaded.refresh_tokens["rt_1"].email, "a@b.example");

        std::fs::write(file.path(), b"{ half a snapsh").unwrap();
        assert!(
            file.load().refresh_tokens.is_empty(),
            "garbage reads as empty"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_development_session_secret_is_made_once_and_kept() {
        let dir =
            std::env::temp_dir().join(format!("dev-secret-{}", crate::crypto::random_token()));
        let first = session_secret(&dir).unwrap();
        assert!(first.len() >= 32);
        let again = session_secret(&dir).unwrap();
        assert_eq!(first, again, "a restart reads the same secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("session-secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "owner-only");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
