//! Shared memory between processes and containers, compatible with the
//! classic `shm_write` / `shm_read` C examples.
//!
//! Layers, each calling only the ones above it in this list
//! (docs/architecture.md has the map):
//! - [`transport`]: system calls, segments with read-only and writable
//!   views, key files and `ftok`, the kernel's segment table and
//!   the namespace probe. All `unsafe` code lives in its private `sys` module.
//! - [`protocol`]: what a segment holds, behind one common header with a
//!   kind field: the time record ([`protocol::time`]), the latest value
//!   ([`protocol::value`]) and the stream ([`protocol::stream`]), each
//!   described by its [`protocol::spec::Spec`].
//! - [`session`]: claiming a key as a writer (lock, create or adopt,
//!   ownership, removal), finding a key's segment as a reader, and the
//!   beacon a writer keeps in its key file.
//! - `cli` (feature `cli`): the flags both binaries share, every error with
//!   its exit status and sentence, every other user-facing sentence, and the
//!   writes to stdout and stderr.
//!
//! Beside the binaries, [`channel`] is the facade for programs (and for the
//! C binding, `shm-c`): the value, the stream and the time record as owned
//! types, speaking the bytes the binaries speak, without the `cli` feature.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod channel;
#[cfg(feature = "cli")]
pub mod cli;
pub mod protocol;
pub mod session;
pub mod transport;
