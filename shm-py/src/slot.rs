//! Where a Python object keeps its channel: open, or closed (`None`).

use std::sync::{Mutex, PoisonError};

use pyo3::PyResult;
use shm_common::channel;

use crate::errors::to_py;

/// A channel that may be closed. pyo3 wants a class shareable between
/// threads (`Sync`), which the stream's sides are not; the mutex makes it
/// so, yet it is never locked: every use goes through `&mut`, which pyo3's
/// borrow check makes exclusive (a second thread gets a `RuntimeError`).
pub(crate) struct Slot<T>(Mutex<Option<T>>);

impl<T> Slot<T> {
    pub(crate) fn new(channel: T) -> Self {
        Self(Mutex::new(Some(channel)))
    }

    fn inner(&mut self) -> &mut Option<T> {
        self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The open channel, or the facade's error for a closed one.
    pub(crate) fn get(&mut self) -> PyResult<&mut T> {
        self.inner()
            .as_mut()
            .ok_or_else(|| to_py(channel::Error::Closed))
    }

    /// The channel, if still open, leaving the slot closed.
    pub(crate) fn take(&mut self) -> Option<T> {
        self.inner().take()
    }
}
