//! The message framing of Docker in Action's `ch6_ipc` over a POSIX message
//! queue: each message is one text, zero-padded to the queue's message
//! size, and a last message holding the end marker ([`END`], `done`) says
//! the sender is finished. The [`Sender`] and [`Receiver`] sides work over
//! a [`Queue`] handle.
//!
//! Liveness: a queue carries no heartbeat and no writer's identity, so
//! there is no rule to judge a sender by; a receiver waits for the next
//! message in bounded waits (each at most [`BEAT`]), so that a stop signal
//! or its own `--timeout` always ends the wait, and the end marker is the
//! only end of a stream it knows.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::transport::mqueue::{Attributes, Queue};
use crate::transport::signals::{Signal, StopSignals, Wake};

/// The end marker the book's producer sends last.
pub const END: &str = "done";

/// The longest single wait for room or for a message.
pub const BEAT: Duration = Duration::from_millis(100);

/// A text that does not fit in one message with its terminating NUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} bytes do not fit a {msgsize}-byte message with their NUL")]
pub struct TooLong {
    /// The text's length.
    pub len: usize,
    /// The queue's message size.
    pub msgsize: usize,
}

impl TooLong {
    /// The message size that would hold the text.
    pub fn needed(&self) -> usize {
        self.len + 1
    }
}

/// `text` as the book's producer frames it: a zeroed buffer of the
/// queue's message size holding the text, which must leave room for a
/// NUL (the C consumer prints the message as a C string).
pub fn frame(text: &[u8], msgsize: usize) -> Result<Vec<u8>, TooLong> {
    if text.len() >= msgsize {
        return Err(TooLong {
            len: text.len(),
            msgsize,
        });
    }
    let mut message = vec![0; msgsize];
    message[..text.len()].copy_from_slice(text);
    Ok(message)
}

/// A message's text: its bytes up to the first NUL.
pub fn text(message: &[u8]) -> &[u8] {
    let end = message
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(message.len());
    &message[..end]
}

/// What ended a wait on a queue early.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A stop signal arrived.
    #[error("stopped by {0}")]
    Stopped(Signal),
    /// `--timeout` ran out.
    #[error("timed out")]
    TimedOut,
    /// The system call failed.
    #[error("{0}")]
    Sys(#[from] Errno),
}

/// The sending side.
pub struct Sender {
    queue: Queue,
    msgsize: usize,
    sent: u64,
}

impl Sender {
    /// Send through `queue`, framing to its message size.
    pub fn new(queue: Queue) -> Result<Self, Errno> {
        let msgsize = usize::try_from(queue.attributes()?.msgsize).unwrap_or(0);
        Ok(Self {
            queue,
            msgsize,
            sent: 0,
        })
    }

    /// The queue's message size.
    pub fn msgsize(&self) -> usize {
        self.msgsize
    }

    /// The queue.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Messages sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Frame `text` (checked before anything waits).
    pub fn frame(&self, text: &[u8]) -> Result<Vec<u8>, TooLong> {
        frame(text, self.msgsize)
    }

    /// Send a framed message, waiting while the queue is full (the
    /// receiver's back-pressure) in bounded waits that a stop signal ends.
    pub fn send(&mut self, message: &[u8], signals: &StopSignals) -> Result<(), QueueError> {
        loop {
            if self.queue.send(message, 0)? {
                self.sent += 1;
                return Ok(());
            }
            if let Wake::Signal(signal) = signals.wait_writable(self.queue.as_fd(), BEAT)? {
                return Err(QueueError::Stopped(signal));
            }
        }
    }

    /// Close the queue, unlinking it if this sender created it.
    pub fn finish(self) -> Result<(), Errno> {
        self.queue.finish()
    }
}

/// One message received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its bytes, all of them (the text and its padding).
    pub bytes: Vec<u8>,
    /// Its priority.
    pub priority: u32,
}

impl Message {
    /// Its text, up to the first NUL.
    pub fn text(&self) -> &[u8] {
        text(&self.bytes)
    }
}

/// The receiving side.
pub struct Receiver {
    queue: Queue,
    buf: Vec<u8>,
}

impl Receiver {
    /// Receive from `queue`.
    pub fn new(queue: Queue) -> Result<Self, Errno> {
        let msgsize = usize::try_from(queue.attributes()?.msgsize).unwrap_or(0);
        Ok(Self {
            queue,
            buf: vec![0; msgsize.max(1)],
        })
    }

    /// The queue's attributes.
    pub fn attributes(&self) -> Result<Attributes, Errno> {
        self.queue.attributes()
    }

    /// The next message, waiting for one until `deadline` (forever when
    /// `None`) in bounded waits that a stop signal ends.
    pub fn next(
        &mut self,
        signals: &StopSignals,
        deadline: Option<Instant>,
    ) -> Result<Message, QueueError> {
        loop {
            if let Some((len, priority)) = self.queue.receive(&mut self.buf)? {
                return Ok(Message {
                    bytes: self.buf[..len].to_vec(),
                    priority,
                });
            }
            let wait = match deadline {
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(QueueError::TimedOut);
                    }
                    left.min(BEAT)
                }
                None => BEAT,
            };
            if let Wake::Signal(signal) = signals.wait_readable(self.queue.as_fd(), wait)? {
                return Err(QueueError::Stopped(signal));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_as_the_book() {
        let m = frame(b"7f", 1024).unwrap();
        assert_eq!(m.len(), 1024);
        assert_eq!(&m[..3], b"7f\0");
        assert_eq!(text(&m), b"7f");
        assert_eq!(
            frame(&[b'x'; 1024], 1024),
            Err(TooLong {
                len: 1024,
                msgsize: 1024
            })
        );
        assert_eq!(frame(&[b'x'; 1023], 1024).unwrap()[1023], 0);
        assert_eq!(text(b"abc"), b"abc");
    }
}
