//! The lossless stream from C.

use std::ffi::{c_char, c_int, c_long, c_void};
use std::io::Write;

use shm_common::channel::{Error, StreamReader, StreamWriter};

use crate::boundary::{boundary, buffer, bytes, count, handle, path, proj_id, take, timeout};

/// A stream's producer.
#[allow(non_camel_case_types)]
pub struct shm_stream_writer(StreamWriter);

/// A stream's consumer.
#[allow(non_camel_case_types)]
pub struct shm_stream_reader(StreamReader);

/// Claim `key_file` and `proj_id` with a ring of `size` bytes (0: the
/// default, 256 KiB) and mode 0600, and set up an empty stream for one
/// consumer (shm_read --stream, or shm_stream_reader_open). NULL on error.
///
/// # Safety
/// `key_file` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_writer_open(
    key_file: *const c_char,
    proj_id: c_int,
    size: usize,
) -> *mut shm_stream_writer {
    boundary(std::ptr::null_mut(), || {
        let writer = StreamWriter::open(path(key_file)?, self::proj_id(proj_id)?, size)?;
        Ok(Box::into_raw(Box::new(shm_stream_writer(writer))))
    })
}

/// Write all `len` bytes at `data`, blocking while the ring is full; `len`,
/// or -1 (EPIPE: the consumer has gone; the bytes it had not taken are
/// lost with it).
///
/// # Safety
/// `w` is NULL or a live writer; `data` holds `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_write(
    w: *mut shm_stream_writer,
    data: *const c_void,
    len: usize,
) -> c_long {
    boundary(-1, || {
        let data = bytes(data.cast(), len)?;
        let writer = handle(w, "stream writer")?;
        writer.0.write_all(data).map_err(unwrap_io)?;
        Ok(count(len))
    })
}

/// Write some of the `len` bytes at `data` (at least one), waiting at
/// most `timeout_ms` (negative: no limit) while the ring is full; the
/// count, or -1 (ETIMEDOUT when no byte went in time, EPIPE).
///
/// # Safety
/// As shm_stream_write.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_write_timeout(
    w: *mut shm_stream_writer,
    data: *const c_void,
    len: usize,
    timeout_ms: c_int,
) -> c_long {
    boundary(-1, || {
        let data = bytes(data.cast(), len)?;
        let n = handle(w, "stream writer")?
            .0
            .write_timeout(data, timeout(timeout_ms))?;
        Ok(count(n))
    })
}

/// End the stream cleanly (the end the consumer sees), wait until the
/// consumer has received every byte, and remove the segment; frees `w`.
/// 0, or -1 (EPIPE: the consumer went before it had everything).
///
/// # Safety
/// `w` is NULL or a live writer, not used again.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_writer_close(w: *mut shm_stream_writer) -> c_int {
    // SAFETY: as the caller promises.
    unsafe { shm_stream_writer_close_timeout(w, -1) }
}

/// As shm_stream_writer_close, waiting at most `timeout_ms` (negative: no
/// limit) for the consumer; then -1 with ETIMEDOUT, the stream ended as
/// interrupted. Frees `w` either way.
///
/// # Safety
/// `w` is NULL or a live writer, not used again.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_writer_close_timeout(
    w: *mut shm_stream_writer,
    timeout_ms: c_int,
) -> c_int {
    boundary(-1, || {
        take(w).map_or(Ok(()), |w| w.0.close_timeout(timeout(timeout_ms)))?;
        Ok(0)
    })
}

/// End the stream cleanly and wait at most `timeout_ms` (negative: no
/// limit) until the consumer has received every byte, keeping the writer:
/// 0, or -1 (ETIMEDOUT: nothing is lost, call again; EPIPE). No write may
/// follow; shm_stream_writer_close then removes the segment at once.
///
/// # Safety
/// `w` is NULL or a live writer.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_writer_finish(
    w: *mut shm_stream_writer,
    timeout_ms: c_int,
) -> c_int {
    boundary(-1, || {
        handle(w, "stream writer")?
            .0
            .finish_timeout(timeout(timeout_ms))?;
        Ok(0)
    })
}

/// Take the consumer's side of the stream of `key_file` and `proj_id`.
/// NULL when no producer holds it (errno ENOENT: try again later), when
/// another consumer has it, or on error.
///
/// # Safety
/// `key_file` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_reader_open(
    key_file: *const c_char,
    proj_id: c_int,
) -> *mut shm_stream_reader {
    boundary(std::ptr::null_mut(), || {
        let reader = StreamReader::open(path(key_file)?, self::proj_id(proj_id)?)?;
        Ok(Box::into_raw(Box::new(shm_stream_reader(reader))))
    })
}

/// Read what has arrived into `buf` (`cap` bytes), waiting for at least
/// one byte; the count, 0 at the producer's clean end, -1 on a broken
/// stream (EPIPE: the producer stopped before its end, or died).
///
/// # Safety
/// `r` is NULL or a live reader; `buf` holds `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_read(
    r: *mut shm_stream_reader,
    buf: *mut c_void,
    cap: usize,
) -> c_long {
    // SAFETY: as the caller promises.
    unsafe { shm_stream_read_timeout(r, buf, cap, -1) }
}

/// As shm_stream_read, waiting at most `timeout_ms` (negative: no limit)
/// for the first byte; then -1 with errno ETIMEDOUT, nothing lost.
///
/// # Safety
/// As shm_stream_read.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_read_timeout(
    r: *mut shm_stream_reader,
    buf: *mut c_void,
    cap: usize,
    timeout_ms: c_int,
) -> c_long {
    boundary(-1, || {
        let buf = buffer(buf.cast(), cap)?;
        let n = handle(r, "stream reader")?
            .0
            .read_timeout(buf, timeout(timeout_ms))?;
        Ok(count(n))
    })
}

/// Let go of the stream (before its end, the producer sees the consumer
/// stopped early); frees `r` (NULL: no-op).
///
/// # Safety
/// `r` is NULL or a live reader, not used again.
#[no_mangle]
pub unsafe extern "C" fn shm_stream_reader_close(r: *mut shm_stream_reader) {
    boundary((), || {
        drop(take(r));
        Ok::<(), Error>(())
    })
}

/// The channel's error inside an `io::Error` from `Write`.
fn unwrap_io(e: std::io::Error) -> Error {
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(e)) => *e,
        Some(Err(other)) => Error::BrokenStream(other.to_string()),
        None => Error::BrokenStream("the write failed".into()),
    }
}
