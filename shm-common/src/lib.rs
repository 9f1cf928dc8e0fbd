//! Shared memory between processes and containers, compatible with the
//! classic `shm_write` / `shm_read` C examples: the key file and `ftok`, the
//! segment handle, the record layout with its seqlock, and the diagnostics
//! that explain why two processes do not meet.
//!
//! All `unsafe` code lives in the private `sys` module.

pub mod beacon;
pub mod cli;
pub mod diagnose;
pub mod exit;
pub mod follow;
pub mod key;
pub mod layout;
pub mod record;
pub mod segment;
pub mod signals;
mod sys;
pub mod writer;
