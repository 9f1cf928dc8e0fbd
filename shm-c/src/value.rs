//! The latest value from C.

use std::ffi::{c_char, c_int, c_long, c_uint, c_void};

use shm_common::channel::{Error, ValueReader, ValueWriter};

use crate::boundary::{boundary, buffer, bytes, count, handle, path, proj_id, take, timeout};

/// A value writer: it holds its key and keeps its heartbeat until
/// `shm_value_writer_close`.
#[allow(non_camel_case_types)]
pub struct shm_value_writer(ValueWriter);

/// A value reader.
#[allow(non_camel_case_types)]
pub struct shm_value_reader(ValueReader);

/// Claim `key_file` and `proj_id` (1-255; shm_write's default is 8) with a
/// segment of `size` bytes (0: the default, 4096) and permission bits
/// `mode` (0600: the owner alone; 0644: other users may read). Readers see
/// an empty value until the first publish. NULL on error (errno and
/// shm_last_error() say why).
///
/// # Safety
/// `key_file` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn shm_value_writer_open(
    key_file: *const c_char,
    proj_id: c_int,
    size: usize,
    mode: c_uint,
) -> *mut shm_value_writer {
    boundary(std::ptr::null_mut(), || {
        let writer = ValueWriter::open(path(key_file)?, self::proj_id(proj_id)?, size, mode)?;
        Ok(Box::into_raw(Box::new(shm_value_writer(writer))))
    })
}

/// Publish `len` bytes at `data` (any bytes) as the new latest value and
/// wake the readers waiting for a change. 0, or -1 (EMSGSIZE: larger than
/// the segment holds, never truncated; shm_last_needed() gives the segment
/// size that would hold it).
///
/// # Safety
/// `w` is NULL or a live writer; `data` holds `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn shm_value_publish(
    w: *mut shm_value_writer,
    data: *const c_void,
    len: usize,
) -> c_int {
    boundary(-1, || {
        handle(w, "value writer")?
            .0
            .publish(bytes(data.cast(), len)?)?;
        Ok(0)
    })
}

/// Mark the value stopped and remove the segment; frees `w` (NULL: no-op).
///
/// # Safety
/// `w` is NULL or a live writer, not used again.
#[no_mangle]
pub unsafe extern "C" fn shm_value_writer_close(w: *mut shm_value_writer) {
    boundary((), || take(w).map_or(Ok(()), |w| w.0.close()))
}

/// Find the value of `key_file` and `proj_id`. NULL when no live writer
/// holds it (errno ENOENT) or on another error.
///
/// # Safety
/// `key_file` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn shm_value_reader_open(
    key_file: *const c_char,
    proj_id: c_int,
) -> *mut shm_value_reader {
    boundary(std::ptr::null_mut(), || {
        let reader = ValueReader::open(path(key_file)?, self::proj_id(proj_id)?)?;
        Ok(Box::into_raw(Box::new(shm_value_reader(reader))))
    })
}

/// Copy the latest value into `buf` (`cap` bytes); its length. -1 on
/// error: EMSGSIZE when it is longer than `cap` (shm_last_needed() gives the
/// size needed, shm_last_error() says it; nothing is copied, and the value
/// counts as not read), ENOENT when the writer stopped or died.
///
/// # Safety
/// `r` is NULL or a live reader; `buf` holds `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn shm_value_read(
    r: *mut shm_value_reader,
    buf: *mut c_void,
    cap: usize,
) -> c_long {
    boundary(-1, || {
        let n = handle(r, "value reader")?
            .0
            .read_into(buffer(buf.cast(), cap)?)?;
        Ok(count(n))
    })
}

/// As shm_value_read, but for the next value this reader has not returned
/// yet (at once when there is one), sleeping until the writer publishes;
/// at most `timeout_ms` (negative: no limit), then -1 with errno ETIMEDOUT.
///
/// # Safety
/// As shm_value_read.
#[no_mangle]
pub unsafe extern "C" fn shm_value_wait_change(
    r: *mut shm_value_reader,
    buf: *mut c_void,
    cap: usize,
    timeout_ms: c_int,
) -> c_long {
    boundary(-1, || {
        let reader = handle(r, "value reader")?;
        let n = reader
            .0
            .wait_change_into(buffer(buf.cast(), cap)?, timeout(timeout_ms))?;
        Ok(count(n))
    })
}

/// Detach; frees `r` (NULL: no-op).
///
/// # Safety
/// `r` is NULL or a live reader, not used again.
#[no_mangle]
pub unsafe extern "C" fn shm_value_reader_close(r: *mut shm_value_reader) {
    boundary((), || {
        drop(take(r));
        Ok::<(), Error>(())
    })
}
