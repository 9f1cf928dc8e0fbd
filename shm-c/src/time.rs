//! The classic time record from C.

use std::ffi::{c_char, c_int, c_long};

use shm_common::channel::{read_time, Error, TimeReader};

use crate::boundary::{boundary, handle, path, proj_id, take};

/// A time record reader that stays attached.
#[allow(non_camel_case_types)]
pub struct shm_time_reader(TimeReader);

/// The seconds of the classic time record of `key_file` and `proj_id` (the
/// Unix time its writer, shm_write or the classic C writer, last
/// published); -1 if none (errno ENOENT) or on error.
///
/// # Safety
/// `key_file` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn shm_time_read(key_file: *const c_char, proj_id: c_int) -> c_long {
    boundary(-1, || {
        Ok(read_time(path(key_file)?, self::proj_id(proj_id)?)? as c_long)
    })
}

/// Find the time record of `key_file` and `proj_id` and stay attached,
/// for reading it often; NULL when none answers (errno ENOENT).
///
/// # Safety
/// `key_file` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn shm_time_reader_open(
    key_file: *const c_char,
    proj_id: c_int,
) -> *mut shm_time_reader {
    boundary(std::ptr::null_mut(), || {
        let reader = TimeReader::open(path(key_file)?, self::proj_id(proj_id)?)?;
        Ok(Box::into_raw(Box::new(shm_time_reader(reader))))
    })
}

/// The record's seconds, as shm_time_read; -1 on error.
///
/// # Safety
/// `r` is NULL or a live reader.
#[no_mangle]
pub unsafe extern "C" fn shm_time_reader_read(r: *mut shm_time_reader) -> c_long {
    boundary(-1, || Ok(handle(r, "time reader")?.0.read()? as c_long))
}

/// Detach; frees `r` (NULL: no-op).
///
/// # Safety
/// `r` is NULL or a live reader, not used again.
#[no_mangle]
pub unsafe extern "C" fn shm_time_reader_close(r: *mut shm_time_reader) {
    boundary((), || {
        drop(take(r));
        Ok::<(), Error>(())
    })
}
