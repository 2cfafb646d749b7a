//! How many requests each endpoint has served (for tests, benchmarks and the soak).

use std::sync::atomic::{AtomicU64, Ordering};

/// Requests served, per endpoint.
#[derive(Default, Debug)]
pub struct Counters {
    pub discovery: AtomicU64,
    pub authorize: AtomicU64,
    pub token: AtomicU64,
    pub jwks: AtomicU64,
    pub logout: AtomicU64,
    pub userinfo: AtomicU64,
    pub revocation: AtomicU64,
    /// Back-channel logout tokens sent to the app.
    pub backchannel_logouts: AtomicU64,
    /// Every request received, answered or not.
    pub requests: AtomicU64,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
    pub(super) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    /// Every request to the provider's back-channel endpoints (what the app calls).
    pub fn back_channel_total(&self) -> u64 {
        Self::get(&self.discovery)
            + Self::get(&self.token)
            + Self::get(&self.jwks)
            + Self::get(&self.userinfo)
            + Self::get(&self.revocation)
    }
}
