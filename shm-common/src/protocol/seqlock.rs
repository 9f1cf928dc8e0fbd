//! A seqlock: one writer publishes, any number of readers copy a
//! consistent snapshot without ever blocking the writer.
//!
//! Protocol (Boehm, "Can seqlocks get along with programming language memory
//! models?"): the writer makes the sequence odd, issues a release fence,
//! stores the data words, then makes the sequence even with a release
//! store. A reader loads the sequence with acquire, copies the words with
//! relaxed loads, issues an acquire fence and loads the sequence again; the
//! copy is consistent when both loads saw the same even value. Every access
//! is atomic, so a concurrent writer in another process is never a data race.

use std::hint::spin_loop;
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use crate::transport::view::{ReadView, WriteView};

/// The writer's side, for the sequence in word `seq_word`. There must be
/// exactly one per segment (the session layer sees to that).
#[derive(Debug)]
pub struct SeqWriter<'a> {
    view: WriteView<'a>,
    seq_word: usize,
    seq: u64,
}

/// Sequences above this restart at zero on adoption, so that no writer
/// runs into the wrap (where an odd sequence would stay odd for good).
const RESTART_ABOVE: u64 = u64::MAX - (1 << 32);

impl<'a> SeqWriter<'a> {
    /// Take over the sequence in `seq_word`, continuing a previous
    /// writer's so that readers never see it go backwards: an odd one (a
    /// writer killed mid-update) moves on to the next even value, and one
    /// near the wrap restarts at zero.
    pub fn resume(view: WriteView<'a>, seq_word: usize) -> Self {
        let old = view.read().load(seq_word);
        let seq = if old > RESTART_ABOVE {
            0
        } else {
            old + (old & 1)
        };
        Self {
            view,
            seq_word,
            seq,
        }
    }

    /// The sequence of the last publish (even).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Publish: `store` writes the data words while the sequence is odd.
    #[inline]
    pub fn write(&mut self, store: impl FnOnce(WriteView<'a>)) {
        let odd = self.seq.wrapping_add(1);
        self.view.store(self.seq_word, odd);
        fence(Ordering::Release);
        store(self.view);
        self.seq = odd.wrapping_add(1);
        self.view.store_release(self.seq_word, self.seq);
    }
}

/// A record that stayed mid-update: the writer is stopped (SIGSTOP, a
/// debugger) or was killed while publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unstable {
    /// The odd sequence it stayed at.
    pub seq: u64,
}

/// A reader gives up on a record that stays mid-update (the same odd
/// sequence) after this many looks: a few spins (a publish takes
/// nanoseconds), then yields to let a descheduled writer run...
const SPINS: u32 = 64;
const STUCK_ATTEMPTS: u32 = 1024;
/// ...or after this long, whichever comes first: on a machine whose CPUs
/// are all busy each yield may cost a whole time slice, and a thousand of
/// them would keep a reader for seconds.
const STUCK_FOR: Duration = Duration::from_millis(100);
/// ...while a sequence that keeps moving is a live writer outpacing the copy,
/// tried again up to this many times in all so that a read stays bounded.
const MAX_ATTEMPTS: u32 = 1 << 16;

/// Copy a consistent snapshot: `copy` loads the data words (relaxed) and
/// may run several times; its last result is returned with the even
/// sequence it belongs to. Bounded in time.
pub fn read<T>(
    view: ReadView<'_>,
    seq_word: usize,
    mut copy: impl FnMut(ReadView<'_>) -> T,
) -> Result<(u64, T), Unstable> {
    let mut last = None;
    let mut stuck = 0;
    let mut yielding_since: Option<Instant> = None;
    for _ in 0..MAX_ATTEMPTS {
        let before = view.load_acquire(seq_word);
        if before & 1 == 0 {
            let data = copy(view);
            fence(Ordering::Acquire);
            if view.load(seq_word) == before {
                return Ok((before, data));
            }
        }
        if last == Some(before) {
            stuck += 1;
            if stuck >= STUCK_ATTEMPTS {
                break;
            }
        } else {
            last = Some(before);
            stuck = 0;
            yielding_since = None;
        }
        if stuck < SPINS {
            spin_loop();
        } else {
            if yielding_since.get_or_insert_with(Instant::now).elapsed() >= STUCK_FOR {
                break;
            }
            std::thread::yield_now();
        }
    }
    Err(Unstable {
        seq: last.unwrap_or(0),
    })
}

/// How long [`patiently`] waits for a record that stays mid-update: on a
/// busy machine a writer preempted inside its publish may be off its CPU
/// for longer than [`read`]'s spins and yields last. A writer frozen for
/// good is reported after this.
const PATIENCE: Duration = Duration::from_millis(100);
/// The pause between [`patiently`]'s reads.
const PAUSE: Duration = Duration::from_millis(1);

/// `read_once` (a protocol's read under [`read`]) again, a short pause
/// apart, while `unstable` says its error is [`Unstable`], for at most
/// 100 ms: for a reader that follows a live writer, to which a
/// publish caught half-way is no error. A look that must not wait (a
/// listing, `--inspect`) calls [`read`] once instead.
pub fn patiently<T, E>(
    mut read_once: impl FnMut() -> Result<T, E>,
    unstable: impl Fn(&E) -> bool,
) -> Result<T, E> {
    let mut since = None;
    loop {
        match read_once() {
            Err(e)
                if unstable(&e) && since.get_or_insert_with(Instant::now).elapsed() < PATIENCE =>
            {
                std::thread::sleep(PAUSE)
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn resume_leaves_a_readable_sequence() {
        let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
        let w = WriteView::new(&words);
        for (old, next) in [(0, 0), (7, 8), (8, 8), (u64::MAX, 0), (u64::MAX - 1, 0)] {
            w.store(0, old);
            let mut writer = SeqWriter::resume(w, 0);
            assert_eq!(writer.seq(), next, "after {old}");
            writer.write(|w| w.store(1, 5));
            assert_eq!(read(w.read(), 0, |r| r.load(1)), Ok((next + 2, 5)));
        }
    }

    #[test]
    fn a_stuck_odd_sequence_is_unstable() {
        let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
        words[0].store(9, Ordering::Relaxed);
        assert_eq!(
            read(ReadView::new(&words), 0, |r| r.load(1)),
            Err(Unstable { seq: 9 })
        );
    }
}
