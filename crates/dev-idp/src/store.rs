//! The provider's memory: people, its own browser sessions, codes and refresh tokens.

use super::{
    keys::SigningKey,
    misbehaviour::Misbehaviour,
    persist::{Snapshot, StateFile},
    Registration,
};
pub use crate::counters::Counters;
use crate::{crypto::random_token, settings::DevIdpSettings};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock},
};

/// A person the provider knows.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email_verified: bool,
    pub organization_id: String,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
}

/// The provider's own session in a browser (its `sid`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BrowserSession {
    pub id: String,
    pub email: String,
}

/// An issued, not yet used authorization code.
#[derive(Clone, Debug)]
pub struct CodeGrant {
    pub redirect_uri: String,
    pub email: String,
    pub session_id: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub scope: String,
    pub expires_at: i64,
    pub routing: Routing,
}

/// What the app asked the hosted page for: reflected in the tokens' `oid` and `amr`.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Routing {
    pub organization_id: Option<String>,
    /// The connection that authenticated the person (`amr`).
    pub connection: String,
}

/// A live refresh token.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RefreshGrant {
    pub email: String,
    pub session_id: String,
    pub scope: String,
    pub routing: Routing,
}

pub struct IdpState {
    pub settings: DevIdpSettings,
    pub registration: Registration,
    pub issuer: String,
    pub client_secret: String,
    /// Published signing keys; the last one signs.
    keys: RwLock<Vec<Arc<SigningKey>>>,
    /// A key that is never published (for misbehaviour cases).
    stranger: OnceLock<SigningKey>,
    #[cfg(feature = "testing")]
    misbehaviour: Mutex<Option<Misbehaviour>>,
    pub counters: Counters,
    people: Mutex<HashMap<String, Person>>,
    /// Browser-session cookie value → session.
    sessions: Mutex<HashMap<String, BrowserSession>>,
    codes: Mutex<HashMap<String, CodeGrant>>,
    refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    /// Rotated-out refresh tokens → their session: presenting one again revokes the
    /// session's grant (RFC 9700), as certified providers do.
    used_refresh_tokens: Mutex<HashMap<String, String>>,
    /// The development loop's state file (see `persist`), when one is configured.
    state_file: Option<StateFile>,
    /// One save at a time: concurrent saves would share the temporary file, and a
    /// slower, older snapshot could land after a newer one.
    saving: Mutex<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A prefixed random id like Scalekit's (`usr_…`, `ses_…`, `org_…`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", &random_token()[..20])
}

impl IdpState {
    pub fn new(
        settings: &DevIdpSettings,
        registration: Registration,
        issuer: String,
        client_secret: String,
    ) -> std::io::Result<Self> {
        let people = settings
            .users
            .iter()
            .map(|u| {
                let person = Person {
                    id: format!("usr_{}", stable_suffix(&u.email)),
                    email: u.email.to_lowercase(),
                    name: u.name.clone(),
                    given_name: u.given_name.clone(),
                    family_name: u.family_name.clone(),
                    email_verified: u.email_verified,
                    organization_id: u
                        .organization_id
                        .clone()
                        .unwrap_or_else(|| "org_dev_default".into()),
                    roles: u.roles.clone(),
                    permissions: u.permissions.clone(),
                };
                (person.email.clone(), person)
            })
            .collect::<HashMap<_, _>>();
        let state_file = settings.state_file.clone().map(StateFile::new);
        let snapshot = state_file.as_ref().map(StateFile::load).unwrap_or_default();
        let key = match snapshot.key() {
            Some(key) => key,
            None => SigningKey::generate()?,
        };
        let mut people = people;
        for person in snapshot.people {
            people.entry(person.email.clone()).or_insert(person);
        }
        let state = IdpState {
            settings: settings.clone(),
            registration,
            issuer,
            client_secret,
            keys: RwLock::new(vec![Arc::new(key)]),
            stranger: OnceLock::new(),
            #[cfg(feature = "testing")]
            misbehaviour: Mutex::new(None),
            counters: Counters::default(),
            people: Mutex::new(people),
            sessions: Mutex::new(snapshot.sessions),
            codes: Mutex::new(HashMap::new()),
            used_refresh_tokens: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(snapshot.refresh_tokens),
            state_file,
            saving: Mutex::new(()),
        };
        state.save();
        Ok(state)
    }

