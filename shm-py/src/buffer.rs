//! Memory that Python owns, through the buffer protocol, as Rust slices:
//! `readinto` reads straight into a `bytearray`, `memoryview` or numpy
//! array, and writes take any bytes-like object, with no copy in between.
//! The only `unsafe` of this crate, at the boundary with Python's C API.

#![allow(unsafe_code)]

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;

/// Run `f` over the bytes of `obj` (any C-contiguous buffer).
pub(crate) fn with_bytes<T>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(&[u8]) -> PyResult<T>,
) -> PyResult<T> {
    let buffer = contiguous(obj)?;
    if buffer.len_bytes() == 0 {
        return f(&[]);
    }
    // SAFETY: the buffer is exported (held by `buffer`, released on its
    // drop after `f` returns), C-contiguous, and `len_bytes` long from
    // `buf_ptr`, which is non-null for a non-empty export. While exported,
    // the exporter may not move or resize it (bytearray and numpy refuse).
    let bytes =
        unsafe { std::slice::from_raw_parts(buffer.buf_ptr().cast::<u8>(), buffer.len_bytes()) };
    f(bytes)
}

/// Run `f` over the bytes of `obj` (a writable C-contiguous buffer), to fill.
pub(crate) fn with_bytes_mut<T>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(&mut [u8]) -> PyResult<T>,
) -> PyResult<T> {
    let buffer = contiguous(obj)?;
    if buffer.readonly() {
        return Err(PyBufferError::new_err(
            "readinto needs a writable buffer (a bytearray, a memoryview of one, a numpy array); this one is read-only",
        ));
    }
    if buffer.len_bytes() == 0 {
        return f(&mut []);
    }
    // SAFETY: as in `with_bytes`, and the export is writable. Python code in
    // another thread may write the same memory while the GIL is released,
    // as with any buffer handed to a C library; the bytes are plain `u8`,
    // valid whatever they hold.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(buffer.buf_ptr().cast::<u8>(), buffer.len_bytes())
    };
    f(bytes)
}

/// The buffer `obj` exports, if it is one piece of memory.
fn contiguous(obj: &Bound<'_, PyAny>) -> PyResult<PyUntypedBuffer> {
    let buffer = PyUntypedBuffer::get(obj)?;
    if buffer.is_c_contiguous() {
        Ok(buffer)
    } else {
        Err(PyBufferError::new_err(
            "the buffer is not contiguous: pass one piece of memory (numpy.ascontiguousarray, or a slice without a step)",
        ))
    }
}
