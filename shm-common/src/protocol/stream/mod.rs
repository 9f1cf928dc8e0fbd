//! A lossless byte stream between one producer and one consumer: a ring
//! buffer in the segment, each side's cursor and state on a cache line of
//! its own, heartbeats for liveness (never pids), and futex wake-ups with
//! no system call when nobody sleeps.
//!
//! - [`layout`]: where the words sit;
//! - [`producer`] and [`consumer`]: the two sides ([`producer::Producer`],
//!   [`consumer::Consumer`]), which never trust the other side's words;
//! - [`shared`]: what both sides share (cursors, handles, errors);
//! - [`wait`]: how a side waits for the other, and wakes it;
//! - [`end`]: how a stream ends: the liveness rule, delivery, cleanup;
//! - [`adopt`]: a stream's segment is never taken over while a peer lives;
//! - [`spec`]: what generic code needs to know of it.

pub mod adopt;
pub mod consumer;
pub mod end;
pub mod layout;
pub mod producer;
pub mod shared;
pub mod spec;
pub mod wait;
