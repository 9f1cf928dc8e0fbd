//! Waits that keep a Python program responsive: each runs with the GIL
//! released, in slices of at most [`SLICE`], and between slices Python's
//! signal handlers run, so Ctrl-C raises `KeyboardInterrupt` within a slice.
//! A slice that times out loses nothing (the facade's contract), so the
//! next one picks up where it left off.

use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use shm_common::channel;

use crate::errors::to_py;

/// The longest a wait runs before Python's signal handlers get a turn.
const SLICE: Duration = Duration::from_millis(50);

/// The deadline of a Python timeout in seconds (`None`: no deadline).
pub(crate) fn deadline(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    timeout
        .map(|secs| {
            Duration::try_from_secs_f64(secs)
                .map(|d| Instant::now() + d)
                .map_err(|_| {
                    PyValueError::new_err(format!(
                        "timeout must be a number of seconds, 0 or more, or None; got {secs}"
                    ))
                })
        })
        .transpose()
}

/// Run `op` with the GIL released, a slice at a time, until it returns
/// anything but a timeout or `deadline` passes (a `TimeoutError` then).
pub(crate) fn sliced<T: Send>(
    py: Python<'_>,
    deadline: Option<Instant>,
    mut op: impl FnMut(Duration) -> channel::Result<T> + Send,
) -> PyResult<T> {
    loop {
        let slice = deadline.map_or(SLICE, |end| {
            SLICE.min(end.saturating_duration_since(Instant::now()))
        });
        match py.detach(|| op(slice)) {
            Err(channel::Error::TimedOut) => {
                py.check_signals()?;
                if deadline.is_some_and(|end| Instant::now() >= end) {
                    return Err(to_py(channel::Error::TimedOut));
                }
            }
            done => return done.map_err(to_py),
        }
    }
}
