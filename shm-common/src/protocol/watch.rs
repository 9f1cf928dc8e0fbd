//! Signs of life, watched against this process's own monotonic clock.
//!
//! Liveness never compares a time another process wrote with this
//! process's clock: the wall clock may be stepped (NTP, an administrator)
//! between the two, which would make every live writer look dead, or
//! "ahead". Instead each protocol names a word that a live writer changes
//! at a known pace (a sequence, a heartbeat), and a reader counts the
//! writer gone when it has seen that word unchanged for longer than the
//! protocol's bound, by [`Instant`] (`CLOCK_MONOTONIC`, which is never
//! stepped). One look therefore cannot tell a live writer from a dead one:
//! until the word changes, or the bound passes, the answer is
//! [`Life::Watching`].
//!
//! The writer's half: its word must change at its pace even while the
//! writer is busy copying or blocked elsewhere, so a thread of its own
//! beats it ([`keep_beating`], [`beating_beside`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::spec::Life;

/// What a [`Watch`] has seen of a sign of life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// It changed; the last change was seen this long ago.
    Changed(Duration),
    /// It has not changed since watching began, this long ago.
    Unchanged(Duration),
}

impl Seen {
    /// The writer is live while the sign changed at most `bound` ago, gone
    /// once it stayed unchanged longer than that, and not known yet while
    /// it was only watched for less.
    pub fn judge(self, bound: Duration) -> Life {
        match self {
            Seen::Changed(ago) if ago <= bound => Life::Live(ago),
            Seen::Unchanged(watched) if watched <= bound => Life::Watching(watched),
            Seen::Changed(ago) | Seen::Unchanged(ago) => Life::Stale(ago),
        }
    }
}

/// One sign of life, watched by one reader. Start a new one for every
/// segment: the sign's history belongs to the segment it was read from.
#[derive(Debug, Clone, Default)]
pub struct Watch<T> {
    /// The sign as last seen, when it was first seen so, and whether it
    /// ever changed under this watch.
    last: Option<(T, Instant, bool)>,
}

impl<T: PartialEq> Watch<T> {
    /// Nothing seen yet.
    pub const fn new() -> Self {
        Self { last: None }
    }

    /// Record that the sign reads `sign` at `now`.
    pub fn see(&mut self, sign: T, now: Instant) -> Seen {
        match &mut self.last {
            Some((last, since, changed)) if *last == sign => {
                let ago = now.saturating_duration_since(*since);
                if *changed {
                    Seen::Changed(ago)
                } else {
                    Seen::Unchanged(ago)
                }
            }
            Some(last) => {
                *last = (sign, now, true);
                Seen::Changed(Duration::ZERO)
            }
            None => {
                self.last = Some((sign, now, false));
                Seen::Unchanged(Duration::ZERO)
            }
        }
    }
}

/// Call `beat` now and then every `period` until `stop` is set; unpark the
/// thread after setting it to end the wait at once (a beat more, when the
/// thread is woken early otherwise, is harmless).
pub fn keep_beating(stop: &AtomicBool, period: Duration, mut beat: impl FnMut()) {
    while !stop.load(Ordering::Acquire) {
        beat();
        std::thread::park_timeout(period);
    }
}

/// Run `work` with a thread beside it that calls `beat` every `period`
/// ([`keep_beating`]), stopped and joined when `work` returns.
pub fn beating_beside<R>(
    period: Duration,
    beat: impl FnMut() + Send,
    work: impl FnOnce() -> R,
) -> R {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let beater = s.spawn(|| keep_beating(&stop, period, beat));
        let result = work();
        stop.store(true, Ordering::Release);
        beater.thread().unpark();
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_is_live_once_it_changes_and_stale_once_it_stays() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let bound = Duration::from_secs(1);
        let mut watch = Watch::new();
        assert_eq!(
            watch.see(7u64, at(0)).judge(bound),
            Life::Watching(Duration::ZERO)
        );
        assert_eq!(
            watch.see(7, at(900)).judge(bound),
            Life::Watching(Duration::from_millis(900))
        );
        assert_eq!(
            watch.see(7, at(1100)).judge(bound),
            Life::Stale(Duration::from_millis(1100))
        );
        assert_eq!(
            watch.see(8, at(1200)).judge(bound),
            Life::Live(Duration::ZERO)
        );
        assert_eq!(
            watch.see(8, at(2000)).judge(bound),
            Life::Live(Duration::from_millis(800))
        );
        assert_eq!(
            watch.see(8, at(2300)).judge(bound),
            Life::Stale(Duration::from_millis(1100))
        );
        // Whatever the values: a jump back or far ahead is a change too.
        assert_eq!(
            watch.see(0, at(2400)).judge(bound),
            Life::Live(Duration::ZERO)
        );
    }
}
