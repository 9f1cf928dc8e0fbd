//! What every call does at the boundary: turn C arguments into Rust ones,
//! catch panics, and report a failure through `errno` and
//! [`shm_last_error`].

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

use nix::errno::Errno;
use shm_common::channel::Error;

thread_local! {
    /// This thread's last failure, as the sentence with its fix.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    /// The size this thread's last `EMSGSIZE` failure asked for.
    static LAST_NEEDED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Run `call`; on failure (or a panic, which never crosses the boundary)
/// set `errno` and the last error, and return `failed`.
pub(crate) fn boundary<T>(failed: T, call: impl FnOnce() -> Result<T, Error>) -> T {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => {
            match e {
                Error::TooSmall { needed } | Error::TooLarge { size: needed, .. } => {
                    LAST_NEEDED.with(|last| last.set(needed));
                }
                _ => {}
            }
            fail(errno_of(&e), &e.to_string());
            failed
        }
        Err(_) => {
            fail(
                Errno::EIO,
                "libshmtools failed internally (a panic): report it with the call that failed",
            );
            failed
        }
    }
}

fn fail(errno: Errno, message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|last| *last.borrow_mut() = text);
    errno.set();
}

/// The `errno` a failure sets.
fn errno_of(e: &Error) -> Errno {
    match e {
        Error::NoWriter { .. } => Errno::ENOENT,
        Error::Claim { .. } => Errno::EBUSY,
        Error::Unusable { .. } => Errno::EPROTO,
        Error::BrokenStream(_) => Errno::EPIPE,
        Error::TooSmall { .. } | Error::TooLarge { .. } => Errno::EMSGSIZE,
        Error::TimedOut => Errno::ETIMEDOUT,
        Error::Closed => Errno::EBADF,
        Error::InvalidArgument(_) => Errno::EINVAL,
        Error::System { source, .. } => source.raw_os_error().map_or(Errno::EIO, Errno::from_raw),
        _ => Errno::EIO,
    }
}

/// This thread's last failure: one sentence saying what went wrong and
/// how to fix it (an empty string before any failure). The text stays
/// valid until the next failing call on this thread; errno says the same
/// in a number.
#[no_mangle]
pub extern "C" fn shm_last_error() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

/// The size this thread's last `EMSGSIZE` failure asked for: the buffer
/// bytes a value read needs (`shm_value_read`, `shm_value_wait_change`),
/// or the segment size a publish needs (`shm_value_publish`); 0 before
/// any such failure. A read with `cap` 0 (and `buf` NULL) asks for the
/// latest value's length this way.
#[no_mangle]
pub extern "C" fn shm_last_needed() -> usize {
    LAST_NEEDED.with(std::cell::Cell::get)
}

/// The key file path from C.
pub(crate) fn path(key_file: *const c_char) -> Result<PathBuf, Error> {
    if key_file.is_null() {
        return Err(Error::InvalidArgument(
            "key_file is NULL: pass the key file's path, such as \"/dev/shm/shm_file\"".into(),
        ));
    }
    // SAFETY: not NULL (checked above); the caller passes a NUL-terminated
    // string that stays valid for the call, as the header documents.
    let bytes = unsafe { CStr::from_ptr(key_file) }.to_bytes();
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// The `ftok` project id from C: 1 to 255.
pub(crate) fn proj_id(proj_id: c_int) -> Result<u8, Error> {
    u8::try_from(proj_id)
        .ok()
        .filter(|&id| id != 0)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "proj_id {proj_id} is out of range: give one from 1 to 255 (shm_write's default is 8)"
            ))
        })
}

/// A timeout in milliseconds from C: negative waits without limit.
pub(crate) fn timeout(ms: c_int) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// A handle from C, checked for NULL.
pub(crate) fn handle<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Error> {
    // SAFETY: a non-NULL handle was returned by its `_open` function and
    // not closed yet, and is used by one thread at a time, as the header
    // documents; NULL is refused.
    unsafe { ptr.as_mut() }.ok_or_else(|| {
        Error::InvalidArgument(format!(
            "the {what} is NULL: pass the handle its _open function returned"
        ))
    })
}

/// `len` bytes at `data` from C (NULL is allowed when `len` is 0).
pub(crate) fn bytes<'a>(data: *const u8, len: usize) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Error::InvalidArgument(format!(
            "data is NULL with len {len}: pass the bytes, or len 0"
        )));
    }
    // SAFETY: not NULL, and the caller passes `len` readable bytes that
    // stay valid for the call, as the header documents.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A buffer of `cap` bytes at `buf` from C (NULL is allowed when `cap`
/// is 0: a call then only says the length it needs).
pub(crate) fn buffer<'a>(buf: *mut u8, cap: usize) -> Result<&'a mut [u8], Error> {
    if cap == 0 {
        return Ok(&mut []);
    }
    if buf.is_null() {
        return Err(Error::InvalidArgument(format!(
            "buf is NULL with cap {cap}: pass a buffer, or cap 0"
        )));
    }
    // SAFETY: not NULL, and the caller passes `cap` writable bytes that
    // stay valid and unaliased for the call, as the header documents.
    Ok(unsafe { std::slice::from_raw_parts_mut(buf, cap) })
}

/// A count as C's `long`.
pub(crate) fn count(n: usize) -> std::ffi::c_long {
    std::ffi::c_long::try_from(n).unwrap_or(std::ffi::c_long::MAX)
}

/// Give a handle back to Rust to close it; NULL is nothing to close.
pub(crate) fn take<T>(ptr: *mut T) -> Option<Box<T>> {
    // SAFETY: a non-NULL handle came from `Box::into_raw` in its `_open`
    // function and, as the header documents, is closed exactly once.
    (!ptr.is_null()).then(|| unsafe { Box::from_raw(ptr) })
}
