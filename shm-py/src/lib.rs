//! `shmtools._shmtools`, the extension module of the `shmtools` Python
//! package: thin classes over `shm_common::channel`, so that a Python
//! program speaks exactly the bytes `shm_write` and `shm_read` speak. No
//! shared-memory logic lives here: only the conversions to and from
//! Python, the waits sliced so Ctrl-C is heard (`wait.rs`), and the
//! buffer protocol (`buffer.rs`, the only `unsafe` of this crate).

#![warn(missing_docs)]
#![deny(unsafe_code)]

mod args;
mod buffer;
mod errors;
mod slot;
mod stream;
mod value;
mod wait;

use std::path::PathBuf;

use pyo3::prelude::*;
use shm_common::channel;
use shm_common::transport::key::{DEFAULT_KEY_FILE, DEFAULT_PROJ_ID};

/// The seconds of the classic time record a `shm_write` publishes.
#[pyfunction]
#[pyo3(signature = (key_file = PathBuf::from(DEFAULT_KEY_FILE), proj_id = i64::from(DEFAULT_PROJ_ID)))]
fn read_time(py: Python<'_>, key_file: PathBuf, proj_id: i64) -> PyResult<i64> {
    let proj_id = args::proj_id(proj_id)?;
    py.detach(|| channel::read_time(&key_file, proj_id))
        .map_err(errors::to_py)
}

/// The module: its classes, its function and its exceptions.
#[pymodule]
fn _shmtools(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<value::ValueWriter>()?;
    m.add_class::<value::ValueReader>()?;
    m.add_class::<stream::StreamWriter>()?;
    m.add_class::<stream::StreamReader>()?;
    m.add_function(wrap_pyfunction!(read_time, m)?)?;
    Ok(())
}
