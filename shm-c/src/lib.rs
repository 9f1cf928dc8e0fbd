//! The C binding of `shm_common::channel`: the value, the stream and the
//! classic time record for C programs, speaking exactly the bytes
//! `shm_write` and `shm_read` speak. The header `include/shmtools.h` is
//! generated from this crate by cbindgen (`scripts/c-header`) and checked
//! against it by `tests/header.rs`.
//!
//! Every function is an `extern "C"` boundary (the only `unsafe` outside
//! the library's `transport/sys.rs`): it checks its pointers, catches any
//! panic (`boundary.rs`), and on failure returns NULL or -1 with `errno`
//! set and the sentence with its fix kept for [`shm_last_error`]. Nothing
//! here prints or touches signals.
#![warn(missing_docs)]

mod boundary;
mod stream;
mod time;
mod value;

pub use boundary::{shm_last_error, shm_last_needed};
pub use stream::*;
pub use time::*;
pub use value::*;
