//! Termination signals as events rather than asynchronous interruptions.
//!
//! SIGTERM, SIGINT and SIGHUP are blocked and read from a signalfd, so the
//! tools sleep between updates in `ppoll` and wake the moment one arrives.
//! Blocking also matters for a container's PID 1: the kernel drops signals
//! with the default action for init, but queues blocked ones, so
//! `docker stop` reaches the writer at once instead of after 10 s.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::signal::{SigSet, SigmaskHow};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::time::TimeSpec;

/// A signal, as [`Wake`] and [`StopSignals::sleep`] name it.
pub use nix::sys::signal::Signal;

/// The signals that ask a tool to stop.
const STOP_SIGNALS: [Signal; 3] = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP];

/// What ended a [`StopSignals::wait_readable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A stop signal arrived.
    Signal(Signal),
    /// The descriptor has data, or is at its end.
    Readable,
    /// The time ran out.
    Timeout,
}

/// Receives the stop signals; create it before any thread is spawned.
#[derive(Debug)]
pub struct StopSignals {
    fd: SignalFd,
}

impl StopSignals {
    /// Block the stop signals for this thread (and threads it spawns later)
    /// and route them to a signalfd.
    pub fn install() -> Result<Self, Errno> {
        let mut set = SigSet::empty();
        STOP_SIGNALS.iter().for_each(|&s| set.add(s));
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Self { fd })
    }

    /// Sleep up to `timeout`; the stop signal if one arrived meanwhile.
    pub fn sleep(&self, timeout: Duration) -> Result<Option<Signal>, Errno> {
        if timeout.is_zero() {
            return self.pending();
        }
        // ppoll returns at once when a signal is already queued.
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        match ppoll(&mut fds, Some(TimeSpec::from(timeout)), None) {
            Ok(0) => Ok(None),
            Ok(_) | Err(Errno::EINTR) => self.pending(),
            Err(e) => Err(e),
        }
    }

    /// Sleep up to `timeout` or until `fd` is readable (or at its end);
    /// a stop signal that arrived meanwhile wins.
    pub fn wait_readable(&self, fd: BorrowedFd<'_>, timeout: Duration) -> Result<Wake, Errno> {
        self.wait_for(fd, PollFlags::POLLIN, timeout)
    }

    /// Sleep up to `timeout` or until `fd` can be written to (a message
    /// queue with room, say; reported as [`Wake::Readable`], "ready"); a
    /// stop signal that arrived meanwhile wins.
    pub fn wait_writable(&self, fd: BorrowedFd<'_>, timeout: Duration) -> Result<Wake, Errno> {
        self.wait_for(fd, PollFlags::POLLOUT, timeout)
    }

    fn wait_for(
        &self,
        fd: BorrowedFd<'_>,
        events: PollFlags,
        timeout: Duration,
    ) -> Result<Wake, Errno> {
        let mut fds = [
            PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
            PollFd::new(fd, events),
        ];
        match ppoll(&mut fds, Some(TimeSpec::from(timeout)), None) {
            Ok(0) => Ok(Wake::Timeout),
            Ok(_) | Err(Errno::EINTR) => Ok(match self.pending()? {
                Some(signal) => Wake::Signal(signal),
                None if fds[1].any().unwrap_or(false) => Wake::Readable,
                None => Wake::Timeout,
            }),
            Err(e) => Err(e),
        }
    }

    /// A stop signal that has arrived, without waiting.
    pub fn pending(&self) -> Result<Option<Signal>, Errno> {
        Ok(self
            .fd
            .read_signal()?
            .and_then(|info| Signal::try_from(info.ssi_signo as i32).ok()))
    }
}
