//! Whether a value's writer is alive: its heartbeat word, outside the
//! seqlock, is the one sign of life that both the adoption rule and
//! `shm_read` go by. It is watched for change against the reader's own
//! monotonic clock ([`crate::protocol::watch`]), never compared with the
//! reader's wall clock: the writer stores its wall-clock nanoseconds there
//! (as readers before this rule expect), which change with every beat
//! whatever the clock is set to.

use std::time::{Duration, Instant};

use super::read;
use crate::protocol::spec::Life;
use crate::protocol::watch::Watch;
use crate::transport::view::ReadView;

/// How often a live writer beats.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A writer is gone when its heartbeat stays unchanged for longer than this.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(3);

/// The sign of life: the heartbeat word as it is (paired with zero, so
/// that a reader may keep one watch for a value or a time record).
pub fn sign(view: ReadView<'_>) -> (u64, u64) {
    (read::heartbeat_word(view), 0)
}

/// Whether the writer of a value read from `view` (`stopped`: the value
/// said it stopped) and watched by `watch` (one per segment), is alive at
/// `now`: stopped when it said so,
/// otherwise live while its heartbeat changed at most [`HEARTBEAT_STALE`]
/// ago, gone once it stayed unchanged longer, [`Life::Watching`] until then.
pub fn life_of(
    stopped: bool,
    view: ReadView<'_>,
    watch: &mut Watch<(u64, u64)>,
    now: Instant,
) -> Life {
    if stopped {
        Life::Stopped
    } else {
        watch.see(sign(view), now).judge(HEARTBEAT_STALE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::value::layout::word;
    use crate::protocol::value::publish::{Publisher, Writer};
    use crate::transport::view::WriteView;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn the_heartbeat_is_watched_for_change_whatever_time_it_holds() {
        let words: Vec<AtomicU64> = (0..40).map(|_| AtomicU64::new(0)).collect();
        let v = WriteView::new(&words);
        let mut p = Publisher::new(v, Writer { pid: 1, ipc_ns: 2 }, b"x", false).unwrap();
        let value = read::read(v.read()).unwrap();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut watch = Watch::new();
        // An hour in the past, then in the future: each beat changes it.
        v.store(word::HEARTBEAT, 1);
        assert!(matches!(
            life_of(value.stopped, v.read(), &mut watch, at(0)),
            Life::Watching(_)
        ));
        v.store(word::HEARTBEAT, u64::MAX);
        assert_eq!(
            life_of(value.stopped, v.read(), &mut watch, at(500)),
            Life::Live(Duration::ZERO)
        );
        assert!(matches!(
            life_of(value.stopped, v.read(), &mut watch, at(3600)),
            Life::Stale(_)
        ));
        p.stop();
        let stopped = read::read(v.read()).unwrap();
        assert_eq!(
            life_of(stopped.stopped, v.read(), &mut watch, at(3700)),
            Life::Stopped
        );
    }
}
