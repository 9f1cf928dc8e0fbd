//! The System V shared-memory and futex calls: the only module with
//! `unsafe` code.
//!
//! Everything above this module works with [`Mapping::words`], a slice of
//! [`AtomicU64`] over the attached segment, so that memory which another
//! process writes concurrently is only ever touched through atomic loads and
//! stores (plain or volatile accesses to it would be a data race).
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;
use std::time::Duration;

use nix::errno::Errno;
use nix::libc;

/// `shm_perm.mode` bit the kernel sets once `IPC_RMID` was asked while
/// processes are still attached (`SHM_DEST` in `<linux/shm.h>`).
pub const SHM_DEST: u32 = 0o1000;

/// `shmget(2)`: the id of the segment for `key`, creating it when `flags`
/// contains `IPC_CREAT`.
pub fn shmget(key: libc::key_t, size: usize, flags: libc::c_int) -> Result<libc::c_int, Errno> {
    // SAFETY: plain integer arguments; no memory is passed to the kernel.
    let id = unsafe { libc::shmget(key, size, flags) };
    Errno::result(id)
}

/// `shmctl(id, IPC_STAT)`: the kernel's facts about a segment.
pub fn shm_stat(id: libc::c_int) -> Result<libc::shmid_ds, Errno> {
    // SAFETY: shmid_ds is plain old data, for which all-zero bytes are valid.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: `ds` is a valid, exclusively borrowed shmid_ds for the call.
    let rc = unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) };
    Errno::result(rc).map(|_| ds)
}

/// `shmctl(id, IPC_SET)` with a new permission mode (owner and group unchanged).
pub fn shm_set_mode(id: libc::c_int, mode: u16) -> Result<(), Errno> {
    let mut ds = shm_stat(id)?;
    ds.shm_perm.mode = mode & 0o777;
    // SAFETY: `ds` is a valid shmid_ds filled in by IPC_STAT; IPC_SET only reads it.
    let rc = unsafe { libc::shmctl(id, libc::IPC_SET, &mut ds) };
    Errno::result(rc).map(drop)
}

/// `shmctl(id, IPC_RMID)`: mark the segment for removal; it goes once the
/// last process detaches.
pub fn shm_remove(id: libc::c_int) -> Result<(), Errno> {
    // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
    let rc = unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    Errno::result(rc).map(drop)
}

/// `ftok(3)` as glibc computes it, kept here only to check the pure
/// reimplementation in [`crate::key`] against the C library.
#[cfg(test)]
pub fn ftok(path: &std::ffi::CStr, proj_id: u8) -> Result<libc::key_t, Errno> {
    // SAFETY: `path` is a valid NUL-terminated string for the call's duration.
    let key = unsafe { libc::ftok(path.as_ptr(), libc::c_int::from(proj_id)) };
    Errno::result(key)
}

/// `futex(FUTEX_WAIT)` on the low 32 bits of `word`, shared between
/// processes (no `FUTEX_PRIVATE_FLAG`): sleep while they equal `expected`,
/// at most `timeout`. Returns at once when they differ (`EAGAIN`), and may
/// return early (`EINTR`, spurious wake-ups): callers re-check their condition.
/// Works on read-only attachments: the kernel only reads the word.
pub fn futex_wait(word: &AtomicU64, expected: u32, timeout: Duration) -> Result<(), Errno> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: the address is that of a live, 8-byte aligned word in this
    // process (little-endian: its first 4 bytes are the low half); the
    // kernel only reads those 4 bytes and `ts`, which outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            std::ptr::from_ref(word).cast::<u32>(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
        )
    };
    match Errno::result(rc) {
        Ok(_) | Err(Errno::EAGAIN | Errno::EINTR | Errno::ETIMEDOUT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `futex(FUTEX_WAKE)` of every process asleep on the low half of `word`.
pub fn futex_wake(word: &AtomicU64) -> Result<(), Errno> {
    // SAFETY: as in `futex_wait`; FUTEX_WAKE reads no user memory besides
    // resolving the address to its shared-memory key.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            std::ptr::from_ref(word).cast::<u32>(),
            libc::FUTEX_WAKE,
            i32::MAX,
        )
    };
    Errno::result(rc).map(drop)
}

