//! A circuit breaker for calls to the identity provider.
//!
//! When the provider stops answering, every person who presses "Log in" would wait the
//! whole budget, holding a connection and a task: under load, that is how a provider
//! outage becomes an app outage. After `failures` consecutive outages (no answer, no
//! connection, a 5xx) the breaker *opens*: calls fail at once with
//! [`OidcError::CircuitOpen`], and people get the same "try again in a moment" notice
//! without waiting. After a pause it lets a single trial call through (*half-open*): its
//! success closes the breaker; its failure reopens it for twice as long, up to a ceiling.
//! A refusal (`invalid_grant`, a 4xx) is an answer, so it counts as the provider being up.
//!
//! Only calls that need the network pass through here: validating a token with cached
//! keys does not, so signed-in people keep using the app while the breaker is open.

use super::OidcError;
use std::{
    future::Future,
    sync::Mutex,
    time::{Duration, Instant},
};

/// When to open and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive outages that open the breaker.
    pub failures: u32,
    /// The first pause; each failed trial doubles it.
    pub open_for: Duration,
    /// The longest pause.
    pub max_open_for: Duration,
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant, pause: Duration },
    HalfOpen { pause: Duration },
}

/// The breaker (one per provider).
#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

/// What a finished call says about the provider.
fn is_outage(result: &Result<impl Sized, OidcError>) -> bool {
    match result {
        Ok(_) => false,
        Err(err) => err.is_outage(),
    }
}

impl Breaker {
    /// A closed breaker.
    pub fn new(settings: BreakerSettings) -> Self {
        Breaker {
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// Runs `call` unless the breaker is open; records its outcome. A call dropped
    /// unfinished because its request's budget ran out ([`within_budget`]) is an outage
    /// (a trial so dropped failed). Dropped for any other reason it records nothing: the
    /// person may simply have closed the tab, and counting that would let anyone open
    /// the breaker by hanging up; a trial dropped so hands the trial to the next call.
    pub async fn call<T, F>(&self, call: F) -> Result<T, OidcError>
    where
        F: Future<Output = Result<T, OidcError>>,
    {
        let trial = self.admit()?;
        let mut pending = Pending {
            breaker: self,
            trial,
            finished: false,
        };
        let result = call.await;
        pending.finished = true;
        self.record(trial, is_outage(&result));
        result
    }

    /// `Err` while the breaker is open and its pause has not run out: a login would send
    /// the person into a provider that is not answering.
    pub fn check(&self) -> Result<(), OidcError> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *state {
            State::Open { until, .. } if Instant::now() < until => Err(OidcError::CircuitOpen(
                until.saturating_duration_since(Instant::now()),
            )),
            _ => Ok(()),
        }
    }

    /// `Ok(true)` for the half-open trial, `Ok(false)` for a normal call.
    fn admit(&self) -> Result<bool, OidcError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *state {
            State::Closed { .. } => Ok(false),
            State::Open { until, pause } if Instant::now() >= until => {
                *state = State::HalfOpen { pause };
                Ok(true)
            }
            State::Open { until, .. } => Err(OidcError::CircuitOpen(
                until.saturating_duration_since(Instant::now()),
            )),
            State::HalfOpen { pause } => Err(OidcError::CircuitOpen(pause)),
        }
    }

    /// Open again, for twice as long as last time, up to the ceiling.
    fn after_failed_trial(&self, pause: Duration) -> State {
        let pause = pause.saturating_mul(2).min(self.settings.max_open_for);
        tracing::debug!(
            pause_secs = pause.as_secs_f32(),
            "trial call failed; breaker stays open"
        );
        State::Open {
            until: Instant::now() + pause,
            pause,
        }
    }

    /// A trial dropped unfinished, not for lack of time (the person hung up): it says
    /// nothing about the provider, so the next call may try instead, same pause.
    fn trial_abandoned(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let State::HalfOpen { pause } = *state {
            *state = State::Open {
                until: Instant::now(),
                pause,
            };
        }
    }

