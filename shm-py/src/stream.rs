//! `StreamWriter` and `StreamReader`: the lossless stream of
//! `shm_write --stream` and `shm_read --stream`, as Python file-like objects.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use shm_common::channel;
use shm_common::transport::key::{DEFAULT_KEY_FILE, DEFAULT_PROJ_ID};

use crate::errors::to_py;
use crate::slot::Slot;
use crate::{args, buffer, wait};

/// How much `read()` asks for at a time when it reads to the end.
const CHUNK: usize = 64 * 1024;

/// The producer side of a stream; a context manager that ends the stream
/// cleanly, or, when the block raised, leaves it broken so the reader
/// knows data is missing.
#[pyclass(module = "shmtools")]
pub(crate) struct StreamWriter {
    inner: Slot<channel::StreamWriter>,
}

#[pymethods]
impl StreamWriter {
    #[new]
    #[pyo3(signature = (key_file = PathBuf::from(DEFAULT_KEY_FILE), proj_id = i64::from(DEFAULT_PROJ_ID), size = 262_144))]
    fn new(py: Python<'_>, key_file: PathBuf, proj_id: i64, size: usize) -> PyResult<Self> {
        let proj_id = args::proj_id(proj_id)?;
        let inner = py
            .detach(|| channel::StreamWriter::open(&key_file, proj_id, size))
            .map_err(to_py)?;
        Ok(Self {
            inner: Slot::new(inner),
        })
    }

    /// Write all of `data`, waiting while the ring is full; its length.
    fn write(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let writer = self.inner.get()?;
        buffer::with_bytes(data, |bytes| {
            let mut done = 0;
            while done < bytes.len() {
                let rest = &bytes[done..];
                done += wait::sliced(py, None, |slice| writer.write_timeout(rest, Some(slice)))?;
                py.check_signals()?;
            }
            Ok(done)
        })
    }

    /// End the stream cleanly, waiting until the reader has taken every
    /// byte and seen the end; closing twice does nothing.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        let Ok(writer) = self.inner.get() else {
            return Ok(());
        };
        let finished = wait::sliced(py, None, |slice| writer.finish_timeout(Some(slice)));
        // Finished, the segment goes at once; otherwise (the reader went,
        // or Ctrl-C) the stream ends interrupted.
        let closed = self
            .inner
            .take()
            .map_or(Ok(()), |w| w.close_timeout(Some(Duration::ZERO)));
        finished.and(closed.map_err(to_py))
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(
        &mut self,
        py: Python<'_>,
        kind: &Bound<'_, PyAny>,
        _error: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if kind.is_none() {
            self.close(py)
        } else {
            // Dropped without close: the stream ends interrupted.
            self.inner.take();
            Ok(())
        }
    }
}

/// The consumer side of a stream.
#[pyclass(module = "shmtools")]
pub(crate) struct StreamReader {
    inner: Slot<channel::StreamReader>,
}

#[pymethods]
impl StreamReader {
    #[new]
    #[pyo3(signature = (key_file = PathBuf::from(DEFAULT_KEY_FILE), proj_id = i64::from(DEFAULT_PROJ_ID)))]
    fn new(py: Python<'_>, key_file: PathBuf, proj_id: i64) -> PyResult<Self> {
        let proj_id = args::proj_id(proj_id)?;
        let inner = py
            .detach(|| channel::StreamReader::open(&key_file, proj_id))
            .map_err(to_py)?;
        Ok(Self {
            inner: Slot::new(inner),
        })
    }

    /// Up to `n` bytes, waiting for at least one; all bytes up to the end
    /// when `n` is negative; `b""` at the end.
    #[pyo3(signature = (n = -1))]
    fn read<'py>(&mut self, py: Python<'py>, n: isize) -> PyResult<Bound<'py, PyBytes>> {
        let reader = self.inner.get()?;
        let mut data = Vec::new();
        loop {
            let want = usize::try_from(n).map_or(CHUNK, |n| n - data.len());
            if want == 0 {
                break;
            }
            let start = data.len();
            data.resize(start + want, 0);
            let buf = &mut data[start..];
            let got = wait::sliced(py, None, |slice| reader.read_timeout(buf, Some(slice)))?;
            data.truncate(start + got);
            if got == 0 || n >= 0 {
                break;
            }
        }
        Ok(PyBytes::new(py, &data))
    }

    /// Fill `buffer` (a writable contiguous buffer: `bytearray`,
    /// `memoryview`, numpy array) straight from the ring, waiting for at
    /// least one byte; the count, 0 at the end.
    fn readinto(&mut self, py: Python<'_>, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
        let reader = self.inner.get()?;
        buffer::with_bytes_mut(buffer, |buf| {
            wait::sliced(py, None, |slice| reader.read_timeout(buf, Some(slice)))
        })
    }

    /// Detach from the stream; closing twice does nothing.
    fn close(&mut self) {
        self.inner.take();
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(
        &mut self,
        _kind: &Bound<'_, PyAny>,
        _error: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) {
        self.close();
    }
}
