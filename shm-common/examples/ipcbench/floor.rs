//! The hardware's floor for a ring between two processes: a minimal
//! single-producer single-consumer ring in a segment of the same size as
//! the stream's, with nothing but two cursors and the copies. No header, no
//! states, no heartbeat, no fences beyond release/acquire, no wake-up
//! checks: each side spins (with a `pause` per look) while it has to wait.
//!
//! The cursors and the data sit where the stream's do (`HEAD` at byte 192,
//! `TAIL` at byte 256, data from byte 384), so that both rings have the
//! same cache lines and the same copies; the only difference is the
//! protocol. Each side keeps a copy of the other's cursor and loads it
//! again only when that copy says the ring is full (or empty), as the
//! stream does.
//!
//! The producer ends the run by storing the byte count in `DONE` (byte
//! 200, its own line) after its last `HEAD`, plus one so that zero means
//! "not yet". The consumer says it is there in `CONSUMER_STATE` (byte 264).

#[allow(unused_imports)]
use super::*;
use shm_common::protocol::stream::layout::{word as ring_word, DATA};

const HEAD: usize = ring_word::HEAD;
const TAIL: usize = ring_word::TAIL;
const DONE: usize = ring_word::PRODUCER_STATE;
/// The consumer's "attached" word (its own line), so that the run's clock
/// starts with both sides there, as the stream's does.
pub(crate) const FLOOR_READY: usize = ring_word::CONSUMER_STATE;

/// Spin (one `pause` a look) until `ready` holds, failing after
/// [`DEADLINE`] (the clock is read only every 2^20 looks).
#[inline]
fn spin(mut ready: impl FnMut() -> bool, what: &str) -> Result<()> {
    let mut spins = 0u32;
    let mut since: Option<Instant> = None;
    while !ready() {
        spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1 << 20) {
            let start = *since.get_or_insert_with(Instant::now);
            if start.elapsed() > DEADLINE {
                return Err(format!("floor ring: {what} for {DEADLINE:?}"));
            }
        }
    }
    Ok(())
}

/// The floor ring's writing side.
pub(crate) struct FloorProducer<'a> {
    view: WriteView<'a>,
    cap: u64,
    head: u64,
    /// `head` modulo `cap`.
    at: u64,
    tail: u64,
}

impl<'a> FloorProducer<'a> {
    /// A fresh ring over all of `view` after the stream's header area.
    pub(crate) fn new(view: WriteView<'a>) -> Self {
        view.clear();
        Self {
            view,
            cap: (view.read().bytes() - DATA) as u64,
            head: 0,
            at: 0,
            tail: 0,
        }
    }

    /// Copy all of `bytes` in, spinning while the ring is full; `HEAD`
    /// is published once per stretch copied, as `Producer::write` does.
    pub(crate) fn write_all(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let mut copied = false;
            while !bytes.is_empty() {
                if self.head - self.tail == self.cap {
                    self.tail = self.view.read().load_acquire(TAIL);
                    if self.head - self.tail == self.cap {
                        break;
                    }
                }
                let free = self.cap - (self.head - self.tail);
                let n = (free.min(self.cap - self.at) as usize).min(bytes.len());
                self.view.copy_in(DATA + self.at as usize, &bytes[..n]);
                bytes = &bytes[n..];
                self.head += n as u64;
                self.at += n as u64;
                if self.at == self.cap {
                    self.at = 0;
                }
                copied = true;
            }
            if copied {
                self.view.store_release(HEAD, self.head);
            }
            if !bytes.is_empty() {
                let (view, head, cap) = (self.view.read(), self.head, self.cap);
                spin(|| head - view.load_acquire(TAIL) < cap, "full")?;
            }
        }
        Ok(())
    }

    /// Say that every byte is in.
    pub(crate) fn finish(&self) {
        self.view.store_release(DONE, self.head + 1);
    }
}

/// The floor ring's reading side: takes up to `buf.len()` bytes a call
/// until the producer's end; the byte count.
pub(crate) fn floor_consume(view: WriteView<'_>, buf: &mut [u8]) -> Result<u64> {
    let cap = (view.read().bytes() - DATA) as u64;
    let (mut tail, mut at, mut head) = (0u64, 0u64, 0u64);
    view.store_release(FLOOR_READY, 1);
    loop {
        let mut done = 0;
        while done < buf.len() {
            if head == tail {
                head = view.read().load_acquire(HEAD);
                if head == tail {
                    break;
                }
            }
            let n = ((head - tail).min(cap - at) as usize).min(buf.len() - done);
            view.read()
                .copy_out(DATA + at as usize, &mut buf[done..done + n]);
            done += n;
            tail += n as u64;
            at += n as u64;
            if at == cap {
                at = 0;
            }
        }
        if done > 0 {
            view.store_release(TAIL, tail);
            continue;
        }
        if view.read().load_acquire(DONE) != 0 && view.read().load_acquire(HEAD) == tail {
            return Ok(tail);
        }
        spin(
            || view.read().load_acquire(HEAD) != tail || view.read().load(DONE) != 0,
            "empty",
        )?;
    }
}