    fn record(&self, trial: bool, outage: bool) {
        // A lock poisoned by a panic elsewhere still holds a usable state.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let next = match (&*state, outage) {
            (State::Closed { failures }, true) => {
                let failures = failures.saturating_add(1);
                if failures >= self.settings.failures {
                    let pause = self.settings.open_for;
                    tracing::warn!(
                        failures,
                        pause_secs = pause.as_secs_f32(),
                        "identity provider failing: circuit breaker open, logins and refreshes answer at once until it recovers"
                    );
                    State::Open {
                        until: Instant::now() + pause,
                        pause,
                    }
                } else {
                    State::Closed { failures }
                }
            }
            (State::Closed { .. }, false) => State::Closed { failures: 0 },
            (State::HalfOpen { pause }, true) if trial => self.after_failed_trial(*pause),
            (State::HalfOpen { .. }, false) if trial => {
                tracing::info!("identity provider answering again: circuit breaker closed");
                State::Closed { failures: 0 }
            }
            // A call admitted before the breaker opened, finishing late: changes nothing.
            (State::Open { .. } | State::HalfOpen { .. }, _) => return,
        };
        *state = next;
    }
}

tokio::task_local! {
    /// When the request running on this task stops waiting for the provider.
    static BUDGET_ENDS: tokio::time::Instant;
}

/// Runs `flow` until `deadline`, the request's budget for the provider. Past it the flow is
/// dropped, and a provider call it was waiting on counts as an outage (a trial, as
/// failed): the provider did not answer in time, which is not the same as a person
/// hanging up. A budget that runs out while no provider call is waiting (on the session
/// store, on another request's refresh) says nothing about the provider.
pub async fn within_budget<F: Future>(
    deadline: tokio::time::Instant,
    flow: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    // Nested, the earlier deadline rules: it is the one that cuts the flow off.
    let deadline = BUDGET_ENDS
        .try_with(|outer| deadline.min(*outer))
        .unwrap_or(deadline);
    // The task-local is set while `flow` is polled and while it is dropped.
    BUDGET_ENDS
        .scope(deadline, tokio::time::timeout_at(deadline, flow))
        .await
}

/// True when dropped within [`within_budget`] because its deadline passed.
fn budget_ran_out() -> bool {
    BUDGET_ENDS
        .try_with(|ends| tokio::time::Instant::now() >= *ends)
        .unwrap_or(false)
}

