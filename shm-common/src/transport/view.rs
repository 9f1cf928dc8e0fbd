//! Typed access to a segment's words: [`ReadView`] can only load,
//! [`WriteView`] can also store, so code holding a reader's `SHM_RDONLY`
//! attachment cannot compile a store that would fault.
//!
//! Loads are relaxed atomic loads (the only kind `std::sync::atomic`
//! allows on read-only memory); acquire ordering comes from a separate
//! fence, see [`ReadView::load_acquire`]. Word `i` is bytes `8*i..8*i+8`,
//! little-endian; a futex sleeps on a word's low 32 bits.

use std::ops::Range;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::time::Duration;

use nix::errno::Errno;

use super::sys;

/// Load-only access to a segment's words.
#[derive(Debug, Clone, Copy)]
pub struct ReadView<'a> {
    words: &'a [AtomicU64],
}

impl<'a> ReadView<'a> {
    /// A view of words in this process's own memory (tests, benchmarks,
    /// fuzzing). Segments hand out views through `Segment::view`.
    pub fn new(words: &'a [AtomicU64]) -> Self {
        Self { words }
    }

    /// The words in `range` as a view of their own (word 0 is `range.start`).
    ///
    /// # Panics
    /// If `range` is out of bounds.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        Self {
            words: &self.words[range],
        }
    }

    /// Number of whole 8-byte words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the view has no words at all.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Bytes covered by the view.
    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    /// Whether every word is zero: a segment as `shmget` made it, that
    /// nobody has written yet. Reads every word, faulting in every page;
    /// see [`ReadView::is_zero_in_memory`] for a look that does not.
    pub fn is_zero(&self) -> bool {
        (0..self.len()).all(|i| self.load(i) == 0)
    }

    /// Whether every word in memory is zero, judged without faulting in a
    /// page: the words on pages not resident in memory are not read. A page
    /// of a segment that nobody wrote is not resident, and reads as zeros;
    /// one swapped out is not resident either, so the caller must know that
    /// none is (the kernel's segment table says how much of a segment is in
    /// swap). Where the kernel does not say which pages are resident, every
    /// word is read, as [`ReadView::is_zero`] does.
    pub fn is_zero_in_memory(&self) -> bool {
        self.by_residency(0..self.len(), |run, resident| {
            !resident || run.into_iter().all(|i| self.load(i) == 0)
        })
    }

    /// As [`ReadView::copy_bytes`], but the words on pages not resident in
    /// memory are not read, and their bytes in `out` are zeros: what they
    /// read as, when nothing of the segment is in swap (see
    /// [`ReadView::is_zero_in_memory`]).
    pub fn copy_bytes_in_memory(&self, first: usize, out: &mut [u8]) {
        let words = first..(first + out.len().div_ceil(8)).min(self.len());
        self.by_residency(words, |run, resident| {
            let from = (run.start - first) * 8;
            let to = ((run.end - first) * 8).min(out.len());
            if resident {
                self.copy_bytes(run.start, &mut out[from..to]);
            } else {
                out[from..to].fill(0);
            }
            true
        });
    }

    /// Call `f` on consecutive runs of the words `range`, each with whether
    /// it lies on pages resident in memory (every page is, where the kernel
    /// does not say), until `f` returns false; whether it never did.
    fn by_residency(
        &self,
        range: Range<usize>,
        mut f: impl FnMut(Range<usize>, bool) -> bool,
    ) -> bool {
        /// Words asked about at a time (16 MiB): bounds the answer's size.
        const CHUNK: usize = 1 << 21;
        let mut at = range.start;
        while at < range.end {
            let end = range.end.min(at + CHUNK);
            let runs =
                sys::residency(&self.words[at..end]).unwrap_or_else(|_| vec![(0..end - at, true)]);
            for (run, resident) in runs {
                if !f(at + run.start..at + run.end, resident) {
                    return false;
                }
            }
            at = end;
        }
        true
    }

    /// Relaxed load of word `i`.
    ///
    /// # Panics
    /// If `i` is out of range: callers check the segment's size first.
    #[inline]
    pub fn load(&self, i: usize) -> u64 {
        self.words[i].load(Ordering::Relaxed)
    }

    /// Load of word `i` that later loads cannot move before (a relaxed
    /// load followed by an acquire fence).
    #[inline]
    pub fn load_acquire(&self, i: usize) -> u64 {
        let value = self.load(i);
        fence(Ordering::Acquire);
        value
    }

    /// Fill `out` with the bytes from word `first` on (relaxed loads).
    pub fn copy_bytes(&self, first: usize, out: &mut [u8]) {
        for (chunk, w) in out.chunks_mut(8).zip(&self.words[first..]) {
            let bytes = w.load(Ordering::Relaxed).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    /// Copy the bytes from byte `at` on into `dst`, in bulk (for a ring's
    /// committed part, which its producer does not touch meanwhile).
    pub fn copy_out(&self, at: usize, dst: &mut [u8]) {
        sys::copy_out(self.words, at, dst);
    }

    /// `write(2)` the bytes `range` to `fd`, straight from the segment.
    pub fn write_to(&self, fd: BorrowedFd<'_>, range: Range<usize>) -> Result<usize, Errno> {
        sys::write_from(fd, self.words, range)
    }

    /// Sleep while the low 32 bits of word `i` equal `expected`, at most
    /// `timeout` (a shared futex; may return early, callers re-check).
    pub fn wait(&self, i: usize, expected: u32, timeout: Duration) -> Result<(), Errno> {
        sys::futex_wait(&self.words[i], expected, timeout)
    }

    /// How many processes sleep on the low 32 bits of word `i`, which hold
    /// `current` (`EAGAIN` when they no longer do); wakes nobody.
    pub fn sleepers(&self, i: usize, current: u32) -> Result<usize, Errno> {
        sys::futex_sleepers(&self.words[i], current)
    }
}

/// Load and store access to a segment's words, for the segment's writer.
#[derive(Debug, Clone, Copy)]
pub struct WriteView<'a> {
    words: &'a [AtomicU64],
}