/// How many processes sleep on the low half of `word`, which must hold
/// `current` (else `EAGAIN`), without waking any: `FUTEX_CMP_REQUEUE` of
/// all of them onto the same word moves none and returns their count.
pub fn futex_sleepers(word: &AtomicU64, current: u32) -> Result<usize, Errno> {
    let addr = std::ptr::from_ref(word).cast::<u32>();
    // SAFETY: as in `futex_wait`: `addr` is a live, aligned word; the kernel
    // reads its 4 bytes to compare them with `current`. Requeueing onto the
    // same futex (not PI) leaves every sleeper where it was; the requeue
    // count travels in the timeout argument's place, as futex(2) says.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr,
            libc::FUTEX_CMP_REQUEUE,
            0,
            libc::c_ulong::from(i32::MAX.unsigned_abs()),
            addr,
            current,
        )
    };
    Errno::result(rc).map(|n| n as usize)
}

/// The bytes `range` of `words`, as a raw pointer, after a bounds check.
fn byte_ptr(words: &[AtomicU64], range: &std::ops::Range<usize>) -> *mut u8 {
    assert!(
        range.start <= range.end && range.end <= words.len() * 8,
        "byte range {range:?} outside {} bytes",
        words.len() * 8
    );
    // AtomicU64 is an UnsafeCell: writing through a pointer derived from a
    // shared reference to it is allowed.
    words
        .as_ptr()
        .cast::<u8>()
        .cast_mut()
        .wrapping_add(range.start)
}

// Bulk byte access for the stream ring. The ring protocol gives each side
// sole use of its part of the ring while it copies (the producer the free
// part, the consumer the committed part), so no other access overlaps a
// copy. A hostile peer that breaks the protocol can only make the bytes
// copied meaningless: every bit pattern is a valid `u8`, and the bounds are
// checked here, so memory safety of this process does not depend on it.

/// `read(2)` from `fd` straight into the bytes `range` of `words`; the
/// byte count (0 at end of input).
pub fn read_into(
    fd: BorrowedFd<'_>,
    words: &[AtomicU64],
    range: std::ops::Range<usize>,
) -> Result<usize, Errno> {
    let at = byte_ptr(words, &range);
    // SAFETY: `at..at + len` is inside `words` (checked); the kernel
    // writes at most `len` bytes there; see the ring's contract above.
    let n = unsafe { libc::read(fd.as_raw_fd(), at.cast(), range.len()) };
    Errno::result(n).map(|n| n as usize)
}

/// `write(2)` to `fd` straight from the bytes `range` of `words`; the byte
/// count.
pub fn write_from(
    fd: BorrowedFd<'_>,
    words: &[AtomicU64],
    range: std::ops::Range<usize>,
) -> Result<usize, Errno> {
    let at = byte_ptr(words, &range);
    // SAFETY: the range is inside `words` (checked); the kernel only reads it.
    let n = unsafe { libc::write(fd.as_raw_fd(), at.cast_const().cast(), range.len()) };
    Errno::result(n).map(|n| n as usize)
}

/// Copy `src` into `words` from byte `at` on.
pub fn copy_in(words: &[AtomicU64], at: usize, src: &[u8]) {
    let dst = byte_ptr(words, &(at..at + src.len()));
    // SAFETY: the destination is inside `words` (checked) and cannot
    // overlap `src`, a slice this process owns; see the ring's contract above.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
}

/// Copy the bytes of `words` from byte `at` on into `dst`.
pub fn copy_out(words: &[AtomicU64], at: usize, dst: &mut [u8]) {
    let src = byte_ptr(words, &(at..at + dst.len()));
    // SAFETY: as in `copy_in`, in the other direction.
    unsafe { std::ptr::copy_nonoverlapping(src.cast_const(), dst.as_mut_ptr(), dst.len()) };
}

/// The size of a page of memory.
pub fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|p| usize::try_from(p).ok())
            .filter(|p| p.is_power_of_two() && *p >= 8)
            .unwrap_or(4096)
    })
}