/// A call in flight, to record as an outage if its budget runs out before it finishes.
struct Pending<'a> {
    breaker: &'a Breaker,
    trial: bool,
    finished: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if budget_ran_out() {
            self.breaker.record(self.trial, true);
        } else if self.trial {
            self.breaker.trial_abandoned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerSettings {
            failures: 2,
            open_for: Duration::from_millis(50),
            max_open_for: Duration::from_millis(150),
        })
    }

    async fn outage() -> Result<(), OidcError> {
        Err(OidcError::Timeout("test".into()))
    }

    async fn answer() -> Result<(), OidcError> {
        Ok(())
    }

    #[tokio::test]
    async fn opens_after_consecutive_outages_and_closes_on_the_first_success() {
        let b = breaker();
        assert!(b.call(outage()).await.is_err());
        assert!(b.call(answer()).await.is_ok(), "a success resets the count");
        assert!(b.call(outage()).await.is_err());
        assert!(b.check().is_ok(), "one outage in a row: still closed");
        assert!(matches!(b.call(outage()).await, Err(OidcError::Timeout(_))));
        assert!(
            matches!(b.call(answer()).await, Err(OidcError::CircuitOpen(_))),
            "open: the call is not made"
        );
        assert!(b.check().is_err());
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(b.check().is_ok(), "the pause is over: a trial may go");
        assert!(b.call(answer()).await.is_ok(), "the trial succeeds");
        assert!(b.call(answer()).await.is_ok(), "closed");
    }

    #[tokio::test]
    async fn a_failed_trial_doubles_the_pause_up_to_the_ceiling() {
        let b = Breaker::new(BreakerSettings {
            failures: 2,
            open_for: Duration::from_millis(100),
            max_open_for: Duration::from_millis(300),
        });
        for _ in 0..2 {
            let _ = b.call(outage()).await;
        }
        let mut waited = 100;
        for expected in [200, 300, 300] {
            tokio::time::sleep(Duration::from_millis(waited + 20)).await;
            assert!(b.call(outage()).await.is_err(), "the trial fails");
            match b.call(answer()).await {
                // Within 80 ms of the full pause: room for a slow machine, and still
                // longer than the pause before.
                Err(OidcError::CircuitOpen(left)) => assert!(
                    left <= Duration::from_millis(expected)
                        && left + Duration::from_millis(80) > Duration::from_millis(expected),
                    "paused {left:?}, expected {expected} ms"
                ),
                other => panic!("expected an open breaker, got {other:?}"),
            }
            waited = expected;
        }
    }

    #[tokio::test]
    async fn only_one_trial_at_a_time_and_hanging_up_opens_nothing() {
        let b = breaker();
        for _ in 0..2 {
            let _ = b.call(outage()).await;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        // The trial never finishes: its request hangs up.
        let trial = tokio::time::timeout(
            Duration::from_millis(10),
            b.call(std::future::pending::<Result<(), OidcError>>()),
        );
        let concurrent = async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            b.call(answer()).await
        };
        let (trial, concurrent) = tokio::join!(trial, concurrent);
        assert!(trial.is_err(), "the trial was abandoned");
        assert!(
            matches!(concurrent, Err(OidcError::CircuitOpen(_))),
            "no second call while the trial is in flight"
        );
        assert!(
            b.call(answer()).await.is_ok(),
            "the next call is the trial, and closes it"
        );

        // Closed: requests that hang up mid-call count for nothing, however many.
        for _ in 0..5 {
            let _ = tokio::time::timeout(
                Duration::from_millis(5),
                b.call(std::future::pending::<Result<(), OidcError>>()),
            )
            .await;
        }
        assert!(b.check().is_ok(), "hanging up does not open the breaker");
        for _ in 0..2 {
            let deadline = tokio::time::Instant::now() + Duration::from_millis(5);
            let hung = b.call(std::future::pending::<Result<(), OidcError>>());
            assert!(within_budget(deadline, hung).await.is_err());
        }
        assert!(b.check().is_err(), "calls cut off by their budget do");
    }

    #[tokio::test]
    async fn a_trial_cut_off_by_the_budget_fails_and_doubles_the_pause() {
        let b = Breaker::new(BreakerSettings {
            failures: 1,
            open_for: Duration::from_millis(50),
            max_open_for: Duration::from_millis(1000),
        });
        let _ = b.call(outage()).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        // A person hangs up on the trial within their budget: nothing is learned, and
        // the next call is the trial, at once.
        let far = tokio::time::Instant::now() + Duration::from_secs(60);
        let hung_up = within_budget(far, b.call(std::future::pending::<Result<(), OidcError>>()));
        assert!(tokio::time::timeout(Duration::from_millis(10), hung_up)
            .await
            .is_err());
        assert!(b.check().is_ok(), "a trial hung up on reopens nothing");
        // As in `AuthService::by_deadline`: the flow carrying the trial hangs and its
        // budget runs out.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(10);
        let hung = b.call(std::future::pending::<Result<(), OidcError>>());
        assert!(within_budget(deadline, hung).await.is_err());
        match b.call(answer()).await {
            Err(OidcError::CircuitOpen(left)) => assert!(
                left > Duration::from_millis(60),
                "reopened for twice the pause, not {left:?}"
            ),
            other => panic!("expected an open breaker after a failed trial, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_budget_that_runs_out_on_something_else_says_nothing_about_the_provider() {
        let b = Breaker::new(BreakerSettings {
            failures: 1,
            open_for: Duration::from_millis(50),
            max_open_for: Duration::from_millis(1000),
        });
        // A request that waits on something else (the session store, another instance's
        // refresh lock) and runs out of budget, before and after its one provider call.
        let waits_elsewhere = async {
            b.call(answer()).await?;
            std::future::pending::<Result<(), OidcError>>().await
        };
        let deadline = tokio::time::Instant::now() + Duration::from_millis(10);
        assert!(within_budget(deadline, waits_elsewhere).await.is_err());
        assert!(b.check().is_ok(), "closed: no provider call was cut off");

        let _ = b.call(outage()).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(10);
        let waits = std::future::pending::<()>();
        assert!(within_budget(deadline, waits).await.is_err());
        assert!(
            b.call(answer()).await.is_ok(),
            "the pause is over and no trial was made: the trial still goes, at once"
        );
    }

    #[tokio::test]
    async fn nested_budgets_keep_the_earlier_deadline() {
        let b = Breaker::new(BreakerSettings {
            failures: 1,
            open_for: Duration::from_secs(60),
            max_open_for: Duration::from_secs(60),
        });
        let outer = tokio::time::Instant::now() + Duration::from_millis(10);
        let inner = outer + Duration::from_secs(60);
        let hung = within_budget(
            inner,
            b.call(std::future::pending::<Result<(), OidcError>>()),
        );
        let result = within_budget(outer, hung).await;
        assert!(
            !matches!(result, Ok(Ok(_))),
            "cut off at the outer deadline"
        );
        assert!(
            b.check().is_err(),
            "the outer budget cut the call off: an outage"
        );
    }
}