impl<'a> WriteView<'a> {
    /// A writable view of words in this process's own memory (tests,
    /// benchmarks). Segments hand out views through `Segment::write_view`.
    pub fn new(words: &'a [AtomicU64]) -> Self {
        Self { words }
    }

    /// The words in `range` as a view of their own (word 0 is `range.start`).
    ///
    /// # Panics
    /// If `range` is out of bounds.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        Self {
            words: &self.words[range],
        }
    }

    /// The same words, load-only.
    #[inline]
    pub fn read(&self) -> ReadView<'a> {
        ReadView { words: self.words }
    }

    /// Relaxed store of word `i`.
    #[inline]
    pub fn store(&self, i: usize, value: u64) {
        self.words[i].store(value, Ordering::Relaxed);
    }

    /// Store of word `i` that earlier loads and stores cannot move after.
    #[inline]
    pub fn store_release(&self, i: usize, value: u64) {
        self.words[i].store(value, Ordering::Release);
    }

    /// Atomically replace word `i` with `new` if it holds `current`
    /// (sequentially consistent); the value it held.
    pub fn compare_exchange(&self, i: usize, current: u64, new: u64) -> Result<u64, u64> {
        self.words[i].compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst)
    }

    /// Atomically add `delta` (wrapping) to word `i`, sequentially
    /// consistent; the previous value.
    #[inline]
    pub fn fetch_add(&self, i: usize, delta: u64) -> u64 {
        self.words[i].fetch_add(delta, Ordering::SeqCst)
    }

    /// Atomically subtract `delta` (wrapping) from word `i`, sequentially
    /// consistent; the previous value.
    #[inline]
    pub fn fetch_sub(&self, i: usize, delta: u64) -> u64 {
        self.words[i].fetch_sub(delta, Ordering::SeqCst)
    }

    /// Store zero into every word (relaxed), first to last.
    pub fn clear(&self) {
        self.words
            .iter()
            .for_each(|w| w.store(0, Ordering::Relaxed));
    }

    /// Store `bytes` from word `first` on, zero-padding the last word.
    pub fn store_bytes(&self, first: usize, bytes: &[u8]) {
        for (chunk, w) in bytes.chunks(8).zip(&self.words[first..]) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            w.store(u64::from_le_bytes(word), Ordering::Relaxed);
        }
    }

    /// Copy `src` in bulk from byte `at` on (for a ring's free part, which
    /// its consumer does not touch meanwhile).
    pub fn copy_in(&self, at: usize, src: &[u8]) {
        sys::copy_in(self.words, at, src);
    }

    /// `read(2)` from `fd` into the bytes `range`, straight into the
    /// segment; the byte count (0 at end of input).
    pub fn read_from(&self, fd: BorrowedFd<'_>, range: Range<usize>) -> Result<usize, Errno> {
        sys::read_into(fd, self.words, range)
    }

    /// Wake every process asleep on the low 32 bits of word `i`.
    pub fn wake(&self, i: usize) -> Result<(), Errno> {
        sys::futex_wake(&self.words[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: usize) -> Vec<AtomicU64> {
        (0..n).map(|_| AtomicU64::new(0)).collect()
    }

    /// Words in this process's memory are resident: every one is read.
    #[test]
    fn zero_in_memory_reads_every_resident_word() {
        let words = words(3 * 4096 + 5);
        let view = ReadView::new(&words);
        assert!(view.is_zero_in_memory());
        for i in [0, 511, 512, 4096, 3 * 4096 + 4] {
            words[i].store(1, Ordering::Relaxed);
            assert!(!view.is_zero_in_memory(), "word {i}");
            assert!(!view.slice(i..i + 1).is_zero_in_memory(), "word {i}");
            words[i].store(0, Ordering::Relaxed);
        }
    }

    #[test]
    fn residency_runs_cover_the_words_exactly() {
        let words = words(2 * 4096 + 3);
        for range in [0..words.len(), 1..words.len() - 1, 100..101, 5..5] {
            let runs = sys::residency(&words[range.clone()]).unwrap();
            let mut next = 0;
            for (run, resident) in &runs {
                assert_eq!(run.start, next, "{range:?}: {runs:?}");
                assert!(run.start < run.end && *resident, "{range:?}: {runs:?}");
                next = run.end;
            }
            assert_eq!(next, range.len(), "{range:?}: {runs:?}");
        }
    }

    #[test]
    fn copy_in_memory_copies_resident_words() {
        let words = words(1000);
        for (i, w) in words.iter().enumerate() {
            w.store(i as u64 * 0x0101_0101, Ordering::Relaxed);
        }
        let view = ReadView::new(&words);
        for (first, len) in [(0, 8000), (3, 21), (999, 8), (500, 0)] {
            let (mut a, mut b) = (vec![0xffu8; len], vec![0u8; len]);
            view.copy_bytes_in_memory(first, &mut a);
            view.copy_bytes(first, &mut b);
            assert_eq!(a, b, "{first} {len}");
        }
    }
}
