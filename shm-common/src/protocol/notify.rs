//! Wake-ups on change: a reader sleeps on a futex over the low half of a
//! seqlock's sequence word, and counts itself in a waiters word so that a
//! writer with nobody asleep makes no system call.
//!
//! Both sides follow the futex rule against lost wake-ups: the writer makes
//! its new sequence visible, then (after a full fence) looks at the waiters
//! count; a sleeper raises the count, then (after a full fence) checks the
//! sequence inside `futex_wait`, which sleeps only while it is unchanged.
//! Waits are bounded, so a writer that dies is noticed, and a reader that
//! may not write the segment (a read-only attachment) still wakes at each
//! bound: it cannot register, so it polls.

use std::cell::Cell;
use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

use nix::errno::Errno;

use crate::transport::view::{ReadView, WriteView};

/// The words a protocol sleeps and counts on.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    /// The sequence whose low 32 bits are the futex word.
    pub seq: usize,
    /// How many readers are asleep (or about to be).
    pub waiters: usize,
}

/// The writer's side, after each publish: wake sleepers, if any.
/// Without sleepers this is a fence and one load, no system call.
#[inline]
pub fn wake(view: WriteView<'_>, words: Words) -> Result<(), Errno> {
    fence(Ordering::SeqCst);
    if view.read().load(words.waiters) != 0 {
        view.wake(words.seq)?;
    }
    Ok(())
}

/// The reader's side: sleep until the sequence leaves `seen` or `timeout`
/// passes. `writable` is the reader's own writable view, when it has one
/// (to register as a sleeper); without it the wait is a plain bounded sleep
/// on the futex that a writer never wakes.
pub fn wait(
    view: ReadView<'_>,
    writable: Option<WriteView<'_>>,
    words: Words,
    seen: u64,
    timeout: Duration,
) -> Result<(), Errno> {
    if let Some(w) = writable {
        w.fetch_add(words.waiters, 1);
    }
    fence(Ordering::SeqCst);
    let result = if view.load(words.seq) == seen {
        view.wait(words.seq, seen as u32, timeout)
    } else {
        Ok(())
    };
    if let Some(w) = writable {
        unregister(w, words.waiters);
    }
    result
}

/// Take one off the waiters count, never below zero: the writer's
/// [`Sweep`] may have taken it back already.
fn unregister(w: WriteView<'_>, waiters: usize) {
    let mut count = w.read().load(waiters);
    while count != 0 {
        match w.compare_exchange(waiters, count, count - 1) {
            Ok(_) => return,
            Err(now) => count = now,
        }
    }
}

/// The writer's side, about once a second: take back a waiters count that
/// no sleeper stands for. A reader killed while counted never takes itself
/// off, and the writer would make a wake system call per publish for the
/// segment's life. A live reader sleeps in the futex almost all the time it
/// is counted, so a count that two looks in a row find unchanged with
/// nobody asleep (the kernel counts the sleepers, [`ReadView::sleepers`])
/// is a dead one's. A live reader caught both times between its count and
/// its sleep costs one wake-up bounded by its wait, never a count below
/// zero ([`wait`] takes itself off saturating).
#[derive(Debug, Default)]
pub struct Sweep {
    /// The count the last look found with nobody asleep (0: none).
    suspect: Cell<u64>,
}

impl Sweep {
    /// Look once; `seq` is the sequence the writer published last.
    pub fn look(&self, view: WriteView<'_>, words: Words, seq: u64) {
        let count = view.read().load(words.waiters);
        let asleep = view.read().sleepers(words.seq, seq as u32);
        if count == 0 || asleep != Ok(0) {
            self.suspect.set(0);
        } else if self.suspect.replace(count) == count {
            let _ = view.compare_exchange(words.waiters, count, 0);
            self.suspect.set(0);
        }
    }
}
