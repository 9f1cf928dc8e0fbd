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
        w.fetch_sub(words.waiters, 1);
    }
    result
}
