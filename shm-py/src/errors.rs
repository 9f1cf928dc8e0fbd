//! The exceptions Python sees: `shmtools.Error` for every failure of a
//! channel, `NoWriter` and `BrokenStream` below it, and the built-in
//! `TimeoutError` for a wait that ran out, `ValueError` for an argument
//! out of range. The message is the facade's sentence with its fix.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use shm_common::channel;

create_exception!(
    shmtools,
    Error,
    PyException,
    "Any failure of a channel; the message says what and how to fix it."
);
create_exception!(
    shmtools,
    NoWriter,
    Error,
    "No live writer holds the key (yet, or any more)."
);
create_exception!(
    shmtools,
    BrokenStream,
    Error,
    "The other side of the stream went away before its clean end: data may be missing."
);

/// Add the exceptions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("NoWriter", py.get_type::<NoWriter>())?;
    m.add("BrokenStream", py.get_type::<BrokenStream>())?;
    Ok(())
}

/// The Python exception for a channel's error.
pub(crate) fn to_py(error: channel::Error) -> PyErr {
    let text = error.to_string();
    match error {
        channel::Error::NoWriter { .. } => NoWriter::new_err(text),
        channel::Error::BrokenStream(_) => BrokenStream::new_err(text),
        channel::Error::TimedOut => PyTimeoutError::new_err(text),
        channel::Error::InvalidArgument(_) => PyValueError::new_err(text),
        _ => Error::new_err(text),
    }
}
