//! `ValueWriter` and `ValueReader`: the latest value under a key, as
//! `shm_write --value` publishes it and `shm_read` prints it.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use shm_common::channel;
use shm_common::transport::key::{DEFAULT_KEY_FILE, DEFAULT_PROJ_ID};

use crate::errors::to_py;
use crate::slot::Slot;
use crate::{args, buffer, wait};

/// Publishes the latest value under a key; a context manager that closes.
#[pyclass(module = "shmtools")]
pub(crate) struct ValueWriter {
    inner: Slot<channel::ValueWriter>,
}

#[pymethods]
impl ValueWriter {
    #[new]
    #[pyo3(signature = (key_file = PathBuf::from(DEFAULT_KEY_FILE), proj_id = i64::from(DEFAULT_PROJ_ID), size = 4096, mode = 0o600))]
    fn new(
        py: Python<'_>,
        key_file: PathBuf,
        proj_id: i64,
        size: usize,
        mode: u32,
    ) -> PyResult<Self> {
        let proj_id = args::proj_id(proj_id)?;
        let inner = py
            .detach(|| channel::ValueWriter::open(&key_file, proj_id, size, mode))
            .map_err(to_py)?;
        Ok(Self {
            inner: Slot::new(inner),
        })
    }

    /// Publish `data` (bytes-like, or a `str` as UTF-8) as the new value.
    fn publish(&mut self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let writer = self.inner.get()?;
        if let Ok(text) = data.cast::<PyString>() {
            return writer.publish(text.to_str()?.as_bytes()).map_err(to_py);
        }
        buffer::with_bytes(data, |bytes| writer.publish(bytes).map_err(to_py))
    }

    /// Stop publishing and remove the segment; closing twice does nothing.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        match self.inner.take() {
            Some(writer) => py.detach(|| writer.close()).map_err(to_py),
            None => Ok(()),
        }
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(
        &mut self,
        py: Python<'_>,
        _kind: &Bound<'_, PyAny>,
        _error: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.close(py)
    }
}

/// Reads the latest value a writer publishes.
#[pyclass(module = "shmtools")]
pub(crate) struct ValueReader {
    inner: Slot<channel::ValueReader>,
    /// Where `read` copies a value before it becomes `bytes`, kept between
    /// calls so that a read allocates nothing but the `bytes` object.
    scratch: Vec<u8>,
    /// The last value returned, returned again (`bytes` are immutable, so
    /// sharing is safe) while the channel finds it unchanged: most reads
    /// of a latest value find it so, and then copy and allocate nothing.
    last: Option<Py<PyBytes>>,
}

#[pymethods]
impl ValueReader {
    #[new]
    #[pyo3(signature = (key_file = PathBuf::from(DEFAULT_KEY_FILE), proj_id = i64::from(DEFAULT_PROJ_ID)))]
    fn new(py: Python<'_>, key_file: PathBuf, proj_id: i64) -> PyResult<Self> {
        let proj_id = args::proj_id(proj_id)?;
        let inner = py
            .detach(|| channel::ValueReader::open(&key_file, proj_id))
            .map_err(to_py)?;
        Ok(Self {
            inner: Slot::new(inner),
            scratch: Vec::new(),
            last: None,
        })
    }

    /// The current value. It never waits for a writer, so it keeps the GIL.
    /// While it is the value last returned, the same `bytes` object is
    /// returned again, without a copy.
    fn read<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let reader = self.inner.get()?;
        loop {
            let fresh = match &self.last {
                Some(last) => match reader.read_into_if_changed(&mut self.scratch) {
                    Ok(None) => return Ok(last.bind(py).clone()),
                    Ok(Some(n)) => Ok(n),
                    Err(e) => Err(e),
                },
                None => reader.read_into(&mut self.scratch),
            };
            match fresh {
                Ok(n) => return Ok(self.keep(PyBytes::new(py, &self.scratch[..n]))),
                Err(channel::Error::TooSmall { needed }) => self.scratch.resize(needed, 0),
                Err(e) => return Err(to_py(e)),
            }
        }
    }

    /// The next value this reader has not returned yet (at once if there
    /// is one), sleeping until the writer publishes.
    #[pyo3(signature = (timeout = None))]
    fn wait_change<'py>(
        &mut self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let deadline = wait::deadline(timeout)?;
        let reader = self.inner.get()?;
        let value = wait::sliced(py, deadline, |slice| reader.wait_change(Some(slice)))?;
        Ok(self.keep(PyBytes::new(py, &value)))
    }

    /// Detach from the segment; closing twice does nothing.
    fn close(&mut self) {
        self.inner.take();
        self.last = None;
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

impl ValueReader {
    /// `value`, the value just returned, kept for the reads that find it
    /// unchanged.
    fn keep<'py>(&mut self, value: Bound<'py, PyBytes>) -> Bound<'py, PyBytes> {
        self.last = Some(value.clone().unbind());
        value
    }
}