    /// Writes the state file after a change, when there is one. Failing to write only
    /// costs the development loop its memory, so it is logged, not raised.
    fn save(&self) {
        let Some(file) = &self.state_file else {
            return;
        };
        let _one_at_a_time = lock(&self.saving);
        let seeded = |email: &str| {
            self.settings
                .users
                .iter()
                .any(|u| u.email.eq_ignore_ascii_case(email))
        };
        let snapshot = Snapshot {
            signing_key: Some(self.current_key().to_pkcs1_der_base64()),
            people: lock(&self.people)
                .values()
                .filter(|p| !seeded(&p.email))
                .cloned()
                .collect(),
            sessions: lock(&self.sessions).clone(),
            refresh_tokens: lock(&self.refresh_tokens).clone(),
        };
        if let Err(err) = file.save(&snapshot) {
            tracing::warn!(path = %file.path().display(), %err, "cannot write the built-in provider's state file");
        }
    }

    /// The key that signs new tokens.
    pub fn current_key(&self) -> Arc<SigningKey> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.last().cloned().expect("the provider always has a key")
    }

    /// The public keys served at `/keys`.
    pub fn published_keys(&self) -> Vec<jsonwebtoken::jwk::Jwk> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.iter().map(|k| k.jwk.clone()).collect()
    }

    /// The `sub` of an access token this provider issued and that is still valid.
    pub fn verify_access_token(&self, token: &str) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Claims {
            sub: String,
        }
        let kid = jsonwebtoken::decode_header(token).ok()?.kid;
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let key = keys
            .iter()
            .find(|k| kid.is_none() || kid.as_deref() == Some(k.kid.as_str()))?;
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&key.jwk).ok()?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.settings.client_id]);
        jsonwebtoken::decode::<Claims>(token, &decoding, &validation)
            .ok()
            .map(|data| data.claims.sub)
    }

    /// Publishes a new key and signs with it from now on (the old one stays published).
    #[cfg(feature = "testing")]
    pub fn rotate_key(&self) -> std::io::Result<()> {
        let key = Arc::new(SigningKey::generate()?);
        self.keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(key);
        Ok(())
    }

    /// A key the provider never publishes.
    pub fn stranger_key(&self) -> std::io::Result<&SigningKey> {
        if let Some(key) = self.stranger.get() {
            return Ok(key);
        }
        let key = SigningKey::generate()?;
        Ok(self.stranger.get_or_init(|| key))
    }

    pub fn misbehaviour(&self) -> Option<Misbehaviour> {
        #[cfg(feature = "testing")]
        return *lock(&self.misbehaviour);
        #[cfg(not(feature = "testing"))]
        None
    }

    #[cfg(feature = "testing")]
    pub fn set_misbehaviour(&self, misbehaviour: Option<Misbehaviour>) {
        *lock(&self.misbehaviour) = misbehaviour;
    }

    pub fn person(&self, email: &str) -> Option<Person> {
        lock(&self.people).get(&email.to_lowercase()).cloned()
    }

    /// The person with this user id (`sub`).
    pub fn person_by_id(&self, id: &str) -> Option<Person> {
        lock(&self.people).values().find(|p| p.id == id).cloned()
    }

    /// Creates a person in an organization of their own. Fails if the email is taken.
    pub fn sign_up(&self, email: &str, name: &str) -> Option<Person> {
        let email = email.to_lowercase();
        let mut people = lock(&self.people);
        if people.contains_key(&email) {
            return None;
        }
        let mut words = name.split_whitespace();
        let person = Person {
            id: new_id("usr"),
            email: email.clone(),
            name: name.to_string(),
            given_name: words.next().map(str::to_string),
            family_name: words.last().map(str::to_string),
            // A new account has not proven it owns the address yet.
            email_verified: false,
            organization_id: new_id("org"),
            // The creator of a new organization administers it.
            roles: vec!["admin".into()],
            permissions: vec!["reports:read".into(), "organization:manage".into()],
        };
        people.insert(email, person.clone());
        drop(people);
        self.save();
        Some(person)
    }

    /// Starts a browser session; returns the cookie value.
    pub fn open_session(&self, email: &str) -> (String, BrowserSession) {
        let cookie = random_token();
        let session = BrowserSession {
            id: new_id("ses"),
            email: email.to_lowercase(),
        };
        lock(&self.sessions).insert(cookie.clone(), session.clone());
        self.save();
        (cookie, session)
    }

    pub fn session(&self, cookie: &str) -> Option<BrowserSession> {
        lock(&self.sessions).get(cookie).cloned()
    }

    /// Ends a browser session and every refresh token issued in it; returns it.
    pub fn close_session(&self, cookie: &str) -> Option<BrowserSession> {
        let removed = lock(&self.sessions).remove(cookie);
        if let Some(session) = &removed {
            lock(&self.refresh_tokens).retain(|_, grant| grant.session_id != session.id);
            lock(&self.used_refresh_tokens).retain(|_, session_id| *session_id != session.id);
            self.save();
        }
        removed
    }

    pub fn issue_code(&self, grant: CodeGrant) -> String {
        let code = random_token();
        let mut codes = lock(&self.codes);
        // Codes never exchanged would otherwise stay forever.
        if codes.len() % 256 == 255 {
            let now = super::routes::now();
            codes.retain(|_, grant| grant.expires_at > now);
        }
        codes.insert(code.clone(), grant);
        code
    }

    /// How many entries each map holds (`/counters`, for the soak's memory report).
    pub fn sizes(&self) -> serde_json::Value {
        serde_json::json!({
            "people": lock(&self.people).len(),
            "sessions": lock(&self.sessions).len(),
            "codes": lock(&self.codes).len(),
            "refresh_tokens": lock(&self.refresh_tokens).len(),
            "used_refresh_tokens": lock(&self.used_refresh_tokens).len(),
        })
    }

    /// Takes a code: a code works once, whatever happens next.
    pub fn take_code(&self, code: &str) -> Option<CodeGrant> {
        lock(&self.codes).remove(code)
    }

    pub fn issue_refresh_token(&self, grant: RefreshGrant) -> String {
        let token = format!("rt_{}", random_token());
        lock(&self.refresh_tokens).insert(token.clone(), grant);
        self.save();
        token
    }

    /// Revokes a refresh token (RFC 7009); unknown tokens are fine.
    pub fn revoke_refresh_token(&self, token: &str) {
        if lock(&self.refresh_tokens).remove(token).is_some() {
            self.save();
        }
    }

    /// Takes a refresh token: rotation means each works once, and presenting a rotated
    /// one again revokes every refresh token of its session (RFC 9700 reuse detection).
    pub fn take_refresh_token(&self, token: &str) -> Option<RefreshGrant> {
        let grant = lock(&self.refresh_tokens).remove(token);
        match &grant {
            Some(grant) => {
                let mut used = lock(&self.used_refresh_tokens);
                if used.len() >= 10_000 {
                    used.clear();
                }
                used.insert(token.to_string(), grant.session_id.clone());
                drop(used);
                self.save();
            }
            None => {
                let reused = lock(&self.used_refresh_tokens).get(token).cloned();
                if let Some(session_id) = reused {
                    tracing::warn!(
                        "built-in provider: a rotated refresh token was reused; revoking its grant"
                    );
                    lock(&self.refresh_tokens).retain(|_, grant| grant.session_id != session_id);
                    self.save();
                }
            }
        }
        grant
    }
}

/// Seeded people keep the same id across restarts (derived from their email).
fn stable_suffix(email: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(email.to_lowercase().as_bytes());
    digest[..10].iter().map(|b| format!("{b:02x}")).collect()
}
