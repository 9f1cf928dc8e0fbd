//! Stop signals for a reader whose main thread may block. The stop
//! signals are blocked and read from a signalfd, so a thread stuck in
//! `write(2)` on a pipe that nobody empties would never see one; a second
//! thread waits for them instead and ends the process.

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages;
use shm_common::transport::signals::{Signal, StopSignals, Wake};

use crate::Failure;

/// How often the watching thread runs its `tick`.
pub const TICK: Duration = Duration::from_millis(100);

/// Sections the process must not be ended in.
pub struct Hold {
    lock: Mutex<()>,
    /// The watcher is ending the process: no new section may start.
    stopping: AtomicBool,
}

impl Hold {
    /// Keep the watcher from ending the process while the guard lives: for
    /// a sleep counted in the segment's waiters word, which an exit would
    /// leave counted for good. Never returns once the process is ending.
    pub fn section(&self) -> MutexGuard<'_, ()> {
        let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if self.stopping.load(Ordering::Acquire) {
            drop(guard);
            loop {
                std::thread::park();
            }
        }
        guard
    }

    /// Once no section runs, run `last` and end the process with its status.
    fn end(&self, last: impl FnOnce() -> Exit) -> ! {
        self.stopping.store(true, Ordering::Release);
        let _held = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        std::process::exit(last().code().into())
    }
}

/// Run `work` on this thread while another waits for a stop signal and
/// runs `tick` every [`TICK`]. At a signal, `stop` runs there, and the
/// process ends with the status it returns, even while `work` is blocked
/// writing; `work` holds that off only inside [`Hold::section`]s. The
/// watcher ends as soon as `work` returns.
pub fn watched<T>(
    signals: &StopSignals,
    mut tick: impl FnMut() + Send,
    stop: impl FnOnce(Signal) -> Exit + Send,
    work: impl FnOnce(&Hold) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let (finished, done) =
        std::io::pipe().map_err(|e| (Exit::Failure, messages::signals_setup(e)))?;
    let hold = Hold {
        lock: Mutex::new(()),
        stopping: AtomicBool::new(false),
    };
    std::thread::scope(|s| {
        s.spawn(|| loop {
            tick();
            match signals.wait_readable(finished.as_fd(), TICK) {
                Ok(Wake::Timeout) => {}
                // `done` was dropped: work is over.
                Ok(Wake::Readable) => return,
                Ok(Wake::Signal(signal)) => hold.end(|| stop(signal)),
                Err(e) => hold.end(|| {
                    let _ = console::say(&format!("shm_read: {}", messages::signals_failed(e)));
                    Exit::Failure
                }),
            }
        });
        let outcome = work(&hold);
        drop(done);
        outcome
    })
}
