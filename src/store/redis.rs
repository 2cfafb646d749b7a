//! The shared store on Redis (`SESSION_STORE_URL`). Every command is bounded by a short
//! timeout; an error or a timeout is the caller's cue to fall back to this process's
//! memory. The connection is made on first use and remade by the connection manager.
//!
//! Keys (all `sk:` + a SHA-256 in hex, never a token or an id in the clear):
//! `sk:refresh:lock:<h>` (the instance refreshing, `PX` = the provider call's timeout plus
//! a margin), `sk:refresh:result:<h>` (the sealed result, `PX` = the reuse grace),
//! `sk:seen:<namespace>:<h>` (webhook ids, logout-token `jti`s), `sk:ended:sid:<h>` and
//! `sk:ended:sub:<h>` (back-channel logouts, for as long as a session can live).

use super::{local::ended_key, SessionEnd, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// Deletes the refresh lock only if this instance still holds it.
const UNLOCK: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// A Redis shared by every instance.
pub struct RedisStore {
    client: redis::Client,
    /// The connection manager (cheap to clone), read on every command without waiting.
    connection: std::sync::RwLock<Option<ConnectionManager>>,
    /// Held while connecting, so one request connects and the others wait for it.
    connecting: tokio::sync::Mutex<()>,
    next_attempt: Mutex<Instant>,
    timeout: Duration,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl RedisStore {
    /// Checks the URL; connects on first use ([`warm_up`](Self::warm_up) connects early).
    pub fn new(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        if !url.starts_with("redis://") {
            return Err(StoreError::BadUrl("it must start with redis://".into()));
        }
        let client =
            redis::Client::open(url).map_err(|e| StoreError::BadUrl(format!("{:?}", e.kind())))?;
        Ok(RedisStore {
            client,
            connection: std::sync::RwLock::new(None),
            connecting: tokio::sync::Mutex::new(()),
            next_attempt: Mutex::new(Instant::now()),
            timeout,
        })
    }

    /// The connection, made now if there is none (at most one attempt per second;
    /// requests arriving meanwhile wait for it, within one command's timeout).
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        // One request connects; the others wait for it, at most one command's timeout
        // (an attempt is quick: one try, connection refused at once while Redis is down).
        let Ok(_connecting) = tokio::time::timeout(self.timeout, self.connecting.lock()).await
        else {
            return Err(StoreError::Timeout(self.timeout));
        };
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        {
            let mut next = self.next_attempt.lock().unwrap_or_else(|e| e.into_inner());
            if Instant::now() < *next {
                return Err(StoreError::Redis("not connected".into()));
            }
            *next = Instant::now() + Duration::from_secs(1);
        }
        // One quick attempt (no retry loop): while Redis is down, requests fall back at
        // once instead of queueing behind reconnection back-off.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_max_delay(100)
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout);
        let connection = tokio::time::timeout(
            self.timeout.saturating_mul(4),
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| StoreError::Timeout(self.timeout.saturating_mul(4)))?
        .map_err(|e| StoreError::Redis(e.to_string()))?;
        *self.connection.write().unwrap_or_else(|e| e.into_inner()) = Some(connection.clone());
        Ok(connection)
    }

    /// Connects now, so the first requests find the connection made.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        self.connection().await.map(|_| ())
    }

    fn current(&self) -> Option<ConnectionManager> {
        self.connection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs one command within the timeout. An error (not a mere timeout) drops the
    /// connection, so the next attempt (at most one per second) connects afresh: a
    /// restarted Redis is used again within about a second of its return.
    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        match tokio::time::timeout(self.timeout, command.query_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => {
                *self.connection.write().unwrap_or_else(|e| e.into_inner()) = None;
                Err(StoreError::Redis(err.to_string()))
            }
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }

    /// The sealed result of a refresh, if one is being shared.
    pub async fn refresh_result(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.run(redis::cmd("GET").arg(format!("sk:refresh:result:{key}")))
            .await
    }

    /// Takes the refresh lock for `owner`; false when another instance holds it.
    pub async fn lock_refresh(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let set: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(format!("sk:refresh:lock:{key}"))
                    .arg(owner)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(ttl)),
            )
            .await?;
        Ok(set.is_some())
    }

    /// Releases the refresh lock, if `owner` still holds it.
    pub async fn unlock_refresh(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .run(
                redis::cmd("EVAL")
                    .arg(UNLOCK)
                    .arg(1)
                    .arg(format!("sk:refresh:lock:{key}"))
                    .arg(owner),
            )
            .await?;
        Ok(())
    }

    /// Shares a sealed refresh result for `ttl`.
    pub async fn put_refresh_result(
        &self,
        key: &str,
        sealed: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let _: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(format!("sk:refresh:result:{key}"))
                    .arg(sealed)
                    .arg("PX")
                    .arg(millis(ttl)),
            )
            .await?;
        Ok(())
    }

    /// True the first time `key` is set within `ttl`.
    pub async fn first_time(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let set: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(format!("sk:seen:{key}"))
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(ttl)),
            )
            .await?;
        Ok(set.is_some())
    }

    /// Records an ended session for `retain`.
    pub async fn end_session(&self, end: &SessionEnd, retain: Duration) -> Result<(), StoreError> {
        let key = match (&end.sid, &end.sub) {
            (Some(sid), _) => ended_key("sid", &end.issuer, sid),
            (None, Some(sub)) => ended_key("sub", &end.issuer, sub),
            (None, None) => return Ok(()),
        };
        let _: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(format!("sk:ended:{key}"))
                    .arg(end.at)
                    .arg("PX")
                    .arg(millis(retain)),
            )
            .await?;
        Ok(())
    }

    /// True when the session's `sid`, or its `sub` since before `started_at`, ended.
    pub async fn is_ended(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: &str,
        started_at: i64,
    ) -> Result<bool, StoreError> {
        let sid_key = format!("sk:ended:{}", ended_key("sid", issuer, sid.unwrap_or("")));
        let sub_key = format!("sk:ended:{}", ended_key("sub", issuer, sub));
        let [by_sid, by_sub]: [Option<i64>; 2] = self
            .run::<Vec<Option<i64>>>(redis::cmd("MGET").arg(&sid_key).arg(&sub_key))
            .await?
            .try_into()
            .map_err(|_| StoreError::Redis("MGET answered the wrong number of values".into()))?;
        Ok((sid.is_some() && by_sid.is_some()) || by_sub.is_some_and(|at| started_at <= at))
    }
}
