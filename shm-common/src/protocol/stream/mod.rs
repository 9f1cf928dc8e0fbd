//! A lossless byte stream between one producer and one consumer: a ring
//! buffer in the segment, each side's cursor and state on a cache line of
//! its own, heartbeats for liveness (never pids), and futex wake-ups with
//! no system call when nobody sleeps.
//!
//! - [`layout`]: where the words sit;
//! - [`ring`]: the two sides ([`ring::Producer`], [`ring::Consumer`]),
//!   which never trust the other side's words;
//! - [`adopt`]: a stream's segment is never taken over while a peer lives;
//! - [`spec`]: what generic code needs to know of it.

pub mod adopt;
pub mod layout;
pub mod ring;
pub mod spec;
