//! Arguments Python may get wrong before any channel sees them.

use pyo3::exceptions::PyValueError;
use pyo3::PyResult;

/// The project id `ftok` takes, 1 to 255 as `--proj-id` takes it (`ftok`
/// needs it nonzero and keeps only its low 8 bits).
pub(crate) fn proj_id(value: i64) -> PyResult<u8> {
    u8::try_from(value)
        .ok()
        .filter(|&id| id != 0)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "proj_id must be 1 to 255, as the tools' --proj-id; got {value}: give the writer's proj_id (the tools' default is 8)"
            ))
        })
}