/// Which of `words` lie on pages resident in memory (`mincore(2)`): runs of
/// word indexes, first to last, each with its residency, together covering
/// all of `words`. Nothing is read or faulted in. A page of a segment that
/// nobody wrote is not resident; neither is one swapped out.
pub fn residency(words: &[AtomicU64]) -> Result<Vec<(std::ops::Range<usize>, bool)>, Errno> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let page = page_size();
    let start = words.as_ptr() as usize;
    let end = start + words.len() * 8;
    let first = start & !(page - 1);
    let mut vec = vec![0u8; (end - first).div_ceil(page)];
    // SAFETY: `first..end` are the pages holding `words`, which stay mapped
    // while they are borrowed; `first` is page-aligned as mincore requires;
    // the kernel writes one byte per page of that range into `vec`, which
    // has exactly that many, and reads no memory of ours.
    let rc = unsafe { libc::mincore(first as *mut libc::c_void, end - first, vec.as_mut_ptr()) };
    Errno::result(rc)?;
    let mut runs: Vec<(std::ops::Range<usize>, bool)> = Vec::new();
    for (i, state) in vec.iter().enumerate() {
        let resident = state & 1 != 0;
        // Word boundaries: words are 8-byte aligned, pages multiples of 8.
        let lo = ((first + i * page).max(start) - start) / 8;
        let hi = ((first + (i + 1) * page).min(end) - start) / 8;
        match runs.last_mut() {
            Some((run, was)) if *was == resident => run.end = hi,
            _ => runs.push((lo..hi, resident)),
        }
    }
    Ok(runs)
}

/// An attachment of a segment into this process (`shmat`), detached on drop.
///
/// Safety contract: the mapping stays valid until `shmdt`, even when the
/// segment is removed meanwhile (the kernel keeps it while attached), so the
/// slice handed out by [`Mapping::words`] lives exactly as long as `self`.
/// Other processes may write the memory at any time, which is why it is
/// only exposed as atomics.
#[derive(Debug)]
pub struct Mapping {
    base: NonNull<AtomicU64>,
    words: usize,
    read_only: bool,
}

// SAFETY: the mapping is process-wide memory reachable only through atomics;
// moving the handle to another thread or sharing it changes nothing.
unsafe impl Send for Mapping {}
// SAFETY: as above: every access goes through `&[AtomicU64]`.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Attach segment `id` of `size` bytes, read-only or read-write.
    ///
    /// A read-only mapping must only be loaded from: atomic loads of at most
    /// 8 bytes on read-only memory are allowed (see "Atomic accesses to
    /// read-only memory" in `std::sync::atomic`), a store would fault.
    pub fn attach(id: libc::c_int, size: usize, read_only: bool) -> Result<Self, Errno> {
        let flags = if read_only { libc::SHM_RDONLY } else { 0 };
        // SAFETY: a null address lets the kernel choose a free, page-aligned
        // place; nothing of ours is overwritten.
        let addr = unsafe { libc::shmat(id, std::ptr::null(), flags) };
        if addr as isize == -1 {
            return Err(Errno::last());
        }
        let base = NonNull::new(addr.cast::<AtomicU64>()).ok_or(Errno::EFAULT)?;
        Ok(Self {
            base,
            words: size / std::mem::size_of::<AtomicU64>(),
            read_only,
        })
    }

    /// Whether the attachment is `SHM_RDONLY` (only loads are allowed).
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The segment as 8-byte words (a trailing partial word is left out).
    /// Only [`super::view`] may hand these out: on a read-only mapping it
    /// wraps them in a type that cannot store.
    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: `base` is page-aligned (so aligned for AtomicU64), points at
        // `words * 8` attached bytes that stay mapped until `drop` detaches
        // them, and the returned borrow cannot outlive `self`. AtomicU64 has
        // interior mutability, so concurrent writers elsewhere are allowed.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.words) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base` came from shmat and is detached exactly once; no
        // borrow of `words()` outlives `self`. Failure (EINVAL) is impossible
        // for a live attachment and there is nothing useful to do in drop.
        unsafe { libc::shmdt(self.base.as_ptr().cast()) };
    }
}
